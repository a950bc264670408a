//! Full-text search over 1,000,000 correspondences, on SQLite and PostgreSQL.
//!
//! The benchmark starts an installation, registers a few letters through the API (their rows
//! are the templates), then generates the rest in the database itself: subjects of four to six
//! words drawn from an Arabic and French vocabulary with a skewed distribution (a few words in
//! a tenth of all letters, the last ones in hardly any), senders' names, one letter in twenty
//! confidential, registration times spread over three years. The application then indexes them
//! as it does for rows registered before the index existed (`index_missing`, timed). Queries
//! go over HTTP (`GET /api/v1/correspondences?registry=…&q=…`, the first page of 20 with its
//! snippets and capped total), one at a time, as the registrar (who sees the whole register)
//! and as an auditor (who sees no confidential letter: they are left out of results and counts).
//!
//! `cargo bench -p diwan-tests --bench search` (`DIWAN_BENCH_ROWS`, default 1,000,000;
//! `DIWAN_BENCH_REPEAT` runs of each query, default 20; `DIWAN_BENCH_BACKENDS`;
//! `DIWAN_BENCH_HOLD=SECONDS` waits that long before the queries, with the database's URL
//! printed, to look at plans on the generated data).

#![expect(clippy::unwrap_used, reason = "a benchmark: failing loudly is right")]

use std::fmt::Write as _;
use std::time::Instant;

use diwan_tests::{Backend, bench, get, letter, pdf, register, urlencode};

/// Ordered from the most to the least frequent (the generator favours low indexes).
const WORDS: &[&str] = &[
    "طلب",
    "demande",
    "شهادة",
    "attestation",
    "رخصة",
    "autorisation",
    "تسجيل",
    "inscription",
    "مدرسة",
    "école",
    "إدارية",
    "administrative",
    "السكن",
    "logement",
    "البناء",
    "construction",
    "الماء",
    "eau",
    "الكهرباء",
    "électricité",
    "منحة",
    "subvention",
    "شكاية",
    "réclamation",
    "تعويض",
    "indemnisation",
    "الضريبة",
    "impôt",
    "الطريق",
    "route",
    "مستشفى",
    "hôpital",
    "الجماعة",
    "commune",
    "الإقليم",
    "province",
    "الجهة",
    "région",
    "وزارة",
    "ministère",
    "تجديد",
    "renouvellement",
    "نسخة",
    "copie",
    "عقد",
    "contrat",
    "أرض",
    "terrain",
    "الفلاحة",
    "agriculture",
    "التعليم",
    "enseignement",
    "الصحة",
    "santé",
    "النقل",
    "transport",
    "الشغل",
    "emploi",
    "التقاعد",
    "retraite",
    "جمعية",
    "association",
    "مقاولة",
    "entreprise",
    "صفقة",
    "marché",
    "فاتورة",
    "facture",
    "أداء",
    "paiement",
    "استدعاء",
    "convocation",
    "محضر",
    "procès-verbal",
    "قرار",
    "décision",
    "طعن",
    "recours",
    "إشعار",
    "avis",
    "موافقة",
    "accord",
    "رفض",
    "refus",
    "ملف",
    "dossier",
    "وثيقة",
    "document",
    "بطاقة",
    "carte",
    "جواز",
    "passeport",
    "الحالة",
    "état",
    "المدنية",
    "civil",
    "ولادة",
    "naissance",
    "زواج",
    "mariage",
    "وفاة",
    "décès",
    "إقامة",
    "résidence",
    "تصريح",
    "déclaration",
    "ترخيص",
    "licence",
    "تحويل",
    "transfert",
    "استفسار",
    "demande d'information",
    "مراسلة",
    "courrier",
    "تذكير",
    "rappel",
    "استعجال",
    "urgence",
    "مباراة",
    "concours",
    "توظيف",
    "recrutement",
    "ترقية",
    "promotion",
    "عطلة",
    "congé",
    "انتقال",
    "mutation",
    "تكوين",
    "formation",
    "ندوة",
    "séminaire",
    "اتفاقية",
    "convention",
    "شراكة",
    "partenariat",
    "ميزانية",
    "budget",
    "مراقبة",
    "contrôle",
    "تفتيش",
    "inspection",
    "بيئة",
    "environnement",
    "نفايات",
    "déchets",
    "تطهير",
    "assainissement",
    "إنارة",
    "éclairage",
    "حديقة",
    "jardin",
    "سوق",
    "souk",
    "مسجد",
    "mosquée",
    "مقبرة",
    "cimetière",
    "ملعب",
    "stade",
    "خزانة",
    "bibliothèque",
    "متحف",
    "musée",
    "مهرجان",
    "festival",
    "رياضة",
    "sport",
    "ثقافة",
    "culture",
    "شباب",
    "jeunesse",
    "نساء",
    "femmes",
    "أطفال",
    "enfants",
    "إعاقة",
    "handicap",
    "مسنين",
    "âgés",
    "فقر",
    "pauvreté",
];

