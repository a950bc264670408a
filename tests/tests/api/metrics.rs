//! `GET /metrics`: Prometheus text exposition, counted per route pattern, and its access rules.

use std::collections::BTreeMap;

use diwan_tests::{Resp, TestApp, get, letter, pdf, register};

/// A series: metric name and its labels, sorted.
type Series = (String, Vec<(String, String)>);

/// GETs `/metrics` with extra request headers.
fn scrape_with(app: &TestApp, headers: &[(&str, &str)]) -> Resp {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut req = agent.get(app.url("/metrics"));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let mut r = req.call().unwrap();
    let headers: Vec<(String, String)> = r
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    let content_type = headers
        .iter()
        .find(|(k, _)| k == "content-type")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    Resp {
        status: r.status().as_u16(),
        content_type,
        headers,
        body: r.body_mut().read_to_vec().unwrap(),
    }
}

/// Scrapes and parses the exposition, asserting that it is well-formed.
fn scrape(app: &TestApp) -> (String, BTreeMap<Series, f64>) {
    let r = scrape_with(app, &[]);
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        r.content_type.starts_with("text/plain; version=0.0.4"),
        "{}",
        r.content_type
    );
    let text = r.text();
    (text.clone(), parse_exposition(&text))
}

/// Parses the Prometheus text format: `# HELP` / `# TYPE` comments, blank lines, and samples
/// `name{label="value",…} value`, panicking on anything else.
fn parse_exposition(text: &str) -> BTreeMap<Series, f64> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix("# ") {
            let mut words = comment.split(' ');
            match (words.next(), words.next(), words.next()) {
                (Some("HELP"), Some(name), _) => assert!(is_name(name), "{line}"),
                (Some("TYPE"), Some(name), Some(kind)) => {
                    assert!(is_name(name), "{line}");
                    assert!(
                        ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                        "{line}"
                    );
                }
                _ => panic!("unexpected comment: {line}"),
            }
            continue;
        }
        let (series, value) = parse_sample(line).unwrap_or_else(|| panic!("not a sample: {line}"));
        assert!(
            out.insert(series, value).is_none(),
            "series given twice: {line}"
        );
    }
    out
}

fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn parse_sample(line: &str) -> Option<(Series, f64)> {
    let name_end = line.find(['{', ' '])?;
    let name = &line[..name_end];
    if !is_name(name) {
        return None;
    }
    let mut rest = &line[name_end..];
    let mut labels = Vec::new();
    if let Some(inner) = rest.strip_prefix('{') {
        rest = inner;
        loop {
            if let Some(after) = rest.strip_prefix('}') {
                rest = after;
                break;
            }
            let eq = rest.find("=\"")?;
            let key = &rest[..eq];
            if !is_name(key) {
                return None;
            }
            let mut value = String::new();
            let mut chars = rest[eq + 2..].char_indices();
            let end = loop {
                match chars.next()? {
                    (i, '"') => break i,
                    (_, '\\') => match chars.next()?.1 {
                        'n' => value.push('\n'),
                        c @ ('\\' | '"') => value.push(c),
                        _ => return None,
                    },
                    (_, c) => value.push(c),
                }
            };
            labels.push((key.to_owned(), value));
            rest = &rest[eq + 2 + end + 1..];
            rest = rest.strip_prefix(',').unwrap_or(rest);
        }
    }
    let mut fields = rest.strip_prefix(' ')?.split(' ');
    let value = match fields.next()? {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        "NaN" => f64::NAN,
        v => v.parse().ok()?,
    };
    // An optional timestamp (milliseconds), nothing after it.
    if let Some(ts) = fields.next() {
        ts.parse::<i64>().ok()?;
    }
    if fields.next().is_some() {
        return None;
    }
    labels.sort();
    Some(((name.to_owned(), labels), value))
}

/// The value of a series, 0 when absent (a counter not yet incremented is not shown).
fn value(m: &BTreeMap<Series, f64>, name: &str, labels: &[(&str, &str)]) -> f64 {
    let mut labels: Vec<(String, String)> = labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    labels.sort();
    m.get(&(name.to_owned(), labels)).copied().unwrap_or(0.0)
}

