//! The parapheur's signatures, judged by verifiers nobody here wrote: OpenSSL for the
//! time-stamping unit, pyHanko and poppler's pdfsig for the signed PDFs.

use base64::Engine as _;
use diwan_tests::{TestApp, docs, get, post_json, run_tool, send};
use serde_json::{Value, json};

use crate::receipts::{nss_db, root_pem, scratch};

const PIN: &str = "483920";

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

fn enrol(app: &TestApp, token: &str, body: &Value) -> diwan_tests::Resp {
    post_json(&app.url("/api/v1/signers/me"), Some(token), body)
}

fn enrolled(app: &TestApp, email: &str, latin: &str, arabic: &str, function: &str) -> String {
    let token = app.login(email);
    let r = enrol(
        app,
        &token,
        &json!({"pin": PIN, "name_latin": latin, "name_ar": arabic, "function": function}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    token
}

fn sign(app: &TestApp, token: &str, pin: &str, pdfs: &[&[u8]]) -> diwan_tests::Resp {
    post_json(
        &app.url("/api/v1/signatures/sign"),
        Some(token),
        &json!({"pin": pin, "documents": pdfs.iter().map(|p| b64().encode(p)).collect::<Vec<_>>()}),
    )
}

fn signed(app: &TestApp, token: &str, pdf: &[u8]) -> Vec<u8> {
    let r = sign(app, token, PIN, &[pdf]);
    assert_eq!(r.status, 200, "{}", r.text());
    b64()
        .decode(r.json()["documents"][0].as_str().unwrap())
        .unwrap()
}

fn validate(app: &TestApp, pdf: &[u8]) -> Value {
    let r = send(
        "POST",
        &app.url("/api/v1/signatures/validate"),
        None,
        "application/pdf",
        pdf,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

/// A signer for the third signature: a new agent with the signer role.
fn third_signer(app: &TestApp) -> String {
    let token = crate::failures::create_agent(app, "gouverneur@demo.ma", "ADM-CENTRALE", "signer");
    let r = enrol(
        app,
        &token,
        &json!({"pin": PIN, "name_latin": "Karim O'Neil <Gouverneur>", "name_ar": "كريم الإدريسي", "function": "Gouverneur"}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    token
}

#[test]
fn the_time_stamping_unit_answers_openssl_requests_that_openssl_verifies() {
    let app = TestApp::spawn();
    let dir = scratch(&app.sandbox.data_dir, "tsa");
    std::fs::create_dir_all(&dir).unwrap();
    let data = dir.join("data.txt");
    std::fs::write(&data, "وثيقة / document\n").unwrap();
    let root = dir.join("root.pem");
    std::fs::write(&root, root_pem(&app.base)).unwrap();
    let path = |p: &std::path::Path| p.to_str().unwrap().to_owned();
    for (digest, with_cert) in [("-sha256", true), ("-sha512", false), ("-sha1", true)] {
        let query = dir.join(format!("q{digest}.tsq"));
        let mut args = vec![
            "ts".to_owned(),
            "-query".into(),
            "-data".into(),
            path(&data),
            digest.into(),
            "-out".into(),
            path(&query),
        ];
        if with_cert {
            args.push("-cert".into());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (ok, out) = run_tool("openssl", &args);
        assert!(ok, "{out}");
        let r = send(
            "POST",
            &app.url("/api/v1/tsa"),
            None,
            "application/timestamp-query",
            &std::fs::read(&query).unwrap(),
        );
        assert_eq!(r.status, 200);
        assert_eq!(r.content_type, "application/timestamp-reply");
        let reply = dir.join(format!("r{digest}.tsr"));
        std::fs::write(&reply, &r.body).unwrap();
        let (ok, text) = run_tool("openssl", &["ts", "-reply", "-in", &path(&reply), "-text"]);
        assert!(ok && text.contains("Granted"), "{text}");
        let mut verify = vec![
            "ts",
            "-verify",
            "-data",
            data.to_str().unwrap(),
            "-in",
            reply.to_str().unwrap(),
            "-CAfile",
            root.to_str().unwrap(),
        ];
        // Without -cert the token carries no certificate: give the unit's chain.
        let chain = dir.join("tsa-chain.pem");
        if !with_cert {
            let tsa = &app.inst.pki.tsa;
            let mut pem = tsa.certificate.to_pem();
            for c in &tsa.chain {
                pem.push_str(&c.to_pem());
            }
            std::fs::write(&chain, pem).unwrap();
            verify.extend(["-untrusted", chain.to_str().unwrap()]);
        }
        let (ok, text) = run_tool("openssl", &verify);
        assert!(ok && text.contains("Verification: OK"), "{digest}: {text}");
    }
    // Not a request: a rejection, not an error page.
    let r = send(
        "POST",
        &app.url("/api/v1/tsa"),
        None,
        "application/timestamp-query",
        b"\x30\x03\x02\x01\x07",
    );
    assert_eq!(r.status, 200);
    let reply = dir.join("bad.tsr");
    std::fs::write(&reply, &r.body).unwrap();
    let (_, text) = run_tool(
        "openssl",
        &["ts", "-reply", "-in", reply.to_str().unwrap(), "-text"],
    );
    assert!(text.contains("Rejected"), "{text}");
}

#[test]
fn three_signers_in_sequence_stay_valid_for_pyhanko_pdfsig_and_diwan_and_a_later_change_shows() {
    let app = TestApp::spawn();
    let dir = scratch(&app.sandbox.data_dir, "three");
    std::fs::create_dir_all(&dir).unwrap();
    let root = dir.join("root.pem");
    std::fs::write(&root, root_pem(&app.base)).unwrap();
    let head = enrolled(
        &app,
        "head@demo.diwan",
        "Fatima Zahra Bennani",
        "فاطمة الزهراء بناني",
        "Directrice régionale",
    );
    let signer = enrolled(
        &app,
        "signer@demo.diwan",
        "Youssef El Amrani",
        "يوسف العمراني",
        "Secrétaire général",
    );
    let third = third_signer(&app);
    let pdf = docs::text_pdf(10, "Arrete");
    let once = signed(&app, &head, &pdf);
    let twice = signed(&app, &signer, &once);
    let thrice = signed(&app, &third, &twice);
    assert!(thrice.starts_with(&twice) && twice.starts_with(&once) && once.starts_with(&pdf));

    let report = validate(&app, &thrice);
    assert_eq!(report["valid"], true, "{report:#}");
    let sigs = report["signatures"].as_array().unwrap();
    assert_eq!(sigs.len(), 3);
    for (i, s) in sigs.iter().enumerate() {
        assert_eq!(s["intact"], true, "{s:#}");
        assert_eq!(s["trusted"], true, "{s:#}");
        assert!(s["signing_time"].is_string(), "{s:#}");
        assert_eq!(s["chain"]["trusted"], true, "{s:#}");
        assert_eq!(s["timestamp"]["trusted"], true, "{s:#}");
        let expected = if i < 2 { "only_signatures" } else { "none" };
        assert_eq!(s["changes_after"], expected, "{s:#}");
    }
    assert!(
        sigs[0]["signer"]
            .as_str()
            .unwrap()
            .contains("Fatima Zahra Bennani")
    );

    let file = dir.join("thrice.pdf");
    std::fs::write(&file, &thrice).unwrap();
    let (root_s, file_s) = (root.to_str().unwrap(), file.to_str().unwrap());
    let (ok, out) = run_tool(
        "pyhanko",
        &[
            "sign",
            "validate",
            "--pretty-print",
            "--trust",
            root_s,
            "--trust-replace",
            "--no-revocation-check",
            file_s,
        ],
    );
    assert!(ok, "pyHanko validate:\n{out}");
    let (ok, out) = run_tool(
        "pyhanko",
        &[
            "sign",
            "adesverify",
            "--pretty-print",
            "--trust",
            root_s,
            "--trust-replace",
            "--no-revocation-check",
            file_s,
        ],
    );
    assert!(ok, "pyHanko adesverify:\n{out}");
    let db = nss_db(&dir, &root);
    let (_, out) = run_tool("pdfsig", &["-nssdir", &db, file_s]);
    assert_eq!(
        out.matches("Signature is Valid").count(),
        3,
        "pdfsig:\n{out}"
    );
    let (ok, out) = run_tool("qpdf", &["--check", file_s]);
    assert!(ok, "{out}");
    // `diwan verify` offline, with the root only: every signature holds.
    let bin = env!("CARGO_BIN_EXE_diwan-under-test");
    let (ok, out) = run_tool(bin, &["verify", file_s, "--trust", root_s]);
    assert!(ok, "diwan verify:\n{out}");
    // The Arabic name of the visible block is text of the last page, in logical order.
    let (_, text) = run_tool("pdftotext", &["-f", "10", "-l", "10", file_s, "-"]);
    assert!(text.contains("Youssef El Amrani"), "{text}");

    // A page's content changed after the second signature.
    let tampered = crate::signatures::replace_a_page(&twice);
    let report = validate(&app, &tampered);
    assert_eq!(report["valid"], false, "{report:#}");
    assert_eq!(
        report["signatures"][1]["changes_after"], "other",
        "{report:#}"
    );
    let bad = dir.join("tampered.pdf");
    std::fs::write(&bad, &tampered).unwrap();
    let (ok, out) = run_tool(
        "pyhanko",
        &[
            "sign",
            "validate",
            "--trust",
            root_s,
            "--trust-replace",
            "--no-revocation-check",
            bad.to_str().unwrap(),
        ],
    );
    assert!(!ok, "pyHanko accepts a changed document:\n{out}");
    let (_, out) = run_tool("pdfsig", &["-nssdir", &db, bad.to_str().unwrap()]);
    assert!(
        !out.contains("Total document signed") || out.matches("Signature is Valid").count() < 2,
        "pdfsig:\n{out}"
    );
    let (ok, _) = run_tool(bin, &["verify", bad.to_str().unwrap(), "--trust", root_s]);
    assert!(
        !ok,
        "diwan verify accepts a document changed after its signatures"
    );
}

/// An incremental update replacing the first page's content stream.
pub fn replace_a_page(pdf: &[u8]) -> Vec<u8> {
    // The test PDF's first page is object 10 with its content in object 11.
    let mut out = pdf.to_vec();
    let body = b"BT /F1 24 Tf 72 720 Td (Changed after signing) Tj ET";
    let offset = out.len();
    out.extend_from_slice(format!("\n11 0 obj\n<</Length {}>>\nstream\n", body.len()).as_bytes());
    out.extend_from_slice(body);
    out.extend_from_slice(b"\nendstream\nendobj\n");
    let prev = last_startxref(pdf);
    let xref = out.len();
    let size = trailer_size(pdf);
    out.extend_from_slice(
        format!(
            "xref\n11 1\n{offset:010} 00000 n \ntrailer\n<</Size {size} /Root 1 0 R /Prev {prev}>>\nstartxref\n{xref}\n%%EOF\n"
        )
        .as_bytes(),
    );
    out
}

fn last_startxref(pdf: &[u8]) -> usize {
    let text = String::from_utf8_lossy(pdf);
    let at = text.rfind("startxref").unwrap();
    text[at + 9..]
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

fn trailer_size(pdf: &[u8]) -> usize {
    let text = String::from_utf8_lossy(pdf);
    let at = text.rfind("/Size").unwrap();
    text[at + 5..]
        .split(|c: char| !c.is_ascii_digit() && c != ' ')
        .next()
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn a_signature_time_stamped_before_revocation_stays_valid_and_the_revoked_key_signs_no_more() {
    let app = TestApp::spawn();
    let token = enrolled(
        &app,
        "signer@demo.diwan",
        "Youssef El Amrani",
        "يوسف العمراني",
        "SG",
    );
    let pdf = signed(&app, &token, &docs::text_pdf(2, "Lettre"));
    app.clock.advance(chrono::Duration::hours(1));
    let token = app.login("signer@demo.diwan");
    let me = get(&app.url("/api/v1/signers/me"), Some(&token)).json();
    let r = post_json(
        &app.url(&format!(
            "/api/v1/signers/{}/revoke",
            me["agent_id"].as_str().unwrap()
        )),
        Some(&token),
        &json!({}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.json()["revoked_at"].is_string());
    app.clock.advance(chrono::Duration::hours(1));
    let token = app.login("signer@demo.diwan");
    let report = validate(&app, &pdf);
    assert_eq!(report["valid"], true, "{report:#}");
    assert_eq!(
        report["signatures"][0]["chain"]["revocation"], "good",
        "{report:#}"
    );
    sign(&app, &token, PIN, &[&docs::text_pdf(1, "Again")])
        .assert_problem(403, "certificate_revoked");
    // The CRL lists it.
    let crl = get(&app.url("/api/v1/pki/issuing.crl"), None);
    assert_eq!(crl.status, 200);
    let dir = scratch(&app.sandbox.data_dir, "crl");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("issuing.crl");
    std::fs::write(&path, &crl.body).unwrap();
    let (_, text) = run_tool(
        "openssl",
        &[
            "crl",
            "-inform",
            "DER",
            "-in",
            path.to_str().unwrap(),
            "-noout",
            "-text",
        ],
    );
    let serial = me["serial"].as_str().unwrap().to_uppercase();
    assert!(
        text.to_uppercase().contains(&serial),
        "{serial} not in\n{text}"
    );
}

#[test]
fn remote_signing_with_a_key_only_the_client_holds_is_accepted_by_pyhanko() {
    use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair as _};
    let app = TestApp::spawn();
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
    let key =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng).unwrap();
    // SubjectPublicKeyInfo of a P-256 key: the fixed prefix, then the uncompressed point.
    let mut spki = vec![
        0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08,
        0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
    ];
    spki.extend_from_slice(key.public_key().as_ref());
    let token = app.login("signer@demo.diwan");
    let r = enrol(
        &app,
        &token,
        &json!({"public_key": b64().encode(&spki), "name_latin": "Nadia Card", "name_ar": "نادية"}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["key_held_by"], "device");
    // The server cannot sign with it.
    sign(&app, &token, PIN, &[&docs::text_pdf(1, "x")]).assert_problem(422, "key_on_device");

    let prepare = |pdf: &[u8]| {
        let r = post_json(
            &app.url("/api/v1/signatures/remote"),
            Some(&token),
            &json!({"document": b64().encode(pdf), "reason": "Approbation"}),
        );
        assert_eq!(r.status, 201, "{}", r.text());
        r.json()
    };
    let request = prepare(&docs::text_pdf(3, "Remote"));
    let tbs = b64()
        .decode(request["to_be_signed"].as_str().unwrap())
        .unwrap();
    let signature = key.sign(&rng, &tbs).unwrap();
    let complete = |id: &str, sig: &[u8]| {
        post_json(
            &app.url(&format!("/api/v1/signatures/remote/{id}")),
            Some(&token),
            &json!({"signature": b64().encode(sig)}),
        )
    };
    // A signature of other bytes is refused.
    let wrong = key.sign(&rng, b"other bytes").unwrap();
    complete(request["id"].as_str().unwrap(), wrong.as_ref()).assert_problem(422, "bad_signature");
    let r = complete(request["id"].as_str().unwrap(), signature.as_ref());
    assert_eq!(r.status, 200, "{}", r.text());
    let pdf = r.body.clone();
    let report = validate(&app, &pdf);
    assert_eq!(report["valid"], true, "{report:#}");
    let dir = scratch(&app.sandbox.data_dir, "remote");
    std::fs::create_dir_all(&dir).unwrap();
    let root = dir.join("root.pem");
    std::fs::write(&root, root_pem(&app.base)).unwrap();
    let file = dir.join("remote.pdf");
    std::fs::write(&file, &pdf).unwrap();
    let (ok, out) = run_tool(
        "pyhanko",
        &[
            "sign",
            "validate",
            "--pretty-print",
            "--trust",
            root.to_str().unwrap(),
            "--trust-replace",
            "--no-revocation-check",
            file.to_str().unwrap(),
        ],
    );
    assert!(ok, "pyHanko:\n{out}");
    // Used once; expired after a quarter of an hour.
    complete(request["id"].as_str().unwrap(), signature.as_ref()).assert_problem(404, "not_found");
    let late = prepare(&docs::text_pdf(1, "Late"));
    app.clock.advance(chrono::Duration::minutes(16));
    let token2 = app.login("signer@demo.diwan");
    let tbs = b64()
        .decode(late["to_be_signed"].as_str().unwrap())
        .unwrap();
    let sig = key.sign(&rng, &tbs).unwrap();
    post_json(
        &app.url(&format!(
            "/api/v1/signatures/remote/{}",
            late["id"].as_str().unwrap()
        )),
        Some(&token2),
        &json!({"signature": b64().encode(sig.as_ref())}),
    )
    .assert_problem(409, "signing_expired");
}

#[test]
fn enrolment_and_pins_are_checked() {
    let app = TestApp::spawn();
    let registrar = app.login("registrar@demo.diwan");
    enrol(
        &app,
        &registrar,
        &json!({"pin": PIN, "name_latin": "Clerk"}),
    )
    .assert_problem(403, "forbidden");
    let token = app.login("signer@demo.diwan");
    enrol(&app, &token, &json!({"pin": "12", "name_latin": "Y"})).assert_problem(422, "weak_pin");
    enrol(&app, &token, &json!({"name_latin": "Y"})).assert_problem(400, "invalid_enrolment");
    get(&app.url("/api/v1/signers/me"), Some(&token)).assert_problem(404, "not_found");
    sign(&app, &token, PIN, &[&docs::text_pdf(1, "x")]).assert_problem(422, "not_enrolled");
    let r = enrol(
        &app,
        &token,
        &json!({"pin": PIN, "name_latin": "Youssef <b>El</b> Amrani", "name_ar": "يوسف"}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    enrol(&app, &token, &json!({"pin": PIN, "name_latin": "Again"}))
        .assert_problem(409, "already_enrolled");
    sign(&app, &token, PIN, &[b"not a pdf"]).assert_problem(422, "not_a_pdf");
    // Batch: two documents, one PIN entry.
    let r = sign(
        &app,
        &token,
        PIN,
        &[&docs::text_pdf(1, "a"), &docs::text_pdf(2, "b")],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["documents"].as_array().unwrap().len(), 2);
    for _ in 0..5 {
        sign(&app, &token, "000000", &[&docs::text_pdf(1, "x")]).assert_problem(403, "wrong_pin");
    }
    sign(&app, &token, PIN, &[&docs::text_pdf(1, "x")]).assert_problem(429, "too_many_pins");
    // Another agent cannot revoke it.
    let me = get(&app.url("/api/v1/signers/me"), Some(&token)).json();
    post_json(
        &app.url(&format!(
            "/api/v1/signers/{}/revoke",
            me["agent_id"].as_str().unwrap()
        )),
        Some(&registrar),
        &json!({}),
    )
    .assert_problem(403, "forbidden");
    // A document without signatures is not valid.
    let report = validate(&app, &docs::text_pdf(1, "x"));
    assert_eq!(report["valid"], false);
}

/// An external authority made with the openssl command line: its root (`{name}-ca.pem`) and a
/// signer's key and certificate in `{name}.p12` (password `secret`).
fn external_signer(dir: &std::path::Path, name: &str) -> (String, Vec<u8>) {
    let ca =
        diwan_tests::ExternalCa::new(dir, name, &format!("/CN=Autorite {name}/O=Externe/C=MA"));
    ca.issue(
        diwan_tests::KeyKind::P256,
        "leaf",
        "/CN=Nadia Externe/O=Externe/C=MA",
    );
    let p12 = ca.pkcs12("leaf", "secret");
    (ca.path("ca.pem"), std::fs::read(p12).unwrap())
}

#[test]
fn a_key_certified_by_a_trusted_external_authority_is_imported_and_signs() {
    let sandbox = diwan_tests::Sandbox::new();
    let dir = sandbox.data_dir.join("external");
    std::fs::create_dir_all(&dir).unwrap();
    let (trusted_root, trusted_p12) = external_signer(&dir, "trusted");
    let (_, other_p12) = external_signer(&dir, "other");
    let roots = format!("[\"{trusted_root}\"]");
    let app = TestApp::spawn_on(sandbox, &[("DIWAN__PKI__TRUSTED_ROOTS", &roots)]);
    let token = app.login("signer@demo.diwan");
    let import = |p12: &[u8], password: &str| {
        post_json(
            &app.url("/api/v1/signers/me/pkcs12"),
            Some(&token),
            &json!({"pkcs12": b64().encode(p12), "password": password, "pin": PIN}),
        )
    };
    import(&trusted_p12, "wrong").assert_problem(422, "invalid_pkcs12");
    import(&other_p12, "secret").assert_problem(422, "untrusted_chain");
    let r = import(&trusted_p12, "secret");
    assert_eq!(r.status, 201, "{}", r.text());
    assert!(
        r.json()["issuer"]
            .as_str()
            .unwrap()
            .contains("Autorite trusted")
    );
    let pdf = signed(&app, &token, &docs::text_pdf(1, "Externe"));
    let report = validate(&app, &pdf);
    assert_eq!(report["valid"], true, "{report:#}");
    assert!(
        report["signatures"][0]["chain"]["anchor"]
            .as_str()
            .unwrap()
            .contains("Autorite trusted"),
        "{report:#}"
    );
}

#[test]
fn the_time_stamping_unit_can_be_kept_for_agents() {
    let app = TestApp::spawn_with(&[("DIWAN__PKI__TSA_PUBLIC", "false")]);
    let request = diwan_pki::tsp::encode_request(
        diwan_pki::tsp::HashAlgorithm::Sha256,
        &[7u8; 32],
        None,
        true,
    )
    .unwrap();
    send(
        "POST",
        &app.url("/api/v1/tsa"),
        None,
        "application/timestamp-query",
        &request,
    )
    .assert_problem(401, "unauthenticated");
    let token = app.login("registrar@demo.diwan");
    let r = send(
        "POST",
        &app.url("/api/v1/tsa"),
        Some(&token),
        "application/timestamp-query",
        &request,
    );
    assert_eq!(r.status, 200);
    let token = diwan_pki::tsp::parse_response(&r.body).unwrap();
    let verified = diwan_pki::tsp::verify_token(&token, &[]).unwrap();
    assert_eq!(verified.hashed_message, vec![7u8; 32]);
}

#[test]
fn signatures_can_be_time_stamped_by_an_external_authority_that_must_be_trusted_and_answer() {
    // Another installation plays the external authority: its own CA, its own unit.
    let authority = TestApp::spawn_with(&[("DIWAN__PKI__ORGANIZATION", "Horodatage Externe")]);
    let tsa_url = authority.url("/api/v1/tsa");
    let sandbox = diwan_tests::Sandbox::new();
    let dir = sandbox.data_dir.join("external-tsa");
    std::fs::create_dir_all(&dir).unwrap();
    let authority_root = dir.join("authority-root.pem");
    std::fs::write(&authority_root, root_pem(&authority.base)).unwrap();
    let roots = format!("[\"{}\"]", authority_root.display());
    let app = TestApp::spawn_on(
        sandbox,
        &[
            ("DIWAN__PKI__TSA_URL", &tsa_url),
            ("DIWAN__PKI__TRUSTED_ROOTS", &roots),
        ],
    );
    let token = enrolled(
        &app,
        "signer@demo.diwan",
        "Youssef El Amrani",
        "يوسف العمراني",
        "Directeur",
    );
    let pdf = signed(&app, &token, &docs::text_pdf(2, "Horodatage"));
    let report = validate(&app, &pdf);
    assert_eq!(report["valid"], true, "{report:#}");
    let stamp = &report["signatures"][0]["timestamp"];
    assert_eq!(stamp["trusted"], true, "{report:#}");
    assert!(
        stamp["authority"]
            .as_str()
            .unwrap()
            .contains("Horodatage Externe"),
        "{report:#}"
    );
    // pyHanko, trusting both roots, agrees (B-T: the time-stamp's chain is checked too).
    let own_root = dir.join("root.pem");
    std::fs::write(&own_root, root_pem(&app.base)).unwrap();
    let file = dir.join("signed.pdf");
    std::fs::write(&file, &pdf).unwrap();
    let (ok, out) = run_tool(
        "pyhanko",
        &[
            "sign",
            "validate",
            "--pretty-print",
            "--trust",
            own_root.to_str().unwrap(),
            "--trust",
            authority_root.to_str().unwrap(),
            "--trust-replace",
            "--no-revocation-check",
            file.to_str().unwrap(),
        ],
    );
    assert!(ok, "pyHanko:\n{out}");
    assert!(
        out.contains("TIMESTAMP_TOKEN<INTACT:TRUSTED>") || out.to_lowercase().contains("timestamp"),
        "{out}"
    );

    // An authority this installation does not trust: nothing is signed.
    let untrusting = TestApp::spawn_with(&[("DIWAN__PKI__TSA_URL", &tsa_url)]);
    let other = enrolled(
        &untrusting,
        "signer@demo.diwan",
        "Youssef El Amrani",
        "يوسف العمراني",
        "Directeur",
    );
    let r = sign(&untrusting, &other, PIN, &[&docs::text_pdf(1, "x")]);
    r.assert_problem(503, "tsa_unavailable");
    assert!(
        r.json()["detail"].as_str().unwrap().contains("not trusted"),
        "{}",
        r.text()
    );

    // The authority is down: a clear 503, nothing signed; it may be tried again.
    drop(authority);
    let r = sign(&app, &token, PIN, &[&docs::text_pdf(1, "y")]);
    r.assert_problem(503, "tsa_unavailable");
    assert!(
        r.json()["detail"].as_str().unwrap().contains(&tsa_url),
        "{}",
        r.text()
    );
}
