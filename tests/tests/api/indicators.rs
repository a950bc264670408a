//! Indicators against a direct recount of a generated dataset, at period boundaries in the
//! installation's zone (Africa/Casablanca, UTC+1 in November and December), and who may see
//! them.

use std::collections::{BTreeMap, HashSet};

use base64::Engine as _;
use chrono::{DateTime, Duration, NaiveDate, TimeZone as _, Utc};
use diwan_tests::{TestApp, get, letter, pdf, post_json, register};
use serde_json::{Value, json};

const ZONE: chrono_tz::Tz = chrono_tz::Africa::Casablanca;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn step(app: &TestApp, token: &str, id: &str, name: &str, body: Value) {
    let r = post_json(
        &app.url(&format!("/api/v1/correspondences/{id}/{name}")),
        Some(token),
        &body,
    );
    assert_eq!(r.status, 200, "{name}: {}", r.text());
}

/// What the test knows of each letter, to recount from.
struct Known {
    id: String,
    registry_unit: String,
    legal_due: Option<DateTime<Utc>>,
}

fn start_of(day: NaiveDate) -> DateTime<Utc> {
    ZONE.from_local_datetime(&day.and_hms_opt(0, 0, 0).unwrap())
        .earliest()
        .unwrap()
        .with_timezone(&Utc)
}

/// The legal deadline printed on the receipt (a local day), as the first instant after it.
fn legal_due(receipt_jws: &str) -> Option<DateTime<Utc>> {
    let payload = receipt_jws.split('.').nth(1).unwrap();
    let payload: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    let day: NaiveDate = payload["deadline"]["date"].as_str()?.parse().unwrap();
    Some(start_of(day.succ_opt().unwrap()))
}

/// One letter as the recount sees it, read back through the API.
#[derive(Debug)]
struct Fact {
    unit: String,
    incoming: bool,
    channel: String,
    category: String,
    registered: DateTime<Utc>,
    legal_due: Option<DateTime<Utc>>,
    answered: Option<DateTime<Utc>>,
    closed: Option<DateTime<Utc>>,
}

fn nearest_rank(sorted: &[i64], p: usize) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    Some(sorted[rank - 1])
}

