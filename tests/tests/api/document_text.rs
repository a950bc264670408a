//! The text of registered files becomes searchable: the text of a born-digital PDF (Arabic in
//! logical order) and OCR of a scanned image (Arabic and French), read in the background.

use std::time::{Duration, Instant};

use diwan_tests::*;
use serde_json::{Value, json};

/// Searches the central register until `q` finds `id`, or gives up after `within`.
fn wait_until_found(app: &TestApp, token: &str, q: &str, id: &str, within: Duration) -> bool {
    let started = Instant::now();
    let url = app.url(&format!(
        "/api/v1/correspondences?registry=CENTRAL&q={}",
        urlencode(q)
    ));
    loop {
        let r = get(&url, Some(token));
        assert_eq!(r.status, 200, "{}", r.text());
        let found = r.json()["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["id"] == json!(id));
        if found {
            return true;
        }
        if started.elapsed() > within {
            return false;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn register_file(
    app: &TestApp,
    token: &str,
    subject: &str,
    name: &str,
    ct: &str,
    bytes: &[u8],
) -> Value {
    let meta = letter("CENTRAL", subject).to_string();
    let (content_type, body) = multipart(&[
        ("metadata", None, "application/json", meta.as_bytes()),
        ("file", Some(name), ct, bytes),
    ]);
    let r = send(
        "POST",
        &app.url("/api/v1/correspondences"),
        Some(token),
        &content_type,
        &body,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()
}

#[test]
fn the_text_of_a_born_digital_pdf_is_found_by_search() {
    let app = TestApp::spawn();
    let token = app.login("registrar@demo.diwan");
    // A first letter whose sealed receipt (a born-digital PDF with Arabic text) is then
    // registered as the attachment of a second one.
    let name = "زينب الإدريسي القرطبي";
    let mut meta = letter("CENTRAL", "Demande de duplicata");
    meta["sender"]["name"] = json!(name);
    let first = register(&app.base, &token, &meta, &pdf(2048));
    assert_eq!(first.status, 201, "{}", first.text());
    let first_id = first.json()["id"].as_str().unwrap().to_owned();
    let receipt = get(
        &app.url(&format!("/api/v1/receipts/{first_id}/pdf")),
        Some(&token),
    );
    assert_eq!(receipt.status, 200);
    let second = register_file(
        &app,
        &token,
        "Copie d'un accusé",
        "accuse.pdf",
        "application/pdf",
        &receipt.body,
    );
    let second_id = second["id"].as_str().unwrap();
    // Words of the PDF's text only (not of the second letter's own metadata), searched in
    // logical order, with the search's folding (ال + hamza forms, ta marbuta).
    for q in ["القرطبي", "الادريسي", "زينب"] {
        assert!(
            wait_until_found(&app, &token, q, second_id, Duration::from_secs(30)),
            "the PDF's text was not found by {q}"
        );
    }
    // A word that is nowhere finds nothing.
    assert!(!wait_until_found(
        &app,
        &token,
        "تيمبكتو",
        second_id,
        Duration::from_millis(10)
    ));
}

/// A PNG of a page with Arabic and French text, rendered by a real browser.
fn rendered_scan(html: &str) -> Vec<u8> {
    let dir = std::env::temp_dir().join(format!("diwan-ocr-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let page = dir.join("page.html");
    std::fs::write(&page, html).unwrap();
    let shot = dir.join("page.png");
    let out = std::process::Command::new("/usr/bin/chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--window-size=1400,700",
            &format!("--screenshot={}", shot.display()),
        ])
        .arg(format!("file://{}", page.display()))
        .output();
    let out = match out {
        Ok(out) => out,
        Err(e) => panic!("chromium is needed to render the scan (installed by .ci/run): {e}"),
    };
    assert!(
        shot.exists(),
        "no screenshot: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let png = std::fs::read(&shot).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    png
}

#[test]
fn a_scanned_image_is_read_by_ocr_and_found_by_search() {
    let (ok, langs) = run_tool("tesseract", &["--list-langs"]);
    assert!(
        ok && langs.contains("ara") && langs.contains("fra"),
        "tesseract with ara and fra is needed (installed by .ci/run): {langs}"
    );
    let app = TestApp::spawn();
    let token = app.login("registrar@demo.diwan");
    let png = rendered_scan(
        "<!doctype html><meta charset=utf-8><body style='margin:40px;background:#fff;color:#000;\
         font-family:\"DejaVu Sans\",sans-serif;font-size:44px;line-height:1.6'>\
         <p dir=rtl>مدرسة الأندلس الابتدائية</p>\
         <p>Bibliothèque municipale de Tétouan</p></body>",
    );
    let created = register_file(
        &app,
        &token,
        "Courrier numérisé",
        "scan.png",
        "image/png",
        &png,
    );
    let id = created["id"].as_str().unwrap();
    for q in ["bibliotheque", "tetouan", "مدرسه"] {
        assert!(
            wait_until_found(&app, &token, q, id, Duration::from_secs(120)),
            "OCR text not found by {q}"
        );
    }
}

#[test]
fn files_left_unread_are_read_later_and_only_once() {
    // A node without text workers leaves files pending; a worker started later (another node,
    // or this one after a restart) reads them from their rows.
    let app = TestApp::spawn_with(&[("DIWAN__TEXT__WORKERS", "0")]);
    let token = app.login("registrar@demo.diwan");
    let mut meta = letter("CENTRAL", "Demande");
    meta["sender"]["name"] = json!("يوسف الشاطبي");
    let first = register(&app.base, &token, &meta, &pdf(2048));
    assert_eq!(first.status, 201, "{}", first.text());
    let first_id = first.json()["id"].as_str().unwrap().to_owned();
    let receipt = get(
        &app.url(&format!("/api/v1/receipts/{first_id}/pdf")),
        Some(&token),
    );
    let second = register_file(
        &app,
        &token,
        "Copie",
        "accuse.pdf",
        "application/pdf",
        &receipt.body,
    );
    let second_id = second["id"].as_str().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    assert!(!wait_until_found(
        &app,
        &token,
        "الشاطبي",
        second_id,
        Duration::from_millis(10)
    ));
    let s = &app.inst.services;
    let mut taken = 0;
    loop {
        let n = diwan_app::document_text::process_due(s, None).unwrap();
        if n == 0 {
            break;
        }
        taken += n;
    }
    assert_eq!(taken, 2, "each file is read once");
    assert!(wait_until_found(
        &app,
        &token,
        "الشاطبي",
        second_id,
        Duration::from_secs(1)
    ));
    assert_eq!(diwan_app::document_text::process_due(s, None).unwrap(), 0);
}

#[test]
fn the_text_of_a_pdf_with_problems_is_not_read() {
    let app = TestApp::spawn_with(&[("DIWAN__TEXT__WORKERS", "0")]);
    let token = app.login("registrar@demo.diwan");
    // Well-formed, with a text layer, and JavaScript run when it opens.
    let hostile = docs::PdfBuilder::new()
        .obj(1, "<</Type /Catalog /Pages 2 0 R /OpenAction 4 0 R>>")
        .obj(
            2,
            "<</Type /Pages /Kids [10 0 R] /Count 1 /MediaBox [0 0 595 842] /Resources <</Font <</F1 3 0 R>>>>>>",
        )
        .obj(
            3,
            "<</Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding>>",
        )
        .obj(4, "<</Type /Action /S /JavaScript /JS (app.alert\\(1\\);)>>")
        .obj(10, "<</Type /Page /Parent 2 0 R /Contents 11 0 R>>")
        .stream(11, "", b"BT /F1 24 Tf 72 720 Td (Kalimatkhafiya) Tj ET")
        .finish("/Root 1 0 R");
    let created = register_file(
        &app,
        &token,
        "Lettre",
        "js.pdf",
        "application/pdf",
        &hostile,
    );
    assert_eq!(
        created["receipt"]["files"][0]["pdf"]["problems"][0]["code"], "javascript",
        "{created}"
    );
    let clean = register_file(
        &app,
        &token,
        "Lettre",
        "clean.pdf",
        "application/pdf",
        &docs::text_pdf(1, "Kalimatzahira"),
    );
    // The background job's own round, run here: the clean file is read, the other is not.
    let s = &app.inst.services;
    assert_eq!(diwan_app::document_text::process_due(s, None).unwrap(), 2);
    let url = |q: &str| app.url(&format!("/api/v1/correspondences?registry=CENTRAL&q={q}"));
    let found = get(&url("Kalimatzahira"), Some(&token)).json();
    assert_eq!(found["items"][0]["id"], clean["id"], "{found}");
    let hidden = get(&url("Kalimatkhafiya"), Some(&token)).json();
    assert_eq!(hidden["total"], 0, "{hidden}");
}
