//! The path a deposited file takes through Diwan's PDF code, on arbitrary bytes:
//!
//! 1. a PDF is inspected at registration (bounded reader: page count and problems);
//! 2. a PDF without problems has its text extracted (the background text job);
//! 3. a PDF without problems, or an image, goes into a dossier (pages or image planned, the
//!    stamp drawn, everything appended and sealed).
//!
//! Nothing may panic, hang or grow without bound, whatever the bytes.

#![no_main]

use std::io::Cursor;
use std::time::{Duration, Instant};

use diwan_pdf::dossier::{DossierOptions, Part, PartContent, ReadSeek, SealText, StampView};
use libfuzzer_sys::fuzz_target;

/// The media type registration detects from the first bytes.
fn detect(data: &[u8]) -> Option<&'static str> {
    if data.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else if data.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if data.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if data.starts_with(b"II*\0") || data.starts_with(b"MM\0*") {
        Some("image/tiff")
    } else {
        None
    }
}

fn deadline() -> Option<Instant> {
    Some(Instant::now() + Duration::from_secs(5))
}

fn view() -> StampView {
    let now = chrono::DateTime::from_timestamp(1_795_000_000, 0).unwrap_or_default();
    StampView {
        registration_number: "CENTRAL/A/2026/000001".into(),
        title_ar: "ختم الورود".into(),
        title_fr: "Cachet d'arrivée".into(),
        registry_ar: "مكتب الضبط".into(),
        registry_fr: "Bureau d'ordre".into(),
        administration_ar: "وزارة".into(),
        administration_fr: "Ministère".into(),
        unit_ar: "مصلحة".into(),
        unit_fr: "Service".into(),
        received_local: "2026-11-21 10:00 (Africa/Casablanca)".into(),
        received_hijri_ar: "1 جمادى الأولى 1448".into(),
        received_hijri_fr: "1 joumada al oula 1448".into(),
        subject: "fuzz".into(),
        verification_url: "https://diwan.example/verify/x".into(),
        issued_at: now,
    }
}

fn dossier(data: &[u8], media_type: &str) {
    let parts = [Part {
        name: "file".into(),
        media_type: media_type.into(),
        size: data.len() as u64,
        sha256_hex: "0".repeat(64),
        content: PartContent::File,
    }];
    let mut open = |_: usize| -> std::io::Result<Box<dyn ReadSeek>> {
        Ok(Box::new(Cursor::new(data.to_vec())))
    };
    let options = DossierOptions {
        default_dpi: 200,
        deadline: deadline(),
        seal: SealText {
            name: "fuzz".into(),
            reason: None,
            location: None,
            signing_time: view().issued_at,
        },
    };
    let mut out = Cursor::new(Vec::new());
    // A fixed "signature": what is fuzzed is reading the input, not the CMS.
    let _ =
        diwan_pdf::dossier::build_dossier(&view(), &parts, &mut open, &mut out, &options, |_, _| {
            Ok(vec![0x30, 0x00])
        });
}

fuzz_target!(|data: &[u8]| {
    match detect(data) {
        Some("application/pdf") => {
            let limits = diwan_pdf::reader::Limits {
                deadline: deadline(),
                ..diwan_pdf::reader::Limits::default()
            };
            let Ok(found) = diwan_pdf::inspect(Cursor::new(data), limits) else {
                return;
            };
            if found.is_clean() {
                let _ = diwan_pdf::extract_text(data, &diwan_pdf::ExtractLimits::default());
                dossier(data, "application/pdf");
            }
        }
        Some(image) => dossier(data, image),
        None => {}
    }
});
