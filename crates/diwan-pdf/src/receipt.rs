//! The bilingual receipt (or annulment notice) as a PDF/A-2b document.

use chrono::{DateTime, Datelike, Timelike, Utc};
use krilla::Document;
use krilla::SerializeSettings;
use krilla::configure::{Archival, ConfigurationBuilder};
use krilla::metadata::{DateTime as PdfDateTime, Metadata};
use krilla::page::PageSettings;
use qrcode::{Color as QrColor, EcLevel, QrCode};

use crate::PdfError;
use crate::page::{
    Align, BLACK, Column, FULL, Flow, GREY, MARGIN, PAGE_H, PAGE_W, RED, RULE, SHADE, Span, VALUE,
    paint,
};
use crate::text::{Weight, fonts};

/// Everything a receipt shows, already formatted by the caller (both languages where relevant).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptView {
    pub registration_number: String,
    pub registry_ar: String,
    pub registry_fr: String,
    pub administration_ar: String,
    pub administration_fr: String,
    pub unit_ar: String,
    pub unit_fr: String,
    pub unit_contact: Option<String>,
    pub received_utc: String,
    /// For example `2026-11-21 12:30 (Africa/Casablanca)`.
    pub received_local: String,
    pub received_hijri_ar: String,
    pub received_hijri_fr: String,
    /// Arabic, Latin or mixed; any characters.
    pub depositor: String,
    pub subject: String,
    pub files: Vec<FileLine>,
    pub deadline_date: String,
    pub deadline_hijri_ar: String,
    pub silence_ar: String,
    pub silence_fr: String,
    pub tracking_code: String,
    /// Shown as text and encoded in the QR code.
    pub verification_url: String,
    /// The PDF document date (metadata).
    pub issued_at: DateTime<Utc>,
    /// When set, the document is an annulment notice instead of a receipt.
    pub annulled: Option<AnnulmentLines>,
}

/// One deposited file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileLine {
    pub name: String,
    pub size: String,
    pub media_type: String,
    pub sha256_hex: String,
}

/// Why and when a receipt was annulled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnulmentLines {
    pub reason: String,
    pub at: String,
}

/// Upper bound on the text a receipt may carry, so a hostile value cannot make rendering
/// run away (100 files with long names fit easily).
const MAX_TEXT_BYTES: usize = 512 * 1024;
const MAX_FILES: usize = 1000;

/// Render the receipt as a PDF/A-2b document with embedded, subset fonts.
pub fn render_receipt(view: &ReceiptView) -> Result<Vec<u8>, PdfError> {
    check_size(view)?;
    let fonts = fonts()?;
    let mut flow = Flow::new(fonts);
    header(&mut flow, view);
    if let Some(annulment) = &view.annulled {
        annulment_rows(&mut flow, annulment);
    }
    identity_rows(&mut flow, view);
    file_rows(&mut flow, &view.files);
    closing_rows(&mut flow, view);
    verification(&mut flow, view)?;
    let number = view.registration_number.clone();
    flow.on_every_page(|page, total| page_furniture(&number, page, total));
    let rule_y = Flow::footer_rule_y();
    for page in &mut flow.pages {
        page.ops.push(crate::page::Op::Rect {
            rect: [MARGIN, rule_y, PAGE_W - 2.0 * MARGIN, 0.6],
            color: RULE,
        });
    }
    write_document(&flow, view)
}

fn check_size(view: &ReceiptView) -> Result<(), PdfError> {
    let files: usize = view
        .files
        .iter()
        .map(|f| f.name.len() + f.size.len() + f.media_type.len() + f.sha256_hex.len())
        .sum();
    let text = [
        &view.registration_number,
        &view.registry_ar,
        &view.registry_fr,
        &view.administration_ar,
        &view.administration_fr,
        &view.unit_ar,
        &view.unit_fr,
        &view.depositor,
        &view.subject,
        &view.silence_ar,
        &view.silence_fr,
        &view.verification_url,
    ]
    .iter()
    .map(|s| s.len())
    .sum::<usize>();
    if view.files.len() > MAX_FILES || files + text > MAX_TEXT_BYTES {
        return Err(PdfError::TooLarge("receipt text"));
    }
    Ok(())
}

fn title(view: &ReceiptView) -> (&'static str, &'static str) {
    if view.annulled.is_some() {
        ("إشعار إلغاء", "Avis d'annulation")
    } else {
        ("وصل إيداع رقمي", "Accusé de réception")
    }
}

const HALF_LEFT: Column = Column {
    x: MARGIN,
    width: (PAGE_W - 2.0 * MARGIN) / 2.0 - 8.0,
};
const HALF_RIGHT: Column = Column {
    x: PAGE_W / 2.0 + 8.0,
    width: (PAGE_W - 2.0 * MARGIN) / 2.0 - 8.0,
};

