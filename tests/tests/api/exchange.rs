//! Exchange between administrations: into another administration of the same installation,
//! and between two installations (`diwan serve` processes with their own databases).

use diwan_tests::{
    Sandbox, TestApp, free_port, get, multipart, pdf, post_json, register, run_tool, send,
    start_server_at,
};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_diwan-under-test");

/// An outgoing letter from the central administration to `recipient`.
fn outgoing(registry: &str, subject: &str, recipient: Value) -> Value {
    json!({
        "registry": registry,
        "direction": "outgoing",
        "channel": "counter",
        "subject": subject,
        "sender": {"kind": "administration", "name": "Administration centrale", "unit": "ADM-CENTRALE"},
        "recipient": recipient,
        "confidentiality": "normal",
    })
}

fn deliveries(base: &str, token: &str, id: &str) -> Vec<Value> {
    let r = get(
        &format!("{base}/api/v1/correspondences/{id}/deliveries"),
        Some(token),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["deliveries"].as_array().unwrap().clone()
}

/// Waits until the letter's only delivery is in one of `states`; returns it.
fn delivery_in(base: &str, token: &str, id: &str, states: &[&str]) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let list = deliveries(base, token, id);
        assert_eq!(list.len(), 1, "{list:#?}");
        if states.iter().any(|s| list[0]["state"] == *s) {
            return list[0].clone();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "delivery still {:#}",
            list[0]
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// Lists a registry's incoming register.
fn incoming(base: &str, token: &str, registry: &str) -> Vec<Value> {
    let r = get(
        &format!("{base}/api/v1/correspondences?registry={registry}&direction=incoming"),
        Some(token),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["items"].as_array().unwrap().clone()
}

fn import_commune(app: &TestApp) -> String {
    let admin = app.login("admin@demo.diwan");
    let org = json!({"administrations": [{"code": "COMMUNE-SALE", "name_ar": "جماعة سلا", "name_fr": "Commune de Salé",
    "units": [
        {"code": "SALE", "level": "local", "name_ar": "الجماعة", "name_fr": "La commune",
         "registries": [{"code": "SALE", "name_ar": "مكتب الضبط", "name_fr": "Bureau d'ordre", "numbering_format": "{year}-{direction}-{seq:04}@{registry}"}]},
        {"code": "SALE-URB", "level": "local", "name_ar": "قسم التعمير", "name_fr": "Service de l'urbanisme", "parent": "SALE"}
    ]}]});
    let r = send(
        "PUT",
        &app.url("/api/v1/admin/org"),
        Some(&admin),
        "application/json",
        org.to_string().as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    crate::failures::create_agent(app, "clerk@sale.ma", "SALE", "registrar")
}

#[test]
fn a_letter_to_another_administration_is_registered_there_and_acknowledged() {
    let app = TestApp::spawn();
    let registrar = app.login("registrar@demo.diwan");
    let clerk = import_commune(&app);
    let body = pdf(4000);
    let r = register(
        &app.base,
        &registrar,
        &outgoing(
            "CENTRAL",
            "Réponse <b>\"urbanisme\"</b> & رخصة البناء",
            json!({"kind": "administration", "name": "Commune de Salé", "unit": "SALE-URB"}),
        ),
        &body,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let sent = r.json();
    let id = sent["id"].as_str().unwrap();
    let number = sent["registration_number"].as_str().unwrap();

    let d = delivery_in(&app.base, &registrar, id, &["acknowledged"]);
    assert_eq!(d["peer"], "");
    assert_eq!(d["unit_code"], "SALE-URB");
    let year = chrono::Utc::now().format("%Y").to_string();
    assert_eq!(d["remote_number"], format!("{year}-A-0001@SALE"), "{d:#}");

    // The commune's register holds it under its own number, as received by exchange.
    let list = incoming(&app.base, &clerk, "SALE");
    assert_eq!(list.len(), 1, "{list:#?}");
    let received = get(
        &app.url(&format!(
            "/api/v1/correspondences/{}",
            list[0]["id"].as_str().unwrap()
        )),
        Some(&clerk),
    )
    .json();
    assert_eq!(received["registration_number"], d["remote_number"]);
    assert_eq!(received["channel"], "exchange");
    assert_eq!(received["sender_reference"], number);
    assert_eq!(
        received["subject"],
        "Réponse <b>\"urbanisme\"</b> & رخصة البناء"
    );
    assert_eq!(received["recipient"]["unit"], "SALE-URB");
    assert!(received["sender"]["unit"].is_null(), "{received:#}");
    assert_eq!(
        received["files"][0]["sha256"], sent["receipt"]["files"][0]["sha256"],
        "{received:#}"
    );
    // The central registrar does not see the commune's copy.
    let r = get(
        &app.url(&format!(
            "/api/v1/correspondences/{}",
            list[0]["id"].as_str().unwrap()
        )),
        Some(&registrar),
    );
    assert_eq!(r.status, 404, "{}", r.text());

    // The acknowledgement is the commune registry's receipt, naming the envelope; it verifies.
    let ack = d["ack_jws"].as_str().unwrap();
    let report = send(
        "POST",
        &app.url("/api/v1/verify"),
        None,
        "application/jose",
        ack.as_bytes(),
    )
    .json();
    assert_eq!(report["valid"], true, "{report:#}");
    assert_eq!(report["receipt"]["exchange"]["message_id"], d["message_id"]);
    assert_eq!(report["receipt"]["exchange"]["sender_reference"], number);
    assert_eq!(report["receipt"]["registry"]["code"], "SALE");

    // The back office shows the delivery and serves the acknowledgement.
    let mut office = crate::pages::PageClient::new(&app.base, "fr");
    let csrf = office.csrf("/office/login");
    let r = office.post_form(
        "/office/login",
        &[
            ("csrf", &csrf),
            ("email", "registrar@demo.diwan"),
            ("password", "demo-password"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let page = office.get(&format!("/office/correspondences/{id}"));
    assert_eq!(page.status, 200);
    assert!(page.body.contains("id=\"deliveries\""), "{}", page.body);
    assert!(page.body.contains("data-state=\"acknowledged\""));
    assert!(page.body.contains("reçu et accusé"));
    let file = office.get(&format!(
        "/office/correspondences/{id}/deliveries/{}/ack.jws",
        d["id"].as_str().unwrap()
    ));
    assert_eq!(file.status, 200);
    assert_eq!(file.body, ack);

    // The commune's clerk cannot read the central administration's deliveries.
    let r = get(
        &app.url(&format!("/api/v1/correspondences/{id}/deliveries")),
        Some(&clerk),
    );
    assert_eq!(r.status, 404, "{}", r.text());
}

#[test]
fn an_envelope_received_twice_or_at_once_is_registered_once() {
    let app = TestApp::spawn();
    let registrar = app.login("registrar@demo.diwan");
    let clerk = import_commune(&app);
    let body = pdf(3000);
    let r = register(
        &app.base,
        &registrar,
        &outgoing(
            "CENTRAL",
            "once",
            json!({"kind": "administration", "name": "Commune", "unit": "SALE"}),
        ),
        &body,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["id"].as_str().unwrap().to_owned();
    let d = delivery_in(&app.base, &registrar, &id, &["acknowledged"]);
    let envelope = d["envelope"].as_str().unwrap().to_owned();
    let s = &app.inst.services;
    let upload = || {
        let mut sink = s.blobs.stage().unwrap();
        sink.write(&body).unwrap();
        vec![diwan_app::correspondence::Upload {
            name: "letter.pdf".into(),
            blob: sink.finish(Some("application/pdf")).unwrap(),
        }]
    };
    // Again, and four times at once: the same registration each time.
    let again =
        diwan_app::exchange::receive(s, diwan_app::exchange::Source::Local, &envelope, upload())
            .unwrap();
    assert!(again.duplicate);
    assert_eq!(
        again.registration_number,
        d["remote_number"].as_str().unwrap()
    );
    let numbers: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let files = upload();
                let envelope = &envelope;
                scope.spawn(move || {
                    diwan_app::exchange::receive(
                        s,
                        diwan_app::exchange::Source::Local,
                        envelope,
                        files,
                    )
                    .unwrap()
                    .registration_number
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(numbers.iter().all(|n| *n == numbers[0]), "{numbers:?}");
    assert_eq!(incoming(&app.base, &clerk, "SALE").len(), 1);

    // Other files than those the envelope lists: refused.
    let mut other = body.clone();
    other.extend_from_slice(b"% changed\n");
    let mut sink = s.blobs.stage().unwrap();
    sink.write(&other).unwrap();
    let files = vec![diwan_app::correspondence::Upload {
        name: "letter.pdf".into(),
        blob: sink.finish(Some("application/pdf")).unwrap(),
    }];
    // A changed envelope no longer verifies.
    let mut parts: Vec<String> = envelope.split('.').map(str::to_owned).collect();
    parts[1].insert(3, 'A');
    let forged = parts.join(".");
    let e = diwan_app::exchange::receive(s, diwan_app::exchange::Source::Local, &forged, files)
        .unwrap_err();
    assert!(
        matches!(&e, diwan_app::AppError::Rejected { code, .. } if *code == "invalid_envelope"),
        "{e:?}"
    );
    // An envelope from nowhere is refused at the endpoint before its files are read.
    let (ct, mp) = multipart(&[
        ("envelope", None, "application/jose", envelope.as_bytes()),
        ("file", Some("letter.pdf"), "application/pdf", &body),
    ]);
    send("POST", &app.url("/api/v1/exchange/inbound"), None, &ct, &mp)
        .assert_problem(403, "untrusted_peer");
}

#[test]
fn letters_within_an_administration_or_to_unknown_peers_are_not_exchanged() {
    let app = TestApp::spawn();
    let registrar = app.login("registrar@demo.diwan");
    // To a unit of the same administration: an ordinary outgoing letter, nothing to deliver.
    let r = register(
        &app.base,
        &registrar,
        &outgoing(
            "CENTRAL",
            "internal",
            json!({"kind": "administration", "name": "DR", "unit": "DR-RSK"}),
        ),
        &pdf(2000),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["id"].as_str().unwrap().to_owned();
    assert!(deliveries(&app.base, &registrar, &id).is_empty());
    // To a peer installation this one does not know.
    register(
        &app.base,
        &registrar,
        &outgoing(
            "CENTRAL",
            "far",
            json!({"kind": "administration", "name": "Wilaya", "unit": "W-1", "peer": "tanger"}),
        ),
        &pdf(2000),
    )
    .assert_problem(422, "unknown_peer");
    // A peer named for a person: refused.
    register(
        &app.base,
        &registrar,
        &outgoing(
            "CENTRAL",
            "far",
            json!({"kind": "person", "name": "X", "peer": "tanger"}),
        ),
        &pdf(2000),
    )
    .assert_problem(422, "invalid_input");
}

/// Fetches an installation's root certificate into `dir/name.pem`.
fn save_root(base: &str, dir: &std::path::Path, name: &str) -> String {
    let r = get(&format!("{base}/api/v1/pki/root.pem"), None);
    assert_eq!(r.status, 200);
    let path = dir.join(format!("{name}.pem"));
    std::fs::write(&path, &r.body).unwrap();
    path.to_str().unwrap().to_owned()
}

fn peers(name: &str, url: &str, root: &str) -> String {
    format!("[{{ name = \"{name}\", url = \"{url}\", root = \"{root}\" }}]")
}

#[test]
fn two_installations_exchange_a_letter_with_a_signed_acknowledgement() {
    let fast = [
        ("DIWAN__EXCHANGE__POLL_SECONDS", "1"),
        ("DIWAN__EXCHANGE__RETRY_SECONDS", "1"),
    ];
    // B first, to learn its root; then it goes down.
    let (sandbox_a, sandbox_b, sandbox_c) = (Sandbox::new(), Sandbox::new(), Sandbox::new());
    let files = sandbox_c.data_dir.join("roots");
    std::fs::create_dir_all(&files).unwrap();
    let port_b = free_port();
    let url_b = format!("http://127.0.0.1:{port_b}");
    let root_b = {
        let (_b, base_b) = start_server_at(BIN, &sandbox_b, &fast, port_b);
        save_root(&base_b, files.as_path(), "b")
    };
    // A trusts B and sends it a letter while B is down.
    let peers_a = peers("wilaya-b", &url_b, &root_b);
    let mut env_a = fast.to_vec();
    env_a.push(("DIWAN__EXCHANGE__PEERS", &peers_a));
    let port_a = free_port();
    let (_a, base_a) = start_server_at(BIN, &sandbox_a, &env_a, port_a);
    let root_a = save_root(&base_a, files.as_path(), "a");
    let token_a = login(&base_a, "registrar@demo.diwan");
    let body = pdf(5000);
    let r = register(
        &base_a,
        &token_a,
        &outgoing(
            "CENTRAL",
            "طلب رأي / demande d'avis",
            json!({"kind": "administration", "name": "Direction régionale (B)", "unit": "DR-RSK", "peer": "wilaya-b"}),
        ),
        &body,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let sent = r.json();
    let id = sent["id"].as_str().unwrap().to_owned();
    let number_a = sent["registration_number"].as_str().unwrap().to_owned();
    let d = delivery_in(&base_a, &token_a, &id, &["sent"]);
    assert!(d["last_error"].as_str().is_some(), "{d:#}");

    // B comes back, trusting A: the letter arrives and is acknowledged.
    let peers_b = peers(
        "ministere-a",
        &format!("http://127.0.0.1:{port_a}"),
        &root_a,
    );
    let mut env_b = fast.to_vec();
    env_b.push(("DIWAN__EXCHANGE__PEERS", &peers_b));
    let (_b, base_b) = start_server_at(BIN, &sandbox_b, &env_b, port_b);
    let d = delivery_in(&base_a, &token_a, &id, &["acknowledged"]);
    assert!(d["attempts"].as_u64().unwrap() >= 2, "{d:#}");
    let token_b = login(&base_b, "registrar@demo.diwan");
    let list = incoming(&base_b, &token_b, "DR-RSK");
    assert_eq!(list.len(), 1, "{list:#?}");
    assert_eq!(list[0]["registration_number"], d["remote_number"]);
    let received = get(
        &format!(
            "{base_b}/api/v1/correspondences/{}",
            list[0]["id"].as_str().unwrap()
        ),
        Some(&token_b),
    )
    .json();
    assert_eq!(received["channel"], "exchange");
    assert_eq!(received["sender_reference"], number_a.as_str());
    assert_eq!(received["subject"], "طلب رأي / demande d'avis");

    // The acknowledgement verifies offline against B's root, not against A's.
    let ack = files.as_path().join("ack.jws");
    std::fs::write(&ack, d["ack_jws"].as_str().unwrap()).unwrap();
    let ack = ack.to_str().unwrap();
    let (ok, out) = run_tool(BIN, &["verify", ack, "--trust", &root_b]);
    assert!(ok, "diwan verify:\n{out}");
    let (ok, _) = run_tool(BIN, &["verify", ack, "--trust", &root_a]);
    assert!(!ok, "an acknowledgement verified against the wrong root");

    // The same envelope posted again: registered once, the same acknowledgement.
    let envelope = d["envelope"].as_str().unwrap();
    let (ct, mp) = multipart(&[
        ("envelope", None, "application/jose", envelope.as_bytes()),
        ("file", Some("letter.pdf"), "application/pdf", &body),
    ]);
    let inbound = format!("{base_b}/api/v1/exchange/inbound");
    let again = send("POST", &inbound, None, &ct, &mp);
    assert_eq!(again.status, 200, "{}", again.text());
    assert_eq!(again.json()["duplicate"], true);
    assert_eq!(again.json()["registration_number"], d["remote_number"]);
    assert_eq!(incoming(&base_b, &token_b, "DR-RSK").len(), 1);

    // C, whom B does not trust: its letter is refused, with the reason.
    let peers_c = peers("wilaya-b", &url_b, &root_b);
    let mut env_c = fast.to_vec();
    env_c.push(("DIWAN__EXCHANGE__PEERS", &peers_c));
    let (_c, base_c) = start_server_at(BIN, &sandbox_c, &env_c, free_port());
    let token_c = login(&base_c, "registrar@demo.diwan");
    let r = register(
        &base_c,
        &token_c,
        &outgoing(
            "CENTRAL",
            "from C",
            json!({"kind": "administration", "name": "B", "unit": "DR-RSK", "peer": "wilaya-b"}),
        ),
        &body,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let id_c = r.json()["id"].as_str().unwrap().to_owned();
    let d = delivery_in(&base_c, &token_c, &id_c, &["refused"]);
    assert!(
        d["last_error"].as_str().unwrap().contains("untrusted_peer"),
        "{d:#}"
    );
    assert_eq!(incoming(&base_b, &token_b, "DR-RSK").len(), 1);
}

fn login(base: &str, email: &str) -> String {
    let r = post_json(
        &format!("{base}/api/v1/auth/login"),
        None,
        &json!({"email": email, "password": diwan_server::demo::DEMO_PASSWORD}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["token"].as_str().unwrap().to_owned()
}
