use std::io::{Cursor, Write as _};

use super::*;
use crate::reader::tests::pdf as pdf_of;

fn view() -> StampView {
    StampView {
        registration_number: "CENTRAL/A/2026/000042".into(),
        title_ar: "ختم الورود".into(),
        title_fr: "Cachet d'arrivée".into(),
        registry_ar: "مكتب الضبط المركزي".into(),
        registry_fr: "Bureau d'ordre central".into(),
        administration_ar: "وزارة".into(),
        administration_fr: "Ministère".into(),
        unit_ar: "الإدارة المركزية".into(),
        unit_fr: "Administration centrale".into(),
        received_local: "2026-11-21 10:32 (Africa/Casablanca)".into(),
        received_hijri_ar: "20 جمادى الأولى 1448".into(),
        received_hijri_fr: "20 joumada al oula 1448".into(),
        subject: "طلب — demande".into(),
        verification_url: "https://diwan.example/verify/abc".into(),
        issued_at: Utc::now(),
    }
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn png(width: u32, height: u32, color: u8, channels: usize) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let chunk = |out: &mut Vec<u8>, kind: &[u8], data: &[u8]| {
        out.extend_from_slice(&u32::try_from(data.len()).unwrap().to_be_bytes());
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(data);
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        out.extend_from_slice(&crc.sum().to_be_bytes());
    };
    let mut ihdr = width.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, color, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    let mut raw = Vec::new();
    for y in 0..height {
        raw.push(2);
        for x in 0..width as usize * channels {
            raw.push(((x as u32 + y) % 7) as u8);
        }
    }
    chunk(&mut out, b"IDAT", &zlib(&raw));
    chunk(&mut out, b"IEND", &[]);
    out
}

fn tiff(pages: usize) -> Vec<u8> {
    let (w, h) = (40u32, 30u32);
    let mut out = b"II*\x00\x00\x00\x00\x00".to_vec();
    let mut link = 4;
    for p in 0..pages {
        let data = vec![u8::try_from(p * 60).unwrap(); (w * h) as usize];
        let strip = out.len() as u32;
        out.extend_from_slice(&data);
        let ifd = out.len() as u32;
        out[link..link + 4].copy_from_slice(&ifd.to_le_bytes());
        let entries: [(u16, u16, u32); 8] = [
            (256, 4, w),
            (257, 4, h),
            (258, 3, 8),
            (259, 3, 1),
            (262, 3, 1),
            (273, 4, strip),
            (278, 4, 16),
            (279, 4, w * h),
        ];
        out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        for (tag, kind, v) in entries {
            out.extend_from_slice(&tag.to_le_bytes());
            out.extend_from_slice(&kind.to_le_bytes());
            out.extend_from_slice(&1u32.to_le_bytes());
            out.extend_from_slice(&v.to_le_bytes());
        }
        link = out.len();
        out.extend_from_slice(&[0; 4]);
    }
    out
}

/// The smallest valid JPEG: one grey 8 × 8 block, one-code Huffman tables.
fn jpeg() -> Vec<u8> {
    let mut out = vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 16];
    out.extend_from_slice(b"JFIF\0\x01\x01\x01\x01\x2c\x01\x2c\0\0");
    out.extend_from_slice(&[0xFF, 0xDB, 0, 67, 0]);
    out.extend_from_slice(&[1; 64]);
    out.extend_from_slice(&[0xFF, 0xC0, 0, 11, 8, 0, 8, 0, 8, 1, 1, 0x11, 0]);
    for class in [0x00, 0x10] {
        out.extend_from_slice(&[0xFF, 0xC4, 0, 20, class, 1]);
        out.extend_from_slice(&[0; 15]);
        out.push(0);
    }
    out.extend_from_slice(&[0xFF, 0xDA, 0, 8, 1, 1, 0, 0, 63, 0, 0x3F, 0xFF, 0xD9]);
    out
}

fn three_pages() -> Vec<u8> {
    let mut objects = vec![
        (1, b"<</Type /Catalog /Pages 2 0 R /OpenAction 9 0 R>>".to_vec()),
        (
            2,
            b"<</Type /Pages /Kids [3 0 R 4 0 R 5 0 R] /Count 3 /MediaBox [0 0 300 400] /Resources 6 0 R>>"
                .to_vec(),
        ),
        (6, b"<</Font <</F1 7 0 R>>>>".to_vec()),
        (7, b"<</Type /Font /Subtype /Type1 /BaseFont /Helvetica>>".to_vec()),
        (8, b"<</Length 35>>\nstream\nBT /F1 12 Tf 10 10 Td (Hi) Tj ET\nendstream".to_vec()),
        (9, b"<</S /GoTo /D [3 0 R /Fit]>>".to_vec()),
    ];
    for n in 3..6 {
        objects.push((
            n,
            format!("<</Type /Page /Parent 2 0 R /Contents 8 0 R /Annots [<</Subtype /Link /P {n} 0 R>>]>>")
                .into_bytes(),
        ));
    }
    pdf_of(&objects, "/Root 1 0 R")
}

