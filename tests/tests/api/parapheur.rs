//! The parapheur's circuits: stages of visas and signatures, queues, rejections, sending back,
//! templates; the signed outcome judged by pyHanko.

use base64::Engine as _;
use diwan_tests::{TestApp, docs, get, post_json, run_tool, send};
use serde_json::{Value, json};

use crate::receipts::{root_pem, scratch};

const PIN: &str = "271828";

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

fn enrol(app: &TestApp, token: &str, latin: &str, arabic: &str) {
    let r = post_json(
        &app.url("/api/v1/signers/me"),
        Some(token),
        &json!({"pin": PIN, "name_latin": latin, "name_ar": arabic, "function": "Directeur"}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
}

fn submit(app: &TestApp, token: &str, body: Value) -> diwan_tests::Resp {
    post_json(&app.url("/api/v1/parapheur/documents"), Some(token), &body)
}

fn act(app: &TestApp, token: &str, id: &str, action: &str, body: Value) -> diwan_tests::Resp {
    post_json(
        &app.url(&format!("/api/v1/parapheur/documents/{id}/{action}")),
        Some(token),
        &body,
    )
}

fn ok(r: diwan_tests::Resp) -> Value {
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

fn queue(app: &TestApp, token: &str) -> Vec<Value> {
    get(&app.url("/api/v1/parapheur/queue"), Some(token)).json()["items"]
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn three_signatures_with_a_visa_between_go_through_their_circuit_and_stay_valid() {
    let app = TestApp::spawn();
    let head = app.login("head@demo.diwan");
    enrol(&app, &head, "Fatima Zahra Bennani", "فاطمة الزهراء بناني");
    let signer = app.login("signer@demo.diwan");
    enrol(&app, &signer, "Youssef El Amrani", "يوسف العمراني");
    let governor = crate::failures::create_agent(&app, "wali@demo.ma", "ADM-CENTRALE", "signer");
    enrol(&app, &governor, "Karim Idrissi", "كريم الإدريسي");
    let registrar = app.login("registrar@demo.diwan");
    let handler = app.login("handler@demo.diwan");

    let logged_before = audit(&app).entries;
    let draft = docs::text_pdf(10, "Decision");
    let r = submit(
        &app,
        &handler,
        json!({
            "title": "Décision <n°> & قرار",
            "document_type": "decision",
            "file_name": "decision.pdf",
            "document": b64().encode(&draft),
            "stages": [
                [{"kind": "signature", "agent": "head@demo.diwan"}],
                [{"kind": "visa", "unit": "DR-RSK", "role": "registrar"}],
                [{"kind": "signature", "agent": "signer@demo.diwan"}],
                [{"kind": "signature", "agent": "wali@demo.ma"}]
            ]
        }),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let doc = r.json();
    let id = doc["id"].as_str().unwrap().to_owned();
    assert_eq!(doc["status"], "in_circuit");
    assert_eq!(doc["title"], "Décision <n°> & قرار");
    assert_eq!(doc["steps"][0]["state"], "pending");
    assert_eq!(doc["steps"][1]["state"], "waiting");

    // Only the head's turn.
    assert_eq!(queue(&app, &head).len(), 1);
    assert!(queue(&app, &signer).is_empty());
    act(&app, &signer, &id, "sign", json!({"pin": PIN})).assert_problem(403, "not_your_step");
    act(&app, &head, &id, "approve", json!({})).assert_problem(422, "invalid_action");
    act(&app, &head, &id, "sign", json!({})).assert_problem(422, "pin_required");
    act(&app, &head, &id, "sign", json!({"pin": "999999"})).assert_problem(403, "wrong_pin");
    let doc = ok(act(
        &app,
        &head,
        &id,
        "sign",
        json!({"pin": PIN, "comment": "Vu et signé"}),
    ));
    assert_eq!(doc["steps"][0]["state"], "signed");
    assert_eq!(doc["steps"][1]["state"], "pending");
    // The visa, by whoever is registrar of the unit.
    let waiting = queue(&app, &registrar);
    assert_eq!(waiting.len(), 1, "{waiting:#?}");
    assert_eq!(waiting[0]["step"]["kind"], "visa");
    ok(act(
        &app,
        &registrar,
        &id,
        "approve",
        json!({"comment": "conforme"}),
    ));
    ok(act(&app, &signer, &id, "sign", json!({"pin": PIN})));
    let doc = ok(act(&app, &governor, &id, "sign", json!({"pin": PIN})));
    assert_eq!(doc["status"], "completed", "{doc:#}");
    let kinds: Vec<&str> = doc["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["submitted", "signed", "approved", "signed", "signed"]
    );
    // Each action is an entry of the tamper-evident log, rebuilt by the audit from the history.
    let report = audit(&app);
    assert!(report.ok, "{report:#?}");
    assert_eq!(report.entries, logged_before + 5, "{report:#?}");
    let db = &app.inst.database;
    let edit = format!(
        "UPDATE parapheur_events SET detail = '{{}}' WHERE document_id = '{id}' AND kind = 'approved'"
    );
    db.execute_batch(&edit).unwrap();
    let report = audit(&app);
    assert!(!report.ok);
    let found = report
        .findings
        .iter()
        .find(|f| f.code == "entry_changed")
        .unwrap_or_else(|| panic!("{report:#?}"));
    assert_eq!(
        found.document_id.as_deref(),
        Some(id.as_str()),
        "{report:#?}"
    );
    assert!(found.correspondence_id.is_none());
    act(&app, &governor, &id, "sign", json!({"pin": PIN}))
        .assert_problem(409, "invalid_transition");

    // The signed document: three valid signatures, for Diwan and for pyHanko.
    let r = get(
        &app.url(&format!("/api/v1/parapheur/documents/{id}/pdf")),
        Some(&handler),
    );
    assert_eq!(r.status, 200);
    let signed = r.body.clone();
    assert!(signed.starts_with(&draft));
    let report = send(
        "POST",
        &app.url("/api/v1/signatures/validate"),
        None,
        "application/pdf",
        &signed,
    )
    .json();
    assert_eq!(report["valid"], true, "{report:#}");
    assert_eq!(report["signatures"].as_array().unwrap().len(), 3);
    let dir = scratch(&app.sandbox.data_dir, "circuit");
    std::fs::create_dir_all(&dir).unwrap();
    let root = dir.join("root.pem");
    std::fs::write(&root, root_pem(&app.base)).unwrap();
    let file = dir.join("signed.pdf");
    std::fs::write(&file, &signed).unwrap();
    let (ok_, out) = run_tool(
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
    assert!(ok_, "pyHanko:\n{out}");

    // Someone outside the circuit does not see it.
    let auditor = app.login("auditor@demo.diwan");
    get(
        &app.url(&format!("/api/v1/parapheur/documents/{id}")),
        Some(&auditor),
    )
    .assert_problem(404, "not_found");
}

#[test]
fn documents_are_sent_back_rejected_with_a_reason_and_circuits_come_from_templates() {
    let app = TestApp::spawn();
    let head = app.login("head@demo.diwan");
    enrol(&app, &head, "Fatima Zahra Bennani", "فاطمة الزهراء بناني");
    let registrar = app.login("registrar@demo.diwan");
    let handler = app.login("handler@demo.diwan");
    let admin = app.login("admin@demo.diwan");
    let stages = json!([
        [{"kind": "visa", "agent": "registrar@demo.diwan"}],
        [{"kind": "signature", "agent": "head@demo.diwan"}]
    ]);
    // A circuit ending with a visa, an unknown agent, a clerk asked to sign: refused.
    submit(
        &app,
        &handler,
        json!({"title": "x", "document": b64().encode(docs::text_pdf(1, "x")),
               "stages": [[{"kind": "signature", "agent": "head@demo.diwan"}], [{"kind": "visa", "agent": "registrar@demo.diwan"}]]}),
    )
    .assert_problem(422, "invalid_input");
    submit(
        &app,
        &handler,
        json!({"title": "x", "document": b64().encode(docs::text_pdf(1, "x")),
               "stages": [[{"kind": "signature", "agent": "nobody@demo.diwan"}]]}),
    )
    .assert_problem(422, "invalid_circuit");
    submit(
        &app,
        &handler,
        json!({"title": "x", "document": b64().encode(docs::text_pdf(1, "x")),
               "stages": [[{"kind": "signature", "agent": "registrar@demo.diwan"}]]}),
    )
    .assert_problem(422, "invalid_circuit");
    submit(
        &app,
        &handler,
        json!({"title": "x", "document_type": "arrete", "document": b64().encode(docs::text_pdf(1, "x"))}),
    )
    .assert_problem(422, "circuit_required");
    submit(
        &app,
        &handler,
        json!({"title": "x", "document": b64().encode(b"not a pdf"), "stages": stages}),
    )
    .assert_problem(422, "not_a_pdf");

    // The administration's template for « arrêté ».
    let r = send(
        "PUT",
        &app.url("/api/v1/parapheur/templates/MIN-DEMO/arrete"),
        Some(&admin),
        "application/json",
        json!({"name": "Arrêté", "stages": stages})
            .to_string()
            .as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    send(
        "PUT",
        &app.url("/api/v1/parapheur/templates/MIN-DEMO/arrete"),
        Some(&handler),
        "application/json",
        json!({"name": "Arrêté", "stages": stages})
            .to_string()
            .as_bytes(),
    )
    .assert_problem(403, "forbidden");
    let r = submit(
        &app,
        &handler,
        json!({"title": "Arrêté n° 12", "document_type": "arrete", "document": b64().encode(docs::text_pdf(2, "Arrete"))}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(r.json()["steps"].as_array().unwrap().len(), 2);

    ok(act(&app, &registrar, &id, "approve", json!({})));
    act(&app, &head, &id, "send-back", json!({"to_stage": 1}))
        .assert_problem(422, "invalid_action");
    let doc = ok(act(
        &app,
        &head,
        &id,
        "send-back",
        json!({"to_stage": 0, "comment": "Revoir l'article 2"}),
    ));
    assert_eq!(doc["steps"][0]["state"], "pending");
    assert_eq!(doc["steps"][1]["state"], "waiting");
    ok(act(&app, &registrar, &id, "approve", json!({})));
    act(&app, &head, &id, "reject", json!({})).assert_problem(422, "reason_required");
    let doc = ok(act(
        &app,
        &head,
        &id,
        "reject",
        json!({"comment": "Hors compétence"}),
    ));
    assert_eq!(doc["status"], "rejected");
    assert_eq!(doc["steps"][1]["state"], "cancelled");
    assert_eq!(doc["steps"][1]["comment"], "Hors compétence");
    assert!(queue(&app, &head).is_empty());
    act(&app, &head, &id, "sign", json!({"pin": PIN})).assert_problem(409, "invalid_transition");
    // The submitter sees it back, with the reason.
    let mine = get(&app.url("/api/v1/parapheur/documents"), Some(&handler)).json();
    assert_eq!(mine["items"][0]["status"], "rejected");
    let doc = get(
        &app.url(&format!("/api/v1/parapheur/documents/{id}")),
        Some(&handler),
    )
    .json();
    let last = doc["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["kind"], "rejected");
    assert_eq!(last["detail"]["comment"], "Hors compétence");
}

#[test]
fn a_signature_for_someone_away_goes_to_their_substitute_when_its_stage_opens() {
    let app = TestApp::spawn();
    let head = app.login("head@demo.diwan");
    enrol(&app, &head, "Fatima Zahra Bennani", "فاطمة الزهراء بناني");
    let deputy = crate::failures::create_agent(&app, "adjoint@demo.ma", "DR-RSK", "head");
    enrol(&app, &deputy, "Omar Adjoint", "عمر");
    let registrar = app.login("registrar@demo.diwan");
    let handler = app.login("handler@demo.diwan");
    let r = submit(
        &app,
        &handler,
        json!({"title": "Note", "document": b64().encode(docs::text_pdf(1, "Note")),
               "stages": [[{"kind": "visa", "agent": "registrar@demo.diwan"}],
                          [{"kind": "signature", "agent": "head@demo.diwan"}]]}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["id"].as_str().unwrap().to_owned();
    // The head leaves after the submission, naming the deputy.
    let today = chrono::Utc::now().date_naive();
    let r = post_json(
        &app.url("/api/v1/delegations"),
        Some(&head),
        &json!({"substitute": "adjoint@demo.ma", "starts_on": today.to_string(),
                "ends_on": (today + chrono::Duration::days(7)).to_string()}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let doc = ok(act(&app, &registrar, &id, "approve", json!({})));
    assert_eq!(doc["steps"][1]["state"], "pending");
    let last = doc["history"].as_array().unwrap().last().unwrap().clone();
    assert!(last["detail"]["delegated"].is_array(), "{last:#}");
    assert!(queue(&app, &head).is_empty());
    assert_eq!(queue(&app, &deputy).len(), 1);
    let doc = ok(act(&app, &deputy, &id, "sign", json!({"pin": PIN})));
    assert_eq!(doc["status"], "completed");
}

fn audit(app: &TestApp) -> diwan_app::audit::AuditReport {
    diwan_app::audit::verify(&app.inst.services).unwrap()
}

fn sha256_hex(bytes: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn the_signed_document_becomes_the_outgoing_letter_under_the_number_taken_before_its_last_signature()
 {
    let app = TestApp::spawn();
    let head = app.login("head@demo.diwan");
    enrol(&app, &head, "Fatima Zahra Bennani", "فاطمة الزهراء بناني");
    let signer = app.login("signer@demo.diwan");
    enrol(&app, &signer, "Youssef El Amrani", "يوسف العمراني");
    let registrar = app.login("registrar@demo.diwan");
    let handler = app.login("handler@demo.diwan");
    let outgoing = json!({"registry": "DR-RSK",
        "recipient": {"kind": "person", "name": "Salma <b>Idrissi</b>", "email": "salma@example.ma"}});
    // A registry of another administration, or a recipient a registration would refuse.
    submit(
        &app,
        &handler,
        json!({"title": "x", "document": b64().encode(docs::text_pdf(1, "x")),
               "stages": [[{"kind": "signature", "agent": "head@demo.diwan"}]],
               "outgoing": {"registry": "NOPE", "recipient": {"kind": "person", "name": "S"}}}),
    )
    .assert_problem(422, "unknown_registry");
    let r = submit(
        &app,
        &handler,
        json!({"title": "Réponse à votre demande", "document": b64().encode(docs::text_pdf(2, "Reponse")),
               "outgoing": outgoing,
               "stages": [[{"kind": "signature", "agent": "head@demo.diwan"}],
                          [{"kind": "visa", "agent": "registrar@demo.diwan"}],
                          [{"kind": "signature", "agent": "signer@demo.diwan"}]]}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["id"].as_str().unwrap().to_owned();
    let doc = ok(act(&app, &head, &id, "sign", json!({"pin": PIN})));
    assert!(doc["registration_number"].is_null(), "{doc:#}");
    // The visa opens the last stage: the number is taken then.
    let doc = ok(act(&app, &registrar, &id, "approve", json!({})));
    let number = doc["registration_number"].as_str().unwrap().to_owned();
    // The action that took it says so in its history line (and so in the log).
    let approved = doc["history"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "approved")
        .unwrap();
    assert_eq!(approved["detail"]["registration_number"], number.as_str());
    // Meanwhile the registry registers another outgoing letter: the next number.
    let mut other = diwan_tests::letter("DR-RSK", "autre départ");
    other["direction"] = json!("outgoing");
    let r = diwan_tests::register(&app.base, &registrar, &other, &diwan_tests::pdf(2000));
    assert_eq!(r.status, 201, "{}", r.text());
    let other_number = r.json()["registration_number"].as_str().unwrap().to_owned();
    assert_ne!(other_number, number);
    // The reserved number comes first in the register.
    let seq = |n: &str| n.chars().filter(char::is_ascii_digit).collect::<String>();
    assert!(seq(&number) < seq(&other_number), "{number} {other_number}");
    // The last signature carries the number; the signed document is the letter's file.
    let doc = ok(act(&app, &signer, &id, "sign", json!({"pin": PIN})));
    assert_eq!(doc["status"], "completed");
    let letter_id = doc["correspondence_id"].as_str().unwrap().to_owned();
    let signed = get(
        &app.url(&format!("/api/v1/parapheur/documents/{id}/pdf")),
        Some(&handler),
    )
    .body;
    let letter = get(
        &app.url(&format!("/api/v1/correspondences/{letter_id}")),
        Some(&registrar),
    )
    .json();
    assert_eq!(letter["registration_number"], number.as_str(), "{letter:#}");
    assert_eq!(letter["direction"], "outgoing");
    assert_eq!(letter["recipient"]["name"], "Salma <b>Idrissi</b>");
    assert_eq!(
        letter["files"][0]["sha256"],
        sha256_hex(&signed),
        "{letter:#}"
    );
    let dir = scratch(&app.sandbox.data_dir, "numbered");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("signed.pdf");
    std::fs::write(&file, &signed).unwrap();
    let (_, text) = run_tool(
        "pdftotext",
        &["-f", "2", "-l", "2", file.to_str().unwrap(), "-"],
    );
    assert!(
        text.contains(&number),
        "{number} not in the last page:\n{text}"
    );
    // The register stays gapless: both numbers, in order.
    let list = get(
        &app.url("/api/v1/correspondences?registry=DR-RSK&direction=outgoing"),
        Some(&registrar),
    )
    .json();
    let mut numbers: Vec<String> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["registration_number"].as_str().unwrap().to_owned())
        .collect();
    numbers.sort();
    let mut expected = vec![number.clone(), other_number];
    expected.sort();
    assert_eq!(numbers, expected, "{list:#}");
    let report = audit(&app);
    assert!(report.ok, "{report:#?}");
}

#[test]
fn a_document_rejected_after_its_number_was_taken_leaves_an_annulled_registration() {
    let app = TestApp::spawn();
    let head = app.login("head@demo.diwan");
    enrol(&app, &head, "Fatima Zahra Bennani", "فاطمة الزهراء بناني");
    let registrar = app.login("registrar@demo.diwan");
    let handler = app.login("handler@demo.diwan");
    let r = submit(
        &app,
        &handler,
        json!({"title": "Projet", "document": b64().encode(docs::text_pdf(1, "Projet")),
               "outgoing": {"registry": "DR-RSK", "recipient": {"kind": "administration", "name": "Wilaya"}},
               "stages": [[{"kind": "signature", "agent": "head@demo.diwan"}]]}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let number = r.json()["registration_number"].as_str().unwrap().to_owned();
    let id = r.json()["id"].as_str().unwrap().to_owned();
    let doc = ok(act(
        &app,
        &head,
        &id,
        "reject",
        json!({"comment": "Hors délai"}),
    ));
    assert_eq!(doc["status"], "rejected");
    let letter = get(
        &app.url(&format!(
            "/api/v1/correspondences/{}",
            doc["correspondence_id"].as_str().unwrap()
        )),
        Some(&registrar),
    )
    .json();
    assert_eq!(letter["registration_number"], number.as_str());
    assert!(
        letter["annulment"]["reason"]
            .as_str()
            .unwrap()
            .contains("Hors délai"),
        "{letter:#}"
    );
}

#[test]
fn several_documents_are_signed_with_one_pin_entry() {
    let app = TestApp::spawn();
    let head = app.login("head@demo.diwan");
    enrol(&app, &head, "Fatima Zahra Bennani", "فاطمة الزهراء بناني");
    let handler = app.login("handler@demo.diwan");
    let mut ids = Vec::new();
    for (n, stages) in [
        json!([[{"kind": "signature", "agent": "head@demo.diwan"}]]),
        json!([[{"kind": "signature", "agent": "head@demo.diwan"}], [{"kind": "signature", "agent": "signer@demo.diwan"}]]),
        // Not the head's turn: the registrar's visa comes first.
        json!([[{"kind": "visa", "agent": "registrar@demo.diwan"}], [{"kind": "signature", "agent": "head@demo.diwan"}]]),
    ]
    .into_iter()
    .enumerate()
    {
        let r = submit(
            &app,
            &handler,
            json!({"title": format!("Lot {n}"), "document": b64().encode(docs::text_pdf(1, "Lot")), "stages": stages}),
        );
        assert_eq!(r.status, 201, "{}", r.text());
        ids.push(r.json()["id"].as_str().unwrap().to_owned());
    }
    let batch = |pin: &str, ids: &[String]| {
        diwan_tests::post_json(
            &app.url("/api/v1/parapheur/sign"),
            Some(&head),
            &json!({"documents": ids, "pin": pin}),
        )
    };
    let version = |id: &str| {
        get(
            &app.url(&format!("/api/v1/parapheur/documents/{id}")),
            Some(&handler),
        )
        .json()["version"]
            .as_i64()
            .unwrap()
    };
    let before: Vec<i64> = ids.iter().map(|id| version(id)).collect();
    // A wrong PIN signs nothing.
    batch("000000", &ids).assert_problem(403, "wrong_pin");
    assert_eq!(ids.iter().map(|id| version(id)).collect::<Vec<_>>(), before);
    batch(PIN, &[]).assert_problem(422, "invalid_batch");
    batch(PIN, &[ids[0].clone(), ids[0].clone()]).assert_problem(422, "invalid_batch");
    let r = batch(PIN, &ids);
    assert_eq!(r.status, 200, "{}", r.text());
    let results = r.json()["results"].as_array().unwrap().clone();
    assert_eq!(results.len(), 3);
    assert_eq!(results[0]["signed"], true);
    assert_eq!(results[0]["status"], "completed");
    assert_eq!(results[1]["signed"], true);
    assert_eq!(results[1]["status"], "in_circuit");
    assert_eq!(results[2]["signed"], false);
    assert_eq!(results[2]["code"], "not_your_step", "{results:#?}");
    // Each signed document is valid, and each signature is its own history line and log entry.
    for id in &ids[..2] {
        let pdf = get(
            &app.url(&format!("/api/v1/parapheur/documents/{id}/pdf")),
            Some(&handler),
        )
        .body;
        let report = send(
            "POST",
            &app.url("/api/v1/signatures/validate"),
            None,
            "application/pdf",
            &pdf,
        )
        .json();
        assert_eq!(report["valid"], true, "{report:#}");
    }
    assert_eq!(version(&ids[2]), before[2]);
    let report = audit(&app);
    assert!(report.ok, "{report:#?}");
}