#[test]
fn metrics_count_requests_by_route_registrations_and_the_outbox() {
    // Nothing sends the outbox, so what is queued stays there.
    let app = TestApp::spawn_with(&[("DIWAN__MAIL__SEND", "false")]);
    let token = app.login("registrar@demo.diwan");
    let (_, before) = scrape(&app);

    let r = register(&app.base, &token, &letter("CENTRAL", "Metrics"), &pdf(2000));
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["id"].as_str().unwrap().to_owned();
    for _ in 0..3 {
        let c = get(
            &app.url(&format!("/api/v1/correspondences/{id}")),
            Some(&token),
        );
        assert_eq!(c.status, 200);
    }
    assert_eq!(
        get(
            &app.url("/api/v1/correspondences/nothing-here"),
            Some(&token)
        )
        .status,
        404
    );
    assert_eq!(get(&app.url("/no/such/page/xyz"), None).status, 404);

    let (text, after) = scrape(&app);
    let route = "/api/v1/correspondences/{id}";
    let requests = |m: &BTreeMap<Series, f64>, status: &str| {
        value(
            m,
            "diwan_http_requests_total",
            &[("route", route), ("method", "GET"), ("status", status)],
        )
    };
    assert_eq!(requests(&after, "200") - requests(&before, "200"), 3.0);
    assert_eq!(requests(&after, "404") - requests(&before, "404"), 1.0);
    let timed = |m: &BTreeMap<Series, f64>| {
        value(
            m,
            "diwan_http_request_duration_seconds_count",
            &[("route", route), ("method", "GET")],
        )
    };
    assert_eq!(timed(&after) - timed(&before), 4.0);
    let registered = [
        ("route", "/api/v1/correspondences"),
        ("method", "POST"),
        ("status", "201"),
    ];
    assert_eq!(value(&after, "diwan_http_requests_total", &registered), 1.0);
    assert!(
        value(
            &after,
            "diwan_http_requests_total",
            &[("route", "unmatched"), ("method", "GET"), ("status", "404")]
        ) >= 1.0,
        "{text}"
    );
    // Route patterns, never paths.
    assert!(!text.contains(&id) && !text.contains("nothing-here") && !text.contains("xyz"));

    let registrations = [("direction", "incoming"), ("channel", "portal")];
    assert_eq!(
        value(&after, "diwan_registrations_total", &registrations)
            - value(&before, "diwan_registrations_total", &registrations),
        1.0
    );

    let backlog = app.inst.services.store.outbox_backlog().unwrap();
    assert!(backlog.pending >= 1, "the receipt's e-mail is queued");
    assert_eq!(
        value(&after, "diwan_outbox_pending", &[]),
        backlog.pending as f64
    );
    assert!(value(&after, "diwan_outbox_oldest_pending_age_seconds", &[]) >= 0.0);

    assert_eq!(value(&after, "diwan_db_pool_max_connections", &[]), 4.0);
    assert!(value(&after, "diwan_db_pool_connections", &[]) >= 1.0);
    assert_eq!(
        value(&after, "diwan_background_workers", &[("job", "mail")]),
        0.0
    );
    assert_eq!(
        value(
            &after,
            "diwan_background_workers",
            &[("job", "receipt_pdf")]
        ),
        1.0
    );
    assert!(text.contains("# TYPE diwan_http_request_duration_seconds histogram"));
}

#[test]
fn metrics_are_refused_through_a_proxy() {
    let app = TestApp::spawn();
    scrape_with(&app, &[("X-Forwarded-For", "203.0.113.7")])
        .assert_problem(403, "metrics_forbidden");
    scrape_with(&app, &[("Forwarded", "for=203.0.113.7")]).assert_problem(403, "metrics_forbidden");
    scrape_with(&app, &[("X-Real-IP", "203.0.113.7")]).assert_problem(403, "metrics_forbidden");
    assert_eq!(scrape_with(&app, &[]).status, 200);
}

#[test]
fn metrics_require_the_configured_token() {
    let app = TestApp::spawn_with(&[("DIWAN__METRICS__TOKEN", "scrape-me-4f2a")]);
    let r = scrape_with(&app, &[]);
    r.assert_problem(401, "unauthenticated");
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    scrape_with(&app, &[("Authorization", "Bearer scrape-me")])
        .assert_problem(401, "unauthenticated");
    let ok = scrape_with(&app, &[("Authorization", "Bearer scrape-me-4f2a")]);
    assert_eq!(ok.status, 200, "{}", ok.text());
    assert!(!parse_exposition(&ok.text()).is_empty());
    // The token does not lift the loopback rule.
    scrape_with(
        &app,
        &[
            ("Authorization", "Bearer scrape-me-4f2a"),
            ("X-Forwarded-For", "203.0.113.7"),
        ],
    )
    .assert_problem(403, "metrics_forbidden");
}

#[test]
fn disabled_metrics_are_not_found() {
    let app = TestApp::spawn_with(&[("DIWAN__METRICS__ENABLED", "false")]);
    scrape_with(&app, &[]).assert_problem(404, "not_found");
}

#[test]
fn the_exposition_parser_refuses_malformed_lines() {
    assert!(parse_sample("a_total{route=\"/x/{id}\",status=\"200\"} 3").is_some());
    assert!(parse_sample("up 1 1700000000000").is_some());
    assert!(parse_sample("b{l=\"q\\\"uote\"} +Inf").is_some());
    for bad in [
        "1abc 2",
        "a{l=\"x} 1",
        "a{l=x} 1",
        "a 1 2 3",
        "a",
        "a{l=\"x\"}1",
    ] {
        assert!(parse_sample(bad).is_none(), "{bad}");
    }
}
