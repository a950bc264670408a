//! Deposited documents: the inspection of PDFs at registration (broken and hostile files
//! included), and the sealed dossier assembled from every attachment.

use std::path::Path;
use std::time::{Duration, Instant};

use diwan_tests::docs::{hostile_corpus, jpeg, picture, png, text_pdf, tiff};
use diwan_tests::{Resp, TestApp, get, letter, multipart, pyhanko_validate, run_tool, send};
use serde_json::{Value, json};

use crate::pages::PageClient;
use crate::receipts::{nss_db, root_pem, scratch};

/// Registers a letter to CENTRAL with these files: `(name, declared type, bytes)`.
fn register_files(
    app: &TestApp,
    token: &str,
    subject: &str,
    files: &[(&str, &str, &[u8])],
) -> Resp {
    let meta = letter("CENTRAL", subject).to_string();
    let mut parts = vec![("metadata", None, "application/json", meta.as_bytes())];
    parts.extend(files.iter().map(|(n, t, b)| ("file", Some(*n), *t, *b)));
    let (ct, body) = multipart(&parts);
    send(
        "POST",
        &app.url("/api/v1/correspondences"),
        Some(token),
        &ct,
        &body,
    )
}

fn codes(file: &Value) -> Vec<String> {
    file["pdf"]["problems"]
        .as_array()
        .unwrap_or_else(|| panic!("no problems list: {file}"))
        .iter()
        .map(|p| p["code"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn hostile_and_broken_pdfs_are_registered_with_their_problems_within_the_time_bound() {
    let bound = Duration::from_millis(4000);
    let app = TestApp::spawn_with(&[("DIWAN__DOCUMENTS__INSPECT_MS", "4000")]);
    let token = app.login("registrar@demo.diwan");
    let mut javascript_id = String::new();
    for h in hostile_corpus() {
        let started = Instant::now();
        let r = register_files(
            &app,
            &token,
            h.name,
            &[(h.name, "application/pdf", &h.bytes)],
        );
        let took = started.elapsed();
        assert_eq!(r.status, 201, "{}: {}", h.name, r.text());
        assert!(took < bound, "{} took {took:?}", h.name);
        let created = r.json();
        let file = &created["receipt"]["files"][0];
        assert!(
            codes(file).iter().any(|c| c == h.code),
            "{}: expected {} in {file}",
            h.name,
            h.code
        );
        // The same outcome is stored with the file, and the original is kept byte for byte.
        let id = created["id"].as_str().unwrap();
        let c = get(
            &app.url(&format!("/api/v1/correspondences/{id}")),
            Some(&token),
        );
        assert_eq!(c.status, 200);
        let stored = &c.json()["files"][0];
        assert_eq!(codes(stored), codes(file), "{}", h.name);
        let f = get(
            &app.url(&format!(
                "/api/v1/correspondences/{id}/files/{}",
                stored["id"].as_str().unwrap()
            )),
            Some(&token),
        );
        assert_eq!(
            f.body, h.bytes,
            "{}: the original is kept unchanged",
            h.name
        );
        if h.code == "javascript" {
            javascript_id = id.to_owned();
        }
        assert_eq!(get(&app.url("/healthz"), None).status, 200);
    }
    // The back office says what was found, and does not show such a file inline.
    let mut office = PageClient::new(&app.base, "fr");
    let csrf = office.csrf("/office/login");
    let login = office.post_form(
        "/office/login",
        &[
            ("csrf", &csrf),
            ("email", "registrar@demo.diwan"),
            ("password", "demo-password"),
        ],
    );
    assert_eq!(login.status, 303, "{}", login.body);
    let page = office.get(&format!("/office/correspondences/{javascript_id}"));
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("Il contient du JavaScript."),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("<code dir=\"ltr\">javascript</code>"),
        "{}",
        page.body
    );
    let inline =
        format!("<iframe class=\"pdf-view\" src=\"/office/correspondences/{javascript_id}/files/");
    assert!(!page.body.contains(&inline), "{}", page.body);
    assert!(page.body.contains("id=\"dossier-view\""), "{}", page.body);
    // A clean PDF: its pages, no problem.
    let r = register_files(
        &app,
        &token,
        "clean",
        &[("clean.pdf", "application/pdf", &text_pdf(3, "Clean"))],
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let file = &r.json()["receipt"]["files"][0];
    assert_eq!(file["pdf"]["pages"], 3, "{file}");
    assert!(codes(file).is_empty(), "{file}");
}

/// Checks a sealed PDF with pyHanko and pdfsig against the installation's root.
pub(crate) fn assert_sealed_and_trusted(app: &TestApp, pdf: &Path) {
    let root = scratch(&app.sandbox.data_dir, "root.pem");
    std::fs::write(&root, root_pem(&app.base)).unwrap();
    let (ok, out) = pyhanko_validate(root.to_str().unwrap(), pdf.to_str().unwrap());
    assert!(ok, "pyHanko rejects the dossier:\n{out}");
    let db = nss_db(&scratch(&app.sandbox.data_dir, "nss"), &root);
    let (_, out) = run_tool("pdfsig", &["-nssdir", &db, pdf.to_str().unwrap()]);
    assert!(out.contains("Signature is Valid"), "pdfsig:\n{out}");
    assert!(out.contains("Certificate is Trusted"), "pdfsig:\n{out}");
}

fn qpdf_pages(pdf: &Path) -> usize {
    let (ok, out) = run_tool("qpdf", &["--show-npages", pdf.to_str().unwrap()]);
    assert!(ok, "{out}");
    out.trim().parse().unwrap()
}

fn fetch_dossier(
    app: &TestApp,
    token: &str,
    id: &str,
    name: &str,
) -> (Vec<u8>, std::path::PathBuf) {
    let r = get(
        &app.url(&format!("/api/v1/correspondences/{id}/dossier")),
        Some(token),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.content_type, "application/pdf");
    let path = scratch(&app.sandbox.data_dir, name);
    std::fs::write(&path, &r.body).unwrap();
    // The digest it is stored under (computed while it was signed) is that of its bytes.
    let declared = r.header("digest").unwrap().to_owned();
    let (ok, out) = run_tool("sha256sum", &[path.to_str().unwrap()]);
    assert!(ok, "{out}");
    assert_eq!(
        declared,
        format!("sha-256={}", out.split_whitespace().next().unwrap())
    );
    (r.body, path)
}

#[test]
fn the_dossier_stamps_and_assembles_every_file_and_is_sealed_for_independent_verifiers() {
    let app = TestApp::spawn();
    let token = app.login("registrar@demo.diwan");
    // A scan at 100 dpi (an A4 page would be 827 x 1169 pixels: this is a smaller slip).
    let (w, h) = (300, 420);
    let jpeg_bytes = jpeg(&picture(w, h, 1), w, h, 100, 1.0);
    let png_bytes = png(&picture(200, 150, 2), 200, 150, 1, 150);
    let (p1, p2) = (picture(160, 220, 3), picture(160, 220, 4));
    let tiff_bytes = tiff(&[(&p1, 160, 220), (&p2, 160, 220)], 200, true);
    let pdf_bytes = text_pdf(3, "Annexe");
    let r = register_files(
        &app,
        &token,
        "Demande de permis — طلب رخصة",
        &[
            ("scan.jpg", "image/jpeg", &jpeg_bytes),
            ("plan.png", "image/png", &png_bytes),
            ("pieces.tif", "image/tiff", &tiff_bytes),
            ("annexe.pdf", "application/pdf", &pdf_bytes),
        ],
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let created = r.json();
    let id = created["id"].as_str().unwrap();
    let number = created["registration_number"].as_str().unwrap();
    let (dossier, path) = fetch_dossier(&app, &token, id, "dossier.pdf");
    if let Some(copy) = std::env::var_os("DIWAN_DOSSIER_COPY") {
        std::fs::write(copy, &dossier).unwrap();
    }

    // 1 stamp + 1 JPEG + 1 PNG + 2 TIFF + 3 PDF pages.
    assert_eq!(qpdf_pages(&path), 8);
    let (ok, out) = run_tool("qpdf", &["--check", path.to_str().unwrap()]);
    assert!(ok, "qpdf:\n{out}");
    let (ok, text) = run_tool("pdftotext", &[path.to_str().unwrap(), "-"]);
    assert!(ok, "{text}");
    assert!(
        text.contains(number),
        "the stamp's number is in the text:\n{text}"
    );
    assert!(
        text.contains("Annexe page 3"),
        "the imported pages keep their text:\n{text}"
    );
    // The JPEG, byte for byte: embedded as DCT, not recompressed.
    assert!(
        dossier
            .windows(jpeg_bytes.len())
            .any(|w| w == jpeg_bytes.as_slice()),
        "the JPEG's bytes are in the dossier unchanged"
    );
    assert_sealed_and_trusted(&app, &path);
    // The image pages have the scans' physical size: 300 px at 100 dpi is 216 pt.
    let (ok, info) = run_tool("pdfinfo", &["-f", "2", "-l", "2", path.to_str().unwrap()]);
    assert!(ok && info.contains("216 x 302.4 pts"), "{info}");

    // Asked again: the same, recorded dossier.
    let (again, _) = fetch_dossier(&app, &token, id, "again.pdf");
    assert_eq!(again, dossier);
    // The originals are kept unchanged beside it.
    let c = get(
        &app.url(&format!("/api/v1/correspondences/{id}")),
        Some(&token),
    )
    .json();
    let f = get(
        &app.url(&format!(
            "/api/v1/correspondences/{id}/files/{}",
            c["files"][2]["id"].as_str().unwrap()
        )),
        Some(&token),
    );
    assert_eq!(f.body, tiff_bytes);
}

#[test]
fn refused_files_get_a_page_saying_so_and_the_dossier_is_only_for_who_may_see_the_letter() {
    let app = TestApp::spawn();
    let token = app.login("registrar@demo.diwan");
    let hostile = hostile_corpus();
    let javascript = hostile.iter().find(|h| h.code == "javascript").unwrap();
    let deep = hostile.iter().find(|h| h.code == "too_deep").unwrap();
    let meta = {
        let mut m = letter("CENTRAL", "سري — confidentiel");
        m["confidentiality"] = json!("confidential");
        m.to_string()
    };
    let (ct, body) = multipart(&[
        ("metadata", None, "application/json", meta.as_bytes()),
        (
            "file",
            Some("lettre.pdf"),
            "application/pdf",
            &text_pdf(2, "Lettre"),
        ),
        (
            "file",
            Some("<script>x</script>.pdf"),
            "application/pdf",
            &javascript.bytes,
        ),
        ("file", Some("deep.pdf"), "application/pdf", &deep.bytes),
    ]);
    let r = send(
        "POST",
        &app.url("/api/v1/correspondences"),
        Some(&token),
        &ct,
        &body,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["id"].as_str().unwrap().to_owned();
    let (_, path) = fetch_dossier(&app, &token, &id, "refused.pdf");
    // 1 stamp + 2 pages + 1 page for each refused file.
    assert_eq!(qpdf_pages(&path), 5);
    let (ok, out) = run_tool("qpdf", &["--check", path.to_str().unwrap()]);
    assert!(ok, "qpdf:\n{out}");
    let (_, text) = run_tool("pdftotext", &[path.to_str().unwrap(), "-"]);
    assert!(text.contains("n'a pas pu être convertie"), "{text}");
    assert!(text.contains("javascript"), "{text}");
    assert!(text.contains("too_deep"), "{text}");
    assert!(
        text.contains("<script>x</script>.pdf"),
        "the name is shown as text: {text}"
    );
    assert_sealed_and_trusted(&app, &path);

    // A handler of another unit: not found, like the letter itself.
    let handler = app.login("handler@demo.diwan");
    get(
        &app.url(&format!("/api/v1/correspondences/{id}/dossier")),
        Some(&handler),
    )
    .assert_problem(404, "not_found");
    get(
        &app.url(&format!("/api/v1/correspondences/{id}/dossier")),
        None,
    )
    .assert_problem(401, "unauthenticated");
}

/// Peak resident memory of a process, from `/proc/<pid>/status` (kB).
fn peak_rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[test]
fn a_200_mb_pdf_is_registered_stored_included_and_sealed_in_bounded_memory() {
    // The memory under test is the files' path (upload, inspection, storage, dossier,
    // download), the same on both backends: this runs once, on SQLite.
    if !matches!(
        diwan_tests::Backend::from_env(),
        diwan_tests::Backend::Sqlite
    ) {
        return;
    }
    const BIN: &str = env!("CARGO_BIN_EXE_diwan-under-test");
    let sandbox = diwan_tests::Sandbox::new();
    let work = sandbox.data_dir.join("large");
    std::fs::create_dir_all(&work).unwrap();
    let source = work.join("large.pdf");
    let pages = {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&source).unwrap());
        let pages = diwan_tests::docs::write_large_pdf(&mut out, 200_000_000, 1_000_000).unwrap();
        std::io::Write::flush(&mut out).unwrap();
        pages
    };
    let size = std::fs::metadata(&source).unwrap().len();
    assert!(size >= 200_000_000, "{size}");
    let (server, base) = diwan_tests::start_server(
        BIN,
        &sandbox,
        &[
            ("DIWAN__LIMITS__MAX_FILE_BYTES", "262144000"),
            ("DIWAN__LIMITS__MAX_REQUEST_BYTES", "268435456"),
            // As deployed (Dockerfile, docs/OPERATIONS.md): without it, glibc keeps the
            // 19 MiB blocks of the demo agents' password hashing in its heap, and the
            // process starts anywhere between 50 and 110 MB before any file is seen.
            ("GLIBC_TUNABLES", "glibc.malloc.mmap_threshold=131072"),
        ],
    );
    let pid = server.0.id();
    let at_start = peak_rss_kb(pid) / 1024;
    let token = {
        let r = diwan_tests::post_json(
            &format!("{base}/api/v1/auth/login"),
            None,
            &json!({"email": "registrar@demo.diwan", "password": "demo-password"}),
        );
        r.json()["token"].as_str().unwrap().to_owned()
    };

    // Upload, streamed from the disk: metadata part, the file part, the closing boundary.
    let boundary = "diwan-large-boundary";
    let meta = letter("CENTRAL", "Grand dossier numérisé").to_string();
    let head = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"metadata\"\r\nContent-Type: application/json\r\n\r\n{meta}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"large.pdf\"\r\nContent-Type: application/pdf\r\n\r\n"
    );
    let tail = format!("\r\n--{boundary}--\r\n");
    let body = std::io::Read::chain(
        std::io::Read::chain(
            std::io::Cursor::new(head.into_bytes()),
            std::fs::File::open(&source).unwrap(),
        ),
        std::io::Cursor::new(tail.into_bytes()),
    );
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let started = Instant::now();
    let mut r = agent
        .post(&format!("{base}/api/v1/correspondences"))
        .header("Authorization", &format!("Bearer {token}"))
        .header(
            "Content-Type",
            &format!("multipart/form-data; boundary={boundary}"),
        )
        .send(ureq::SendBody::from_owned_reader(body))
        .unwrap();
    let text = r.body_mut().read_to_string().unwrap();
    assert_eq!(r.status(), 201, "{text}");
    let created: Value = serde_json::from_str(&text).unwrap();
    let file = &created["receipt"]["files"][0];
    assert_eq!(file["size"], size);
    assert_eq!(file["pdf"]["pages"], pages, "{file}");
    assert!(codes(file).is_empty(), "{file}");
    let registered_in = started.elapsed();
    let after_registration = peak_rss_kb(pid) / 1024;

    // The dossier, downloaded to the disk.
    let id = created["id"].as_str().unwrap();
    let dossier = work.join("dossier.pdf");
    let mut r = agent
        .get(&format!("{base}/api/v1/correspondences/{id}/dossier"))
        .header("Authorization", &format!("Bearer {token}"))
        .call()
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut out = std::fs::File::create(&dossier).unwrap();
    std::io::copy(&mut r.body_mut().as_reader(), &mut out).unwrap();
    drop(out);
    let peak_mb = peak_rss_kb(pid) / 1024;
    eprintln!(
        "200 MB PDF: registered in {registered_in:?}, dossier of {} bytes; server peak RSS {at_start} MB after start, {after_registration} MB after registration, {peak_mb} MB after the dossier",
        std::fs::metadata(&dossier).unwrap().len()
    );
    assert!(peak_mb <= 150, "peak resident memory {peak_mb} MB");

    assert_eq!(qpdf_pages(&dossier), pages + 1);
    let (ok, out) = run_tool("qpdf", &["--check", dossier.to_str().unwrap()]);
    assert!(ok, "qpdf:\n{}", &out[out.len().saturating_sub(2000)..]);
    let root = work.join("root.pem");
    std::fs::write(
        &root,
        get(&format!("{base}/api/v1/pki/root.pem"), None).body,
    )
    .unwrap();
    let (ok, out) = pyhanko_validate(root.to_str().unwrap(), dossier.to_str().unwrap());
    assert!(ok, "pyHanko rejects the large dossier:\n{out}");
    drop(server);
}
