//! Render a sample receipt, seal it with a stand-in signer, and print rough timings.
//!
//! `cargo run --release -p diwan-pdf --example receipt -- OUT.pdf [FILES]`

use std::time::Instant;

use chrono::{TimeZone, Utc};
use diwan_pdf::{FileLine, ReceiptView, SealInfo, render_receipt, seal};

fn sample(files: usize) -> ReceiptView {
    ReceiptView {
        registration_number: "RBT-2026-000123".into(),
        registry_ar: "سجل الصادر والوارد".into(),
        registry_fr: "Registre du courrier".into(),
        administration_ar: "وزارة الانتقال الرقمي وإصلاح الإدارة".into(),
        administration_fr:
            "Ministère de la Transition numérique et de la Réforme de l'Administration".into(),
        unit_ar: "مكتب الضبط المركزي".into(),
        unit_fr: "Bureau d'ordre central".into(),
        unit_contact: Some("bo@example.ma · +212 5 37 00 00 00".into()),
        received_utc: "2026-11-21 11:30:00".into(),
        received_local: "2026-11-21 12:30 (Africa/Casablanca)".into(),
        received_hijri_ar: "20 جمادى الأولى 1448".into(),
        received_hijri_fr: "20 Joumada al-oula 1448".into(),
        depositor: "محمد بن عبد الله <m.abdallah@example.ma> & Cie \"Atlas\"".into(),
        subject: "طلب رخصة بناء — Demande de permis de construire (lot n° 42)".into(),
        files: (1..=files)
            .map(|i| FileLine {
                name: format!("وثيقة-{i}-plan_de_masse.pdf"),
                size: "1,2 Mo".into(),
                media_type: "application/pdf".into(),
                sha256_hex: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
                    .into(),
            })
            .collect(),
        deadline_date: "2027-01-20".into(),
        deadline_hijri_ar: "11 رجب 1448".into(),
        silence_ar: "يعتبر سكوت الإدارة بعد انصرام الأجل بمثابة قبول.".into(),
        silence_fr: "Le silence de l'administration à l'expiration du délai vaut acceptation."
            .into(),
        tracking_code: "K7Q2-9XMD".into(),
        verification_url: "https://diwan.example.ma/v/RBT-2026-000123?c=K7Q2-9XMD".into(),
        issued_at: Utc
            .with_ymd_and_hms(2026, 11, 21, 11, 30, 0)
            .single()
            .unwrap_or_default(),
        annulled: None,
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out = args.next().unwrap_or_else(|| "receipt.pdf".into());
    let files: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(2);
    let view = sample(files);
    let info = SealInfo {
        name: "Diwan".into(),
        reason: Some("Accusé de réception".into()),
        location: Some("Rabat".into()),
        signing_time: view.issued_at,
        extra_catalog_entries: vec![("DiwanReceipt".into(), "{}".into())],
    };
    let pdf = render_receipt(&view)?;
    let rounds = 200;
    let start = Instant::now();
    for _ in 0..rounds {
        render_receipt(&view)?;
    }
    let render = start.elapsed() / rounds;
    let start = Instant::now();
    for _ in 0..rounds {
        seal(&pdf, &info, |_| Ok(vec![0x30, 0x03, 1, 2, 3]))?;
    }
    let sealing = start.elapsed() / rounds;
    println!(
        "{} bytes; render {render:?}, seal {sealing:?} (without the signer)",
        pdf.len()
    );
    std::fs::write(out, pdf)?;
    Ok(())
}
