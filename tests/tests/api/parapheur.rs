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
