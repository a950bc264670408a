use diwan_tests::{TestApp, get, letter, multipart, pdf, post_json, register, send};
use serde_json::json;

#[test]
fn registers_a_letter_and_returns_it_exactly() {
    let app = TestApp::spawn();
    let token = app.login("registrar@demo.diwan");
    let subject =
        "طلب رخصة <script>alert(\"x\")</script> & 'quotes' — Demande d'autorisation\nسطر ثان";
    let mut meta = letter("CENTRAL", subject);
    meta["sender"]["name"] = json!("عبد الرحمن <b>O'Brien</b> \"& Co\"");
    meta["sender_reference"] = json!("REF/2026/<12>");
    meta["sender_date"] = json!("2026-11-02");
    meta["confidentiality"] = json!("normal");
    meta["priority"] = json!("urgent");
    meta["category"] = json!("رخص");
    let body = pdf(100 * 1024);
    let r = register(&app.base, &token, &meta, &body);
    assert_eq!(r.status, 201, "{}", r.text());
    let created = r.json();
    assert_eq!(
        created["registration_number"],
        "CENTRAL/A/2026/000001".replace("2026", &chrono::Utc::now().format("%Y").to_string())
    );
    let receipt = &created["receipt"];
    assert_eq!(receipt["files"][0]["size"], body.len());
    assert_eq!(receipt["files"][0]["media_type"], "application/pdf");
    assert_eq!(receipt["tracking_code"].as_str().unwrap().len(), 12);
    let id = created["id"].as_str().unwrap();

    let c = get(
        &app.url(&format!("/api/v1/correspondences/{id}")),
        Some(&token),
    );
    assert_eq!(c.status, 200);
    let c = c.json();
    assert_eq!(c["subject"], subject);
    assert_eq!(c["sender"]["name"], meta["sender"]["name"]);
    assert_eq!(c["sender"]["national_id"], "AB123456");
    assert_eq!(c["sender_reference"], "REF/2026/<12>");
    assert_eq!(c["sender_date"], "2026-11-02");
    assert_eq!(c["priority"], "urgent");
    assert_eq!(c["category"], "رخص");
    assert_eq!(c["history"][0]["kind"], "registered");
    assert_eq!(c["registered_at"], receipt["registered_at"]);

    let file_id = c["files"][0]["id"].as_str().unwrap();
    let f = get(
        &app.url(&format!("/api/v1/correspondences/{id}/files/{file_id}")),
        Some(&token),
    );
    assert_eq!(f.status, 200);
    assert_eq!(f.body, body);
    assert!(
        f.header("content-disposition")
            .unwrap()
            .starts_with("attachment;")
    );
    assert_eq!(f.header("x-content-type-options"), Some("nosniff"));
}

#[test]
fn long_values_are_bounded_by_documented_limits() {
    let app = TestApp::spawn();
    let token = app.login("registrar@demo.diwan");
    let mut meta = letter("CENTRAL", &"ب".repeat(1000));
    meta["sender"]["name"] = json!("م".repeat(300));
    let r = register(&app.base, &token, &meta, &pdf(1000));
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["id"].as_str().unwrap().to_owned();
    let c = get(
        &app.url(&format!("/api/v1/correspondences/{id}")),
        Some(&token),
    )
    .json();
    assert_eq!(c["subject"].as_str().unwrap().chars().count(), 1000);
    assert_eq!(c["sender"]["name"].as_str().unwrap().chars().count(), 300);

    for (field, value) in [
        ("subject", "ب".repeat(1001)),
        ("subject", "   ".into()),
        ("subject", "a\u{0}b".into()),
    ] {
        let mut m = letter("CENTRAL", "x");
        m[field] = json!(value);
        register(&app.base, &token, &m, &pdf(1000)).assert_problem(422, "invalid_input");
    }
    let mut m = letter("CENTRAL", "x");
    m["sender"]["name"] = json!("م".repeat(301));
    let r = register(&app.base, &token, &m, &pdf(1000));
    r.assert_problem(422, "invalid_input");
    assert!(r.json()["detail"].as_str().unwrap().contains("sender.name"));
}

