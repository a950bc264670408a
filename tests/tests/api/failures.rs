//! A request that fails leaves no correspondence, no consumed number and no unreferenced file.

use diwan_tests::{Backend, Resp, TestApp, get, letter, multipart, pdf, register, send};
use serde_json::json;

fn post(app: &TestApp, token: &str, parts: &[(&str, Option<&str>, &str, &[u8])]) -> Resp {
    let (ct, body) = multipart(parts);
    send(
        "POST",
        &app.url("/api/v1/correspondences"),
        Some(token),
        &ct,
        &body,
    )
}

pub fn inject_database_failure(app: &TestApp) {
    let sql = match app.sandbox.backend {
        Backend::Sqlite => "CREATE TRIGGER boom BEFORE INSERT ON correspondence_files WHEN NEW.name = 'boom.pdf' \
                            BEGIN SELECT RAISE(ABORT, 'injected failure'); END;"
            .to_owned(),
        Backend::Postgres { .. } => "CREATE FUNCTION boom() RETURNS trigger AS $$ BEGIN \
                IF NEW.name = 'boom.pdf' THEN RAISE EXCEPTION 'injected failure'; END IF; RETURN NEW; END $$ \
                LANGUAGE plpgsql; \
                CREATE TRIGGER boom BEFORE INSERT ON correspondence_files FOR EACH ROW EXECUTE FUNCTION boom();"
            .to_owned(),
    };
    app.inst.database.execute_batch(&sql).unwrap();
}

#[test]
fn failed_requests_leave_nothing_behind() {
    let app = TestApp::spawn_with(&[
        ("DIWAN__LIMITS__MAX_FILE_BYTES", "20000"),
        ("DIWAN__LIMITS__MAX_REQUEST_BYTES", "50000"),
    ]);
    let token = app.login("registrar@demo.diwan");
    let good = pdf(5000);
    let first = register(&app.base, &token, &letter("CENTRAL", "first"), &good);
    assert_eq!(first.status, 201, "{}", first.text());
    let (blobs_before, _) = app.stored_files();
    inject_database_failure(&app);

    let meta = letter("CENTRAL", "refused").to_string();
    let m = meta.as_bytes();
    let unique = |n: u8| {
        let mut p = pdf(3000);
        p.extend_from_slice(&[b'%', n, b'\n']);
        p
    };
    let (u1, u2, u3, u4) = (unique(1), unique(2), unique(3), unique(4));
    let big = pdf(20001);
    let medium = pdf(19000);
    let mut unknown_registry = letter("NOPE", "x");
    unknown_registry["direction"] = json!("incoming");
    let unknown_registry = unknown_registry.to_string();
    let mut unknown_unit = letter("CENTRAL", "x");
    unknown_unit["recipient"]["unit"] = json!("NO-SUCH-UNIT");
    let unknown_unit = unknown_unit.to_string();

    post(
        &app,
        &token,
        &[
            ("metadata", None, "application/json", m),
            ("file", Some("a.pdf"), "application/pdf", &u1),
            ("file", Some("big.pdf"), "application/pdf", &big),
        ],
    )
    .assert_problem(413, "file_too_large");
    post(
        &app,
        &token,
        &[
            ("metadata", None, "application/json", m),
            ("file", Some("1.pdf"), "application/pdf", &medium),
            ("file", Some("2.pdf"), "application/pdf", &u2),
            ("file", Some("3.pdf"), "application/pdf", &medium),
            ("file", Some("4.pdf"), "application/pdf", &medium),
        ],
    )
    .assert_problem(413, "request_too_large");
    post(
        &app,
        &token,
        &[
            ("metadata", None, "application/json", b"{not json"),
            ("file", Some("a.pdf"), "application/pdf", &u1),
        ],
    )
    .assert_problem(400, "invalid_metadata");
    post(
        &app,
        &token,
        &[("file", Some("a.pdf"), "application/pdf", &u1)],
    )
    .assert_problem(400, "metadata_required");
    post(&app, &token, &[("metadata", None, "application/json", m)])
        .assert_problem(422, "file_required");
    post(
        &app,
        &token,
        &[
            ("metadata", None, "application/json", m),
            ("other", None, "text/plain", b"x"),
        ],
    )
    .assert_problem(400, "unexpected_part");
    post(
        &app,
        &token,
        &[
            (
                "metadata",
                None,
                "application/json",
                unknown_registry.as_bytes(),
            ),
            ("file", Some("a.pdf"), "application/pdf", &u3),
        ],
    )
    .assert_problem(422, "unknown_registry");
    post(
        &app,
        &token,
        &[
            (
                "metadata",
                None,
                "application/json",
                unknown_unit.as_bytes(),
            ),
            ("file", Some("a.pdf"), "application/pdf", &u3),
        ],
    )
    .assert_problem(422, "unknown_unit");
    let handler = app.login("handler@demo.diwan");
    post(
        &app,
        &handler,
        &[
            ("metadata", None, "application/json", m),
            ("file", Some("a.pdf"), "application/pdf", &u4),
        ],
    )
    .assert_problem(403, "forbidden");
    let settat = create_agent(&app, "settat@demo.diwan", "DP-SETTAT", "registrar");
    post(
        &app,
        &settat,
        &[
            ("metadata", None, "application/json", m),
            ("file", Some("a.pdf"), "application/pdf", &u4),
        ],
    )
    .assert_problem(403, "forbidden");

    // A database failure inside the transaction: opaque 500, nothing kept, number not consumed,
    // and a file already referenced by another correspondence is not removed.
    for content in [&u1, &good] {
        let r = post(
            &app,
            &token,
            &[
                ("metadata", None, "application/json", m),
                ("file", Some("ok.pdf"), "application/pdf", &u2),
                ("file", Some("boom.pdf"), "application/pdf", content),
            ],
        );
        r.assert_problem(500, "internal");
        assert!(r.json()["correlation_id"].is_string());
        assert!(
            r.json().get("detail").is_none(),
            "5xx bodies are opaque: {}",
            r.text()
        );
        assert!(!r.text().contains("injected"));
    }

    let (blobs_after, staged) = app.stored_files();
    assert_eq!(blobs_after, blobs_before, "no unreferenced file");
    assert!(staged.is_empty(), "no staged leftovers: {staged:?}");
    let page = get(
        &app.url("/api/v1/correspondences?registry=CENTRAL"),
        Some(&token),
    )
    .json();
    assert_eq!(
        page["items"].as_array().unwrap().len(),
        1,
        "no correspondence"
    );
    let next = register(&app.base, &token, &letter("CENTRAL", "next"), &pdf(700));
    assert_eq!(next.status, 201, "{}", next.text());
    assert!(
        next.json()["registration_number"]
            .as_str()
            .unwrap()
            .ends_with("/000002"),
        "no consumed number"
    );
}

