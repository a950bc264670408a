//! Open data against a recount of a generated dataset: the threshold (no count below it, nor
//! one found by subtraction or read back from a share), months in the local zone, frozen once
//! published, categories published only when configured, no personal data.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine as _;
use chrono::{DateTime, Duration, NaiveDate, TimeZone as _, Utc};
use diwan_tests::{TestApp, get, letter, pdf, post_json, register};
use serde_json::{Value, json};

const ZONE: chrono_tz::Tz = chrono_tz::Africa::Casablanca;
const THRESHOLD: u64 = 3;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn month_of(t: DateTime<Utc>) -> String {
    t.with_timezone(&ZONE).format("%Y-%m").to_string()
}

/// The legal deadline printed on the receipt, as the first instant after its day.
fn legal_due(receipt_jws: &str) -> DateTime<Utc> {
    let payload = receipt_jws.split('.').nth(1).unwrap();
    let payload: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    let day: NaiveDate = payload["deadline"]["date"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    ZONE.from_local_datetime(&day.succ_opt().unwrap().and_hms_opt(0, 0, 0).unwrap())
        .earliest()
        .unwrap()
        .with_timezone(&Utc)
}

/// A letter as the recount sees it.
#[derive(Debug, Clone)]
struct Letter {
    id: String,
    administration: &'static str,
    channel: &'static str,
    /// As published: configured categories only.
    category: Option<&'static str>,
    registered: DateTime<Utc>,
    due: DateTime<Utc>,
    answered: Option<DateTime<Utc>>,
}

type Key = (String, String, Option<String>, String);

fn key_of(month: &str, l: &Letter) -> Key {
    (
        month.to_owned(),
        l.administration.to_owned(),
        l.category.map(str::to_owned),
        l.channel.to_owned(),
    )
}

/// The letters each published count is made of: (received, answered) per cell.
fn members(letters: &[Letter]) -> BTreeMap<Key, (BTreeSet<String>, BTreeSet<String>)> {
    let mut out: BTreeMap<Key, (BTreeSet<String>, BTreeSet<String>)> = BTreeMap::new();
    for l in letters {
        out.entry(key_of(&month_of(l.registered), l))
            .or_default()
            .0
            .insert(l.id.clone());
        if let Some(a) = l.answered {
            out.entry(key_of(&month_of(a), l))
                .or_default()
                .1
                .insert(l.id.clone());
        }
    }
    out
}

fn cell_key(c: &Value) -> Key {
    (
        c["month"].as_str().unwrap().to_owned(),
        c["administration_code"].as_str().unwrap().to_owned(),
        c["category"].as_str().map(str::to_owned),
        c["channel"].as_str().unwrap().to_owned(),
    )
}

fn disclosed(n: usize) -> Value {
    if n as u64 >= THRESHOLD {
        json!(n)
    } else {
        Value::Null
    }
}

/// What the publication of `months` must hold, from the letters.
fn expected(letters: &[Letter], months: &[&str]) -> BTreeMap<Key, Value> {
    let by_id: BTreeMap<&str, &Letter> = letters.iter().map(|l| (l.id.as_str(), l)).collect();
    let mut out = BTreeMap::new();
    for (key, (received, answered)) in members(letters) {
        if !months.contains(&key.0.as_str()) {
            continue;
        }
        let (r, a) = (disclosed(received.len()), disclosed(answered.len()));
        if r.is_null() && a.is_null() {
            continue;
        }
        let mut delays: Vec<i64> = answered
            .iter()
            .map(|id| {
                let l = by_id[id.as_str()];
                (l.answered.unwrap() - l.registered).num_seconds()
            })
            .collect();
        delays.sort_unstable();
        let median = (!a.is_null()).then(|| {
            let rank = (50 * delays.len()).div_ceil(100).max(1);
            (delays[rank - 1] as f64 / 8640.0).round() / 10.0
        });
        let on_time = answered
            .iter()
            .filter(|id| {
                let l = by_id[id.as_str()];
                l.answered.unwrap() < l.due
            })
            .count() as u64;
        let late = answered.len() as u64 - on_time;
        let small = |n: u64| n > 0 && n < THRESHOLD;
        let share = (answered.len() as u64 >= THRESHOLD && !small(on_time) && !small(late))
            .then(|| (on_time as f64 / answered.len() as f64 * 1000.0).round() / 1000.0);
        out.insert(
            key,
            json!({"received": r, "answered": a, "median_delay_days": median, "on_time_share": share}),
        );
    }
    out
}

fn published(app: &TestApp, query: &str) -> Value {
    let r = get(&app.url(&format!("/api/v1/open-data{query}")), None);
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

fn figures(p: &Value) -> BTreeMap<Key, Value> {
    let mut out = BTreeMap::new();
    for c in p["cells"].as_array().unwrap() {
        let f = json!({"received": c["received"], "answered": c["answered"],
            "median_delay_days": c["median_delay_days"], "on_time_share": c["on_time_share"]});
        assert!(
            out.insert(cell_key(c), f).is_none(),
            "two cells with one key: {c}"
        );
    }
    out
}

/// No published count is below the threshold, and no difference between two published
/// aggregates of one measure in one month — one made of letters the other also counts, as a
/// total and its parts would be — is either; nor is a count read back from a share. (Letters
/// received and letters answered in a month are different populations — most answers are to
/// earlier months' letters — so their difference counts no group a reader could name.)
fn assert_nothing_small(p: &Value, letters: &[Letter]) {
    let sets = members(letters);
    let cells = p["cells"].as_array().unwrap();
    let mut aggregates: Vec<(String, &str, &BTreeSet<String>)> = Vec::new();
    for c in cells {
        for (field, pick) in [("received", 0), ("answered", 1)] {
            if let Some(n) = c[field].as_u64() {
                assert!(n >= THRESHOLD, "{field} {n} published: {c}");
                let set = sets
                    .get(&cell_key(c))
                    .map(|s| if pick == 0 { &s.0 } else { &s.1 })
                    .unwrap_or_else(|| panic!("a published cell the recount does not know: {c}"));
                assert_eq!(set.len() as u64, n, "{c}");
                aggregates.push((c["month"].as_str().unwrap().to_owned(), field, set));
            }
        }
        if let Some(share) = c["on_time_share"].as_f64() {
            let n = c["answered"].as_u64().unwrap() as f64;
            for derived in [share * n, (1.0 - share) * n] {
                let d = derived.round() as u64;
                assert!(d == 0 || d >= THRESHOLD, "{d} read back from {c}");
            }
        }
        assert!(
            c["suppressed"].is_array(),
            "each cell lists its withheld fields"
        );
    }
    for (i, (m1, f1, a)) in aggregates.iter().enumerate() {
        for (m2, f2, b) in &aggregates[i + 1..] {
            if m1 != m2 || f1 != f2 {
                continue;
            }
            for (big, small) in [(a, b), (b, a)] {
                if small.is_subset(big) {
                    let diff = (big.len() - small.len()) as u64;
                    assert!(
                        diff == 0 || diff >= THRESHOLD,
                        "{diff} found by subtraction in {m1}"
                    );
                }
            }
        }
    }
}

#[test]
fn open_data_publishes_closed_months_above_the_threshold_only() {
    let app = TestApp::spawn_with(&[
        ("DIWAN__TIME__ZONE", "Africa/Casablanca"),
        ("DIWAN__DEADLINES__WORKING_DAYS", "3"),
        ("DIWAN__DEADLINES__CATEGORIES__REQUEST__WORKING_DAYS", "3"),
        ("DIWAN__DEADLINES__CATEGORIES__REQUEST__SILENCE", "nothing"),
        ("DIWAN__DEADLINES__CATEGORIES__REQUEST__SENTENCE_AR", "ـ"),
        ("DIWAN__DEADLINES__CATEGORIES__REQUEST__SENTENCE_FR", "-"),
        ("DIWAN__OPEN_DATA__THRESHOLD", "3"),
        ("DIWAN__WORKFLOW__SCHEDULER", "false"),
        ("DIWAN__AUTH__SESSION_TTL_HOURS", "2400"),
    ]);
    app.clock.set(at("2026-09-30T12:00:00Z"));
    let admin = app.login("admin@demo.diwan");
    let org = json!({"administrations": [{"code": "COMMUNE-SALE", "name_ar": "جماعة سلا", "name_fr": "Commune de Salé <b>&</b>",
    "units": [
        {"code": "SALE-BO", "level": "local", "name_ar": "مكتب الضبط", "name_fr": "Bureau d'ordre", "parent": "SALE",
         "registries": [{"code": "SALE", "name_ar": "سجل", "name_fr": "Registre", "numbering_format": "{year}-{direction}-{seq:04}@{registry}"}]},
        {"code": "SALE", "level": "local", "name_ar": "الجماعة", "name_fr": "La commune"}
    ]}]});
    let r = diwan_tests::send(
        "PUT",
        &app.url("/api/v1/admin/org"),
        Some(&admin),
        "application/json",
        org.to_string().as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let registrar = app.login("registrar@demo.diwan");
    let clerk = crate::failures::create_agent(&app, "clerk@sale.ma", "SALE-BO", "registrar");

    // Before any letter, the month that has just ended is published empty.
    app.clock.set(at("2026-10-01T08:00:00Z"));
    let p = published(&app, "");
    assert_eq!(p["months"], json!(["2026-09"]));
    assert_eq!(p["cells"], json!([]));

    let mut letters: Vec<Letter> = Vec::new();
    let deposit = |when: &str,
                   administration: &'static str,
                   channel: &'static str,
                   category: Option<&'static str>,
                   answer_after: Option<Duration>|
     -> Letter {
        let t0 = at(when);
        app.clock.set(t0);
        let (registry, token) = match administration {
            "MIN-DEMO" => ("DR-RSK", &registrar),
            _ => ("SALE", &clerk),
        };
        let mut body = letter(registry, "طلب رخصة باسم فاطمة");
        body["channel"] = json!(channel);
        if let Some(c) = category {
            body["category"] = json!(c);
        }
        let r = register(&app.base, token, &body, &pdf(600));
        assert_eq!(r.status, 201, "{}", r.text());
        let created = r.json();
        let id = created["id"].as_str().unwrap().to_owned();
        let due = legal_due(created["receipt"]["jws"].as_str().unwrap());
        let answered = answer_after.map(|after| {
            app.clock.set(t0 + Duration::minutes(30));
            let r = post_json(
                &app.url(&format!("/api/v1/correspondences/{id}/assign")),
                Some(&registrar),
                &json!({"unit": "DP-KHEMISSET"}),
            );
            assert_eq!(r.status, 200, "{}", r.text());
            app.clock.set(t0 + after);
            let reply = json!({
                "registry": registry, "direction": "outgoing", "channel": "portal",
                "subject": "جواب", "in_reply_to": id,
                "sender": {"kind": "administration", "name": "Délégation", "unit": "DP-KHEMISSET"},
                "recipient": {"kind": "person", "name": "فاطمة"}
            });
            let r = register(&app.base, &registrar, &reply, &pdf(500));
            assert_eq!(r.status, 201, "{}", r.text());
            t0 + after
        });
        Letter {
            id,
            administration,
            channel,
            // "complaint" is not a configured category: published as none.
            category: category.filter(|c| *c == "request"),
            registered: t0,
            due,
            answered,
        }
    };
    let (hours, days) = (Duration::hours, Duration::days);
    // October, portal requests: four answered in October (one late), one answered in
    // November, and the last one on 31 October at 23:30 local (22:30 UTC), answered in
    // November; then three in November, the first at 00:30 local on 1 November.
    for (when, after) in [
        ("2026-10-05T09:00:00Z", Some(days(20))),
        ("2026-10-06T09:00:00Z", Some(hours(2))),
        ("2026-10-12T09:00:00Z", Some(hours(2))),
        ("2026-10-13T09:00:00Z", Some(hours(2))),
        ("2026-10-14T09:00:00Z", Some(days(20))),
        ("2026-10-31T22:30:00Z", Some(days(5))),
        ("2026-10-31T23:30:00Z", None),
        ("2026-11-10T09:00:00Z", None),
        ("2026-11-11T09:00:00Z", None),
    ] {
        letters.push(deposit(when, "MIN-DEMO", "portal", Some("request"), after));
    }
    // Two at the counter: below the threshold.
    for when in ["2026-10-07T10:00:00Z", "2026-10-08T10:00:00Z"] {
        letters.push(deposit(when, "MIN-DEMO", "counter", None, None));
    }
    // E-mail: a category that is not configured, and none, one cell of four.
    for (when, category) in [
        ("2026-10-09T10:00:00Z", Some("complaint")),
        ("2026-10-15T10:00:00Z", Some("complaint")),
        ("2026-10-16T10:00:00Z", Some("complaint")),
        ("2026-10-20T10:00:00Z", None),
    ] {
        letters.push(deposit(when, "MIN-DEMO", "email", category, None));
    }
    // The other administration: three at its counter.
    for when in [
        "2026-10-02T10:00:00Z",
        "2026-10-21T10:00:00Z",
        "2026-10-30T10:00:00Z",
    ] {
        letters.push(deposit(when, "COMMUNE-SALE", "counter", None, None));
    }

    // Mid-November: October is published, November not yet.
    app.clock.set(at("2026-11-15T12:00:00Z"));
    let october = published(&app, "");
    assert_eq!(october["months"], json!(["2026-09", "2026-10"]));
    assert_eq!(october["threshold"], THRESHOLD);
    assert_eq!(october["time_zone"], "Africa/Casablanca");
    assert_eq!(figures(&october), expected(&letters, &["2026-10"]));
    assert_nothing_small(&october, &letters);
    let oct = figures(&october);
    let portal = &oct[&(
        "2026-10".to_owned(),
        "MIN-DEMO".to_owned(),
        Some("request".to_owned()),
        "portal".to_owned(),
    )];
    // Six received (the 23:30 local one included), four answered, one of them late: the share
    // would give the late one away.
    assert_eq!(portal["received"], 6);
    assert_eq!(portal["answered"], 4);
    assert_eq!(portal["on_time_share"], Value::Null);
    let email = &oct[&(
        "2026-10".to_owned(),
        "MIN-DEMO".to_owned(),
        None,
        "email".to_owned(),
    )];
    assert_eq!(email["received"], 4);
    assert!(
        !oct.keys().any(|k| k.1 == "MIN-DEMO" && k.3 == "counter"),
        "the counter's two letters are withheld"
    );
    let text = get(&app.url("/api/v1/open-data"), None).text();
    for private in [
        "فاطمة",
        "complaint",
        "AB123456",
        "fz@example.ma",
        "طلب رخصة",
    ] {
        assert!(!text.contains(private), "{private} published");
    }

    // Frozen: an October letter annulled after publication changes nothing published.
    let annulled = letters
        .iter()
        .find(|l| l.channel == "email")
        .unwrap()
        .id
        .clone();
    let r = post_json(
        &app.url(&format!("/api/v1/correspondences/{annulled}/annul")),
        Some(&registrar),
        &json!({"reason": "تسجيل مكرر"}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(figures(&published(&app, "")), oct);

    // December: November is published too; filters give the same cells, nothing new.
    app.clock.set(at("2026-12-02T12:00:00Z"));
    let all = published(&app, "?format=json");
    assert_eq!(all["months"], json!(["2026-09", "2026-10", "2026-11"]));
    let mut want = expected(&letters, &["2026-11"]);
    want.extend(oct.clone());
    assert_eq!(figures(&all), want);
    assert_nothing_small(&all, &letters);
    let november = &figures(&all)[&(
        "2026-11".to_owned(),
        "MIN-DEMO".to_owned(),
        Some("request".to_owned()),
        "portal".to_owned(),
    )];
    assert_eq!(november["received"], 3);
    assert_eq!(november["answered"], Value::Null);
    let every = figures(&all);
    for query in [
        "?month=2026-11",
        "?month=2026-10&administration=commune-sale",
        "?administration=MIN-DEMO",
    ] {
        let part = figures(&published(&app, query));
        assert!(!part.is_empty(), "{query}");
        for (k, v) in &part {
            assert_eq!(every.get(k), Some(v), "{query}: {k:?}");
        }
    }
    assert_eq!(
        published(&app, "?month=2026-09")["cells"],
        json!([]),
        "a month before the first letter"
    );

    // The CSV holds the same cells, withheld figures empty, cells escaped for spreadsheets.
    let r = get(&app.url("/api/v1/open-data?format=csv"), None);
    assert_eq!(r.status, 200);
    assert!(
        r.header("content-type")
            .is_some_and(|t| t.starts_with("text/csv"))
    );
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    let csv = r.text();
    let mut lines = csv.trim_start_matches('\u{feff}').lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let dictionary: Vec<&str> = all["dictionary"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .filter(|n| *n != "suppressed")
        .collect();
    assert_eq!(header, dictionary);
    assert_eq!(lines.count(), every.len());
    assert!(
        csv.contains("\"Commune de Salé <b>&</b>\"") || csv.contains("Commune de Salé <b>&</b>")
    );
    for f in all["dictionary"].as_array().unwrap() {
        for lang in ["description_ar", "description_fr", "description_en"] {
            assert!(!f[lang].as_str().unwrap().is_empty(), "{f}");
        }
    }

    // Bad requests get a problem with a stable code.
    get(&app.url("/api/v1/open-data?format=xml"), None).assert_problem(400, "invalid_format");
    get(&app.url("/api/v1/open-data?month=2026-13"), None).assert_problem(422, "invalid_month");
    get(&app.url("/api/v1/open-data?month=%3Cscript%3E"), None)
        .assert_problem(422, "invalid_month");
    get(&app.url("/api/v1/open-data?administration=NOPE"), None).assert_problem(404, "not_found");
    let long = "x".repeat(200);
    get(
        &app.url(&format!("/api/v1/open-data?administration={long}")),
        None,
    )
    .assert_problem(400, "invalid_query");
    assert_eq!(get(&app.url("/api/v1/open-data?limit=1"), None).status, 400);
}
