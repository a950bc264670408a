//! The web pages over HTTP, without a browser: CSRF, the e-mail code's rules, tracking,
//! escaping, languages and headers. The browser journeys are in `journeys.rs`.

use std::collections::BTreeMap;
use std::path::Path;

use diwan_tests::{TestApp, get, urlencode};
use serde_json::Value;

/// A browser-like client: keeps cookies, does not follow redirects.
pub struct PageClient {
    base: String,
    cookies: BTreeMap<String, String>,
    pub lang: &'static str,
}

#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
    pub headers: Vec<(String, String)>,
}

impl Page {
    /// The value of the first hidden input named `name`.
    pub fn hidden(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self
            .body
            .find(&marker)
            .unwrap_or_else(|| panic!("no input {name} in {}", self.body))
            + marker.len();
        self.body[start..].split('"').next().unwrap().to_owned()
    }

    /// The text of the element with this id (first text node only).
    pub fn by_id(&self, id: &str) -> Option<String> {
        let marker = format!("id=\"{id}\"");
        let start = self.body.find(&marker)?;
        let rest = &self.body[start..];
        let open_end = rest.find('>')? + 1;
        Some(rest[open_end..].split('<').next()?.to_owned())
    }
}

impl PageClient {
    pub fn new(base: &str, lang: &'static str) -> Self {
        Self {
            base: base.to_owned(),
            cookies: BTreeMap::new(),
            lang,
        }
    }

    fn agent() -> ureq::Agent {
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .build()
            .into()
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn read(&mut self, mut r: ureq::http::Response<ureq::Body>) -> Page {
        let headers: Vec<(String, String)> = r
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
            .collect();
        for (k, v) in &headers {
            if k == "set-cookie" {
                let pair = v.split(';').next().unwrap();
                let (name, value) = pair.split_once('=').unwrap();
                if value.is_empty() {
                    self.cookies.remove(name);
                } else {
                    self.cookies.insert(name.to_owned(), value.to_owned());
                }
            }
        }
        let location = r
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned());
        Page {
            status: r.status().as_u16(),
            location,
            body: r.body_mut().read_to_string().unwrap_or_default(),
            headers,
        }
    }

    fn url(&self, path: &str) -> String {
        let sep = if path.contains('?') { '&' } else { '?' };
        format!("{}{path}{sep}lang={}", self.base, self.lang)
    }

    pub fn get(&mut self, path: &str) -> Page {
        let r = Self::agent()
            .get(&self.url(path))
            .header("Cookie", &self.cookie_header())
            .call()
            .unwrap();
        self.read(r)
    }

    pub fn post_form(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let body = fields
            .iter()
            .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let r = Self::agent()
            .post(&self.url(path))
            .header("Cookie", &self.cookie_header())
            .header("Content-Type", "application/x-www-form-urlencoded")
            .send(body.as_bytes())
            .unwrap();
        self.read(r)
    }

    /// A multipart form: text fields, then files `(name, filename, type, bytes)`.
    pub fn post_multipart(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        files: &[(&str, &str, &str, &[u8])],
    ) -> Page {
        let mut parts: Vec<(&str, Option<&str>, &str, &[u8])> = fields
            .iter()
            .map(|(k, v)| (*k, None, "text/plain; charset=utf-8", v.as_bytes()))
            .collect();
        parts.extend(files.iter().map(|(n, f, t, b)| (*n, Some(*f), *t, *b)));
        let (ct, body) = diwan_tests::multipart(&parts);
        let r = Self::agent()
            .post(&self.url(path))
            .header("Cookie", &self.cookie_header())
            .header("Content-Type", &ct)
            .send(&body[..])
            .unwrap();
        self.read(r)
    }

    /// The CSRF token of a page's forms (fetching the page sets the cookie it is bound to).
    pub fn csrf(&mut self, path: &str) -> String {
        self.get(path).hidden("csrf")
    }
}