/// The figures of `units` over `[from, to)`, recounted from the facts.
fn recount(
    facts: &[Fact],
    units: &HashSet<String>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Value {
    let mine: Vec<&Fact> = facts.iter().filter(|f| units.contains(&f.unit)).collect();
    let incoming: Vec<&Fact> = mine.iter().copied().filter(|f| f.incoming).collect();
    let received: Vec<&Fact> = incoming
        .iter()
        .copied()
        .filter(|f| f.registered >= from && f.registered < to)
        .collect();
    let mut by_channel = BTreeMap::new();
    let mut by_category = BTreeMap::new();
    for f in &received {
        *by_channel.entry(f.channel.clone()).or_insert(0u64) += 1;
        *by_category.entry(f.category.clone()).or_insert(0u64) += 1;
    }
    let open_at_end = |f: &Fact| f.registered < to && f.closed.is_none_or(|c| c >= to);
    let backlog = incoming.iter().filter(|f| open_at_end(f)).count();
    let overdue = incoming
        .iter()
        .filter(|f| open_at_end(f))
        .filter(|f| f.legal_due.is_some_and(|d| d < to))
        .count();
    let answered: Vec<&Fact> = incoming
        .iter()
        .copied()
        .filter(|f| f.answered.is_some_and(|a| a >= from && a < to))
        .collect();
    // Kept to the minute under a day, to the hour beyond (rounded down).
    let mut times: Vec<i64> = answered
        .iter()
        .map(|f| (f.answered.unwrap() - f.registered).num_seconds())
        .map(|s| {
            if s < 86_400 {
                s / 60 * 60
            } else {
                s / 3_600 * 3_600
            }
        })
        .collect();
    times.sort_unstable();
    let known: Vec<bool> = answered
        .iter()
        .filter_map(|f| f.legal_due.map(|d| f.answered.unwrap() < d))
        .collect();
    let share = (!known.is_empty())
        .then(|| known.iter().filter(|k| **k).count() as f64 / known.len() as f64);
    json!({
        "received": received.len(),
        "sent": mine.iter().filter(|f| !f.incoming && f.registered >= from && f.registered < to).count(),
        "backlog": backlog,
        "overdue": overdue,
        "answered": answered.len(),
        "median_seconds": nearest_rank(&times, 50),
        "p90_seconds": nearest_rank(&times, 90),
        "on_time_share": share,
        "by_channel": by_channel,
        "by_category": by_category,
    })
}

fn figures_of(v: &Value) -> Value {
    let keys = [
        "received",
        "sent",
        "backlog",
        "overdue",
        "answered",
        "median_seconds",
        "p90_seconds",
        "on_time_share",
        "by_channel",
        "by_category",
    ];
    Value::Object(
        keys.iter()
            .map(|k| ((*k).to_owned(), v[*k].clone()))
            .collect(),
    )
}

#[test]
fn indicators_equal_a_direct_recount_at_period_boundaries_in_the_local_zone() {
    let app = TestApp::spawn_with(&[
        ("DIWAN__TIME__ZONE", "Africa/Casablanca"),
        ("DIWAN__DEADLINES__WORKING_DAYS", "3"),
        ("DIWAN__WORKFLOW__SCHEDULER", "false"),
        ("DIWAN__AUTH__SESSION_TTL_HOURS", "2400"),
    ]);
    // Sessions opened before the first letter, valid until after the last action.
    app.clock.set(at("2026-10-30T00:00:00Z"));
    let registrar = app.login("registrar@demo.diwan");
    let handler = app.login("handler@demo.diwan");
    let head = app.login("head@demo.diwan");
    let auditor = app.login("auditor@demo.diwan");
    let org = get(&app.url("/api/v1/org"), Some(&auditor)).json();
    let units: Vec<Value> = org["units"].as_array().unwrap().clone();
    let unit_id = |code: &str| {
        units.iter().find(|u| u["code"] == code).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let subtree = |code: &str| -> HashSet<String> {
        let mut out: HashSet<String> = [unit_id(code)].into();
        loop {
            let more: Vec<String> = units
                .iter()
                .filter(|u| u["parent_id"].as_str().is_some_and(|p| out.contains(p)))
                .map(|u| u["id"].as_str().unwrap().to_owned())
                .filter(|id| !out.contains(id))
                .collect();
            if more.is_empty() {
                return out;
            }
            out.extend(more);
        }
    };

    // Letters on both sides of local midnights that are not UTC midnights.
    let times = [
        "2026-10-31T22:30:00Z", // 31 October, 23:30 local
        "2026-10-31T23:30:00Z", // 1 November, 00:30 local
        "2026-11-10T09:00:00Z",
        "2026-11-20T15:00:00Z",
        "2026-11-30T22:50:00Z", // 30 November, 23:50 local
        "2026-11-30T23:10:00Z", // 1 December, 00:10 local
        "2026-12-01T10:00:00Z",
    ];
    let channels = ["portal", "counter", "email"];
    let categories = [None, Some("request"), Some("complaint")];
    let mut known = Vec::new();
    let mut n = 0usize;
    for t in times {
        for registry in ["DR-RSK", "DP-KENITRA", "DR-CS"] {
            let t0 = at(t);
            app.clock.set(t0);
            let mut body = letter(registry, &format!("رسالة {n}"));
            body["channel"] = json!(channels[n % 3]);
            if let Some(c) = categories[(n / 3) % 3] {
                body["category"] = json!(c);
            }
            let r = register(&app.base, &registrar, &body, &pdf(600));
            assert_eq!(r.status, 201, "{}", r.text());
            let created = r.json();
            let id = created["id"].as_str().unwrap().to_owned();
            known.push(Known {
                id: id.clone(),
                registry_unit: unit_id(registry),
                legal_due: legal_due(created["receipt"]["jws"].as_str().unwrap()),
            });
            // What happens next, at its own time.
            let (target, actor) = match registry {
                "DR-RSK" => ("DP-KHEMISSET", &head),
                "DP-KENITRA" => ("DP-KENITRA", &handler),
                _ => ("", &head),
            };
            if !target.is_empty() {
                match n % 4 {
                    // Assigned, then answered after 2 hours, 5 or 20 days.
                    0 | 1 => {
                        app.clock.set(t0 + Duration::hours(1));
                        step(&app, &registrar, &id, "assign", json!({"unit": target}));
                        // Not whole minutes or hours: the kept times are rounded down.
                        let later = [
                            Duration::seconds(2 * 3_600 + 17 * 60 + 23),
                            Duration::days(5) + Duration::seconds(11_231),
                            Duration::days(20) + Duration::seconds(3_599),
                        ];
                        app.clock.set(t0 + later[n % 3]);
                        let reply = json!({
                            "registry": registry, "direction": "outgoing", "channel": "portal",
                            "subject": "جواب", "in_reply_to": id,
                            "sender": {"kind": "administration", "name": "Délégation", "unit": target},
                            "recipient": {"kind": "person", "name": "فاطمة"}
                        });
                        let r = register(&app.base, &registrar, &reply, &pdf(500));
                        assert_eq!(r.status, 201, "{}", r.text());
                        known.push(Known {
                            id: r.json()["id"].as_str().unwrap().to_owned(),
                            registry_unit: unit_id(registry),
                            legal_due: None,
                        });
                    }
                    // Assigned, taken up and closed a day later.
                    2 => {
                        app.clock.set(t0 + Duration::hours(3));
                        step(&app, &registrar, &id, "assign", json!({"unit": target}));
                        app.clock.set(t0 + Duration::days(1));
                        step(&app, actor, &id, "start", json!({}));
                        step(&app, actor, &id, "close", json!({}));
                    }
                    // Assigned, then sent back to the registry: its unit again.
                    _ => {
                        app.clock.set(t0 + Duration::hours(2));
                        step(&app, &registrar, &id, "assign", json!({"unit": target}));
                        step(
                            &app,
                            actor,
                            &id,
                            "return",
                            json!({"comment": "ليس من اختصاصنا"}),
                        );
                    }
                }
            }
            n += 1;
        }
    }
    // One annulled registration counts nowhere.
    app.clock.set(at("2026-11-15T12:00:00Z"));
    let r = register(&app.base, &registrar, &letter("DR-RSK", "ملغى"), &pdf(500));
    let annulled = r.json()["id"].as_str().unwrap().to_owned();
    let r = post_json(
        &app.url(&format!("/api/v1/correspondences/{annulled}/annul")),
        Some(&registrar),
        &json!({"reason": "تسجيل مكرر"}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    app.clock.set(at("2026-12-03T12:00:00Z"));

    // The recount, from the letters as the API shows them.
    let mut facts = Vec::new();
    for k in &known {
        let c = get(
            &app.url(&format!("/api/v1/correspondences/{}", k.id)),
            Some(&auditor),
        )
        .json();
        let history = c["history"].as_array().unwrap();
        let first = |kinds: &[&str]| {
            history
                .iter()
                .filter(|e| kinds.contains(&e["kind"].as_str().unwrap()))
                .map(|e| at(e["at"].as_str().unwrap()))
                .min()
        };
        let status = c["status"].as_str().unwrap();
        let last_lead = c["assignments"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["purpose"] == "action")
            .max_by_key(|a| a["assigned_at"].as_str().unwrap().to_owned())
            .map(|a| a["unit_id"].as_str().unwrap().to_owned());
        let unit = match (status, last_lead) {
            ("registered" | "returned", _) | (_, None) => k.registry_unit.clone(),
            (_, Some(u)) => u,
        };
        facts.push(Fact {
            unit,
            incoming: c["direction"] == "incoming",
            channel: c["channel"].as_str().unwrap().to_owned(),
            category: c["category"].as_str().unwrap_or("").to_owned(),
            registered: at(c["registered_at"].as_str().unwrap()),
            legal_due: k.legal_due,
            answered: first(&["answered"]),
            closed: first(&["answered", "closed"]),
        });
    }
    assert!(facts.iter().any(|f| f.answered.is_some()));
    assert!(
        facts
            .iter()
            .any(|f| f.closed.is_some() && f.answered.is_none())
    );

    let ask = |token: &str, query: &str| {
        let r = get(
            &app.url(&format!("/api/v1/indicators?{query}")),
            Some(token),
        );
        assert_eq!(r.status, 200, "{query}: {}", r.text());
        r.json()
    };
    let days = [
        "2026-10-31",
        "2026-11-01",
        "2026-11-30",
        "2026-12-01",
        "2026-12-03",
    ];
    let mut checked = 0;
    let mut reports = Vec::new();
    for (scope, units_of_scope, lines) in [
        (
            "administration=MIN-DEMO",
            {
                let mut all = HashSet::new();
                for u in &units {
                    all.insert(u["id"].as_str().unwrap().to_owned());
                }
                all
            },
            vec![("ADM-CENTRALE", subtree("ADM-CENTRALE"))],
        ),
        (
            "unit=DR-RSK&subunits=true",
            subtree("DR-RSK"),
            vec![
                ("DR-RSK", [unit_id("DR-RSK")].into()),
                ("DP-KENITRA", subtree("DP-KENITRA")),
                ("DP-KHEMISSET", subtree("DP-KHEMISSET")),
            ],
        ),
        ("unit=DR-RSK", [unit_id("DR-RSK")].into(), vec![]),
        ("unit=DP-KENITRA", [unit_id("DP-KENITRA")].into(), vec![]),
        (
            "administration=MIN-DEMO&territory=MA-04",
            subtree("DR-RSK"),
            vec![],
        ),
    ] {
        for period in ["day", "week", "month", "year"] {
            for day in days {
                let report = ask(&auditor, &format!("{scope}&period={period}&date={day}"));
                let from = at(report["period"]["from"].as_str().unwrap());
                let to = at(report["period"]["to"].as_str().unwrap());
                // The period is the local one.
                let first: NaiveDate = report["period"]["first"].as_str().unwrap().parse().unwrap();
                assert_eq!(from, start_of(first));
                assert!(first <= day.parse().unwrap());
                assert_eq!(
                    figures_of(&report["totals"]),
                    recount(&facts, &units_of_scope, from, to),
                    "{scope} {period} {day}"
                );
                for (code, members) in &lines {
                    let line = report["lines"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .find(|l| l["unit"]["code"] == *code)
                        .unwrap_or_else(|| panic!("no line {code}: {report:#}"));
                    assert_eq!(
                        figures_of(line),
                        recount(&facts, members, from, to),
                        "{scope} {period} {day} line {code}"
                    );
                }
                checked += 1;
                reports.push((format!("{scope}&period={period}&date={day}"), report));
            }
        }
    }
    assert_eq!(checked, 100);
    // The day totals kept by each transaction equal a recount from the facts rows.
    app.inst.database.rebuild_indicator_days().unwrap();
    for (query, report) in &reports {
        assert_eq!(&ask(&auditor, query), report, "after a recount: {query}");
    }
    // The boundary is local: a letter at 23:10 UTC on 30 November is December's.
    let december = ask(
        &auditor,
        "unit=DR-RSK&subunits=true&period=day&date=2026-12-01",
    );
    let november_30 = ask(
        &auditor,
        "unit=DR-RSK&subunits=true&period=day&date=2026-11-30",
    );
    assert!(december["totals"]["received"].as_u64().unwrap() >= 1);
    assert!(november_30["totals"]["received"].as_u64().unwrap() >= 1);

    // CSV: the same table, one line per row, formulas neutralised.
    let r = get(
        &app.url(
            "/api/v1/indicators?unit=DR-RSK&subunits=true&period=month&date=2026-11-15&format=csv",
        ),
        Some(&auditor),
    );
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").unwrap().starts_with("text/csv"));
    let text = r.text();
    let rows: Vec<&str> = text.trim_end().split("\r\n").collect();
    assert_eq!(rows.len(), 1 + 1 + 3, "{text}");
    assert!(rows[1].contains(",total,"));
    let month = ask(
        &auditor,
        "unit=DR-RSK&subunits=true&period=month&date=2026-11-15",
    );
    assert!(
        rows[1].contains(&format!(
            ",total,{},{},{},",
            month["totals"]["received"], month["totals"]["sent"], month["totals"]["backlog"]
        )),
        "{text}"
    );
}

#[test]
fn agents_see_the_indicators_of_their_units_only() {
    let app = TestApp::spawn();
    let q = |token: &str, query: &str| {
        get(
            &app.url(&format!("/api/v1/indicators?{query}")),
            Some(token),
        )
    };
    let handler = app.login("handler@demo.diwan");
    let head = app.login("head@demo.diwan");
    let auditor = app.login("auditor@demo.diwan");
    let signer = app.login("signer@demo.diwan");
    let admin = app.login("admin@demo.diwan");
    // A handler: their unit, nothing above or beside it.
    assert_eq!(q(&handler, "unit=DP-KENITRA").status, 200);
    q(&handler, "unit=DR-RSK").assert_problem(403, "forbidden");
    q(&handler, "unit=DP-KHEMISSET").assert_problem(403, "forbidden");
    q(&handler, "administration=MIN-DEMO").assert_problem(403, "forbidden");
    // A head: their subtree.
    assert_eq!(q(&head, "unit=DR-RSK&subunits=true").status, 200);
    assert_eq!(q(&head, "unit=DP-KHEMISSET").status, 200);
    q(&head, "unit=DR-CS").assert_problem(403, "forbidden");
    q(&head, "unit=ADM-CENTRALE").assert_problem(403, "forbidden");
    q(&head, "administration=MIN-DEMO").assert_problem(403, "forbidden");
    // A signer of the central administration: that unit alone, not its subtree.
    assert_eq!(q(&signer, "unit=ADM-CENTRALE").status, 200);
    q(&signer, "unit=ADM-CENTRALE&subunits=true").assert_problem(403, "forbidden");
    // The installation's administrator is not a manager; the auditor sees everything.
    q(&admin, "unit=DR-RSK").assert_problem(403, "forbidden");
    assert_eq!(q(&auditor, "administration=MIN-DEMO").status, 200);
    assert_eq!(q(&auditor, "unit=DR-CS&subunits=true").status, 200);
    // Without a token, nothing; bad parameters are named.
    get(&app.url("/api/v1/indicators?unit=DR-RSK"), None).assert_problem(401, "unauthenticated");
    q(&auditor, "unit=DR-RSK&period=fortnight").assert_problem(400, "invalid_period");
    q(&auditor, "unit=DR-RSK&date=2026-13-01").assert_problem(400, "invalid_date");
    q(&auditor, "unit=NOPE").assert_problem(404, "not_found");
    q(&auditor, "period=month").assert_problem(422, "invalid_query");
    q(&auditor, "unit=DR-RSK&territory=%3Cscript%3E").assert_problem(422, "invalid_query");
}