/// Creates an agent with one grant through the admin API and logs in.
pub fn create_agent(app: &TestApp, email: &str, unit: &str, role: &str) -> String {
    let admin = app.login("admin@demo.diwan");
    let r = diwan_tests::post_json(
        &app.url("/api/v1/admin/agents"),
        Some(&admin),
        &json!({"email": email, "display_name": "وكيل اختبار", "password": "a-long-password",
                "grants": [{"unit": unit, "role": role}]}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    app.login_with(email, "a-long-password")
}

#[test]
fn failures_inside_a_batch_do_not_disturb_the_others() {
    let app = TestApp::spawn();
    let token = app.login("registrar@demo.diwan");
    inject_database_failure(&app);
    let meta = letter("CENTRAL", "batch").to_string();
    let outcomes = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for client in 0..12 {
            let (outcomes, meta, token, app) = (&outcomes, &meta, &token, &app);
            scope.spawn(move || {
                for i in 0..8 {
                    let mut body = pdf(3000);
                    body.extend_from_slice(format!("% {client} {i}\n").as_bytes());
                    let name = if (client + i) % 3 == 0 {
                        "boom.pdf"
                    } else {
                        "fine.pdf"
                    };
                    let r = post(
                        app,
                        token,
                        &[
                            ("metadata", None, "application/json", meta.as_bytes()),
                            ("file", Some(name), "application/pdf", &body),
                        ],
                    );
                    outcomes.lock().unwrap().push((
                        name,
                        r.status,
                        r.json()["registration_number"].as_str().map(str::to_owned),
                    ));
                }
            });
        }
    });
    let outcomes = outcomes.into_inner().unwrap();
    let mut seqs: Vec<u64> = Vec::new();
    for (name, status, number) in &outcomes {
        match *name {
            "boom.pdf" => assert_eq!(*status, 500),
            _ => {
                assert_eq!(*status, 201);
                seqs.push(
                    number
                        .as_ref()
                        .unwrap()
                        .rsplit('/')
                        .next()
                        .unwrap()
                        .parse()
                        .unwrap(),
                );
            }
        }
    }
    seqs.sort_unstable();
    let expected: Vec<u64> = (1..=seqs.len() as u64).collect();
    assert_eq!(
        seqs, expected,
        "the successful registrations are numbered without a gap"
    );
    let (blobs, staged) = app.stored_files();
    assert_eq!(
        blobs.len(),
        seqs.len(),
        "only the successful registrations' files are stored"
    );
    assert!(staged.is_empty());
}

/// Connections the database server closes (a restart, an administrator ending sessions) are
/// replaced: a request on one of them fails at worst with 503, never 500, the pool checks
/// and closes it, and the following requests are answered.
#[test]
fn connections_closed_by_the_database_server_are_replaced() {
    let app = TestApp::spawn();
    let token = app.login("registrar@demo.diwan");
    let url = app.url("/api/v1/correspondences?registry=CENTRAL&q=demande");
    let list = || get(&url, Some(&token)).status;
    // Open every connection of the pool (four in tests) with requests at once.
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| assert_eq!(list(), 200));
        }
    });
    if let Backend::Postgres { .. } = app.sandbox.backend {
        app.inst
            .database
            .execute_batch(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = current_database() AND pid <> pg_backend_pid()",
            )
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
    let statuses: Vec<u16> = (0..12).map(|_| list()).collect();
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 503),
        "{statuses:?}"
    );
    assert!(
        statuses.iter().filter(|s| **s == 503).count() <= 4,
        "more failures than pooled connections: {statuses:?}"
    );
    assert!(statuses[6..].iter().all(|s| *s == 200), "{statuses:?}");
    // Registrations go on too (the group-commit writer has a connection of its own).
    let r = register(
        &app.base,
        &token,
        &letter("CENTRAL", "بعد الانقطاع"),
        &pdf(2048),
    );
    let r = if r.status == 503 {
        register(
            &app.base,
            &token,
            &letter("CENTRAL", "بعد الانقطاع"),
            &pdf(2048),
        )
    } else {
        r
    };
    assert_eq!(r.status, 201, "{}", r.text());
}
