//! The pages of the dossier that Diwan draws (with krilla, PDF/A-2b): the arrival stamp and the
//! list of attachments, the depositor's typed message, and a page for each attachment that
//! could not be converted.

use super::{Reason, StampView};
use crate::PdfError;
use crate::page::{
    Align, BLACK, Column, FULL, Flow, GREY, HALF_LEFT, HALF_RIGHT, MARGIN, PAGE_W, RED, RULE,
    SHADE, Span, VALUE, plain, write_pdfa,
};
use crate::text::{Fonts, Weight, fonts};

/// Longest text drawn for one attachment (the portal's message is at most 20,000 characters).
const MAX_TEXT_BYTES: usize = 256 * 1024;

/// One line of the stamp page's list of attachments.
#[derive(Debug, Clone)]
pub(crate) struct TocLine {
    pub(crate) name: String,
    pub(crate) media_type: String,
    pub(crate) size: u64,
    pub(crate) sha256_hex: String,
    /// First and last page in the dossier.
    pub(crate) pages: (usize, usize),
    pub(crate) converted: bool,
}

/// A page (or pages) drawn for an attachment.
#[derive(Debug, Clone)]
pub(crate) enum Drawn {
    Text {
        name: String,
        text: String,
    },
    Refused {
        name: String,
        media_type: String,
        size: u64,
        sha256_hex: String,
        reasons: Vec<Reason>,
    },
}

/// The halves inside the stamp's frame.
const IN_LEFT: Column = Column {
    x: MARGIN + 14.0,
    width: (PAGE_W - 2.0 * MARGIN) / 2.0 - 22.0,
};
const IN_RIGHT: Column = Column {
    x: PAGE_W / 2.0 + 8.0,
    width: (PAGE_W - 2.0 * MARGIN) / 2.0 - 22.0,
};

pub(crate) fn human_size(bytes: u64) -> String {
    const K: u64 = 1024;
    match bytes {
        b if b < K => format!("{b} B"),
        b if b < K * K => format!("{:.1} KiB", b as f64 / K as f64),
        b => format!("{:.1} MiB", b as f64 / (K * K) as f64),
    }
}

/// Lays out the stamp page(s) for `toc`.
pub(crate) fn stamp_flow<'f>(
    fonts: &'f Fonts,
    view: &StampView,
    toc: &[TocLine],
) -> Result<Flow<'f>, PdfError> {
    let mut flow = Flow::new(fonts);
    flow.letterhead(
        (&view.administration_fr, &view.administration_ar),
        (&view.unit_fr, &view.unit_ar),
    );
    flow.gap(10.0);
    stamp_box(&mut flow, view)?;
    flow.gap(10.0);
    flow.row("Objet", "الموضوع", &[plain(&view.subject)], BLACK);
    for (i, t) in toc.iter().enumerate() {
        let n = i + 1;
        let pages = if t.pages.0 == t.pages.1 {
            format!("page {} / الصفحة {}", t.pages.0, t.pages.0)
        } else {
            format!(
                "pages {}–{} / الصفحات {}–{}",
                t.pages.0, t.pages.1, t.pages.0, t.pages.1
            )
        };
        let mut values = vec![
            Span::new(&t.name, Weight::Bold, 9.0),
            plain(&format!(
                "{} · {} · {pages}",
                human_size(t.size),
                t.media_type
            ))
            .color(GREY),
            Span::new(format!("SHA-256 {}", t.sha256_hex), Weight::Regular, 7.5).align(Align::Left),
        ];
        if !t.converted {
            values.push(
                plain("Non convertie : l'original est conservé tel quel. — تعذر تحويله: يُحفظ الأصل كما هو.")
                    .color(RED),
            );
        }
        flow.row(
            &format!("Pièce {n}/{}", toc.len()),
            &format!("المرفق {n}/{}", toc.len()),
            &values,
            BLACK,
        );
    }
    Ok(flow)
}