fn part(name: &str, media_type: &str, content: PartContent) -> Part {
    Part {
        name: name.into(),
        media_type: media_type.into(),
        size: 1,
        sha256_hex: "00".repeat(32),
        content,
    }
}

fn build(parts: &[Part], files: &[Vec<u8>]) -> (Vec<u8>, Built, Vec<u8>) {
    let mut out = Cursor::new(Vec::new());
    let options = DossierOptions {
        default_dpi: 200,
        deadline: None,
        seal: SealText {
            name: "Test".into(),
            reason: None,
            location: None,
            signing_time: Utc::now(),
        },
    };
    let mut covered = Vec::new();
    let built = build_dossier(
        &view(),
        parts,
        &mut |i| Ok(Box::new(Cursor::new(files[i].clone()))),
        &mut out,
        &options,
        |r, gap| {
            r.read_to_end(&mut covered).map_err(|e| e.to_string())?;
            assert!(gap > 0 && gap < covered.len() as u64);
            Ok(vec![0x30, 0x03, 0x02, 0x01, 0x01])
        },
    )
    .unwrap();
    (out.into_inner(), built, covered)
}

#[test]
fn a_dossier_holds_every_attachment_in_order_and_its_signature_covers_the_rest() {
    let files = vec![
        jpeg(),
        png(20, 10, 2, 3),
        tiff(2),
        three_pages(),
        Vec::new(),
        png(9, 9, 6, 4),
    ];
    let parts = vec![
        part("scan.jpg", "image/jpeg", PartContent::File),
        part("scan.png", "image/png", PartContent::File),
        part("scan.tif", "image/tiff", PartContent::File),
        part("letter.pdf", "application/pdf", PartContent::File),
        part(
            "message.txt",
            "text/plain",
            PartContent::Text("سلام\nBonjour".into()),
        ),
        part("alpha.png", "image/png", PartContent::File),
    ];
    let (pdf, built, covered) = build(&parts, &files);
    // Stamp, JPEG, PNG, 2 TIFF pages, 3 PDF pages, the message, the PNG with alpha.
    assert_eq!(built.pages, 10);
    assert_eq!((built.converted, built.refused), (6, 0));
    let mut r = PdfReader::open(Cursor::new(pdf.clone()), Limits::default()).unwrap();
    assert!(r.repaired().is_none());
    let pages = r.pages().unwrap();
    assert_eq!(pages.len(), 10);
    // The JPEG is in the file byte for byte.
    assert!(memchr::memmem::find(&pdf, &jpeg()).is_some());
    // Imported pages keep their content but lose annotations and the document's actions.
    assert!(pages[5].dict.get(b"Annots").is_none());
    assert_eq!(
        r.page_contents(&pages[5]).unwrap(),
        b"BT /F1 12 Tf 10 10 Td (Hi) Tj ET\n"
    );
    assert!(r.catalog().unwrap().get(b"OpenAction").is_none());
    // The signature covers everything but its own /Contents.
    let gap = 2 * crate::CONTENTS_RESERVED_BYTES + 2;
    assert_eq!(covered.len(), pdf.len() - gap);
    let sigs = crate::signatures(&pdf).unwrap();
    assert_eq!(sigs.len(), 1);
    assert!(sigs[0].covers_whole_file);
    if std::env::var_os("DIWAN_SKIP_EXTERNAL").is_none() {
        let path = std::env::temp_dir().join(format!("diwan-dossier-{}.pdf", std::process::id()));
        std::fs::write(&path, &pdf).unwrap();
        let out = std::process::Command::new("qpdf")
            .arg("--check")
            .arg(&path)
            .output()
            .expect("qpdf (DIWAN_SKIP_EXTERNAL=1 to skip)");
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let _ = std::fs::remove_file(&path);
    }
}

#[test]
fn attachments_that_cannot_be_converted_get_a_page_saying_so() {
    let files = vec![
        b"%PDF-1.7 nothing".to_vec(),
        b"\x89PNG\r\n\x1a\nbroken".to_vec(),
        Vec::new(),
    ];
    let parts = vec![
        part("a.pdf", "application/pdf", PartContent::File),
        part("b.png", "image/png", PartContent::File),
        part(
            "c.pdf",
            "application/pdf",
            PartContent::Refused(vec![Reason {
                code: "javascript".into(),
                detail: "JavaScript (object 4)".into(),
            }]),
        ),
    ];
    let (_, built, _) = build(&parts, &files);
    assert_eq!(built.pages, 4);
    assert_eq!((built.converted, built.refused), (0, 3));
}