const GIVEN: &[&str] = &[
    "أحمد",
    "Ahmed",
    "فاطمة",
    "Fatima",
    "محمد",
    "Mohamed",
    "خديجة",
    "Khadija",
    "يوسف",
    "Youssef",
    "مريم",
    "Meryem",
    "عمر",
    "Omar",
    "زينب",
    "Zineb",
    "إبراهيم",
    "Brahim",
    "سعيد",
    "Saïd",
    "نادية",
    "Nadia",
    "رشيد",
    "Rachid",
    "ليلى",
    "Leïla",
    "عبد الله",
    "Abdellah",
    "هشام",
    "Hicham",
];
const FAMILY: &[&str] = &[
    "العلوي",
    "Alaoui",
    "بنعلي",
    "Benali",
    "التازي",
    "Tazi",
    "الفاسي",
    "Fassi",
    "بناني",
    "Bennani",
    "الإدريسي",
    "Idrissi",
    "المنصوري",
    "Mansouri",
    "الحسني",
    "Hassani",
    "الشرقاوي",
    "Cherkaoui",
    "برادة",
    "Berrada",
    "الزياني",
    "Ziani",
    "العمراني",
    "Amrani",
    "السباعي",
    "Sbai",
];

fn main() {
    let rows = bench::env_or("DIWAN_BENCH_ROWS", 1_000_000usize);
    let repeat = bench::env_or("DIWAN_BENCH_REPEAT", 20usize);
    println!("search benchmark: {rows} correspondences, each query {repeat} times");
    if std::env::var_os("RUST_LOG").is_some() {
        // Where a query's time goes (e.g. RUST_LOG=diwan_db::search=debug).
        diwan_server::init_logging(&diwan_server::Settings::from_layers(None, &[]).unwrap());
    }
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

/// The vocabulary tables the generator draws from.
fn vocabulary_sql() -> String {
    let mut sql = String::from(
        "CREATE TABLE bench_words (i INTEGER PRIMARY KEY, w TEXT NOT NULL);
         CREATE TABLE bench_given (i INTEGER PRIMARY KEY, w TEXT NOT NULL);
         CREATE TABLE bench_family (i INTEGER PRIMARY KEY, w TEXT NOT NULL);\n",
    );
    for (table, words) in [
        ("bench_words", WORDS),
        ("bench_given", GIVEN),
        ("bench_family", FAMILY),
    ] {
        let values: Vec<String> = words
            .iter()
            .enumerate()
            .map(|(i, w)| format!("({i}, {})", lit(w)))
            .collect();
        writeln!(sql, "INSERT INTO {table} VALUES {};", values.join(", ")).unwrap();
    }
    sql
}

/// A pseudo-random index in `0..n` for row `x`, salted: the product of two uniform draws,
/// which favours low indexes (word 0 is in about a tenth of the subjects, the last ones in a
/// few hundred).
fn skewed(x: &str, salt: u64, n: usize) -> String {
    let a = 2_654_435_761u64.wrapping_add(salt * 40_503);
    let b = 2_246_822_519u64.wrapping_add(salt * 97_787);
    format!("((({x} * {a}) % 1000003) % {n}) * ((({x} * {b}) % 999983) % {n}) / {n}")
}

fn uniform(x: &str, salt: u64, n: usize) -> String {
    let a = 3_266_489_917u64.wrapping_add(salt * 7_919);
    format!("(({x} * {a}) % 1000033) % {n}")
}

/// Inserts correspondences `from..to` (with their units) copying the template's other columns.
fn generate_sql(backend: &Backend, template: &str, from: usize, to: usize) -> String {
    let w = WORDS.len();
    let word = |salt: u64| {
        format!(
            "(SELECT w FROM bench_words WHERE i = {})",
            skewed("g.n", salt, w)
        )
    };
    let optional = |salt: u64| {
        format!(
            "CASE WHEN g.n % {} < 2 THEN ' ' || {} ELSE '' END",
            3 + salt,
            word(salt + 10)
        )
    };
    let subject = format!(
        "{} || ' ' || {} || ' ' || {} || ' ' || {} || {} || {}",
        word(1),
        word(2),
        word(3),
        word(4),
        optional(1),
        optional(2)
    );
    let name = format!(
        "(SELECT w FROM bench_given WHERE i = {}) || ' ' || (SELECT w FROM bench_family WHERE i = {})",
        uniform("g.n", 1, GIVEN.len()),
        uniform("g.n", 2, FAMILY.len())
    );
    // Registration times: one every 90 s from 2024-01-01, so a million span ~2.9 years.
    let (numbers, padded, json) = match backend {
        Backend::Sqlite => (
            format!(
                "(WITH RECURSIVE s(n) AS (SELECT {from} UNION ALL SELECT n + 1 FROM s WHERE n < {last}) \
                 SELECT n, strftime('%Y-%m-%dT%H:%M:%S.000000Z', 1704067200 + n * 90, 'unixepoch') AS at FROM s) g",
                last = to - 1
            ),
            "printf('%07d', g.n)".to_owned(),
            "json_object('kind', 'person', 'name', x.name)".to_owned(),
        ),
        Backend::Postgres { .. } => (
            format!(
                "(SELECT n, to_char(to_timestamp(1704067200 + n * 90) AT TIME ZONE 'UTC', \
                 'YYYY-MM-DD\"T\"HH24:MI:SS\".000000Z\"') AS at FROM generate_series({from}::bigint, {last}::bigint) n) g",
                last = to - 1
            ),
            "lpad(g.n::text, 7, '0')".to_owned(),
            "json_build_object('kind', 'person', 'name', x.name)::text".to_owned(),
        ),
    };
    format!(
        "BEGIN;
        INSERT INTO correspondences (id, registry_id, direction, year, seq, registration_number,
            channel, subject, sender, recipient, sender_name, recipient_name, confidentiality,
            priority, category, sender_reference, sender_date, received_at, registered_at,
            registered_by, tracking_hash, search_text)
        SELECT x.id, t.registry_id, t.direction, x.year, 1000000 + x.n,
            'CENTRAL/A/' || x.year || '/' || x.padded, t.channel, x.subject, {json},
            t.recipient, x.name, t.recipient_name,
            CASE WHEN x.n % 20 = 7 THEN 'confidential' ELSE 'normal' END, t.priority, t.category,
            CASE WHEN x.n % 4 = 0 THEN 'REF-' || x.padded ELSE NULL END, t.sender_date,
            x.at, x.at, t.registered_by, 'bench' || x.padded, x.subject
        FROM (SELECT g.n AS n, g.at AS at, CAST(substr(g.at, 1, 4) AS INTEGER) AS year,
                     'bench-' || {padded} AS id, {padded} AS padded,
                     {subject} AS subject, {name} AS name
              FROM {numbers}) x,
             (SELECT * FROM correspondences WHERE id = {t}) t;
        INSERT INTO correspondence_units (correspondence_id, unit_id, concern)
        SELECT 'bench-' || {padded}, u.unit_id, u.concern
        FROM {numbers}, correspondence_units u WHERE u.correspondence_id = {t};
        COMMIT;",
        t = lit(template),
    )
}

fn run(name: &str, backend: &Backend, rows: usize, repeat: usize) {
    let app = bench::spawn(backend.clone());
    let registrar = app.login("registrar@demo.diwan");
    let auditor = app.login("auditor@demo.diwan");
    let r = register(
        &app.base,
        &registrar,
        &letter("CENTRAL", "قالب — modèle"),
        &pdf(800),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let template = r.json()["id"].as_str().unwrap().to_owned();

    let db = &app.inst.database;
    db.execute_batch(&vocabulary_sql()).unwrap();
    let started = Instant::now();
    let chunk = 100_000;
    let mut from = 0;
    while from < rows {
        let to = (from + chunk).min(rows);
        db.execute_batch(&generate_sql(backend, &template, from, to))
            .unwrap();
        from = to;
    }
    let generated = started.elapsed();
    if matches!(backend, Backend::Postgres { .. }) {
        db.execute_batch("ANALYZE").unwrap();
    }
    println!(
        "{name}: {rows} correspondences generated in {:.1} s",
        generated.as_secs_f64()
    );

    let store = &app.inst.services.store;
    let started = Instant::now();
    let (mut indexed, mut after) = (0usize, None::<String>);
    loop {
        let (n, next) = store.index_missing(after.as_deref(), 2_000).unwrap();
        indexed += n;
        match next {
            Some(id) => after = Some(id),
            None => break,
        }
    }
    let took = started.elapsed();
    println!(
        "{name}: {indexed} correspondences indexed by the application in {:.1} s ({:.0}/s)",
        took.as_secs_f64(),
        indexed as f64 / took.as_secs_f64()
    );
    assert!(indexed >= rows, "only {indexed} of {rows} indexed");
    if matches!(backend, Backend::Postgres { .. }) {
        db.execute_batch("ANALYZE").unwrap();
    }

    if let Some(seconds) = std::env::var("DIWAN_BENCH_HOLD")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
    {
        // Time to look at the statements' plans on the generated data (`EXPLAIN ANALYZE`).
        println!(
            "{name}: holding {seconds} s; database {}",
            app.sandbox.database_url
        );
        std::thread::sleep(std::time::Duration::from_secs(seconds));
    }

    let queries: &[(&str, &str)] = &[
        ("a word in a tenth of the letters", "طلب"),
        ("the same in French", "demande"),
        ("a common word with another spelling (hamza)", "اداريه"),
        ("accents folded", "ecole"),
        ("two common words", "طلب شهادة"),
        ("a less common word", "festival"),
        ("a rare word and a common one", "festival demande"),
        ("a prefix", "subv"),
        ("a sender's family name", "بنعلي"),
        ("a given name without hamza", "احمد"),
        ("a sender's full name", "Youssef Tazi"),
        ("a sender's reference", "REF-0123456"),
        ("no letter has it", "zzzyyyxxx"),
    ];
    for (who, token) in [
        ("registrar (whole register)", &registrar),
        ("auditor (no confidential letter)", &auditor),
    ] {
        let mut all = Vec::new();
        println!("{name}: as the {who}");
        for (what, q) in queries {
            for filter in ["", "&direction=incoming&year=2025"] {
                let url = app.url(&format!(
                    "/api/v1/correspondences?registry=CENTRAL&q={}{filter}",
                    urlencode(q)
                ));
                // One run first: the first query of a kind reads its index pages from disk.
                let first = get(&url, Some(token));
                assert_eq!(first.status, 200, "{q}: {}", first.text());
                let body = first.json();
                let mut times = Vec::new();
                for _ in 0..repeat {
                    let t = Instant::now();
                    let r = get(&url, Some(token));
                    times.push(t.elapsed());
                    assert_eq!(r.status, 200);
                }
                times.sort_unstable();
                println!(
                    "{name}:   {what:<45} {q:<14} {:<28} total {:>5}{} items {:>2}  p50 {:>6.1} ms  p95 {:>6.1} ms",
                    if filter.is_empty() {
                        ""
                    } else {
                        "(incoming, 2025)"
                    },
                    body["total"],
                    if body["total_capped"].as_bool() == Some(true) {
                        "+"
                    } else {
                        " "
                    },
                    body["items"].as_array().map_or(0, Vec::len),
                    bench::percentile_ms(&times, 0.5),
                    bench::percentile_ms(&times, 0.95),
                );
                all.extend(times);
            }
        }
        all.sort_unstable();
        println!(
            "{name}: as the {who}: all queries p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms ({} queries)",
            bench::percentile_ms(&all, 0.5),
            bench::percentile_ms(&all, 0.95),
            bench::percentile_ms(&all, 1.0),
            all.len()
        );
    }
}
