//! A unit's inbox sorted by due date, with 1,000,000 correspondences in the database, on SQLite
//! and PostgreSQL.
//!
//! The benchmark starts an installation, registers and assigns one letter through the API (its
//! rows are the templates), then generates the rest in the database itself: each letter
//! assigned for action to one of the six demo units (the Kénitra delegation gets two in five),
//! three in ten of the assignments ended (handled letters), one letter in ten also assigned for
//! information to the regional directorate, due dates spread over two years around today.
//! Queries go over HTTP (`GET /api/v1/inbox`, pages of 50), one at a time: the first page of
//! the delegation's inbox as its handler, the same for one unit only, ten pages deep by
//! cursor, and the regional directorate's inbox as its head.
//!
//! `cargo bench -p diwan-tests --bench inbox` (`DIWAN_BENCH_ROWS`, default 1,000,000;
//! `DIWAN_BENCH_REPEAT` runs of each query, default 50; `DIWAN_BENCH_BACKENDS`).

#![expect(clippy::unwrap_used, reason = "a benchmark: failing loudly is right")]

use std::time::Instant;

use diwan_tests::{Backend, bench, get, letter, pdf, post_json, register};
use serde_json::json;

fn main() {
    let rows = bench::env_or("DIWAN_BENCH_ROWS", 1_000_000usize);
    let repeat = bench::env_or("DIWAN_BENCH_REPEAT", 50usize);
    println!("inbox benchmark: {rows} correspondences, each query {repeat} times");
    println!(
        "machine: {} cores",
        std::thread::available_parallelism().map_or(0, usize::from)
    );
    for (name, backend) in bench::backends() {
        run(name, &backend, rows, repeat);
    }
}

/// SQL text literal.
fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Rows `[from, to)`: correspondences, their lead assignment, and some for information.
fn generate_sql(
    backend: &Backend,
    template: &str,
    units: &[String],
    from: usize,
    to: usize,
) -> String {
    let last = to - 1;
    let (numbers, padded, day) = match backend {
        Backend::Sqlite => (
            format!(
                "(WITH RECURSIVE s(n) AS (SELECT {from} UNION ALL SELECT n + 1 FROM s WHERE n < {last}) SELECT n FROM s) g"
            ),
            "printf('%012d', g.n)",
            // Due dates: from a year ago to a year ahead.
            "date('now', ((g.n * 7919) % 730 - 365) || ' days')",
        ),
        Backend::Postgres { .. } => (
            format!("(SELECT n FROM generate_series({from}::bigint, {last}::bigint) n) g"),
            "lpad(g.n::text, 12, '0')",
            "to_char(current_date + ((g.n * 7919) % 730 - 365)::int, 'YYYY-MM-DD')",
        ),
    };
    // Two in five to the first unit (the delegation), the rest spread over the others.
    let unit = format!(
        "CASE WHEN g.n % 5 < 2 THEN {} {} END",
        lit(&units[0]),
        units[1..]
            .iter()
            .enumerate()
            .map(|(k, u)| format!("WHEN (g.n / 5) % {} = {k} THEN {}", units.len() - 1, lit(u)))
            .collect::<Vec<_>>()
            .join(" ")
            .replacen("WHEN", "ELSE CASE WHEN", 1)
            + " END"
    );
    let info_unit = lit(&units[1]);
    format!(
        "BEGIN;
        INSERT INTO correspondences (id, registry_id, direction, year, seq, registration_number,
            channel, subject, sender, recipient, sender_name, recipient_name, confidentiality,
            priority, category, sender_reference, sender_date, received_at, registered_at,
            registered_by, tracking_hash, search_text, status)
        SELECT 'bench-' || {padded}, t.registry_id, t.direction, t.year, 1000000 + g.n,
            'CENTRAL/A/' || t.year || '/B' || {padded}, t.channel, 'bench ' || {padded}, t.sender,
            t.recipient, t.sender_name, t.recipient_name, t.confidentiality, t.priority,
            t.category, NULL, t.sender_date, t.received_at, t.registered_at, t.registered_by,
            'bench' || {padded}, '', CASE WHEN g.n % 10 < 3 THEN 'closed' ELSE 'assigned' END
        FROM {numbers}, (SELECT * FROM correspondences WHERE id = {t}) t;
        INSERT INTO assignments (id, correspondence_id, unit_id, agent_id, purpose, instructions,
            due_date, assigned_at, assigned_by, event_id, ended_at, ended_event_id)
        SELECT '00000000-0000-4000-8000-' || {padded}, 'bench-' || {padded}, {unit}, NULL, 'action', NULL,
            {day}, t.registered_at, t.registered_by, {e},
            CASE WHEN g.n % 10 < 3 THEN t.registered_at ELSE NULL END,
            CASE WHEN g.n % 10 < 3 THEN {e} ELSE NULL END
        FROM {numbers}, (SELECT * FROM correspondences WHERE id = {t}) t;
        INSERT INTO assignments (id, correspondence_id, unit_id, agent_id, purpose, instructions,
            due_date, assigned_at, assigned_by, event_id, ended_at, ended_event_id)
        SELECT '00000000-0000-4000-9000-' || {padded}, 'bench-' || {padded}, {info_unit}, NULL, 'information', NULL,
            {day}, t.registered_at, t.registered_by, {e}, NULL, NULL
        FROM {numbers}, (SELECT * FROM correspondences WHERE id = {t}) t WHERE g.n % 10 = 5;
        COMMIT;",
        t = lit(template),
        e = format!(
            "(SELECT event_id FROM assignments WHERE correspondence_id = {})",
            lit(template)
        ),
    )
}

