//! Receipts judged by verifiers we did not write (pyHanko, poppler's pdfsig, qpdf, Python's
//! jwcrypto), the public verification endpoint, the tamper-evident log and `diwan audit
//! verify`, and receipts by e-mail through a real SMTP server.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use diwan_tests::smtp::{messages, smtp_server};
use diwan_tests::{
    ExternalCa, KeyKind, Sandbox, TestApp, diwan_command, get, letter, pdf, pyhanko_validate,
    register, run_tool, send, start_server,
};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_diwan-under-test");

pub(crate) fn scratch(app_dir: &Path, name: &str) -> PathBuf {
    let dir = app_dir.join("scratch");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// Registers a letter from an Arabic-named depositor and returns (response JSON).
fn register_arabic(app: &TestApp, token: &str, name: &str) -> Value {
    let mut meta = letter(
        "CENTRAL",
        "طلب شهادة إدارية — demande d'attestation <b>&</b>",
    );
    meta["sender"]["name"] = json!(name);
    let r = register(&app.base, token, &meta, &pdf(30 * 1024));
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()
}

pub(crate) fn root_pem(base: &str) -> String {
    let r = get(&format!("{base}/api/v1/pki/root.pem"), None);
    assert_eq!(r.status, 200);
    assert!(r.text().starts_with("-----BEGIN CERTIFICATE-----"));
    r.text()
}

fn verify_remote(base: &str, body: &[u8]) -> Value {
    let r = send(
        "POST",
        &format!("{base}/api/v1/verify"),
        None,
        "application/octet-stream",
        body,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

/// An NSS database trusting `root` as a CA, for pdfsig.
pub(crate) fn nss_db(dir: &Path, root: &Path) -> String {
    std::fs::create_dir_all(dir).unwrap();
    let db = format!("sql:{}", dir.display());
    let (ok, out) = run_tool("certutil", &["-N", "--empty-password", "-d", &db]);
    assert!(ok, "{out}");
    let root = root.to_str().unwrap();
    let (ok, out) = run_tool(
        "certutil",
        &[
            "-A",
            "-d",
            &db,
            "-n",
            "diwan-root",
            "-t",
            "CT,C,C",
            "-i",
            root,
        ],
    );
    assert!(ok, "{out}");
    db
}

#[test]
fn the_sealed_pdf_receipt_is_valid_for_independent_verifiers_and_tampering_shows() {
    let app = TestApp::spawn();
    let token = app.login("registrar@demo.diwan");
    let name = "محمد بن عبد الله العلوي";
    let created = register_arabic(&app, &token, name);
    let id = created["id"].as_str().unwrap();
    let code = created["receipt"]["tracking_code"].as_str().unwrap();

    // The depositor fetches the PDF with the tracking code only; a wrong code sees nothing.
    let r = get(
        &app.url(&format!("/api/v1/receipts/{id}/pdf?code={code}")),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.content_type, "application/pdf");
    let pdf_bytes = r.body;
    get(
        &app.url(&format!("/api/v1/receipts/{id}/pdf?code=WRONGCODE123")),
        None,
    )
    .assert_problem(404, "not_found");
    get(&app.url(&format!("/api/v1/receipts/{id}/pdf")), None)
        .assert_problem(401, "unauthenticated");

    let dir = &app.sandbox.data_dir;
    let pdf_path = scratch(dir, "receipt.pdf");
    let root_path = scratch(dir, "root.pem");
    std::fs::write(&pdf_path, &pdf_bytes).unwrap();
    std::fs::write(&root_path, root_pem(&app.base)).unwrap();
    let pdf_s = pdf_path.to_str().unwrap();
    let root_s = root_path.to_str().unwrap();

    let (ok, out) = pyhanko_validate(root_s, pdf_s);
    assert!(ok, "pyHanko rejects the receipt:\n{out}");
    let db = nss_db(&scratch(dir, "nss"), &root_path);
    let (_, out) = run_tool("pdfsig", &["-nssdir", &db, pdf_s]);
    assert!(out.contains("Signature is Valid"), "pdfsig:\n{out}");
    assert!(out.contains("Certificate is Trusted"), "pdfsig:\n{out}");
    let (ok, out) = run_tool("qpdf", &["--check", pdf_s]);
    assert!(ok, "qpdf:\n{out}");
    let (ok, text) = run_tool("pdftotext", &[pdf_s, "-"]);
    assert!(ok, "{text}");
    assert!(
        text.contains(name),
        "the Arabic name in logical order:\n{text}"
    );
    assert!(text.contains("وصل إيداع رقمي"), "{text}");
    assert!(text.contains("Accusé de réception"), "{text}");
    let number = created["registration_number"].as_str().unwrap();
    assert!(text.contains(number), "{text}");

    let report = verify_remote(&app.base, &pdf_bytes);
    assert_eq!(report["valid"], true, "{report:#}");
    assert_eq!(report["kind"], "receipt_pdf");
    assert_eq!(report["registration"]["found"], true);
    assert_eq!(report["registration"]["matches"], true);
    assert_eq!(report["log"]["included"], true);
    assert_eq!(report["chain"]["trusted"], true);

    // One byte changed inside the signed range: every verifier says no.
    let mut tampered = pdf_bytes.clone();
    let at = tampered
        .windows(4)
        .position(|w| w == b"/Producer".get(..4).unwrap())
        .unwrap_or(200)
        .min(tampered.len() / 3);
    tampered[at] ^= 0x01;
    let bad_path = scratch(dir, "tampered.pdf");
    std::fs::write(&bad_path, &tampered).unwrap();
    let bad_s = bad_path.to_str().unwrap();
    let (ok, out) = pyhanko_validate(root_s, bad_s);
    assert!(!ok, "pyHanko accepts a tampered receipt:\n{out}");
    let (_, out) = run_tool("pdfsig", &["-nssdir", &db, bad_s]);
    assert!(!out.contains("Signature is Valid"), "pdfsig:\n{out}");
    let report = verify_remote(&app.base, &tampered);
    assert_eq!(report["valid"], false, "{report:#}");

    // Offline, with only the root as trust anchor.
    let (ok, out) = run_tool(
        env!("CARGO_BIN_EXE_diwan-under-test"),
        &["verify", pdf_s, "--trust", root_s],
    );
    assert!(ok, "diwan verify:\n{out}");
    let (ok, _) = run_tool(
        env!("CARGO_BIN_EXE_diwan-under-test"),
        &["verify", bad_s, "--trust", root_s],
    );
    assert!(!ok, "diwan verify accepts a tampered receipt");
}

/// A receipt's PDF is stored without waiting for the disk: one a crash left missing or torn
/// is drawn and sealed again when asked for, and the damaged file is removed.
#[test]
fn a_lost_or_torn_receipt_pdf_is_made_again_when_asked_for() {
    // No PDF worker and no e-mail sender (which makes the PDF it attaches): each PDF here is
    // made by the request that asks for it, so none is stored behind the test's back.
    let app = TestApp::spawn_with(&[
        ("DIWAN__RECEIPTS__PDF_WORKERS", "0"),
        ("DIWAN__MAIL__SEND", "false"),
    ]);
    let token = app.login("registrar@demo.diwan");
    let created = register_arabic(&app, &token, "سلمى <b>&amp;</b> O'Neil");
    let id = created["id"].as_str().unwrap();
    let code = created["receipt"]["tracking_code"].as_str().unwrap();
    let url = app.url(&format!("/api/v1/receipts/{id}/pdf?code={code}"));
    let fetch = || {
        let r = get(&url, None);
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.content_type, "application/pdf");
        r.body
    };
    let stored_at = |bytes: &[u8]| {
        let digest: String = ring::digest::digest(&ring::digest::SHA256, bytes)
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        app.sandbox
            .data_dir
            .join("receipts")
            .join(&digest[..2])
            .join(&digest)
    };

    let first = fetch();
    assert_eq!(fetch(), first, "a stored PDF is served as it is");
    let path = stored_at(&first);
    assert!(path.is_file(), "{} not stored", path.display());

    // Torn: what a crash can leave of a file written without sync.
    std::fs::write(&path, &first[..first.len() / 2]).unwrap();
    let second = fetch();
    assert_ne!(second, first, "a new seal, a new document");
    assert!(!path.exists(), "the torn file is removed");
    assert!(stored_at(&second).is_file());
    let report = verify_remote(&app.base, &second);
    assert_eq!(report["valid"], true, "{report:#}");
    assert_eq!(report["registration"]["matches"], true, "{report:#}");

    // Lost: made again too.
    std::fs::remove_file(stored_at(&second)).unwrap();
    let third = fetch();
    assert_ne!(third, second);
    assert_eq!(verify_remote(&app.base, &third)["valid"], true);
    assert_eq!(fetch(), third, "and then served as stored");
}

/// The PDF worker and several downloads asking for a new receipt's PDF at once all get the
/// same sealed file: one of them makes it, the others wait and read what it stored.
#[test]
fn a_receipt_pdf_asked_for_at_once_by_many_is_made_once() {
    let app = TestApp::spawn();
    let token = app.login("registrar@demo.diwan");
    for name in ["مريم <i>", "Zoé & \"Ali\""] {
        let created = register_arabic(&app, &token, name);
        let id = created["id"].as_str().unwrap();
        let code = created["receipt"]["tracking_code"].as_str().unwrap();
        let url = app.url(&format!("/api/v1/receipts/{id}/pdf?code={code}"));
        let start = std::sync::Barrier::new(6);
        let copies: Vec<Vec<u8>> = std::thread::scope(|scope| {
            let fetches: Vec<_> = (0..6)
                .map(|_| {
                    scope.spawn(|| {
                        start.wait();
                        let r = get(&url, None);
                        assert_eq!(r.status, 200, "{}", r.text());
                        r.body
                    })
                })
                .collect();
            fetches.into_iter().map(|f| f.join().unwrap()).collect()
        });
        for copy in &copies {
            assert!(
                copy == &copies[0],
                "two different PDFs of one receipt were handed out"
            );
        }
        assert!(
            get(&url, None).body == copies[0],
            "the stored PDF is another one"
        );
    }
}

#[test]
fn the_signed_json_receipt_verifies_with_jwcrypto_from_x5c_and_the_root_only() {
    let app = TestApp::spawn();
    let token = app.login("registrar@demo.diwan");
    let created = register_arabic(&app, &token, "Hélène <O'Brien> & فاطمة");
    let jws = created["receipt"]["jws"].as_str().unwrap().to_owned();
    let id = created["id"].as_str().unwrap();
    let served = get(
        &app.url(&format!(
            "/api/v1/receipts/{}?code={}",
            created["id"].as_str().unwrap(),
            created["receipt"]["tracking_code"].as_str().unwrap()
        )),
        None,
    )
    .json();
    let content = &served["content"];
    assert_eq!(content["id"], id);
    assert_eq!(content["depositor"]["name"], "Hélène <O'Brien> & فاطمة");
    assert!(content["deadline"]["date"].is_string(), "{content:#}");
    assert!(content["received_at"]["hijri"]["text_ar"].is_string());
    assert_eq!(
        content["files"][0]["sha256"],
        created["receipt"]["files"][0]["sha256"]
    );

    // The same receipt is served later, to the agent and to the depositor.
    let by_agent = get(&app.url(&format!("/api/v1/receipts/{id}")), Some(&token));
    assert_eq!(by_agent.status, 200);
    assert_eq!(by_agent.json()["jws"], jws.as_str());

    let dir = &app.sandbox.data_dir;
    let root_path = scratch(dir, "root.pem");
    std::fs::write(&root_path, root_pem(&app.base)).unwrap();
    let jws_path = scratch(dir, "receipt.jws");
    std::fs::write(&jws_path, &jws).unwrap();
    let script = r#"
import base64, json, sys
from jwcrypto import jwk, jws
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives import hashes
token = open(sys.argv[1]).read().strip()
root = x509.load_pem_x509_certificate(open(sys.argv[2], 'rb').read())
header = json.loads(base64.urlsafe_b64decode(token.split('.')[0] + '=='))
assert header['alg'] == 'ES256', header
chain = [x509.load_der_x509_certificate(base64.b64decode(c)) for c in header['x5c']]
# Each certificate is signed by the next; the last by the root.
for child, parent in zip(chain, chain[1:] + [root]):
    parent.public_key().verify(child.signature, child.tbs_certificate_bytes, ec.ECDSA(child.signature_hash_algorithm))
    assert child.issuer == parent.subject
key = jwk.JWK.from_pem(chain[0].public_bytes(__import__('cryptography').hazmat.primitives.serialization.Encoding.PEM))
obj = jws.JWS()
obj.deserialize(token)
obj.verify(key, alg='ES256')
payload = json.loads(obj.payload)
print(payload['registration_number'])
"#;
    let script_path = scratch(dir, "check_jws.py");
    std::fs::write(&script_path, script).unwrap();
    let (ok, out) = run_tool(
        "python3",
        &[
            script_path.to_str().unwrap(),
            jws_path.to_str().unwrap(),
            root_path.to_str().unwrap(),
        ],
    );
    assert!(ok, "jwcrypto rejects the receipt:\n{out}");
    assert!(out.contains(created["registration_number"].as_str().unwrap()));

    // A payload swapped in: jwcrypto and the endpoint both refuse it.
    let mut parts: Vec<String> = jws.split('.').map(str::to_owned).collect();
    let mut payload: Value = serde_json::from_slice(&base64_url_decode(&parts[1])).unwrap();
    payload["registration_number"] = json!("CENTRAL/A/1999/000001");
    parts[1] = base64_url_encode(&serde_json::to_vec(&payload).unwrap());
    let forged = parts.join(".");
    std::fs::write(&jws_path, &forged).unwrap();
    let (ok, _) = run_tool(
        "python3",
        &[
            script_path.to_str().unwrap(),
            jws_path.to_str().unwrap(),
            root_path.to_str().unwrap(),
        ],
    );
    assert!(!ok, "jwcrypto accepts a forged receipt");

    let good = verify_remote(&app.base, jws.as_bytes());
    assert_eq!(good["valid"], true, "{good:#}");
    assert_eq!(good["kind"], "receipt_json");
    let whole = verify_remote(&app.base, created.to_string().as_bytes());
    assert_eq!(
        whole["valid"], true,
        "a registration response verifies as is"
    );
    let bad = verify_remote(&app.base, forged.as_bytes());
    assert_eq!(bad["valid"], false);
    let junk = verify_remote(&app.base, b"<html>not a receipt</html>");
    assert_eq!(junk["valid"], false);

    // The register changed behind the receipt's back: the endpoint says so.
    app.inst
        .database
        .execute_batch(&format!(
            "UPDATE correspondences SET subject = 'changed' WHERE id = '{id}'"
        ))
        .unwrap();
    let after = verify_remote(&app.base, jws.as_bytes());
    assert_eq!(after["valid"], false, "{after:#}");
    assert_eq!(after["registration"]["mismatches"][0], "subject");
    assert_eq!(after["log"]["matches_register"], true, "{after:#}");

    // The log's leaf changed too: the register no longer holds the receipt's entry.
    let index = content["log"]["leaf_index"].as_u64().unwrap();
    app.inst
        .database
        .execute_batch(&format!(
            "UPDATE log_leaves SET leaf_hash = '{}' WHERE idx = {index}",
            "0".repeat(64)
        ))
        .unwrap();
    let after = verify_remote(&app.base, jws.as_bytes());
    assert_eq!(after["valid"], false, "{after:#}");
    assert_eq!(after["log"]["matches_register"], false, "{after:#}");
    assert_eq!(after["registration"]["found"], true, "{after:#}");
    assert!(
        after["problems"].as_array().unwrap().iter().any(|p| p
            .as_str()
            .unwrap()
            .contains("does not hold this receipt's entry")),
        "{after:#}"
    );
}

fn base64_url_decode(s: &str) -> Vec<u8> {
    let (ok, out) = run_tool(
        "python3",
        &[
            "-c",
            "import base64,sys; sys.stdout.write(base64.urlsafe_b64decode(sys.argv[1] + '=' * (-len(sys.argv[1]) % 4)).hex())",
            s,
        ],
    );
    assert!(ok, "{out}");
    (0..out.len() / 2)
        .map(|i| u8::from_str_radix(&out[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

fn base64_url_encode(b: &[u8]) -> String {
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    let (ok, out) = run_tool(
        "python3",
        &[
            "-c",
            "import base64,sys; sys.stdout.write(base64.urlsafe_b64encode(bytes.fromhex(sys.argv[1])).decode().rstrip('='))",
            &hex,
        ],
    );
    assert!(ok, "{out}");
    out
}

fn audit(app: &TestApp) -> (bool, String) {
    let report = diwan_app::audit::verify(&app.inst.services).unwrap();
    (report.ok, serde_json::to_string_pretty(&report).unwrap())
}

#[test]
fn audit_verify_passes_then_finds_each_kind_of_edit() {
    let app = TestApp::spawn();
    let token = app.login("registrar@demo.diwan");
    let mut ids = Vec::new();
    for n in 0..4 {
        let r = register_arabic(&app, &token, &format!("مودع {n}"));
        ids.push(r["id"].as_str().unwrap().to_owned());
    }
    let r = diwan_tests::post_json(
        &app.url(&format!("/api/v1/correspondences/{}/annul", ids[3])),
        Some(&token),
        &json!({"reason": "تسجيل مكرر"}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    // The annulment has its own signed notice.
    let notice = get(
        &app.url(&format!("/api/v1/receipts/{}?kind=annulment", ids[3])),
        Some(&token),
    );
    assert_eq!(notice.status, 200, "{}", notice.text());
    assert_eq!(
        notice.json()["content"]["annulment"]["reason"],
        "تسجيل مكرر"
    );

    let (ok, report) = audit(&app);
    assert!(ok, "{report}");
    let sth = get(&app.url("/api/v1/transparency/sth"), None).json();
    assert_eq!(sth["tree_size"], 5, "{sth:#}");

    // The command line says the same (exit status 0).
    let cli = |app: &TestApp| {
        diwan_command(BIN, &app.sandbox)
            .args(["audit", "verify"])
            .output()
            .unwrap()
    };
    let out = cli(&app);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    let db = &app.inst.database;
    let edits = [
        (
            format!(
                "UPDATE correspondences SET subject = subject || '.' WHERE id = '{}'",
                ids[0]
            ),
            format!(
                "UPDATE correspondences SET subject = substr(subject, 1, length(subject) - 1) WHERE id = '{}'",
                ids[0]
            ),
        ),
        (
            format!(
                "UPDATE correspondence_files SET sha256 = '{}' WHERE correspondence_id = '{}'",
                "0".repeat(64),
                ids[1]
            ),
            String::new(),
        ),
        (
            format!(
                "UPDATE correspondence_events SET detail = '{{}}' WHERE correspondence_id = '{}' AND kind = 'annulled'",
                ids[3]
            ),
            String::new(),
        ),
        (
            format!(
                "UPDATE correspondences SET received_at = '2020-01-01T00:00:00.000000Z' WHERE id = '{}'",
                ids[2]
            ),
            String::new(),
        ),
    ];
    for (n, (edit, undo)) in edits.iter().enumerate() {
        db.execute_batch(edit).unwrap();
        let (ok, report) = audit(&app);
        assert!(!ok, "edit {n} not found:\n{report}");
        assert!(report.contains("entry_changed"), "{report}");
        if n == 0 {
            let out = cli(&app);
            assert!(!out.status.success(), "the CLI passes an edited register");
            db.execute_batch(undo).unwrap();
            let (ok, report) = audit(&app);
            assert!(ok, "undoing the edit: {report}");
        }
    }
    // A history line deleted is found too.
    let (_, before) = audit(&app);
    db.execute_batch(&format!(
        "DELETE FROM log_leaves WHERE correspondence_id = '{}' AND kind = 'annulment'",
        ids[3]
    ))
    .unwrap();
    let (ok, report) = audit(&app);
    assert!(!ok);
    assert!(
        report.contains("event_not_logged") || report.contains("head_mismatch"),
        "{before}\n{report}"
    );
}

#[test]
fn an_inclusion_proof_from_a_receipt_verifies_against_a_later_tree_head() {
    use diwan_app::merkle::Sha256Tree;
    use diwan_domain::merkle::{verify_consistency, verify_inclusion};
    let app = TestApp::spawn();
    let token = app.login("registrar@demo.diwan");
    let first = register_arabic(&app, &token, "الأول");
    for n in 0..6 {
        register_arabic(&app, &token, &format!("التالي {n}"));
    }
    let served = get(
        &app.url(&format!(
            "/api/v1/receipts/{}",
            first["id"].as_str().unwrap()
        )),
        Some(&token),
    )
    .json();
    let log = &served["content"]["log"];
    let h = |v: &Value| diwan_app::log::unhex(v.as_str().unwrap()).unwrap();
    let (index, size) = (
        log["leaf_index"].as_u64().unwrap(),
        log["tree_size"].as_u64().unwrap(),
    );
    let leaf = h(&log["leaf_hash"]);
    let old_root = h(&log["root_hash"]);
    let path: Vec<[u8; 32]> = log["inclusion_proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(h)
        .collect();
    assert!(verify_inclusion(
        &Sha256Tree,
        index,
        size,
        &leaf,
        &path,
        &old_root
    ));

    let sth = get(&app.url("/api/v1/transparency/sth"), None).json();
    let new_size = sth["tree_size"].as_u64().unwrap();
    assert_eq!(new_size, 7);
    let new_root = h(&sth["root_hash"]);
    let c = get(
        &app.url(&format!(
            "/api/v1/transparency/consistency?first={size}&second={new_size}"
        )),
        None,
    );
    assert_eq!(c.status, 200, "{}", c.text());
    let proof: Vec<[u8; 32]> = c.json()["proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(h)
        .collect();
    assert!(verify_consistency(
        &Sha256Tree,
        size,
        new_size,
        &old_root,
        &new_root,
        &proof
    ));
    // And the entry is in the later tree too.
    let inc = get(
        &app.url(&format!(
            "/api/v1/transparency/inclusion?leaf_index={index}&tree_size={new_size}"
        )),
        None,
    )
    .json();
    let path: Vec<[u8; 32]> = inc["proof"].as_array().unwrap().iter().map(h).collect();
    assert!(verify_inclusion(
        &Sha256Tree,
        index,
        new_size,
        &leaf,
        &path,
        &new_root
    ));
    // The signed head's signature chains to the root (checked by the verifier crate).
    let v = diwan_pki::jws::verify_signature(sth["jws"].as_str().unwrap()).unwrap();
    let root = diwan_pki::Certificate::from_pem(&root_pem(&app.base)).unwrap();
    diwan_pki::validate_chain(&v.chain[0], &v.chain[1..], &root, chrono::Utc::now(), &[]).unwrap();
    get(
        &app.url("/api/v1/transparency/consistency?first=9&second=3"),
        None,
    )
    .assert_problem(422, "invalid_tree_size");
}

#[test]
fn the_receipt_email_reaches_smtp_once_even_across_restarts_and_never_for_a_failure() {
    let sandbox = Sandbox::new();
    let smtp = smtp_server(&sandbox.data_dir);
    let url = format!("smtp://127.0.0.1:{}", smtp.port);
    let mail = [
        ("DIWAN__MAIL__TRANSPORT", "smtp"),
        ("DIWAN__MAIL__SMTP_URL", url.as_str()),
        ("DIWAN__MAIL__POLL_SECONDS", "1"),
    ];
    // A node that takes registrations but does not send: the e-mail waits in the outbox.
    let mut quiet = mail.to_vec();
    quiet.push(("DIWAN__MAIL__SEND", "false"));
    let (server, base) = start_server(BIN, &sandbox, &quiet);
    let token = {
        let r = diwan_tests::post_json(
            &format!("{base}/api/v1/auth/login"),
            None,
            &json!({"email": "registrar@demo.diwan", "password": diwan_server::demo::DEMO_PASSWORD}),
        );
        r.json()["token"].as_str().unwrap().to_owned()
    };
    let mut meta = letter("CENTRAL", "طلب — demande");
    meta["sender"]["email"] = json!("citoyen@example.ma");
    let r = register(&base, &token, &meta, &pdf(20 * 1024));
    assert_eq!(r.status, 201, "{}", r.text());
    let number = r.json()["registration_number"].as_str().unwrap().to_owned();
    // A registration that fails queues nothing.
    let mut failing = meta.clone();
    failing["registry"] = json!("NO-SUCH");
    failing["sender"]["email"] = json!("never@example.ma");
    assert_eq!(register(&base, &token, &failing, &pdf(1024)).status, 422);
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        messages(&smtp.maildir).is_empty(),
        "a non-sending node sent"
    );
    drop(server); // restarted between commit and send

    let (server, _) = start_server(BIN, &sandbox, &mail);
    let deadline = Instant::now() + Duration::from_secs(30);
    while messages(&smtp.maildir).is_empty() {
        assert!(Instant::now() < deadline, "no e-mail arrived");
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_secs(3));
    drop(server);
    let (server, _) = start_server(BIN, &sandbox, &mail);
    std::thread::sleep(Duration::from_secs(3));
    drop(server);

    let all = messages(&smtp.maildir);
    assert_eq!(all.len(), 1, "exactly one e-mail");
    let text = String::from_utf8_lossy(&all[0]).to_string();
    assert!(text.contains("citoyen@example.ma"));
    assert!(!text.contains("never@example.ma"));
    assert!(text.contains("application/pdf"), "the PDF is attached");
    assert!(text.contains(&number.replace('/', "-")) || text.contains(&number));
}

#[test]
fn imported_pkcs12_and_pem_seals_sign_receipts_that_verify_against_their_own_root() {
    let sandbox = Sandbox::new();
    let dir = sandbox.data_dir.join("external-ca");
    std::fs::create_dir_all(&dir).unwrap();
    let d = |f: &str| dir.join(f).to_str().unwrap().to_owned();
    let ca = ExternalCa::new(
        &dir,
        "ext",
        "/CN=Agence externe de certification/O=Externe/C=MA",
    );
    ca.issue(
        KeyKind::P256,
        "seal",
        "/CN=Cachet du bureau central/O=Externe/C=MA",
    );
    let p12 = ca.pkcs12("seal", "mot-de-passe");
    let root = ca.path("ca.pem");
    let diwan = |args: &[&str], stdin: &str| {
        use std::io::Write as _;
        let mut child = diwan_command(BIN, &sandbox)
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    let (ok, out) = diwan(&["org", "import", "../config/demo-org.toml"], "");
    assert!(ok, "{out}");
    // A wrong password is refused; the right one replaces the seal.
    let (ok, _) = diwan(
        &["pki", "import-seal", "--registry", "CENTRAL", "--p12", &p12],
        "wrong\n",
    );
    assert!(!ok, "a wrong PKCS#12 password is accepted");
    let (ok, out) = diwan(
        &["pki", "import-seal", "--registry", "CENTRAL", "--p12", &p12],
        "mot-de-passe\n",
    );
    assert!(ok, "{out}");

    let (_server, base) = start_server(BIN, &sandbox, &[]);
    let token = diwan_tests::post_json(
        &format!("{base}/api/v1/auth/login"),
        None,
        &json!({"email": "registrar@demo.diwan", "password": diwan_server::demo::DEMO_PASSWORD}),
    )
    .json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    // Registers a letter in CENTRAL: its receipt verifies, sealed by `signer`, and pyHanko
    // accepts its sealed PDF with the external root as the only anchor.
    let sealed_by = |base: &str, subject: &str, signer: &str, file: &str| -> (Value, String) {
        let r = register(base, &token, &letter("CENTRAL", subject), &pdf(4096));
        assert_eq!(r.status, 201, "{}", r.text());
        let created = r.json();
        let jws = created["receipt"]["jws"].as_str().unwrap().to_owned();
        let report = verify_remote(base, jws.as_bytes());
        assert_eq!(report["valid"], true, "{report:#}");
        assert!(
            report["signature"]["signer"]
                .as_str()
                .unwrap()
                .contains(signer),
            "{report:#}"
        );
        let id = created["id"].as_str().unwrap();
        let pdf_bytes = get(&format!("{base}/api/v1/receipts/{id}/pdf"), Some(&token)).body;
        std::fs::write(d(file), &pdf_bytes).unwrap();
        let (ok, out) = pyhanko_validate(&root, &d(file));
        assert!(ok, "pyHanko rejects a receipt sealed by {signer}:\n{out}");
        (report, jws)
    };
    let (report, _) = sealed_by(
        &base,
        "ختم خارجي",
        "Cachet du bureau central",
        "receipt.pdf",
    );
    assert!(
        report["chain"]["anchor"]
            .as_str()
            .unwrap()
            .contains("Agence externe")
    );
    // Another registry keeps its internal seal.
    let r = register(&base, &token, &letter("DR-RSK", "ختم داخلي"), &pdf(4096));
    assert_eq!(r.status, 201, "{}", r.text());
    let report = verify_remote(
        &base,
        r.json()["receipt"]["jws"].as_str().unwrap().as_bytes(),
    );
    assert_eq!(report["valid"], true);
    assert!(
        report["chain"]["anchor"]
            .as_str()
            .unwrap()
            .contains("Diwan Root CA")
    );

    // Then an RSA seal from PEM files (the certificate with the chain above it, a PKCS#8
    // key), in place of the first, after a restart: receipts are signed RS256 and verify.
    drop(_server);
    ca.issue(
        KeyKind::Rsa2048,
        "rsa",
        "/CN=Cachet RSA du bureau central/O=Externe/C=MA",
    );
    let chain = std::fs::read_to_string(ca.path("rsa.pem")).unwrap()
        + &std::fs::read_to_string(&root).unwrap();
    std::fs::write(d("rsa-chain.pem"), chain).unwrap();
    let (ok, out) = diwan(
        &[
            "pki",
            "import-seal",
            "--registry",
            "CENTRAL",
            "--cert",
            &d("rsa-chain.pem"),
            "--key",
            &ca.path("rsa.key"),
        ],
        "",
    );
    assert!(ok, "{out}");
    let (_server, base) = start_server(BIN, &sandbox, &[]);
    let (_, jws) = sealed_by(&base, "ختم RSA", "Cachet RSA", "receipt-rsa.pdf");
    let header = jws.split('.').next().unwrap();
    let header: serde_json::Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header).unwrap(),
    )
    .unwrap();
    assert_eq!(header["alg"], "RS256", "{header}");
}

#[test]
fn a_renewed_seal_seals_new_receipts_and_what_the_old_one_sealed_still_verifies() {
    let sandbox = Sandbox::new();
    let diwan = |args: &[&str]| {
        let out = diwan_command(BIN, &sandbox).args(args).output().unwrap();
        (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    let (ok, out) = diwan(&["org", "import", "../config/demo-org.toml"]);
    assert!(ok, "{out}");
    let leaf = |jws: &str| {
        let header: Value =
            serde_json::from_slice(&base64_url_decode(jws.split('.').next().unwrap())).unwrap();
        header["x5c"][0].as_str().unwrap().to_owned()
    };
    let receipt = |base: &str| {
        let token = diwan_tests::post_json(
            &format!("{base}/api/v1/auth/login"),
            None,
            &json!({"email": "registrar@demo.diwan", "password": diwan_server::demo::DEMO_PASSWORD}),
        )
        .json()["token"]
            .as_str()
            .unwrap()
            .to_owned();
        let r = register(base, &token, &letter("CENTRAL", "تجديد الختم"), &pdf(2048));
        assert_eq!(r.status, 201, "{}", r.text());
        r.json()["receipt"]["jws"].as_str().unwrap().to_owned()
    };
    let (server, base) = start_server(BIN, &sandbox, &[]);
    let before = receipt(&base);
    drop(server);

    let (ok, out) = diwan(&["pki", "renew-seal", "--registry", "NOPE"]);
    assert!(!ok, "an unknown registry is renewed: {out}");
    let (ok, out) = diwan(&["pki", "renew-seal", "--registry", "CENTRAL"]);
    assert!(ok, "{out}");
    assert!(out.contains("renewed"), "{out}");

    let (_server, base) = start_server(BIN, &sandbox, &[]);
    let after = receipt(&base);
    assert_ne!(
        leaf(&before),
        leaf(&after),
        "the new receipt has the old seal"
    );
    for jws in [&before, &after] {
        let report = verify_remote(&base, jws.as_bytes());
        assert_eq!(report["valid"], true, "{report:#}");
    }
    // The log stays whole across the change of seal.
    let (ok, out) = diwan(&["audit", "verify"]);
    assert!(ok, "{out}");
}