fn header(flow: &mut Flow<'_>, view: &ReceiptView) {
    let line = |text: &str, weight, align| Span::new(text, weight, 10.0).align(align);
    flow.side_by_side(&[
        (
            HALF_LEFT,
            line(&view.administration_fr, Weight::Bold, Align::Left),
        ),
        (
            HALF_RIGHT,
            line(&view.administration_ar, Weight::Bold, Align::Right),
        ),
    ]);
    flow.side_by_side(&[
        (
            HALF_LEFT,
            line(&view.unit_fr, Weight::Regular, Align::Left).color(GREY),
        ),
        (
            HALF_RIGHT,
            line(&view.unit_ar, Weight::Regular, Align::Right).color(GREY),
        ),
    ]);
    flow.gap(6.0);
    flow.hrule(RULE);
    flow.gap(8.0);
    let (ar, fr) = title(view);
    let color = if view.annulled.is_some() { RED } else { BLACK };
    flow.span(
        FULL,
        &Span::new(ar, Weight::Bold, 19.0)
            .align(Align::Center)
            .color(color),
    );
    flow.span(
        FULL,
        &Span::new(fr, Weight::Bold, 15.0)
            .align(Align::Center)
            .color(color),
    );
    flow.gap(4.0);
    let number = format!("N° {}", view.registration_number);
    let top = flow.y;
    flow.rect([MARGIN + 120.0, top + 2.0, VALUE.width, 24.0], SHADE);
    flow.span(
        FULL,
        &Span::new(number, Weight::Bold, 12.0).align(Align::Center),
    );
    flow.gap(10.0);
    flow.hrule(RULE);
}

fn annulment_rows(flow: &mut Flow<'_>, annulment: &AnnulmentLines) {
    let value = |s: &str| vec![Span::new(s, Weight::Bold, 9.5)];
    flow.row(
        "Motif d'annulation",
        "سبب الإلغاء",
        &value(&annulment.reason),
        RED,
    );
    flow.row("Annulé le", "تاريخ الإلغاء", &value(&annulment.at), RED);
}

fn plain(s: &str) -> Span {
    Span::new(s, Weight::Regular, 9.5)
}

fn identity_rows(flow: &mut Flow<'_>, view: &ReceiptView) {
    flow.row(
        "Registre",
        "السجل",
        &[plain(&view.registry_ar), plain(&view.registry_fr)],
        BLACK,
    );
    let mut unit = vec![plain(&view.unit_ar), plain(&view.unit_fr)];
    if let Some(contact) = &view.unit_contact {
        unit.push(plain(contact).color(GREY));
    }
    flow.row("Unité", "الوحدة", &unit, BLACK);
    flow.row(
        "Date de réception",
        "تاريخ الاستلام",
        &[
            plain(&view.received_local),
            plain(&format!("UTC : {}", view.received_utc)).color(GREY),
            plain(&view.received_hijri_ar),
            plain(&view.received_hijri_fr),
        ],
        BLACK,
    );
    flow.row(
        "Déposant",
        "المودع",
        &[Span::new(&view.depositor, Weight::Bold, 10.0)],
        BLACK,
    );
    flow.row("Objet", "الموضوع", &[plain(&view.subject)], BLACK);
}

fn file_rows(flow: &mut Flow<'_>, files: &[FileLine]) {
    if files.is_empty() {
        flow.row("Pièces jointes", "المرفقات", &[plain("—")], BLACK);
        return;
    }
    for (i, file) in files.iter().enumerate() {
        let n = i + 1;
        flow.row(
            &format!("Pièce {n}/{}", files.len()),
            &format!("المرفق {n}/{}", files.len()),
            &[
                Span::new(&file.name, Weight::Bold, 9.0),
                plain(&format!("{} · {}", file.size, file.media_type)).color(GREY),
                Span::new(format!("SHA-256 {}", file.sha256_hex), Weight::Regular, 7.5)
                    .align(Align::Left),
            ],
            BLACK,
        );
    }
}

fn closing_rows(flow: &mut Flow<'_>, view: &ReceiptView) {
    flow.row(
        "Délai de réponse",
        "أجل الرد",
        &[plain(&view.deadline_date), plain(&view.deadline_hijri_ar)],
        BLACK,
    );
    flow.row(
        "Silence de l'administration",
        "سكوت الإدارة",
        &[plain(&view.silence_ar), plain(&view.silence_fr)],
        BLACK,
    );
    flow.row(
        "Code de suivi",
        "رمز التتبع",
        &[Span::new(&view.tracking_code, Weight::Bold, 11.0)],
        BLACK,
    );
}