/// The six-digit code in the newest e-mail to `to` in a file outbox or maildir folder.
pub fn code_from_mails(dirs: &[&Path], to: &str) -> Option<String> {
    let mut newest: Option<(std::time::SystemTime, Vec<u8>)> = None;
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for e in entries.flatten() {
            let bytes = std::fs::read(e.path()).unwrap();
            let modified = e.metadata().unwrap().modified().unwrap();
            let text = String::from_utf8_lossy(&bytes);
            if !text.contains(to) || !text.contains("<code-") {
                continue;
            }
            if newest.as_ref().is_none_or(|(t, _)| modified >= *t) {
                newest = Some((modified, bytes));
            }
        }
    }
    let (_, bytes) = newest?;
    let message = mail_parser::MessageParser::default().parse(&bytes)?;
    let text = message.body_text(0)?.into_owned();
    text.split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .map(str::to_owned)
}

fn outbox(app: &TestApp) -> std::path::PathBuf {
    app.sandbox.data_dir.join("outbox")
}

/// Asks for a code for `email`; returns the challenge id and the code from the e-mail.
fn code_for(app: &TestApp, c: &mut PageClient, email: &str) -> (String, String) {
    let csrf = c.csrf("/deposit");
    let r = c.post_form("/deposit/code", &[("csrf", &csrf), ("email", email)]);
    assert_eq!(r.status, 303, "{}", r.body);
    let location = r.location.unwrap();
    let challenge = location.split("challenge=").nth(1).unwrap().to_owned();
    let code = code_from_mails(&[&outbox(app)], email).unwrap();
    (challenge, code)
}

fn letter<'a>(
    csrf: &'a str,
    challenge: &'a str,
    code: &'a str,
    name: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("csrf", csrf),
        ("challenge", challenge),
        ("unit", "DP-KENITRA"),
        ("name", name),
        ("subject", "<img src=x onerror=alert(1)> طلب رخصة"),
        ("message", "Bonjour,\nسلام"),
        ("code", code),
    ]
}

/// A well-formed one-page PDF (a clean file is shown inline in the back office).
const PDF: &[u8] = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\nxref\n0 4\n0000000000 65535 f \n0000000009 00000 n \n0000000052 00000 n \n0000000101 00000 n \ntrailer<</Size 4/Root 1 0 R>>\nstartxref\n164\n%%EOF\n";

