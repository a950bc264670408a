//! 200 concurrent registrations into one register: exactly the numbers 1..200.
//! On PostgreSQL they go through two `diwan serve` processes sharing the database.

use diwan_tests::{Backend, TestApp, get, letter, pdf, register, start_server};

const TOTAL: usize = 200;
const CLIENTS: usize = 20;

fn hammer(bases: &[String], token: &str) -> Vec<u64> {
    let numbers = std::sync::Mutex::new(Vec::with_capacity(TOTAL));
    std::thread::scope(|scope| {
        for client in 0..CLIENTS {
            let (numbers, base) = (&numbers, &bases[client % bases.len()]);
            scope.spawn(move || {
                for i in 0..TOTAL / CLIENTS {
                    let mut body = pdf(2048);
                    body.extend_from_slice(format!("% {client} {i}\n").as_bytes());
                    let r = register(
                        base,
                        token,
                        &letter("CENTRAL", &format!("client {client} letter {i}")),
                        &body,
                    );
                    assert_eq!(r.status, 201, "{}", r.text());
                    let number = r.json()["registration_number"].as_str().unwrap().to_owned();
                    let seq = number.rsplit('/').next().unwrap().parse::<u64>().unwrap();
                    numbers.lock().unwrap().push(seq);
                }
            });
        }
    });
    let mut numbers = numbers.into_inner().unwrap();
    numbers.sort_unstable();
    numbers
}

/// The batches a server's writer stored the given way, from its `/metrics`.
fn stored_batches(base: &str, stored: &str) -> f64 {
    let text = get(&format!("{base}/metrics"), None).text();
    let series = format!("diwan_registration_batches_total{{stored=\"{stored}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(series.as_str()))
        .map_or(0.0, |v| v.trim().parse().unwrap())
}

#[test]
fn concurrent_registrations_are_gapless_and_unique() {
    let app = TestApp::spawn();
    let token = app.login("registrar@demo.diwan");
    let mut servers = Vec::new();
    let bases = match &app.sandbox.backend {
        Backend::Sqlite => vec![app.base.clone()],
        Backend::Postgres { .. } => {
            let bin = env!("CARGO_BIN_EXE_diwan-under-test");
            let (a, base_a) = start_server(bin, &app.sandbox, &[]);
            let (b, base_b) = start_server(bin, &app.sandbox, &[]);
            servers.extend([a, b]);
            vec![base_a, base_b]
        }
    };
    let numbers = hammer(&bases, &token);
    let expected: Vec<u64> = (1..=TOTAL as u64).collect();
    assert_eq!(numbers, expected);
    // Concurrent letters were stored in batches, with one statement per table: a batch that
    // falls back to one by one (a failing statement) would not show in what is stored.
    let batches = |stored: &str| -> f64 { bases.iter().map(|b| stored_batches(b, stored)).sum() };
    assert!(batches("together") >= 1.0, "no batch stored together");
    assert_eq!(batches("one_by_one"), 0.0);
    drop(servers);
    let page = get(
        &app.url("/api/v1/correspondences?registry=CENTRAL&limit=200"),
        Some(&token),
    )
    .json();
    assert_eq!(page["items"].as_array().unwrap().len(), TOTAL);
    let (blobs, staged) = app.stored_files();
    assert_eq!(blobs.len(), TOTAL, "one stored file per distinct content");
    assert!(staged.is_empty());
    // The indicators' day totals written by concurrent batches (two processes on PostgreSQL)
    // count every letter once, as a recount from the per-letter rows does.
    let auditor = app.login("auditor@demo.diwan");
    let indicators = || {
        get(
            &app.url("/api/v1/indicators?administration=MIN-DEMO&period=year"),
            Some(&auditor),
        )
        .json()
    };
    let kept = indicators();
    assert_eq!(kept["totals"]["received"], TOTAL, "{kept}");
    assert_eq!(kept["totals"]["backlog"], TOTAL, "{kept}");
    app.inst.database.rebuild_indicator_days().unwrap();
    assert_eq!(indicators(), kept);
}

/// The same small file sent at once through two processes (one on SQLite), among letters of
/// their own: every letter reads its file back whole, and the content is stored once.
#[test]
fn the_same_file_sent_at_once_through_two_processes_is_stored_once() {
    let app = TestApp::spawn();
    let token = app.login("registrar@demo.diwan");
    let bin = env!("CARGO_BIN_EXE_diwan-under-test");
    let (_servers, bases) = match &app.sandbox.backend {
        Backend::Sqlite => (Vec::new(), vec![app.base.clone()]),
        Backend::Postgres { .. } => {
            let (a, base_a) = start_server(bin, &app.sandbox, &[]);
            let (b, base_b) = start_server(bin, &app.sandbox, &[]);
            (vec![a, b], vec![base_a, base_b])
        }
    };
    let mut file = pdf(3000);
    file.extend_from_slice(b"% the same content for everyone\n");
    let ids: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..CLIENTS)
            .map(|n| {
                let (base, token, file) = (&bases[n % bases.len()], &token, &file);
                scope.spawn(move || {
                    // Letters of their own first, so that the writers are busy and the same
                    // content comes in batches of several letters in both processes.
                    for i in 0..n % 3 {
                        let mut own = pdf(2048);
                        own.extend_from_slice(format!("% {n} {i}\n").as_bytes());
                        let r = register(base, token, &letter("CENTRAL", "own"), &own);
                        assert_eq!(r.status, 201, "{}", r.text());
                    }
                    let r = register(base, token, &letter("CENTRAL", &format!("same {n}")), file);
                    assert_eq!(r.status, 201, "{}", r.text());
                    r.json()["id"].as_str().unwrap().to_owned()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for id in &ids {
        assert!(
            app.first_file(&token, id) == file,
            "{id}: the file read back differs"
        );
    }
    let (blobs, staged) = app.stored_files();
    let own: usize = (0..CLIENTS).map(|n| n % 3).sum();
    assert_eq!(blobs.len(), 1 + own, "{blobs:?}");
    assert!(staged.is_empty());
}
