//! The bilingual receipt (or annulment notice) as a PDF/A-2b document.

use chrono::{DateTime, Utc};

use crate::PdfError;
use crate::page::{
    Align, BLACK, FULL, Flow, GREY, MARGIN, RED, RULE, SHADE, Span, VALUE, plain, write_pdfa,
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
    let number = &view.registration_number;
    flow.footer(|page, total| {
        (
            format!("N° {number} — page {page}/{total}"),
            format!("وثيقة إلكترونية مختومة — الصفحة {page}/{total}"),
        )
    });
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

fn header(flow: &mut Flow<'_>, view: &ReceiptView) {
    flow.letterhead(
        (&view.administration_fr, &view.administration_ar),
        (&view.unit_fr, &view.unit_ar),
    );
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
    flow.ensure(150.0);
    flow.row(
        "Vérification",
        "التحقق",
        &[Span::new(&view.verification_url, Weight::Regular, 8.5).align(Align::Left)],
        BLACK,
    );
    flow.qr_code(VALUE, &view.verification_url, 96.0)?;
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

fn write_document(flow: &Flow<'_>, view: &ReceiptView) -> Result<Vec<u8>, PdfError> {
    let (title_ar, title_fr) = title(view);
    write_pdfa(
        format!("{title_fr} / {title_ar} — {}", view.registration_number),
        view.issued_at,
        &flow.pages,
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A plausible receipt with `depositor` as the depositor's name.
    pub(crate) fn sample_view(depositor: &str) -> ReceiptView {
        ReceiptView {
            registration_number: "BO-RABAT/A/2026/000123".into(),
            registry_ar: "مكتب الضبط المركزي".into(),
            registry_fr: "Bureau d'ordre central".into(),
            administration_ar: "وزارة التربية الوطنية".into(),
            administration_fr: "Ministère de l'Éducation nationale".into(),
            unit_ar: "مديرية الموارد البشرية".into(),
            unit_fr: "Direction des ressources humaines".into(),
            unit_contact: Some("drh@example.ma".into()),
            received_utc: "2026-11-21 09:30:00 UTC".into(),
            received_local: "2026-11-21 10:30 (Africa/Casablanca)".into(),
            received_hijri_ar: "30 جمادى الأولى 1448".into(),
            received_hijri_fr: "30 joumada al-oula 1448".into(),
            depositor: depositor.into(),
            subject: "طلب شهادة إدارية".into(),
            files: Vec::new(),
            deadline_date: "2027-01-20".into(),
            deadline_hijri_ar: String::new(),
            silence_ar: "السكوت يعني الرفض".into(),
            silence_fr: "Le silence vaut rejet".into(),
            tracking_code: "K7P2-9XQM".into(),
            verification_url: "https://diwan.example/verify/abc".into(),
            issued_at: DateTime::<Utc>::default(),
            annulled: None,
        }
    }

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