fn run(name: &str, backend: &Backend, rows: usize, repeat: usize) {
    let app = bench::spawn(backend.clone());
    let registrar = app.login("registrar@demo.diwan");
    let handler = app.login("handler@demo.diwan");
    let head = app.login("head@demo.diwan");
    let admin = app.login("admin@demo.diwan");
    let r = register(
        &app.base,
        &registrar,
        &letter("CENTRAL", "قالب — modèle"),
        &pdf(800),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let template = r.json()["id"].as_str().unwrap().to_owned();
    let r = post_json(
        &app.url(&format!("/api/v1/correspondences/{template}/assign")),
        Some(&registrar),
        &json!({"unit": "DP-KENITRA"}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let org = get(&app.url("/api/v1/org"), Some(&admin)).json();
    let unit_id = |code: &str| {
        org["units"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["code"] == code)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let units: Vec<String> = [
        "DP-KENITRA",
        "DR-RSK",
        "DR-CS",
        "DP-KHEMISSET",
        "DP-SETTAT",
        "ADM-CENTRALE",
    ]
    .iter()
    .map(|c| unit_id(c))
    .collect();
    let db = &app.inst.database;

    let started = Instant::now();
    let chunk = 100_000;
    let mut from = 0;
    while from < rows {
        let to = (from + chunk).min(rows);
        db.execute_batch(&generate_sql(backend, &template, &units, from, to))
            .unwrap();
        from = to;
    }
    db.execute_batch("ANALYZE").unwrap();
    println!(
        "{name}: {rows} correspondences and their assignments generated in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let measure = |what: &str, token: &str, first_url: String, pages: usize| {
        let mut times = Vec::new();
        let mut lines = 0;
        for run in 0..=repeat {
            let mut url = first_url.clone();
            for _ in 0..pages {
                let t = Instant::now();
                let r = get(&url, Some(token));
                let took = t.elapsed();
                assert_eq!(r.status, 200, "{}", r.text());
                let page = r.json();
                if run > 0 {
                    // The first run reads the index pages from disk.
                    times.push(took);
                }
                lines = page["items"].as_array().map_or(0, Vec::len);
                match page["next_cursor"].as_str() {
                    Some(c) => {
                        url = format!(
                            "{first_url}{}cursor={c}",
                            if first_url.contains('?') { '&' } else { '?' }
                        )
                    }
                    None => break,
                }
            }
        }
        times.sort_unstable();
        println!(
            "{name}:   {what:<58} lines/page {lines:>2}  p50 {:>6.1} ms  p95 {:>6.1} ms  max {:>6.1} ms",
            bench::percentile_ms(&times, 0.5),
            bench::percentile_ms(&times, 0.95),
            bench::percentile_ms(&times, 1.0),
        );
        times
    };
    let mut all = Vec::new();
    all.extend(measure(
        "delegation handler: first page (units + own)",
        &handler,
        app.url("/api/v1/inbox"),
        1,
    ));
    all.extend(measure(
        "delegation handler: first page of one unit",
        &handler,
        app.url("/api/v1/inbox?unit=DP-KENITRA"),
        1,
    ));
    all.extend(measure(
        "delegation handler: ten pages deep by cursor",
        &handler,
        app.url("/api/v1/inbox?unit=DP-KENITRA"),
        10,
    ));
    all.extend(measure(
        "regional head: first page",
        &head,
        app.url("/api/v1/inbox"),
        1,
    ));
    all.sort_unstable();
    println!(
        "{name}: all inbox pages p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms ({} pages)",
        bench::percentile_ms(&all, 0.5),
        bench::percentile_ms(&all, 0.95),
        bench::percentile_ms(&all, 1.0),
        all.len()
    );
}