/// The rubber stamp: a framed block with the registry, the number, the date and time (local
/// and Hijri) and the QR code of the verification page.
fn stamp_box(flow: &mut Flow<'_>, view: &StampView) -> Result<(), PdfError> {
    let top = flow.y;
    let inner = Column {
        x: MARGIN + 12.0,
        width: PAGE_W - 2.0 * MARGIN - 24.0,
    };
    flow.gap(4.0);
    flow.span(
        inner,
        &Span::new(&view.title_ar, Weight::Bold, 17.0)
            .align(Align::Center)
            .color(RED),
    );
    flow.span(
        inner,
        &Span::new(&view.title_fr, Weight::Bold, 13.0)
            .align(Align::Center)
            .color(RED),
    );
    flow.side_by_side(&[
        (
            IN_LEFT,
            Span::new(&view.registry_fr, Weight::Regular, 10.0).align(Align::Left),
        ),
        (
            IN_RIGHT,
            Span::new(&view.registry_ar, Weight::Regular, 10.5).align(Align::Right),
        ),
    ]);
    flow.gap(4.0);
    let y = flow.y;
    flow.rect([MARGIN + 120.0, y + 2.0, VALUE.width, 26.0], SHADE);
    flow.span(
        FULL,
        &Span::new(
            format!("N° {}", view.registration_number),
            Weight::Bold,
            14.0,
        )
        .align(Align::Center),
    );
    flow.gap(6.0);
    flow.side_by_side(&[
        (
            IN_LEFT,
            Span::new(
                format!("Reçu le {}", view.received_local),
                Weight::Regular,
                9.5,
            )
            .align(Align::Left),
        ),
        (
            IN_RIGHT,
            Span::new(
                format!("ورد بتاريخ {}", view.received_local),
                Weight::Regular,
                10.0,
            )
            .align(Align::Right),
        ),
    ]);
    flow.side_by_side(&[
        (
            IN_LEFT,
            Span::new(&view.received_hijri_fr, Weight::Regular, 9.0)
                .align(Align::Left)
                .color(GREY),
        ),
        (
            IN_RIGHT,
            Span::new(&view.received_hijri_ar, Weight::Regular, 10.0)
                .align(Align::Right)
                .color(GREY),
        ),
    ]);
    flow.qr_code(FULL, &view.verification_url, 90.0)?;
    flow.span(
        FULL,
        &Span::new(&view.verification_url, Weight::Regular, 8.0).align(Align::Center),
    );
    flow.span(
        FULL,
        &Span::new(
            "Scannez le code pour vérifier ce dossier — امسح الرمز للتحقق من هذا الملف",
            Weight::Regular,
            8.0,
        )
        .align(Align::Center)
        .color(GREY),
    );
    flow.gap(6.0);
    // The frame, drawn once the block's height is known (it fits on the first page).
    let bottom = flow.y;
    let (x, w, t) = (MARGIN, PAGE_W - 2.0 * MARGIN, 1.6);
    for rect in [
        [x, top, w, t],
        [x, bottom, w, t],
        [x, top, t, bottom - top],
        [x + w - t, top, t, bottom - top + t],
    ] {
        flow.rect(rect, RED);
    }
    Ok(())
}

/// Lays out the page(s) drawn for one attachment.
pub(crate) fn drawn_flow<'f>(fonts: &'f Fonts, part: &Drawn, number: &str) -> Flow<'f> {
    let mut flow = Flow::new(fonts);
    let heading = |flow: &mut Flow<'_>, ar: &str, fr: &str, color| {
        flow.side_by_side(&[
            (
                HALF_LEFT,
                Span::new(fr, Weight::Bold, 12.0)
                    .align(Align::Left)
                    .color(color),
            ),
            (
                HALF_RIGHT,
                Span::new(ar, Weight::Bold, 13.0)
                    .align(Align::Right)
                    .color(color),
            ),
        ]);
        flow.span(
            FULL,
            &Span::new(format!("N° {number}"), Weight::Regular, 8.5)
                .align(Align::Center)
                .color(GREY),
        );
        flow.gap(4.0);
        flow.hrule(RULE);
        flow.gap(6.0);
    };
    match part {
        Drawn::Text { name, text } => {
            heading(&mut flow, "رسالة المودع", "Message du déposant", BLACK);
            flow.span(FULL, &Span::new(name, Weight::Regular, 8.5).color(GREY));
            flow.gap(4.0);
            let text: String = text.chars().take(MAX_TEXT_BYTES / 4).collect();
            flow.span(FULL, &Span::new(text, Weight::Regular, 10.5));
        }
        Drawn::Refused {
            name,
            media_type,
            size,
            sha256_hex,
            reasons,
        } => {
            heading(
                &mut flow,
                "مرفق تعذر تحويله",
                "Pièce qui n'a pas pu être convertie",
                RED,
            );
            flow.row(
                "Fichier",
                "الملف",
                &[Span::new(name, Weight::Bold, 10.0)],
                BLACK,
            );
            flow.row(
                "Type, taille",
                "النوع، الحجم",
                &[plain(&format!("{media_type} · {}", human_size(*size)))],
                BLACK,
            );
            flow.row(
                "SHA-256",
                "البصمة",
                &[Span::new(sha256_hex, Weight::Regular, 8.0).align(Align::Left)],
                BLACK,
            );
            let found: Vec<Span> = reasons
                .iter()
                .take(20)
                .map(|r| plain(&format!("{} — {}", r.code, r.detail)))
                .collect();
            flow.row("Problèmes", "المشاكل", &found, RED);
            flow.gap(8.0);
            flow.span(
                FULL,
                &plain("يُحفظ هذا الملف كما أودع، دون أي تغيير، ويمكن تنزيله من مكتب الضبط. لم تدرج صفحاته في هذا الملف الرقمي."),
            );
            flow.span(
                FULL,
                &plain("Ce fichier est conservé tel qu'il a été déposé, sans aucune modification, et peut être téléchargé auprès du bureau d'ordre. Ses pages ne figurent pas dans ce dossier."),
            );
        }
    }
    flow
}

/// Adds the footer ("N° … — page i/n") to each page of `flow`, whose first page is page
/// `first` of a dossier of `total` pages.
pub(crate) fn furniture(flow: &mut Flow<'_>, number: &str, first: usize, total: usize) {
    flow.footer(|page, _| {
        let n = first + page - 1;
        (
            format!("N° {number} — page {n}/{total}"),
            format!("ملف رقمي مختوم — الصفحة {n}/{total}"),
        )
    });
}

pub(crate) fn the_fonts() -> Result<&'static Fonts, PdfError> {
    fonts()
}

/// Renders the flows, in order, as one PDF/A-2b document.
pub(crate) fn render(flows: &[Flow<'_>], view: &StampView) -> Result<Vec<u8>, PdfError> {
    write_pdfa(
        format!("Dossier / ملف — {}", view.registration_number),
        view.issued_at,
        flows.iter().flat_map(|f| &f.pages),
    )
}