fn kenitra_register(app: &TestApp) -> Vec<Value> {
    let token = app.login("registrar@demo.diwan");
    let r = get(
        &app.url("/api/v1/correspondences?registry=DP-KENITRA"),
        Some(&token),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["items"].as_array().unwrap().clone()
}

#[test]
fn forms_without_a_valid_csrf_token_are_refused_and_create_nothing() {
    let app = TestApp::spawn();
    let mut c = PageClient::new(&app.base, "fr");
    // No cookie at all, then a cookie with someone else's token.
    let r = c.post_form(
        "/deposit/code",
        &[("csrf", "x"), ("email", "a@example.org")],
    );
    assert_eq!(r.status, 403);
    assert!(r.body.contains("Rechargez la page"), "{}", r.body);
    let mut other = PageClient::new(&app.base, "fr");
    let foreign = other.csrf("/deposit");
    let _ = c.get("/deposit");
    let r = c.post_form(
        "/deposit/code",
        &[("csrf", &foreign), ("email", "a@example.org")],
    );
    assert_eq!(r.status, 403);
    assert!(!outbox(&app).exists() || std::fs::read_dir(outbox(&app)).unwrap().count() == 0);

    // A deposit with a right code but a forged token registers nothing.
    let (challenge, code) = code_for(&app, &mut c, "csrf@example.org");
    let r = c.post_multipart(
        "/deposit",
        &letter("forged", &challenge, &code, "Sara"),
        &[("file", "a.pdf", "application/pdf", PDF)],
    );
    assert_eq!(r.status, 403);
    let r = c.post_form("/track", &[("csrf", ""), ("number", "X"), ("code", "Y")]);
    assert_eq!(r.status, 403);
    let r = c.post_form(
        "/office/login",
        &[("email", "admin@demo.diwan"), ("password", "demo-password")],
    );
    assert_eq!(r.status, 403);
    assert!(!c.cookies.contains_key("diwan_session"));
    assert!(kenitra_register(&app).is_empty());
}

#[test]
fn wrong_expired_and_too_many_codes_are_refused_in_the_page_language_and_register_nothing() {
    let app = TestApp::spawn();
    let mut c = PageClient::new(&app.base, "ar");
    let (challenge, code) = code_for(&app, &mut c, "codes@example.org");
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let csrf = c.csrf("/deposit");
    for attempt in 1..=5 {
        let r = c.post_multipart(
            "/deposit",
            &letter(&csrf, &challenge, wrong, "مريم"),
            &[("file", "a.pdf", "application/pdf", PDF)],
        );
        if attempt < 5 {
            assert_eq!(r.status, 422, "{}", r.body);
            assert!(r.body.contains("هذا الرمز غير صحيح"), "{}", r.body);
            assert!(r.body.contains("aria-invalid=\"true\""));
            assert!(r.body.contains("id=\"code-error\""));
        } else {
            assert_eq!(r.status, 429, "{}", r.body);
            assert!(r.body.contains("محاولات فاشلة كثيرة"), "{}", r.body);
        }
    }
    // Used up: even the right code is refused now.
    let r = c.post_multipart(
        "/deposit",
        &letter(&csrf, &challenge, &code, "مريم"),
        &[("file", "a.pdf", "application/pdf", PDF)],
    );
    assert_eq!(r.status, 429, "{}", r.body);

    // A new code only after the delay.
    c.lang = "fr";
    let csrf = c.csrf("/deposit");
    let r = c.post_form(
        "/deposit/code",
        &[("csrf", &csrf), ("email", "codes@example.org")],
    );
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(r.body.contains("Attendez une minute"), "{}", r.body);
    app.clock.advance(chrono::Duration::seconds(61));
    let (challenge, code) = code_for(&app, &mut c, "codes@example.org");
    // It expires after 15 minutes.
    app.clock.advance(chrono::Duration::minutes(16));
    let r = c.post_multipart(
        "/deposit",
        &letter(&csrf, &challenge, &code, "Sara"),
        &[("file", "a.pdf", "application/pdf", PDF)],
    );
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body.contains("Ce code a expiré"), "{}", r.body);
    assert!(kenitra_register(&app).is_empty());

    // A fresh code works once, and only once.
    app.clock.advance(chrono::Duration::seconds(61));
    let (challenge, code) = code_for(&app, &mut c, "codes@example.org");
    let r = c.post_multipart(
        "/deposit",
        &letter(&csrf, &challenge, &code, "Sara"),
        &[("file", "a.pdf", "application/pdf", PDF)],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let r = c.post_multipart(
        "/deposit",
        &letter(&csrf, &challenge, &code, "Sara"),
        &[("file", "a.pdf", "application/pdf", PDF)],
    );
    assert!(
        r.status == 422 && r.body.contains("déjà servi"),
        "{}",
        r.body
    );
    assert_eq!(kenitra_register(&app).len(), 1);
}

#[test]
fn a_deposit_is_registered_with_its_message_and_markup_stays_text_everywhere() {
    let app = TestApp::spawn();
    let mut c = PageClient::new(&app.base, "fr");
    let name = "\"مريم\" <b>O'Brien</b> <img src=x onerror=alert(1)>";
    let (challenge, code) = code_for(&app, &mut c, "markup@example.org");
    let csrf = c.csrf("/deposit");
    // A file that is not PDF/JPEG/PNG/TIFF by its bytes is refused before the code is spent.
    let r = c.post_multipart(
        "/deposit",
        &letter(&csrf, &challenge, &code, name),
        &[(
            "file",
            "a.pdf",
            "application/pdf",
            b"<html>not a pdf</html>",
        )],
    );
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body.contains("id=\"file-error\""), "{}", r.body);
    let r = c.post_multipart(
        "/deposit",
        &letter(&csrf, &challenge, &code, name),
        &[
            ("file", "lettre.pdf", "application/pdf", PDF),
            (
                "file",
                "scan.png",
                "image/png",
                &[0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0],
            ),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let receipt = c.get(r.location.as_deref().unwrap().trim_start_matches(&app.base));
    assert_eq!(receipt.status, 200);
    {
        let page = &receipt.body;
        assert!(!page.contains("<img src=x"), "{page}");
        assert!(!page.contains("<b>O"), "{page}");
        assert!(
            page.contains("&lt;img src=x onerror=alert(1)&gt;"),
            "{page}"
        );
    }
    assert!(receipt.body.contains("message.txt"));
    assert!(receipt.body.contains("lettre.pdf") && receipt.body.contains("scan.png"));
    assert!(receipt.body.contains("id=\"receipt-qr\""));
    let items = kenitra_register(&app);
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["channel"], "portal");
    assert_eq!(items[0]["sender_name"], name);

    // The typed message (message.txt) is searchable once the text worker has read it.
    let token = app.login("registrar@demo.diwan");
    let started = std::time::Instant::now();
    loop {
        let r = get(
            &app.url("/api/v1/correspondences?registry=DP-KENITRA&q=bonjour"),
            Some(&token),
        );
        assert_eq!(r.status, 200, "{}", r.text());
        if r.json()["items"].as_array().unwrap().len() == 1 {
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "the portal message was not found by search"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }

    // The back office shows the same names as text.
    let mut agent = PageClient::new(&app.base, "ar");
    let csrf = agent.csrf("/office/login");
    let r = agent.post_form(
        "/office/login",
        &[
            ("csrf", &csrf),
            ("email", "registrar@demo.diwan"),
            ("password", "demo-password"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let register = agent.get("/office/register?registry=DP-KENITRA");
    assert_eq!(register.status, 200);
    assert!(register.body.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert!(!register.body.contains("<img src=x"));
    let id = items[0]["id"].as_str().unwrap();
    let page = agent.get(&format!("/office/correspondences/{id}"));
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(!page.body.contains("<img src=x") && !page.body.contains("<b>O"));
    assert!(page.body.contains("class=\"pdf-view\""));
}

#[test]
fn tracking_shows_the_public_history_and_refuses_a_wrong_code() {
    let app = TestApp::spawn();
    let mut c = PageClient::new(&app.base, "en");
    let (challenge, code) = code_for(&app, &mut c, "track@example.org");
    let csrf = c.csrf("/deposit");
    let r = c.post_multipart(
        "/deposit",
        &letter(&csrf, &challenge, &code, "Sara"),
        &[("file", "a.pdf", "application/pdf", PDF)],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let receipt = c.get(r.location.as_deref().unwrap());
    let number = receipt.by_id("receipt-number").unwrap();
    let tracking = receipt.by_id("tracking-code").unwrap();
    let csrf = c.csrf("/track");
    let r = c.post_form(
        "/track",
        &[("csrf", &csrf), ("number", &number), ("code", &tracking)],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("id=\"status-history\""));
    assert!(r.body.contains("Registered"));
    // No agent names or e-mails in the public history.
    assert!(!r.body.contains("@demo.diwan") && !r.body.contains("Portail"));
    let r = c.post_form(
        "/track",
        &[
            ("csrf", &csrf),
            ("number", &number),
            ("code", "AAAAAAAAAAAA"),
        ],
    );
    assert_eq!(r.status, 404);
    assert!(
        r.body
            .contains("No letter has this number with this tracking code")
    );
    c.lang = "ar";
    let r = c.post_form(
        "/track",
        &[
            ("csrf", &csrf),
            ("number", &number),
            ("code", "AAAAAAAAAAAA"),
        ],
    );
    assert!(r.body.contains("لا توجد مراسلة بهذا الرقم"), "{}", r.body);
}

#[test]
fn pages_choose_their_language_and_send_security_headers() {
    let app = TestApp::spawn();
    let r = diwan_tests::get(&app.url("/"), None);
    let html = r.text();
    assert!(html.contains("<html lang=\"ar\" dir=\"rtl\">"), "{html}");
    let csp = r.header("content-security-policy").unwrap();
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"));
    assert!(!csp.contains("unsafe-inline"));
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    let cookie = r.header("set-cookie").unwrap();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    assert!(!html.contains("<script>") && !html.contains("style=\""));

    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let fr = agent
        .get(&app.url("/track"))
        .header("Accept-Language", "fr-MA,fr;q=0.9,ar;q=0.5")
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    assert!(fr.contains("<html lang=\"fr\" dir=\"ltr\">"));
    let mut c = PageClient::new(&app.base, "en");
    let page = c.get("/verify");
    assert!(page.body.contains("<html lang=\"en\" dir=\"ltr\">"));
    assert!(
        page.headers
            .iter()
            .any(|(k, v)| k == "set-cookie" && v.starts_with("diwan_lang=en;")),
        "{:?}",
        page.headers
    );
    // Every page links the three languages.
    for lang in ["ar", "fr", "en"] {
        assert!(page.body.contains(&format!("hreflang=\"{lang}\"")) || lang == "en");
    }
    // The office is behind a login.
    let r = c.get("/office/register");
    assert_eq!(r.status, 303);
    assert_eq!(r.location.as_deref(), Some("/office/login"));
}

#[test]
fn public_forms_are_rate_limited() {
    let app = TestApp::spawn();
    let mut c = PageClient::new(&app.base, "en");
    let csrf = c.csrf("/track");
    let mut statuses = Vec::new();
    for i in 0..25 {
        let r = c.post_form(
            "/track",
            &[("csrf", &csrf), ("number", &format!("N{i}")), ("code", "C")],
        );
        statuses.push(r.status);
    }
    assert!(statuses[..20].iter().all(|s| *s == 404), "{statuses:?}");
    assert_eq!(statuses[20..], [429; 5], "{statuses:?}");
}

#[test]
fn a_depositor_may_say_where_they_live_and_only_a_known_territory_is_taken() {
    let app = TestApp::spawn();
    let mut c = PageClient::new(&app.base, "fr");
    let (challenge, code) = code_for(&app, &mut c, "territoire@example.org");
    let form = c.get(&format!("/deposit/letter?challenge={challenge}"));
    assert!(form.body.contains("name=\"territory\""), "{}", form.body);
    assert!(form.body.contains("value=\"MA-04-KEN\""), "{}", form.body);
    let csrf = c.csrf(&format!("/deposit/letter?challenge={challenge}"));
    let mut fields = letter(&csrf, &challenge, &code, "Salma");
    fields.push(("territory", "XX-<script>"));
    let r = c.post_multipart(
        "/deposit",
        &fields,
        &[("file", "a.pdf", "application/pdf", PDF)],
    );
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body.contains("id=\"territory-error\""), "{}", r.body);
    assert!(!r.body.contains("XX-<script>"));
    assert!(kenitra_register(&app).is_empty());
    fields.pop();
    fields.push(("territory", "MA-04-KEN"));
    let r = c.post_multipart(
        "/deposit",
        &fields,
        &[("file", "a.pdf", "application/pdf", PDF)],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let items = kenitra_register(&app);
    assert_eq!(items.len(), 1);
    let token = app.login("registrar@demo.diwan");
    let letter = get(
        &app.url(&format!(
            "/api/v1/correspondences/{}",
            items[0]["id"].as_str().unwrap()
        )),
        Some(&token),
    )
    .json();
    assert_eq!(letter["sender"]["territory"], "MA-04-KEN", "{letter:#}");
}
