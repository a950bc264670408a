//! The public open data page (`/open-data`) without a browser: a month published once it has
//! ended, in Arabic (right to left) and French, a count below the threshold never shown, an
//! administration's name escaped, bad parameters answered with a page that says why.

use chrono::{DateTime, Duration, Utc};
use diwan_tests::{TestApp, get, letter, pdf, post_json, register, send};
use serde_json::json;

/// The French name of the administration the letters go to: markup that must stay text.
const NAME_FR: &str = "Commune <script>&\" de Témara";

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// A server whose October 2026 is published (the clock is in November): in the administration
/// `COMMUNE-TEM` (French name `name_fr`), 6 letters by the portal (above the threshold of 5), answered after 1.5, 3,
/// 4.5, 6, 7.5 and 9 days (median 4.5 days, all within the legal delay); 5 by e-mail, not
/// answered (answers withheld); 2 at the counter (below the threshold), not answered.
pub fn app_with_a_published_month(name_fr: &str) -> TestApp {
    let app = TestApp::spawn_with(&[
        ("DIWAN__OPEN_DATA__THRESHOLD", "5"),
        ("DIWAN__WORKFLOW__SCHEDULER", "false"),
        ("DIWAN__AUTH__SESSION_TTL_HOURS", "2400"),
    ]);
    let t0 = at("2026-10-14T09:00:00Z");
    app.clock.set(t0);
    let admin = app.login("admin@demo.diwan");
    let org = json!({"administrations": [{"code": "COMMUNE-TEM", "name_ar": "جماعة تمارة", "name_fr": name_fr,
    "units": [
        {"code": "TEM-BO", "level": "local", "name_ar": "مكتب الضبط", "name_fr": "Bureau d'ordre", "parent": "TEM",
         "registries": [{"code": "TEM", "name_ar": "سجل", "name_fr": "Registre", "numbering_format": "{year}-{direction}-{seq:04}@{registry}"}]},
        {"code": "TEM", "level": "local", "name_ar": "الجماعة", "name_fr": "La commune"}
    ]}]});
    let r = send(
        "PUT",
        &app.url("/api/v1/admin/org"),
        Some(&admin),
        "application/json",
        org.to_string().as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let clerk = crate::failures::create_agent(&app, "clerk@temara.ma", "TEM-BO", "registrar");
    let mut portal = Vec::new();
    for (n, channel) in std::iter::repeat_n("portal", 6)
        .chain(std::iter::repeat_n("email", 5))
        .chain(std::iter::repeat_n("counter", 2))
        .enumerate()
    {
        let mut body = letter("TEM", &format!("طلب {n}"));
        body["channel"] = json!(channel);
        let r = register(&app.base, &clerk, &body, &pdf(400));
        assert_eq!(r.status, 201, "{}", r.text());
        let id = r.json()["id"].as_str().unwrap().to_owned();
        if channel == "portal" {
            let r = post_json(
                &app.url(&format!("/api/v1/correspondences/{id}/assign")),
                Some(&clerk),
                &json!({"unit": "TEM"}),
            );
            assert_eq!(r.status, 200, "{}", r.text());
            portal.push(id);
        }
    }
    for (n, id) in portal.iter().enumerate() {
        app.clock.set(t0 + Duration::hours(36 * (n as i64 + 1)));
        let reply = json!({
            "registry": "TEM", "direction": "outgoing", "channel": "portal",
            "subject": "جواب", "in_reply_to": id,
            "sender": {"kind": "administration", "name": "Commune", "unit": "TEM"},
            "recipient": {"kind": "person", "name": "فاطمة"}
        });
        let r = register(&app.base, &clerk, &reply, &pdf(300));
        assert_eq!(r.status, 201, "{}", r.text());
    }
    app.clock.set(at("2026-11-03T10:00:00Z"));
    app
}

/// The page at `query`: its status and its HTML.
fn page(app: &TestApp, query: &str) -> (u16, String) {
    let r = get(&app.url(&format!("/open-data?{query}")), None);
    assert!(
        r.content_type.starts_with("text/html"),
        "{query}: {}",
        r.content_type
    );
    (r.status, r.text())
}

/// The markup of the figures' table.
fn table(html: &str) -> &str {
    let start = html
        .find("<table id=\"open-data-table\"")
        .unwrap_or_else(|| panic!("no table: {html}"));
    let end = start + html[start..].find("</table>").unwrap();
    &html[start..end]
}

#[test]
fn the_open_data_page_shows_a_closed_month_withholds_small_counts_and_escapes_names() {
    let app = app_with_a_published_month(NAME_FR);

    // Arabic, right to left: October is shown, the portal's six letters, not the counter's two.
    let (status, ar) = page(&app, "lang=ar");
    assert_eq!(status, 200, "{ar}");
    assert!(ar.contains(r#"<html lang="ar" dir="rtl">"#));
    assert!(ar.contains(r#"<option value="2026-10" selected>أكتوبر 2026</option>"#));
    let t = table(&ar);
    assert!(
        t.contains("<caption id=\"open-data-caption\">المراسلات الواردة، أكتوبر 2026</caption>")
    );
    assert_eq!(t.matches("<tr data-administration=").count(), 2, "{t}");
    assert!(t.contains(r#"data-channel="portal""#), "{t}");
    assert!(t.contains(r#"data-field="received" data-value="6""#), "{t}");
    assert!(t.contains(r#"<bdi dir="ltr">6</bdi>"#), "{t}");
    assert!(t.contains("جماعة تمارة"));
    assert!(t.contains("البوابة"));
    assert!(t.contains("بدون صنف أو صنف آخر"));
    // Below the threshold: the counter's line is left out, the count 2 nowhere.
    assert!(!t.contains(r#"data-channel="counter""#), "{t}");
    assert!(!t.contains(r#"data-value="2""#), "{t}");
    assert!(!t.contains(r#"<bdi dir="ltr">2</bdi>"#), "{t}");
    // Answered: six, a median of 4.5 days, all on time.
    assert!(t.contains(r#"data-field="answered" data-value="6""#), "{t}");
    assert!(
        t.contains(r#"data-field="median_delay_days" data-value="4.5"><bdi dir="ltr">4,5</bdi>"#),
        "{t}"
    );
    assert!(
        t.contains(r#"data-field="on_time_share" data-value="1.0"><bdi dir="ltr">100٪</bdi>"#),
        "{t}"
    );
    // Nothing answered by e-mail: withheld, a dash with its word for screen readers.
    assert!(t.contains(r#"data-channel="email""#), "{t}");
    assert!(
        t.contains(r#"<td class="num withheld" data-field="answered" data-withheld="true"><span aria-hidden="true">—</span><span class="visually-hidden">محجوب</span></td>"#),
        "{t}"
    );
    assert!(t.contains(r#"data-field="received" data-value="5""#), "{t}");
    for head in [
        "الإدارة",
        "الصنف",
        "القناة",
        "الواردة",
        "وسيط المدة (بالأيام)",
    ] {
        assert!(t.contains(head), "{head}");
    }
    assert!(t.matches(r#"<th scope="col""#).count() == 7, "{t}");
    assert!(ar.contains("أقل من 5"));
    assert!(ar.contains("<code>UTC</code>"));
    // The downloads and the dictionary.
    assert!(ar.contains(r#"href="/api/v1/open-data?format=csv""#));
    assert!(ar.contains(r#"href="/api/v1/open-data?format=json""#));
    assert!(ar.contains(r#"href="/api/v1/open-data?format=csv&amp;month=2026-10""#));
    assert!(ar.contains("<code>median_delay_days</code>"));
    assert!(ar.contains("عدد المراسلات الواردة المسجلة خلال الشهر"));

    // French, left to right; the administration's French name is text, not markup.
    let (status, fr) = page(&app, "lang=fr");
    assert_eq!(status, 200, "{fr}");
    assert!(fr.contains(r#"<html lang="fr" dir="ltr">"#));
    let t = table(&fr);
    assert!(t.contains(r#"data-field="received" data-value="6""#), "{t}");
    assert!(!t.contains(r#"data-value="2""#), "{t}");
    assert!(t.contains("portail"));
    assert!(t.contains(r#"<span class="visually-hidden">retenu</span>"#));
    assert!(
        t.contains("Commune &lt;script&gt;&amp;&quot; de Témara"),
        "{t}"
    );
    assert!(!fr.contains("<script>&"), "{fr}");
    assert!(fr.contains("octobre 2026"));
    assert!(fr.contains("Le nombre de courriers entrants enregistrés dans le mois"));
    let (_, en) = page(&app, "lang=en");
    assert!(en.contains(r#"<html lang="en" dir="ltr">"#));
    assert!(table(&en).contains(r#"<span class="visually-hidden">withheld</span>"#));

    // One administration, by its code in any case: the same line, and the selection's links.
    let (status, one) = page(&app, "lang=fr&month=2026-10&administration=commune-tem");
    assert_eq!(status, 200, "{one}");
    assert!(table(&one).contains(r#"data-field="received" data-value="6""#));
    assert!(
        one.contains(r#"<option value="COMMUNE-TEM" selected>"#),
        "{one}"
    );
    assert!(one.contains(
        r#"href="/api/v1/open-data?format=json&amp;month=2026-10&amp;administration=COMMUNE-TEM""#
    ));
    // Another administration of the installation: nothing published for it.
    let (status, other) = page(&app, "lang=fr&month=2026-10&administration=MIN-DEMO");
    assert_eq!(status, 200, "{other}");
    assert!(other.contains(r#"id="open-data-empty""#), "{other}");

    // The current month is not published yet.
    let (status, current) = page(&app, "lang=fr&month=2026-11");
    assert_eq!(status, 200, "{current}");
    assert!(
        current.contains(r#"id="open-data-unpublished""#),
        "{current}"
    );
    assert!(!current.contains("<table id=\"open-data-table\""));

    // Bad parameters: a page that says why, never a 500.
    let long_month = format!("lang=fr&month={}", "9".repeat(200));
    let long_code = format!("lang=fr&administration={}", "A".repeat(200));
    for (query, status, text) in [
        ("lang=fr&month=2026-13", 422, "AAAA-MM"),
        ("lang=ar&month=2026-13", 422, "YYYY-MM"),
        ("lang=fr&month=octobre", 422, "AAAA-MM"),
        (long_month.as_str(), 422, "AAAA-MM"),
        (
            "lang=fr&administration=NOPE",
            404,
            "Aucune administration n'a ce code.",
        ),
        (long_code.as_str(), 404, "Aucune administration"),
        ("lang=fr&month=%FF", 422, "AAAA-MM"),
    ] {
        let (got, html) = page(&app, query);
        assert_eq!(got, status, "{query}: {html}");
        assert!(html.contains(r#"role="alert""#), "{query}: {html}");
        assert!(html.contains(text), "{query}: {html}");
        assert!(html.contains(r#"href="/open-data""#), "{query}");
    }

    // The citizen pages link to it.
    let home = get(&app.url("/?lang=fr"), None).text();
    assert!(home.contains(r#"href="/open-data""#), "{home}");
    assert!(home.contains("Données ouvertes"));
}

#[test]
fn without_letters_the_last_closed_month_is_published_empty() {
    let app = TestApp::spawn_with(&[("DIWAN__WORKFLOW__SCHEDULER", "false")]);
    app.clock.set(at("2026-11-03T10:00:00Z"));
    let (status, html) = page(&app, "lang=fr");
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains(r#"<option value="2026-10" selected>octobre 2026</option>"#),
        "{html}"
    );
    assert!(html.contains(r#"id="open-data-empty""#), "{html}");
    assert!(!html.contains("<table id=\"open-data-table\""));
    assert!(html.contains("<code>on_time_share</code>"));
}
