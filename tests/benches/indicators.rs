//! Dashboard indicators with 1,000,000 correspondences in the database, on SQLite and
//! PostgreSQL.
//!
//! The benchmark starts an installation, registers one letter through the API (its row is the
//! template), then generates the rest in the database itself with their indicators' rows:
//! registered over the two years before today, nine in ten incoming, spread over the six demo
//! units (the Kénitra delegation gets two in five), three channels and three categories; seven
//! in ten answered or closed between an hour and sixty days later; a legal deadline twenty
//! days after registration. Queries go over HTTP (`GET /api/v1/indicators`), one at a time: the
//! administration's month and year (as the auditor), the regional directorate's subtree for
//! the month and the week (as its head), the delegation's year (as its handler), and a past
//! month with a territory filter.
//!
//! `cargo bench -p diwan-tests --bench indicators` (`DIWAN_BENCH_ROWS`, default 1,000,000;
//! `DIWAN_BENCH_REPEAT` runs of each query, default 30; `DIWAN_BENCH_BACKENDS`).

#![expect(clippy::unwrap_used, reason = "a benchmark: failing loudly is right")]

use std::time::Instant;

use diwan_tests::{Backend, bench, get, letter, pdf, register};

fn main() {
    let rows = bench::env_or("DIWAN_BENCH_ROWS", 1_000_000usize);
    let repeat = bench::env_or("DIWAN_BENCH_REPEAT", 30usize);
    println!("indicators benchmark: {rows} correspondences, each query {repeat} times");
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

/// Rows `[from, to)`: correspondences and their indicators' rows.
fn generate_sql(
    backend: &Backend,
    template: &str,
    units: &[String],
    from: usize,
    to: usize,
) -> String {
    let last = to - 1;
    // Seconds before now, spread over two years; times as the store writes them.
    let (numbers, padded, time): (String, &str, fn(&str) -> String) = match backend {
        Backend::Sqlite => (
            format!(
                "(WITH RECURSIVE s(n) AS (SELECT {from} UNION ALL SELECT n + 1 FROM s WHERE n < {last}) SELECT n FROM s) g"
            ),
            "printf('%012d', g.n)",
            |secs: &str| {
                format!("strftime('%Y-%m-%dT%H:%M:%S.000000Z', 'now', ({secs}) || ' seconds')")
            },
        ),
        Backend::Postgres { .. } => (
            format!("(SELECT n FROM generate_series({from}::bigint, {last}::bigint) n) g"),
            "lpad(g.n::text, 12, '0')",
            |secs: &str| {
                format!(
                    "to_char((now() AT TIME ZONE 'UTC') + (({secs}) * interval '1 second'), 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
                )
            },
        ),
    };
    let age = "(-((g.n * 7919) % 63072000))";
    let registered = time(age);
    let handled = time(&format!("{age} + 3600 + (g.n % 5184000)"));
    let due = time(&format!("{age} + 1728000"));
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
    format!(
        "BEGIN;
        INSERT INTO correspondences (id, registry_id, direction, year, seq, registration_number,
            channel, subject, sender, recipient, sender_name, recipient_name, confidentiality,
            priority, category, sender_reference, sender_date, received_at, registered_at,
            registered_by, tracking_hash, search_text, status)
        SELECT 'bench-' || {padded}, t.registry_id,
            CASE WHEN g.n % 10 = 9 THEN 'outgoing' ELSE 'incoming' END, t.year, 1000000 + g.n,
            'CENTRAL/A/' || t.year || '/B' || {padded}, t.channel, 'bench ' || {padded}, t.sender,
            t.recipient, t.sender_name, t.recipient_name, t.confidentiality, t.priority,
            t.category, NULL, t.sender_date, {registered}, {registered}, t.registered_by,
            'bench' || {padded}, '', CASE WHEN g.n % 10 < 7 THEN 'closed' ELSE 'assigned' END
        FROM {numbers}, (SELECT * FROM correspondences WHERE id = {t}) t;
        INSERT INTO correspondence_facts (correspondence_id, unit_id, direction, channel, category,
            registered_at, legal_due_at, answered_at, closed_at, processing_seconds, on_time, resolved_at)
        SELECT 'bench-' || {padded}, {unit},
            CASE WHEN g.n % 10 = 9 THEN 'outgoing' ELSE 'incoming' END,
            CASE g.n % 3 WHEN 0 THEN 'portal' WHEN 1 THEN 'counter' ELSE 'email' END,
            CASE (g.n / 3) % 3 WHEN 0 THEN NULL WHEN 1 THEN 'request' ELSE 'complaint' END,
            {registered},
            CASE WHEN g.n % 10 = 9 THEN NULL ELSE {due} END,
            CASE WHEN g.n % 10 < 5 THEN {handled} ELSE NULL END,
            CASE WHEN g.n % 10 < 7 THEN {handled} ELSE NULL END,
            CASE WHEN g.n % 10 >= 5 THEN NULL
                 WHEN 3600 + (g.n % 5184000) < 86400 THEN (3600 + (g.n % 5184000)) / 60 * 60
                 ELSE (3600 + (g.n % 5184000)) / 3600 * 3600 END,
            CASE WHEN g.n % 10 < 5 THEN (CASE WHEN {handled} < {due} THEN 1 ELSE 0 END) ELSE NULL END,
            CASE WHEN g.n % 10 < 7 THEN (CASE WHEN {handled} > {due} THEN {handled} ELSE {due} END) ELSE NULL END
        FROM {numbers};
        COMMIT;",
        t = lit(template),
    )
}

fn run(name: &str, backend: &Backend, rows: usize, repeat: usize) {
    let app = bench::spawn(backend.clone());
    let registrar = app.login("registrar@demo.diwan");
    let handler = app.login("handler@demo.diwan");
    let head = app.login("head@demo.diwan");
    let auditor = app.login("auditor@demo.diwan");
    let r = register(
        &app.base,
        &registrar,
        &letter("CENTRAL", "قالب — modèle"),
        &pdf(800),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let template = r.json()["id"].as_str().unwrap().to_owned();
    let org = get(&app.url("/api/v1/org"), Some(&auditor)).json();
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
    // The day totals of rows written outside Diwan's transactions.
    db.rebuild_indicator_days().unwrap();
    // PostgreSQL answers counts from the index alone once the table is vacuumed (as
    // autovacuum does in production).
    let tables: &[&str] = match backend {
        Backend::Sqlite => &["ANALYZE"],
        Backend::Postgres { .. } => &[
            "VACUUM ANALYZE correspondence_facts",
            "VACUUM ANALYZE indicator_days",
        ],
    };
    for sql in tables {
        db.execute_batch(sql).unwrap();
    }
    println!(
        "{name}: {rows} correspondences and their indicators' rows generated in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let past = (chrono::Utc::now() - chrono::Duration::days(200))
        .date_naive()
        .to_string();
    let measure = |what: &str, token: &str, query: &str| {
        let url = app.url(&format!("/api/v1/indicators?{query}"));
        let mut times = Vec::new();
        let mut received = 0;
        for run in 0..=repeat {
            let t = Instant::now();
            let r = get(&url, Some(token));
            let took = t.elapsed();
            assert_eq!(r.status, 200, "{}", r.text());
            if run > 0 {
                times.push(took);
            }
            received = r.json()["totals"]["received"].as_u64().unwrap();
        }
        times.sort_unstable();
        println!(
            "{name}:   {what:<52} received {received:>7}  p50 {:>6.1} ms  p95 {:>6.1} ms  max {:>6.1} ms",
            bench::percentile_ms(&times, 0.5),
            bench::percentile_ms(&times, 0.95),
            bench::percentile_ms(&times, 1.0),
        );
        times
    };
    let mut all = Vec::new();
    all.extend(measure(
        "auditor: administration, this month",
        &auditor,
        "administration=MIN-DEMO&period=month",
    ));
    all.extend(measure(
        "auditor: administration, this year",
        &auditor,
        "administration=MIN-DEMO&period=year",
    ));
    all.extend(measure(
        "regional head: subtree, this month",
        &head,
        "unit=DR-RSK&subunits=true&period=month",
    ));
    all.extend(measure(
        "regional head: subtree, this week",
        &head,
        "unit=DR-RSK&subunits=true&period=week",
    ));
    all.extend(measure(
        "delegation handler: unit, this year",
        &handler,
        "unit=DP-KENITRA&period=year",
    ));
    all.extend(measure(
        "auditor: territory MA-04, a month 200 days ago",
        &auditor,
        &format!("administration=MIN-DEMO&territory=MA-04&period=month&date={past}"),
    ));
    all.sort_unstable();
    println!(
        "{name}: all indicator queries p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms ({} queries)",
        bench::percentile_ms(&all, 0.5),
        bench::percentile_ms(&all, 0.95),
        bench::percentile_ms(&all, 1.0),
        all.len()
    );
}