fn verification(flow: &mut Flow<'_>, view: &ReceiptView) -> Result<(), PdfError> {
    let code = QrCode::with_error_correction_level(view.verification_url.as_bytes(), EcLevel::M)
        .map_err(|e| PdfError::Render(format!("QR code: {e}")))?;
    let width = code.width();
    let modules: Vec<bool> = code
        .to_colors()
        .into_iter()
        .map(|c| c == QrColor::Dark)
        .collect();
    flow.ensure(150.0);
    flow.row(
        "Vérification",
        "التحقق",
        &[Span::new(&view.verification_url, Weight::Regular, 8.5).align(Align::Left)],
        BLACK,
    );
    flow.qr(VALUE, &modules, width, 96.0);
    flow.span(
        VALUE,
        &Span::new("امسح الرمز للتحقق من صحة هذه الوثيقة", Weight::Regular, 8.5)
            .align(Align::Center)
            .color(GREY),
    );
    flow.span(
        VALUE,
        &Span::new(
            "Scannez le code pour vérifier ce document",
            Weight::Regular,
            8.0,
        )
        .align(Align::Center)
        .color(GREY),
    );
    Ok(())
}

fn page_furniture(number: &str, page: usize, total: usize) -> Vec<(f32, Column, Span)> {
    let y = PAGE_H - 34.0;
    let small = |s: String| Span::new(s, Weight::Regular, 7.5).color(GREY);
    vec![
        (
            y,
            HALF_LEFT,
            small(format!("N° {number} — page {page}/{total}")).align(Align::Left),
        ),
        (
            y,
            HALF_RIGHT,
            small(format!("وثيقة إلكترونية مختومة — الصفحة {page}/{total}")).align(Align::Right),
        ),
    ]
}

fn pdf_date(at: DateTime<Utc>) -> PdfDateTime {
    let clamp = |v: u32| u8::try_from(v).unwrap_or(0);
    PdfDateTime::new(u16::try_from(at.year()).unwrap_or(1970))
        .month(clamp(at.month()))
        .day(clamp(at.day()))
        .hour(clamp(at.hour()))
        .minute(clamp(at.minute()))
        .second(clamp(at.second()))
        .utc_offset_hour(0)
        .utc_offset_minute(0)
}

fn write_document(flow: &Flow<'_>, view: &ReceiptView) -> Result<Vec<u8>, PdfError> {
    let configuration = ConfigurationBuilder::new()
        .with_archival_validator(Archival::A2_B)
        .finish()
        .map_err(|e| PdfError::Render(format!("configuration: {e:?}")))?;
    let settings = SerializeSettings {
        configuration,
        enable_tagging: false,
        ..SerializeSettings::default()
    };
    let mut document = Document::new_with(settings);
    let (title_ar, title_fr) = title(view);
    let date = pdf_date(view.issued_at);
    document.set_metadata(
        Metadata::new()
            .title(format!(
                "{title_fr} / {title_ar} — {}",
                view.registration_number
            ))
            .creator("Diwan".to_owned())
            .producer("Diwan".to_owned())
            .language("ar".to_owned())
            .creation_date(date),
    );
    let page_settings = PageSettings::from_wh(PAGE_W, PAGE_H)
        .ok_or_else(|| PdfError::Render("page size".to_owned()))?;
    for ops in &flow.pages {
        let mut page = document.start_page_with(page_settings.clone());
        let mut surface = page.surface();
        paint(&mut surface, ops);
        surface.finish();
        page.finish();
    }
    document
        .finish()
        .map_err(|e| PdfError::Render(format!("{e:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bidi_controls_and_odd_characters_still_give_a_valid_pdf_a() {
        let odd = "\u{2067}محمد\u{2069} \u{200F}x\u{200E} \u{202B}y\u{202C} \u{200D}\u{FEFF}\u{1F600} 中文 Ω";
        let view = ReceiptView {
            registration_number: odd.into(),
            registry_ar: odd.into(),
            registry_fr: String::new(),
            administration_ar: String::new(),
            administration_fr: String::new(),
            unit_ar: String::new(),
            unit_fr: String::new(),
            unit_contact: None,
            received_utc: String::new(),
            received_local: String::new(),
            received_hijri_ar: String::new(),
            received_hijri_fr: String::new(),
            depositor: odd.into(),
            subject: "\n\n\t".into(),
            files: Vec::new(),
            deadline_date: String::new(),
            deadline_hijri_ar: String::new(),
            silence_ar: String::new(),
            silence_fr: String::new(),
            tracking_code: String::new(),
            verification_url: String::new(),
            issued_at: DateTime::<Utc>::default(),
            annulled: None,
        };
        let pdf = render_receipt(&view).unwrap();
        assert!(pdf.starts_with(b"%PDF-"));
    }
}