#[test]
fn numbers_are_per_registry_direction_and_never_reused_after_annulment() {
    let app = TestApp::spawn();
    let token = app.login("registrar@demo.diwan");
    let year = chrono::Utc::now().format("%Y").to_string();
    let number =
        |r: &diwan_tests::Resp| r.json()["registration_number"].as_str().unwrap().to_owned();
    let a1 = register(&app.base, &token, &letter("CENTRAL", "one"), &pdf(500));
    let a2 = register(&app.base, &token, &letter("CENTRAL", "two"), &pdf(500));
    let mut out = letter("CENTRAL", "out");
    out["direction"] = json!("outgoing");
    let d1 = register(&app.base, &token, &out, &pdf(500));
    let k1 = register(&app.base, &token, &letter("DP-KENITRA", "prov"), &pdf(500));
    assert_eq!(number(&a1), format!("CENTRAL/A/{year}/000001"));
    assert_eq!(number(&a2), format!("CENTRAL/A/{year}/000002"));
    assert_eq!(number(&d1), format!("CENTRAL/D/{year}/000001"));
    assert_eq!(number(&k1), format!("DP-KENITRA/A/{year}/000001"));

    let id = a2.json()["id"].as_str().unwrap().to_owned();
    let annul = app.url(&format!("/api/v1/correspondences/{id}/annul"));
    post_json(&annul, Some(&token), &json!({"reason": ""})).assert_problem(422, "invalid_input");
    let r = post_json(
        &annul,
        Some(&token),
        &json!({"reason": "تسجيل مكرر / doublon"}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let c = r.json();
    assert_eq!(c["annulment"]["reason"], "تسجيل مكرر / doublon");
    assert_eq!(c["registration_number"], number(&a2));
    assert_eq!(c["history"].as_array().unwrap().len(), 2);
    post_json(&annul, Some(&token), &json!({"reason": "again"}))
        .assert_problem(409, "already_annulled");

    let a3 = register(&app.base, &token, &letter("CENTRAL", "three"), &pdf(500));
    assert_eq!(number(&a3), format!("CENTRAL/A/{year}/000003"));
    let page = get(
        &app.url("/api/v1/correspondences?registry=CENTRAL&direction=incoming"),
        Some(&token),
    )
    .json();
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert!(
        items
            .iter()
            .any(|i| i["registration_number"] == number(&a2) && i["annulled"] == true)
    );
}

#[test]
fn register_pages_are_keyset_paginated_and_searchable() {
    let app = TestApp::spawn();
    let token = app.login("registrar@demo.diwan");
    for i in 0..7 {
        let subject = if i == 3 {
            "Demande de 50% d'AIDE_sociale".to_owned()
        } else {
            format!("رسالة رقم {i}")
        };
        assert_eq!(
            register(&app.base, &token, &letter("CENTRAL", &subject), &pdf(300)).status,
            201
        );
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(c) => app.url(&format!(
                "/api/v1/correspondences?registry=CENTRAL&limit=3&cursor={c}"
            )),
            None => app.url("/api/v1/correspondences?registry=CENTRAL&limit=3"),
        };
        let page = get(&url, Some(&token)).json();
        for item in page["items"].as_array().unwrap() {
            seen.push(item["registration_number"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 7);
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.reverse();
    assert_eq!(seen, sorted, "newest first, no duplicates");

    let hits = |q: &str| {
        let url = app.url(&format!("/api/v1/correspondences?registry=CENTRAL&q={q}"));
        get(&url, Some(&token)).json()["items"]
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(hits("aide_sociale"), 1);
    assert_eq!(hits("50%25"), 1);
    assert_eq!(hits("%25%25"), 0, "LIKE wildcards are escaped");
    assert_eq!(hits("%D8%B1%D8%B3%D8%A7%D9%84%D8%A9"), 6);
    get(
        &app.url("/api/v1/correspondences?registry=CENTRAL&cursor=garbage"),
        Some(&token),
    )
    .assert_problem(400, "invalid_cursor");
    get(
        &app.url("/api/v1/correspondences?registry=CENTRAL&direction=up"),
        Some(&token),
    )
    .assert_problem(400, "invalid_query");
    get(&app.url("/api/v1/correspondences"), Some(&token)).assert_problem(400, "invalid_query");
}

#[test]
fn identical_files_are_stored_once_and_several_files_are_kept_in_order() {
    let app = TestApp::spawn();
    let token = app.login("registrar@demo.diwan");
    let meta = letter("CENTRAL", "deux pièces").to_string();
    let png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR".to_vec();
    let (ct, body) = multipart(&[
        ("file", Some("scan.pdf"), "application/pdf", &pdf(2000)),
        ("metadata", None, "application/json", meta.as_bytes()),
        ("file", Some("صورة.png"), "image/png", &png),
        ("file", Some("copie.pdf"), "application/pdf", &pdf(2000)),
    ]);
    let r = send(
        "POST",
        &app.url("/api/v1/correspondences"),
        Some(&token),
        &ct,
        &body,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let files = r.json()["receipt"]["files"].clone();
    assert_eq!(files[0]["name"], "scan.pdf");
    assert_eq!(files[1]["name"], "صورة.png");
    assert_eq!(files[1]["media_type"], "image/png");
    assert_eq!(files[0]["sha256"], files[2]["sha256"]);
    let (blobs, staged) = app.stored_files();
    assert_eq!(blobs.len(), 2);
    assert!(staged.is_empty());
}

#[test]
fn a_file_registered_again_and_by_many_at_once_is_stored_once_and_read_back_whole() {
    let app = TestApp::spawn();
    let token = app.login("registrar@demo.diwan");
    let file = pdf(2500);
    let first = register(&app.base, &token, &letter("CENTRAL", "original"), &file);
    assert_eq!(first.status, 201, "{}", first.text());
    // Eight at once with the same content: committed together, their content already packed
    // by the first registration, and also the same among them.
    let ids: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|n| {
                let (base, token, file) = (&app.base, &token, &file);
                scope.spawn(move || {
                    let r = register(base, token, &letter("CENTRAL", &format!("copie {n}")), file);
                    assert_eq!(r.status, 201, "{}", r.text());
                    r.json()["id"].as_str().unwrap().to_owned()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let first_id = first.json()["id"].as_str().unwrap().to_owned();
    for id in ids.iter().chain([&first_id]) {
        assert!(
            app.first_file(&token, id) == file,
            "{id}: the file read back differs"
        );
    }
    let (blobs, staged) = app.stored_files();
    assert_eq!(blobs.len(), 1, "{blobs:?}");
    assert!(staged.is_empty());
}

#[test]
fn registers_follow_the_calendar_year_of_the_installation_time_zone() {
    let app = TestApp::spawn_with(&[("DIWAN__TIME__ZONE", "Africa/Casablanca")]);
    let at = |s: &str| {
        chrono::DateTime::parse_from_rfc3339(s)
            .unwrap()
            .with_timezone(&chrono::Utc)
    };
    let number = |r: diwan_tests::Resp| {
        assert_eq!(r.status, 201, "{}", r.text());
        r.json()["registration_number"].as_str().unwrap().to_owned()
    };
    // 22:30 UTC on 31 December is 23:30 in Casablanca (UTC+1 outside Ramadan): still 2026.
    app.clock.set(at("2026-12-31T22:30:00Z"));
    let token = app.login("registrar@demo.diwan");
    assert_eq!(
        number(register(
            &app.base,
            &token,
            &letter("CENTRAL", "a"),
            &pdf(300)
        )),
        "CENTRAL/A/2026/000001"
    );
    // 23:30 UTC is 00:30 on 1 January in Casablanca: the 2027 register opens at 1.
    app.clock.set(at("2026-12-31T23:30:00Z"));
    assert_eq!(
        number(register(
            &app.base,
            &token,
            &letter("CENTRAL", "b"),
            &pdf(301)
        )),
        "CENTRAL/A/2027/000001"
    );
    assert_eq!(
        number(register(
            &app.base,
            &token,
            &letter("CENTRAL", "c"),
            &pdf(302)
        )),
        "CENTRAL/A/2027/000002"
    );
    let page = get(
        &app.url("/api/v1/correspondences?registry=CENTRAL&year=2026"),
        Some(&token),
    )
    .json();
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
}

#[test]
fn only_pdf_jpeg_png_and_tiff_are_accepted_judged_by_their_content() {
    let app = TestApp::spawn();
    let token = app.login("registrar@demo.diwan");
    let meta = letter("CENTRAL", "types").to_string();
    let post = |file: (&str, &str, &[u8])| {
        let (ct, body) = multipart(&[
            ("metadata", None, "application/json", meta.as_bytes()),
            ("file", Some("ok.pdf"), "application/pdf", &pdf(500)),
            ("file", Some(file.0), file.1, file.2),
        ]);
        send(
            "POST",
            &app.url("/api/v1/correspondences"),
            Some(&token),
            &ct,
            &body,
        )
    };
    // Names and declared types do not count: text declared as a PDF, HTML named .png, a ZIP.
    for refused in [
        ("letter.pdf", "application/pdf", &b"just some text"[..]),
        ("scan.png", "image/png", b"<html><script>x</script></html>"),
        (
            "a.zip",
            "application/zip",
            b"PK\x03\x04\x14\x00\x00\x00\x08\x00",
        ),
        ("page.txt", "text/plain", b"hello"),
    ] {
        let r = post(refused);
        r.assert_problem(422, "unsupported_media_type");
        let detail = r.json()["detail"].as_str().unwrap().to_owned();
        for accepted in ["PDF", "JPEG", "PNG", "TIFF"] {
            assert!(detail.contains(accepted), "{detail}");
        }
    }
    // Nothing was registered or left behind by the refusals.
    let (blobs, staged) = app.stored_files();
    assert!(
        blobs.is_empty() && staged.is_empty(),
        "{blobs:?} {staged:?}"
    );
    // The content decides, whatever the name and the declared type.
    for accepted in [
        (
            "photo.bin",
            "application/octet-stream",
            &b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"[..],
        ),
        (
            "x",
            "text/plain",
            b"II*\x00\x08\x00\x00\x00\x00\x00\x00\x00",
        ),
        ("y.pdf", "image/png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"),
    ] {
        let r = post(accepted);
        assert_eq!(r.status, 201, "{}", r.text());
    }
}
