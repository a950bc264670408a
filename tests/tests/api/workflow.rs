//! The status machine and assignments: every move, every refusal, the history and the log.

use diwan_tests::{TestApp, get, letter, pdf, post_json, register, send};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_diwan-under-test");

fn registered(app: &TestApp, token: &str, registry: &str, subject: &str) -> String {
    let r = register(&app.base, token, &letter(registry, subject), &pdf(2000));
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()["id"].as_str().unwrap().to_owned()
}

/// Posts a move and returns the response.
fn step(app: &TestApp, token: &str, id: &str, name: &str, body: Value) -> diwan_tests::Resp {
    post_json(
        &app.url(&format!("/api/v1/correspondences/{id}/{name}")),
        Some(token),
        &body,
    )
}

/// Posts a move that must succeed, and returns the correspondence.
fn ok(app: &TestApp, token: &str, id: &str, name: &str, body: Value) -> Value {
    let r = step(app, token, id, name, body);
    assert_eq!(r.status, 200, "{name}: {}", r.text());
    r.json()
}

fn read(app: &TestApp, token: &str, id: &str) -> Value {
    let r = get(
        &app.url(&format!("/api/v1/correspondences/{id}")),
        Some(token),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

fn unit_id(app: &TestApp, token: &str, code: &str) -> String {
    let org = get(&app.url("/api/v1/org"), Some(token)).json();
    org["units"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["code"] == code)
        .unwrap_or_else(|| panic!("no unit {code} in {org:#}"))["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn lead(c: &Value) -> Value {
    let open: Vec<&Value> = c["assignments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["ended_at"].is_null() && a["purpose"] == "action")
        .collect();
    assert!(open.len() <= 1, "two leads: {c:#}");
    open.first().map_or(Value::Null, |a| (*a).clone())
}

fn open_count(c: &Value) -> usize {
    c["assignments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["ended_at"].is_null())
        .count()
}

fn audit_ok(app: &TestApp) {
    let report = diwan_app::audit::verify(&app.inst.services).unwrap();
    assert!(
        report.ok,
        "{}",
        serde_json::to_string_pretty(&report).unwrap()
    );
}

#[test]
fn every_move_and_every_refusal() {
    let app = TestApp::spawn();
    let registrar = app.login("registrar@demo.diwan");
    let handler = app.login("handler@demo.diwan");
    let head = app.login("head@demo.diwan");
    let signer = app.login("signer@demo.diwan");
    let admin = app.login("admin@demo.diwan");
    let kenitra = unit_id(&app, &admin, "DP-KENITRA");
    let khemisset = unit_id(&app, &admin, "DP-KHEMISSET");
    let rsk = unit_id(&app, &admin, "DR-RSK");

    let id = registered(&app, &registrar, "CENTRAL", "طلب معلومات <b>&</b>");
    assert_eq!(read(&app, &registrar, &id)["status"], "registered");

    // Nothing but an assignment (or an annulment) leaves `registered`.
    for name in ["start", "return", "close", "reassign"] {
        step(&app, &registrar, &id, name, json!({})).assert_problem(409, "invalid_transition");
    }
    step(&app, &registrar, &id, "forward", json!({"unit": "DR-RSK"}))
        .assert_problem(409, "invalid_transition");
    step(&app, &registrar, &id, "decline", json!({"reason": "x"}))
        .assert_problem(409, "invalid_transition");
    // A handler elsewhere does not even see it; a signer of the unit sees it but may not assign.
    step(&app, &handler, &id, "assign", json!({"unit": "DP-KENITRA"}))
        .assert_problem(404, "not_found");
    step(&app, &signer, &id, "assign", json!({"unit": "DP-KENITRA"}))
        .assert_problem(403, "forbidden");
    // Bad requests change nothing.
    for (body, status, code) in [
        (json!({"unit": "NOWHERE"}), 422, "unknown_unit"),
        (
            json!({"unit": "DP-KENITRA", "due_date": "2001-01-01"}),
            422,
            "invalid_due_date",
        ),
        (
            json!({"unit": "DP-KENITRA", "due_date": "2999-01-01"}),
            422,
            "invalid_due_date",
        ),
        (
            json!({"unit": "DP-KENITRA", "agent": "head@demo.diwan"}),
            422,
            "unknown_agent",
        ),
        (
            json!({"unit": "DP-KENITRA", "also": [{"unit": "DR-RSK", "purpose": "action"}]}),
            422,
            "invalid_input",
        ),
        (
            json!({"unit": "DP-KENITRA", "also": [{"unit": "DP-KENITRA", "purpose": "opinion"}]}),
            422,
            "duplicate_unit",
        ),
        (
            json!({"unit": "DP-KENITRA", "instructions": "\u{0}"}),
            422,
            "invalid_input",
        ),
        (
            json!({"unit": "DP-KENITRA", "colour": "red"}),
            400,
            "invalid_json",
        ),
    ] {
        let r = step(&app, &registrar, &id, "assign", body.clone());
        assert_eq!(r.status, status, "{body}: {}", r.text());
        assert_eq!(r.json()["code"], code, "{body}: {}", r.text());
    }
    assert_eq!(
        read(&app, &registrar, &id)["history"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // Assigned: one lead, one unit for information, the legal due date by default.
    let c = ok(
        &app,
        &registrar,
        &id,
        "assign",
        json!({"unit": "DP-KENITRA", "also": [{"unit": "DR-RSK", "purpose": "information"}],
               "instructions": "للإجابة <i>في أقرب الآجال</i>", "comment": "تعليق"}),
    );
    assert_eq!(c["status"], "assigned");
    assert_eq!(lead(&c)["unit_id"], kenitra.as_str());
    assert_eq!(open_count(&c), 2);
    let due = lead(&c)["due_date"].as_str().unwrap().to_owned();
    assert!(due.as_str() > chrono::Utc::now().format("%Y-%m-%d").to_string().as_str());
    step(
        &app,
        &registrar,
        &id,
        "assign",
        json!({"unit": "DP-KENITRA"}),
    )
    .assert_problem(409, "invalid_transition");
    step(&app, &registrar, &id, "close", json!({})).assert_problem(409, "invalid_transition");

    // The unit in charge now sees it; the signer may not act for it; the registrar neither.
    assert_eq!(read(&app, &handler, &id)["status"], "assigned");
    step(&app, &signer, &id, "start", json!({})).assert_problem(403, "forbidden");
    step(&app, &registrar, &id, "start", json!({})).assert_problem(403, "forbidden");
    // Only a head hands it down.
    step(
        &app,
        &handler,
        &id,
        "reassign",
        json!({"agent": "handler@demo.diwan"}),
    )
    .assert_problem(403, "forbidden");
    step(&app, &head, &id, "reassign", json!({"unit": "DR-CS"})).assert_problem(422, "not_below");
    step(&app, &head, &id, "reassign", json!({})).assert_problem(422, "invalid_input");
    let c = ok(
        &app,
        &head,
        &id,
        "reassign",
        json!({"agent": "handler@demo.diwan", "comment": "لك"}),
    );
    assert_eq!(c["status"], "assigned");
    assert!(lead(&c)["agent_id"].is_string());
    assert_eq!(
        lead(&c)["due_date"],
        due.as_str(),
        "the due date carries over"
    );
    step(
        &app,
        &head,
        &id,
        "reassign",
        json!({"agent": "handler@demo.diwan"}),
    )
    .assert_problem(422, "same_assignee");

    // Forwarded up to the regional directorate; the information assignment stays open.
    step(
        &app,
        &handler,
        &id,
        "forward",
        json!({"unit": "DP-KENITRA"}),
    )
    .assert_problem(422, "same_unit");
    step(&app, &handler, &id, "forward", json!({"unit": "ELSEWHERE"}))
        .assert_problem(422, "unknown_unit");
    let c = ok(
        &app,
        &handler,
        &id,
        "forward",
        json!({"unit": "DR-RSK", "comment": "من اختصاص المديرية"}),
    );
    assert_eq!(lead(&c)["unit_id"], rsk.as_str());
    assert_eq!(open_count(&c), 2);
    // The delegation that forwarded it still reads it, but no longer acts on it.
    assert_eq!(read(&app, &handler, &id)["status"], "assigned");
    step(&app, &handler, &id, "start", json!({})).assert_problem(403, "forbidden");

    // Declined needs a reason; it goes back to the registry and every assignment ends.
    step(&app, &head, &id, "decline", json!({"reason": "  "})).assert_problem(422, "invalid_input");
    let c = ok(
        &app,
        &head,
        &id,
        "decline",
        json!({"reason": "ليس من اختصاصنا"}),
    );
    assert_eq!(c["status"], "returned");
    assert_eq!(open_count(&c), 0);
    for name in ["start", "close", "return"] {
        step(&app, &head, &id, name, json!({})).assert_problem(409, "invalid_transition");
    }

    // Assigned again, taken up (no decline once taken up), handed down, returned.
    ok(&app, &registrar, &id, "assign", json!({"unit": "DR-RSK"}));
    let start = app.url(&format!("/api/v1/correspondences/{id}/start"));
    send(
        "POST",
        &start,
        Some(&head),
        "application/json",
        br#"{"colour": 1}"#,
    )
    .assert_problem(400, "invalid_json");
    // No body at all is fine for a move that takes only an optional comment.
    let r = send("POST", &start, Some(&head), "application/json", b"");
    assert_eq!(r.status, 200, "{}", r.text());
    let c = r.json();
    assert_eq!(c["status"], "in_progress");
    step(&app, &head, &id, "start", json!({})).assert_problem(409, "invalid_transition");
    step(&app, &head, &id, "decline", json!({"reason": "x"}))
        .assert_problem(409, "invalid_transition");
    let c = ok(
        &app,
        &head,
        &id,
        "reassign",
        json!({"unit": "DP-KHEMISSET", "due_date": due}),
    );
    assert_eq!(
        (c["status"].as_str(), lead(&c)["unit_id"].as_str()),
        (Some("assigned"), Some(khemisset.as_str()))
    );
    ok(&app, &head, &id, "start", json!({}));
    let c = ok(
        &app,
        &head,
        &id,
        "return",
        json!({"comment": "يرجى إعادة التوجيه"}),
    );
    assert_eq!(c["status"], "returned");

    // Assigned, taken up, closed; nothing moves a closed letter but an annulment.
    ok(
        &app,
        &registrar,
        &id,
        "assign",
        json!({"unit": "DR-RSK", "also": [{"unit": "DP-SETTAT", "purpose": "opinion"}]}),
    );
    ok(
        &app,
        &head,
        &id,
        "start",
        json!({"comment": "قيد المعالجة"}),
    );
    let c = ok(&app, &head, &id, "close", json!({}));
    assert_eq!(c["status"], "closed");
    assert_eq!(open_count(&c), 0);
    for name in ["start", "close", "return", "reassign"] {
        step(&app, &head, &id, name, json!({})).assert_problem(409, "invalid_transition");
    }
    step(&app, &registrar, &id, "assign", json!({"unit": "DR-RSK"}))
        .assert_problem(409, "invalid_transition");
    let r = step(
        &app,
        &registrar,
        &id,
        "annul",
        json!({"reason": "تسجيل مكرر"}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["status"], "annulled");
    step(&app, &registrar, &id, "assign", json!({"unit": "DR-RSK"}))
        .assert_problem(409, "invalid_transition");

    // The history tells each move, with its actor; every line is in the log.
    let c = read(&app, &registrar, &id);
    let kinds: Vec<&str> = c["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "registered",
            "assigned",
            "reassigned",
            "forwarded",
            "declined",
            "assigned",
            "started",
            "reassigned",
            "started",
            "returned",
            "assigned",
            "started",
            "closed",
            "annulled"
        ]
    );
    let declined = &c["history"][4];
    assert_eq!(declined["detail"]["reason"], "ليس من اختصاصنا");
    assert_eq!(declined["detail"]["from"], "assigned");
    assert_eq!(declined["detail"]["to"], "returned");
    assert!(
        c["history"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["actor_id"].is_string())
    );
    assert_eq!(
        c["history"][1]["detail"]["assignments"][0]["instructions"],
        "للإجابة <i>في أقرب الآجال</i>"
    );
    audit_ok(&app);
    let sth = get(&app.url("/api/v1/transparency/sth"), None).json();
    assert_eq!(sth["tree_size"], 14, "{sth:#}");
}

#[test]
fn an_edited_assignment_or_move_shows_in_the_audit() {
    let app = TestApp::spawn();
    let registrar = app.login("registrar@demo.diwan");
    let head = app.login("head@demo.diwan");
    let id = registered(&app, &registrar, "DR-RSK", "audit");
    ok(
        &app,
        &registrar,
        &id,
        "assign",
        json!({"unit": "DP-KENITRA"}),
    );
    ok(
        &app,
        &head,
        &id,
        "forward",
        json!({"unit": "DP-KHEMISSET", "comment": "للاختصاص"}),
    );
    audit_ok(&app);
    let db = &app.inst.database;
    let edits = [
        format!(
            "UPDATE assignments SET due_date = '2099-01-01' WHERE correspondence_id = '{id}' AND ended_at IS NULL"
        ),
        format!(
            "UPDATE correspondence_events SET detail = '{{}}' WHERE correspondence_id = '{id}' AND kind = 'forwarded'"
        ),
    ];
    for edit in &edits {
        // Each edit on a fresh copy of the rows: undo by re-reading is not possible, so check
        // the first, then the second on top of it (both must be reported).
        db.execute_batch(edit).unwrap();
        let report = diwan_app::audit::verify(&app.inst.services).unwrap();
        let text = serde_json::to_string(&report).unwrap();
        assert!(!report.ok, "{edit} not found: {text}");
        assert!(text.contains("entry_changed"), "{text}");
    }
}

#[test]
fn two_agents_moving_at_once_one_wins() {
    let app = TestApp::spawn();
    let registrar = app.login("registrar@demo.diwan");
    let head = app.login("head@demo.diwan");
    for round in 0..4 {
        let id = registered(&app, &registrar, "DR-RSK", &format!("race {round}"));
        ok(&app, &registrar, &id, "assign", json!({"unit": "DR-RSK"}));
        // From `assigned`, whichever of these lands first leaves the others nothing to do.
        let moves = [
            ("start", json!({})),
            ("start", json!({})),
            ("decline", json!({"reason": "لا"})),
            ("decline", json!({"reason": "no"})),
        ];
        let results: Vec<(u16, String)> = std::thread::scope(|scope| {
            let handles: Vec<_> = moves
                .iter()
                .map(|(name, body)| {
                    let (app, head, id) = (&app, &head, &id);
                    scope.spawn(move || {
                        let r = step(app, head, id, name, body.clone());
                        (r.status, r.json()["code"].as_str().unwrap_or("").to_owned())
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let won = results.iter().filter(|r| r.0 == 200).count();
        assert_eq!(won, 1, "{results:?}");
        for (status, code) in &results {
            assert!(
                *status == 200
                    || (*status == 409
                        && (code == "state_changed" || code == "invalid_transition")),
                "{results:?}"
            );
        }
        let c = read(&app, &registrar, &id);
        assert!(
            (c["status"] == "in_progress" && lead(&c).is_object())
                || (c["status"] == "returned" && open_count(&c) == 0),
            "{c:#}"
        );
        // The history has exactly one line per move that was answered 200.
        assert_eq!(
            c["history"].as_array().unwrap().len(),
            2 + won,
            "{results:?}"
        );
    }
    audit_ok(&app);
}

#[test]
fn the_inbox_lists_open_assignments_by_due_date() {
    let app = TestApp::spawn();
    let registrar = app.login("registrar@demo.diwan");
    let handler = app.login("handler@demo.diwan");
    let head = app.login("head@demo.diwan");
    let today = chrono::Utc::now().date_naive();
    let mut expected = Vec::new();
    // Due dates given out of order; one assigned elsewhere; one closed.
    for (n, days) in [9u64, 3, 12, 1, 7].into_iter().enumerate() {
        let id = registered(&app, &registrar, "DP-KENITRA", &format!("بريد {n}"));
        let due = (today + chrono::Days::new(days)).to_string();
        ok(
            &app,
            &registrar,
            &id,
            "assign",
            json!({"unit": "DP-KENITRA", "due_date": due}),
        );
        expected.push((due, id));
    }
    let elsewhere = registered(&app, &registrar, "DP-KENITRA", "ailleurs");
    ok(
        &app,
        &registrar,
        &elsewhere,
        "assign",
        json!({"unit": "DP-SETTAT"}),
    );
    let closed = expected.remove(4).1;
    ok(&app, &handler, &closed, "start", json!({}));
    ok(&app, &handler, &closed, "close", json!({}));
    expected.sort();

    let mut seen = Vec::new();
    let mut url = app.url("/api/v1/inbox?limit=2");
    loop {
        let r = get(&url, Some(&handler));
        assert_eq!(r.status, 200, "{}", r.text());
        let page = r.json();
        for line in page["items"].as_array().unwrap() {
            assert_eq!(line["purpose"], "action");
            seen.push((
                line["due_date"].as_str().unwrap().to_owned(),
                line["summary"]["id"].as_str().unwrap().to_owned(),
            ));
        }
        match page["next_cursor"].as_str() {
            Some(c) => url = app.url(&format!("/api/v1/inbox?limit=2&cursor={c}")),
            None => break,
        }
    }
    assert_eq!(seen, expected);
    // One unit only, if it is the agent's; a bad cursor is refused.
    let r = get(&app.url("/api/v1/inbox?unit=DP-KENITRA"), Some(&handler));
    assert_eq!(r.json()["items"].as_array().unwrap().len(), 4);
    get(&app.url("/api/v1/inbox?unit=DP-SETTAT"), Some(&handler)).assert_problem(403, "forbidden");
    get(&app.url("/api/v1/inbox?cursor=zzz"), Some(&handler)).assert_problem(400, "invalid_cursor");
    // The head of the regional directorate holds nothing yet.
    let r = get(&app.url("/api/v1/inbox"), Some(&head)).json();
    assert_eq!(r["items"].as_array().unwrap().len(), 0, "{r:#}");
}

/// Metadata of an outgoing reply from `registry` to the depositor of `letter()`.
fn reply(registry: &str, in_reply_to: &str) -> Value {
    json!({
        "registry": registry,
        "direction": "outgoing",
        "channel": "portal",
        "subject": "جواب عن طلبكم <b>",
        "sender": {"kind": "administration", "name": "Délégation", "unit": "DP-KENITRA"},
        "recipient": {"kind": "person", "name": "فاطمة الزهراء بنعلي", "email": "FZ@example.ma"},
        "in_reply_to": in_reply_to
    })
}

#[test]
fn a_reply_answers_the_letter_tells_the_depositor_and_is_theirs_to_download() {
    let sandbox = diwan_tests::Sandbox::new();
    let smtp = diwan_tests::smtp::smtp_server(&sandbox.data_dir);
    let url = format!("smtp://127.0.0.1:{}", smtp.port);
    let app = TestApp::spawn_on(
        sandbox,
        &[
            ("DIWAN__MAIL__TRANSPORT", "smtp"),
            ("DIWAN__MAIL__SMTP_URL", url.as_str()),
            ("DIWAN__MAIL__POLL_SECONDS", "1"),
        ],
    );
    let registrar = app.login("registrar@demo.diwan");
    let handler = app.login("handler@demo.diwan");
    let r = register(
        &app.base,
        &registrar,
        &letter("DP-KENITRA", "طلب شهادة"),
        &pdf(2000),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let created = r.json();
    let id = created["id"].as_str().unwrap().to_owned();
    let number = created["registration_number"].as_str().unwrap().to_owned();
    let code = created["receipt"]["tracking_code"]
        .as_str()
        .unwrap()
        .to_owned();

    // Not assigned yet: it cannot be answered; an incoming "reply", an unknown letter neither.
    let body = pdf(1500);
    register(&app.base, &registrar, &reply("DP-KENITRA", &id), &body)
        .assert_problem(409, "invalid_transition");
    let mut wrong = reply("DP-KENITRA", &id);
    wrong["direction"] = json!("incoming");
    register(&app.base, &registrar, &wrong, &body).assert_problem(422, "invalid_input");
    register(
        &app.base,
        &registrar,
        &reply("DP-KENITRA", "DP-KENITRA/A/1999/000001"),
        &body,
    )
    .assert_problem(422, "unknown_correspondence");
    ok(
        &app,
        &registrar,
        &id,
        "assign",
        json!({"unit": "DP-KENITRA"}),
    );
    ok(&app, &handler, &id, "start", json!({}));
    // An outgoing letter is not answered.
    let out = register(&app.base, &registrar, &reply("DP-KENITRA", &id), &body);
    assert_eq!(out.status, 201, "{}", out.text());
    let reply_id = out.json()["id"].as_str().unwrap().to_owned();
    let reply_number = out.json()["registration_number"]
        .as_str()
        .unwrap()
        .to_owned();
    register(
        &app.base,
        &registrar,
        &reply("DP-KENITRA", &reply_id),
        &body,
    )
    .assert_problem(422, "invalid_reply");

    // Both linked; the letter answered, with the reply in its history; the log holds it all.
    let c = read(&app, &handler, &id);
    assert_eq!(c["status"], "answered");
    let answered = c["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(answered["kind"], "answered");
    assert_eq!(answered["detail"]["reply_number"], reply_number.as_str());
    assert_eq!(
        read(&app, &registrar, &reply_id)["in_reply_to"],
        id.as_str()
    );
    // By number too, but an answered letter is not answered twice.
    register(&app.base, &registrar, &reply("DP-KENITRA", &number), &body)
        .assert_problem(409, "invalid_transition");
    audit_ok(&app);

    // The depositor is told once by e-mail.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let answered_mails = || -> Vec<(String, String)> {
        diwan_tests::smtp::messages(&smtp.maildir)
            .iter()
            .filter(|m| String::from_utf8_lossy(m).contains("<answered-"))
            .map(|m| {
                let parsed = mail_parser::MessageParser::default().parse(m).unwrap();
                let to = String::from_utf8_lossy(m)
                    .lines()
                    .find(|l| l.starts_with("To:"))
                    .unwrap_or("")
                    .to_owned();
                (to, parsed.body_text(0).unwrap().into_owned())
            })
            .collect()
    };
    while answered_mails().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "no e-mail about the answer"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    std::thread::sleep(std::time::Duration::from_secs(2));
    let about = answered_mails();
    assert_eq!(about.len(), 1, "{about:?}");
    assert!(about[0].0.contains("fz@example.ma"), "{about:?}");
    assert!(
        about[0].1.contains(&reply_number) && about[0].1.contains(&number),
        "{about:?}"
    );

    // With the tracking code: the status, the reply and its file, byte for byte.
    let t = get(&app.url(&format!("/api/v1/replies/{id}?code={code}")), None);
    assert_eq!(t.status, 200, "{}", t.text());
    let r = t.json();
    assert_eq!(r["registration_number"], reply_number.as_str());
    let file_id = r["files"][0]["id"].as_str().unwrap();
    let f = get(
        &app.url(&format!("/api/v1/replies/{id}/files/{file_id}?code={code}")),
        None,
    );
    assert_eq!(f.status, 200);
    assert_eq!(f.body, body);
    for bad in ["WRONGCODE123", ""] {
        get(&app.url(&format!("/api/v1/replies/{id}?code={bad}")), None)
            .assert_problem(404, "not_found");
        get(
            &app.url(&format!("/api/v1/replies/{id}/files/{file_id}?code={bad}")),
            None,
        )
        .assert_problem(404, "not_found");
    }
    // Another letter's code does not open this reply.
    let other = register(
        &app.base,
        &registrar,
        &letter("DP-KENITRA", "autre"),
        &pdf(900),
    )
    .json();
    let other_code = other["receipt"]["tracking_code"].as_str().unwrap();
    get(
        &app.url(&format!("/api/v1/replies/{id}?code={other_code}")),
        None,
    )
    .assert_problem(404, "not_found");

    // Closed after the answer.
    let c = ok(&app, &handler, &id, "close", json!({}));
    assert_eq!(c["status"], "closed");
}

#[test]
fn a_reply_to_someone_else_is_not_given_to_the_depositor() {
    let app = TestApp::spawn();
    let registrar = app.login("registrar@demo.diwan");
    let r = register(&app.base, &registrar, &letter("DP-KENITRA", "x"), &pdf(900)).json();
    let (id, code) = (
        r["id"].as_str().unwrap().to_owned(),
        r["receipt"]["tracking_code"].as_str().unwrap().to_owned(),
    );
    ok(
        &app,
        &registrar,
        &id,
        "assign",
        json!({"unit": "DP-KENITRA"}),
    );
    let mut meta = reply("DP-KENITRA", &id);
    meta["recipient"] = json!({"kind": "administration", "name": "Autre administration", "email": "other@example.org"});
    let out = register(&app.base, &registrar, &meta, &pdf(700));
    assert_eq!(out.status, 201, "{}", out.text());
    assert_eq!(read(&app, &registrar, &id)["status"], "answered");
    get(&app.url(&format!("/api/v1/replies/{id}?code={code}")), None)
        .assert_problem(404, "not_found");
}

#[test]
fn routing_rules_assign_at_registration_first_match_wins() {
    let app = TestApp::spawn();
    let admin = app.login("admin@demo.diwan");
    let head = app.login("head@demo.diwan");
    let handler = app.login("handler@demo.diwan");
    let registrar = app.login("registrar@demo.diwan");
    let rules_url = app.url("/api/v1/registries/DR-RSK/routing-rules");
    let unit = |code: &str| unit_id(&app, &admin, code);

    // Who manages rules, and what a rule may say.
    post_json(
        &rules_url,
        Some(&handler),
        &json!({"name": "x", "target_unit": "DR-RSK"}),
    )
    .assert_problem(403, "forbidden");
    for (body, code) in [
        (
            json!({"name": "x", "target_unit": "NOWHERE"}),
            "unknown_unit",
        ),
        (
            json!({"name": "x", "sender_territory": "MA 04"}),
            "invalid_input",
        ),
        (
            json!({"name": " ", "target_unit": "DR-RSK"}),
            "invalid_input",
        ),
        (json!({"name": "x", "keywords": ["..."]}), "invalid_input"),
        (
            json!({"name": "x", "keywords": vec!["w"; 21]}),
            "invalid_input",
        ),
        (
            json!({"name": "x", "recipient_unit": "ADM-NOPE"}),
            "unknown_unit",
        ),
    ] {
        post_json(&rules_url, Some(&admin), &body).assert_problem(422, code);
    }
    let create = |token: &str, body: Value| {
        let r = post_json(&rules_url, Some(token), &body);
        assert_eq!(r.status, 201, "{}", r.text());
        r.json()
    };
    create(
        &admin,
        json!({"name": "معطلة", "position": 5, "target_unit": "DP-SETTAT", "active": false}),
    );
    let complaints = create(
        &admin,
        json!({"name": "Plaintes <b>", "position": 10, "keywords": ["شكاية", "réclamation"], "target_unit": "DP-KHEMISSET"}),
    );
    create(
        &admin,
        json!({"name": "Par territoire", "position": 20, "sender_territory": "ma-04"}),
    );
    create(&head, json!({"name": "Le reste", "target_unit": "DR-RSK"}));
    let listed = get(&rules_url, Some(&registrar)).json();
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["معطلة", "Plaintes <b>", "Par territoire", "Le reste"]
    );
    get(&rules_url, Some(&handler)).assert_problem(403, "forbidden");

    let incoming = |subject: &str, territory: Option<&str>| {
        let mut meta = letter("DR-RSK", subject);
        if let Some(t) = territory {
            meta["sender"]["territory"] = json!(t);
        }
        let r = register(&app.base, &registrar, &meta, &pdf(800));
        assert_eq!(r.status, 201, "{}", r.text());
        read(&app, &registrar, r.json()["id"].as_str().unwrap())
    };
    // A keyword rule before the territory rule: the first that matches wins, and says why.
    let c = incoming("Réclamation concernant la facture d'eau", Some("MA-04-KEN"));
    assert_eq!(c["status"], "assigned");
    assert_eq!(lead(&c)["unit_id"], unit("DP-KHEMISSET").as_str());
    let fired = &c["history"][1]["detail"]["rule"];
    assert_eq!(fired["name"], "Plaintes <b>");
    assert_eq!(
        fired["why"][0],
        json!({"condition": "keyword", "value": "réclamation"})
    );
    // The sender's territory leads to the delegation of that province.
    let c = incoming("طلب شهادة", Some("MA-04-KEN"));
    assert_eq!(lead(&c)["unit_id"], unit("DP-KENITRA").as_str());
    assert_eq!(
        c["history"][1]["detail"]["rule"]["why"][0]["condition"],
        "sender_territory"
    );
    // A territory without a unit of its own goes to the nearest unit above.
    let c = incoming("طلب شهادة", Some("MA-04-XYZ"));
    assert_eq!(lead(&c)["unit_id"], unit("DR-RSK").as_str());
    // Nothing else matches: the catch-all.
    let c = incoming("demande", None);
    assert_eq!(lead(&c)["unit_id"], unit("DR-RSK").as_str());
    assert_eq!(
        c["history"][1]["detail"]["rule"]["why"][0]["condition"],
        "always"
    );
    // Outgoing letters are not routed; neither are letters of a registry without rules.
    let mut out = letter("DR-RSK", "réclamation");
    out["direction"] = json!("outgoing");
    let r = register(&app.base, &registrar, &out, &pdf(700)).json();
    assert_eq!(
        read(&app, &registrar, r["id"].as_str().unwrap())["status"],
        "registered"
    );
    let r = register(
        &app.base,
        &registrar,
        &letter("CENTRAL", "réclamation"),
        &pdf(700),
    )
    .json();
    assert_eq!(
        read(&app, &registrar, r["id"].as_str().unwrap())["status"],
        "registered"
    );

    // Turned off, a rule no longer fires; deleted, it is gone.
    let id = complaints["id"].as_str().unwrap();
    let r = send(
        "PUT",
        &format!("{rules_url}/{id}"),
        Some(&admin),
        "application/json",
        json!({"name": "Plaintes", "keywords": ["réclamation"], "target_unit": "DP-KHEMISSET", "active": false}).to_string().as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["position"], 10, "the position is kept");
    let c = incoming("réclamation", None);
    assert_eq!(lead(&c)["unit_id"], unit("DR-RSK").as_str());
    let delete = |token: &str| {
        send(
            "DELETE",
            &format!("{rules_url}/{id}"),
            Some(token),
            "application/json",
            b"",
        )
    };
    delete(&handler).assert_problem(403, "forbidden");
    assert_eq!(delete(&admin).status, 204);
    delete(&admin).assert_problem(404, "not_found");
    assert_eq!(
        get(&rules_url, Some(&admin))
            .json()
            .as_array()
            .unwrap()
            .len(),
        3
    );
    audit_ok(&app);
}

#[test]
fn a_substitute_receives_what_is_handed_to_an_agent_on_leave_and_the_history_says_so() {
    let app = TestApp::spawn();
    let admin = app.login("admin@demo.diwan");
    let registrar = app.login("registrar@demo.diwan");
    let head = app.login("head@demo.diwan");
    let handler = app.login("handler@demo.diwan");
    // A second handler in the Kénitra delegation, and one elsewhere.
    for (email, unit) in [
        ("sub@demo.diwan", "DP-KENITRA"),
        ("far@demo.diwan", "DP-SETTAT"),
    ] {
        let r = post_json(
            &app.url("/api/v1/admin/agents"),
            Some(&admin),
            &json!({"email": email, "display_name": "Agent <i>", "password": "a-long-enough-password",
                    "grants": [{"unit": unit, "role": "handler"}]}),
        );
        assert_eq!(r.status, 201, "{}", r.text());
    }
    let me = get(&app.url("/api/v1/auth/me"), Some(&handler)).json();
    let handler_id = me["agent_id"].as_str().unwrap().to_owned();
    let today = chrono::Utc::now().date_naive();
    let day = |n: u64| (today + chrono::Days::new(n)).to_string();
    let url = app.url("/api/v1/delegations");

    for (body, status, code) in [
        (
            json!({"substitute": "sub@demo.diwan", "starts_on": "2001-01-01", "ends_on": day(3)}),
            422,
            "invalid_period",
        ),
        (
            json!({"substitute": "sub@demo.diwan", "starts_on": day(3), "ends_on": day(1)}),
            422,
            "invalid_period",
        ),
        (
            json!({"substitute": "sub@demo.diwan", "starts_on": day(0), "ends_on": day(400)}),
            422,
            "invalid_period",
        ),
        (
            json!({"substitute": "handler@demo.diwan", "starts_on": day(0), "ends_on": day(3)}),
            422,
            "invalid_substitute",
        ),
        (
            json!({"substitute": "far@demo.diwan", "starts_on": day(0), "ends_on": day(3)}),
            422,
            "invalid_substitute",
        ),
        (
            json!({"substitute": "nobody@demo.diwan", "starts_on": day(0), "ends_on": day(3)}),
            422,
            "unknown_agent",
        ),
    ] {
        let r = post_json(&url, Some(&handler), &body);
        assert_eq!(
            (r.status, r.json()["code"].as_str().unwrap_or("")),
            (status, code),
            "{body}: {}",
            r.text()
        );
    }
    let r = post_json(
        &url,
        Some(&handler),
        &json!({"substitute": "sub@demo.diwan", "starts_on": day(0), "ends_on": day(2)}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let delegation = r.json();
    let sub_id = delegation["substitute_id"].as_str().unwrap().to_owned();
    post_json(
        &url,
        Some(&handler),
        &json!({"substitute": "sub@demo.diwan", "starts_on": day(2), "ends_on": day(5)}),
    )
    .assert_problem(409, "overlapping_delegation");

    // Handed to the handler on leave: it goes to the substitute, and the history says so.
    let id = registered(&app, &registrar, "DP-KENITRA", "إجازة");
    ok(
        &app,
        &registrar,
        &id,
        "assign",
        json!({"unit": "DP-KENITRA"}),
    );
    let c = ok(
        &app,
        &head,
        &id,
        "reassign",
        json!({"agent": "handler@demo.diwan"}),
    );
    assert_eq!(lead(&c)["agent_id"], sub_id.as_str());
    let note = &c["history"].as_array().unwrap().last().unwrap()["detail"]["delegated"][0];
    assert_eq!(note["from"], handler_id.as_str());
    assert_eq!(note["to"], sub_id.as_str());
    // The substitute sees it in their inbox and may act on it.
    let substitute = app.login_with("sub@demo.diwan", "a-long-enough-password");
    let inbox = get(&app.url("/api/v1/inbox"), Some(&substitute)).json();
    assert!(
        inbox["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["summary"]["id"] == id.as_str())
    );
    ok(&app, &substitute, &id, "start", json!({}));
    // Assignment straight to the agent is redirected too.
    let id2 = registered(&app, &registrar, "DP-KENITRA", "x");
    let c = ok(
        &app,
        &registrar,
        &id2,
        "assign",
        json!({"unit": "DP-KENITRA", "agent": "handler@demo.diwan"}),
    );
    assert_eq!(lead(&c)["agent_id"], sub_id.as_str());

    // Once the period is over, the handler receives again.
    app.clock.advance(chrono::Duration::days(3));
    let (registrar, handler) = (
        app.login("registrar@demo.diwan"),
        app.login("handler@demo.diwan"),
    );
    let substitute = app.login_with("sub@demo.diwan", "a-long-enough-password");
    let id3 = registered(&app, &registrar, "DP-KENITRA", "y");
    let c = ok(
        &app,
        &registrar,
        &id3,
        "assign",
        json!({"unit": "DP-KENITRA", "agent": "handler@demo.diwan"}),
    );
    assert_eq!(lead(&c)["agent_id"], handler_id.as_str());
    assert!(c["history"][1]["detail"]["delegated"].is_null());
    // A revoked delegation no longer counts; only its giver revokes it.
    let d_id = delegation["id"].as_str().unwrap();
    assert_eq!(
        diwan_tests::send(
            "DELETE",
            &format!("{url}/{d_id}"),
            Some(&substitute),
            "application/json",
            b""
        )
        .status,
        404
    );
    assert_eq!(
        diwan_tests::send(
            "DELETE",
            &format!("{url}/{d_id}"),
            Some(&handler),
            "application/json",
            b""
        )
        .status,
        204
    );
    let listed = get(&url, Some(&handler)).json();
    assert!(listed[0]["revoked_at"].is_string(), "{listed:#}");
    audit_ok(&app);
}

/// The follow-up e-mails an SMTP peer received: (message-id kind, To line, body text).
fn follow_ups(maildir: &std::path::Path) -> Vec<(String, String, String)> {
    diwan_tests::smtp::messages(maildir)
        .iter()
        .filter_map(|m| {
            let raw = String::from_utf8_lossy(m).to_string();
            let kind = if raw.contains("<reminder-") {
                "reminder"
            } else if raw.contains("<escalation-") {
                "escalation"
            } else {
                return None;
            };
            let parsed = mail_parser::MessageParser::default().parse(m)?;
            let to = raw
                .lines()
                .find(|l| l.starts_with("To:"))
                .unwrap_or("")
                .to_owned();
            Some((kind.to_owned(), to, parsed.body_text(0)?.into_owned()))
        })
        .collect()
}

fn wait_for_follow_ups(maildir: &std::path::Path, n: usize) -> Vec<(String, String, String)> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let got = follow_ups(maildir);
        if got.len() >= n {
            // Anything extra would show up meanwhile.
            std::thread::sleep(std::time::Duration::from_secs(3));
            return follow_ups(maildir);
        }
        assert!(std::time::Instant::now() < deadline, "{got:?}");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

#[test]
fn reminders_and_escalations_reach_smtp_once_each_with_an_injected_clock() {
    let sandbox = diwan_tests::Sandbox::new();
    let smtp = diwan_tests::smtp::smtp_server(&sandbox.data_dir);
    let url = format!("smtp://127.0.0.1:{}", smtp.port);
    let app = TestApp::spawn_on(
        sandbox,
        &[
            ("DIWAN__MAIL__TRANSPORT", "smtp"),
            ("DIWAN__MAIL__SMTP_URL", url.as_str()),
            ("DIWAN__MAIL__POLL_SECONDS", "1"),
            ("DIWAN__WORKFLOW__SCHEDULER_SECONDS", "1"),
            ("DIWAN__WORKFLOW__REMINDER_DAYS", "2"),
        ],
    );
    let registrar = app.login("registrar@demo.diwan");
    let today = chrono::Utc::now().date_naive();
    let due = (today + chrono::Days::new(5)).to_string();
    let mut meta = letter("DP-KENITRA", "suivi");
    meta["sender"]["email"] = json!(null);
    let r = register(&app.base, &registrar, &meta, &pdf(900));
    let id = r.json()["id"].as_str().unwrap().to_owned();
    let number = r.json()["registration_number"].as_str().unwrap().to_owned();
    ok(
        &app,
        &registrar,
        &id,
        "assign",
        json!({"unit": "DP-KENITRA", "due_date": due}),
    );
    // Not yet: five days ahead, reminders come two days before.
    std::thread::sleep(std::time::Duration::from_secs(3));
    assert!(follow_ups(&smtp.maildir).is_empty());

    // Three days later: the reminder, to the delegation's handler.
    app.clock.advance(chrono::Duration::days(3));
    let got = wait_for_follow_ups(&smtp.maildir, 1);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0, "reminder");
    assert!(got[0].1.contains("handler@demo.diwan"), "{got:?}");
    assert!(
        got[0].2.contains(&number) && got[0].2.contains(&due),
        "{got:?}"
    );
    // More rounds (as after a restart: the scheduler keeps nothing in memory) send nothing new.
    for _ in 0..3 {
        assert_eq!(
            diwan_app::workflow::follow_up_due(&app.inst.services).unwrap(),
            0
        );
    }

    // Overdue: the head above the delegation (it has none of its own) is told, once.
    app.clock.advance(chrono::Duration::days(3));
    let got = wait_for_follow_ups(&smtp.maildir, 2);
    assert_eq!(got.len(), 2, "{got:?}");
    let escalation = got.iter().find(|m| m.0 == "escalation").unwrap();
    assert!(escalation.1.contains("head@demo.diwan"), "{got:?}");
    assert_eq!(
        diwan_app::workflow::follow_up_due(&app.inst.services).unwrap(),
        0
    );
    // A closed letter is not followed up.
    let (registrar, handler) = (
        app.login("registrar@demo.diwan"),
        app.login("handler@demo.diwan"),
    );
    let r = register(&app.base, &registrar, &meta, &pdf(900)).json();
    let closed = r["id"].as_str().unwrap();
    ok(
        &app,
        &registrar,
        closed,
        "assign",
        json!({"unit": "DP-KENITRA", "due_date": (today + chrono::Days::new(7)).to_string()}),
    );
    ok(&app, &handler, closed, "start", json!({}));
    ok(&app, &handler, closed, "close", json!({}));
    app.clock.advance(chrono::Duration::days(10));
    std::thread::sleep(std::time::Duration::from_secs(3));
    assert_eq!(follow_ups(&smtp.maildir).len(), 2);
}

#[test]
fn two_server_processes_running_the_scheduler_send_each_follow_up_once() {
    let sandbox = diwan_tests::Sandbox::new();
    let smtp = diwan_tests::smtp::smtp_server(&sandbox.data_dir);
    let url = format!("smtp://127.0.0.1:{}", smtp.port);
    let settings = [
        ("DIWAN__MAIL__TRANSPORT", "smtp"),
        ("DIWAN__MAIL__SMTP_URL", url.as_str()),
        ("DIWAN__MAIL__POLL_SECONDS", "1"),
        ("DIWAN__WORKFLOW__SCHEDULER_SECONDS", "1"),
        ("DIWAN__WORKFLOW__REMINDER_DAYS", "10"),
    ];
    // First one node, to register and assign without any scheduler meanwhile.
    let mut quiet = settings.to_vec();
    quiet.push(("DIWAN__WORKFLOW__SCHEDULER", "false"));
    let (first, base) = diwan_tests::start_server(BIN, &sandbox, &quiet);
    let login = |email: &str| {
        let r = post_json(
            &format!("{base}/api/v1/auth/login"),
            None,
            &json!({"email": email, "password": diwan_server::demo::DEMO_PASSWORD}),
        );
        r.json()["token"].as_str().unwrap().to_owned()
    };
    let registrar = login("registrar@demo.diwan");
    let today = chrono::Utc::now().date_naive();
    let mut ids = Vec::new();
    for n in 0..6 {
        let mut meta = letter("DP-KENITRA", &format!("lettre {n}"));
        meta["sender"]["email"] = json!(null);
        let r = register(&base, &registrar, &meta, &pdf(700));
        let id = r.json()["id"].as_str().unwrap().to_owned();
        let due = (today + chrono::Days::new(30 + n)).to_string();
        let r = post_json(
            &format!("{base}/api/v1/correspondences/{id}/assign"),
            Some(&registrar),
            &json!({"unit": "DP-KENITRA", "due_date": due}),
        );
        assert_eq!(r.status, 200, "{}", r.text());
        ids.push(id);
    }
    drop(first);
    // Two nodes with the scheduler on; nothing is due yet (a month ahead).
    let (a, _) = diwan_tests::start_server(BIN, &sandbox, &settings);
    let (b, _) = diwan_tests::start_server(BIN, &sandbox, &settings);
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert!(follow_ups(&smtp.maildir).is_empty());
    // Then, as if weeks had passed, at once for both: three due in three days, three overdue.
    let db = diwan_db::Database::open(&sandbox.database_url, 2).unwrap();
    let soon = (today + chrono::Days::new(3)).to_string();
    let yesterday = (today - chrono::Days::new(1)).to_string();
    let mut sql = String::new();
    for (k, id) in ids.iter().enumerate() {
        let day = if k < 3 { &yesterday } else { &soon };
        sql.push_str(&format!(
            "UPDATE assignments SET due_date = '{day}' WHERE correspondence_id = '{id}';\n"
        ));
    }
    db.execute_batch(&sql).unwrap();
    // Six reminders (all due within ten days) and three escalations.
    let got = wait_for_follow_ups(&smtp.maildir, 9);
    // Both stopped and one started again: nothing is sent twice.
    drop((a, b));
    let (again, _) = diwan_tests::start_server(BIN, &sandbox, &settings);
    std::thread::sleep(std::time::Duration::from_secs(4));
    drop(again);
    let got_after = follow_ups(&smtp.maildir);
    assert_eq!(got_after.len(), 9, "{got:?}");
    assert_eq!(got_after.iter().filter(|m| m.0 == "reminder").count(), 6);
    assert_eq!(got_after.iter().filter(|m| m.0 == "escalation").count(), 3);
}
