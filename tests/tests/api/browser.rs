//! The browser harness (`diwan_tests::browser`): a real headless Chromium through chromedriver
//! on the served pages, axe-core's detector, a strict Content-Security-Policy, JavaScript off,
//! languages, phone viewport and form controls.

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpListener;

use diwan_tests::browser::AXE_TAGS;
use diwan_tests::{
    Browser, BrowserOptions, Sandbox, letter, pdf, post_json, register, start_server,
};
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_diwan-under-test");

/// `html` as a `data:` URL.
fn data_url(html: &str) -> String {
    let mut out = String::from("data:text/html;charset=utf-8,");
    for b in html.bytes() {
        if b.is_ascii_alphanumeric() || b" -_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn is_png(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\x89PNG\r\n\x1a\n")
}

#[test]
fn the_verify_page_is_right_to_left_on_desktop_and_phone_and_axe_runs_on_it() {
    let sandbox = Sandbox::new();
    let (_server, base) = start_server(BIN, &sandbox, &[]);
    let token = post_json(
        &format!("{base}/api/v1/auth/login"),
        None,
        &json!({"email": "registrar@demo.diwan", "password": diwan_server::demo::DEMO_PASSWORD}),
    )
    .json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = register(
        &base,
        &token,
        &letter("CENTRAL", "طلب — demande"),
        &pdf(4096),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["id"].as_str().unwrap().to_owned();
    let number = r.json()["registration_number"].as_str().unwrap().to_owned();

    let b = Browser::start();
    b.goto(&format!("{base}/verify/{id}?lang=ar"));
    assert_eq!(b.find("html").attr("dir").as_deref(), Some("rtl"));
    assert!(b.try_find("html[dir=rtl][lang=ar]").is_some());
    assert!(b.title().contains("التحقق من وصل"), "{}", b.title());
    let status = b.find("[role=status]");
    assert!(status.is_displayed());
    assert!(status.text().contains("وصل صحيح"), "{}", status.text());
    assert!(b.find(".details").text().contains(&number));
    assert!(b.page_source().contains(&number));
    let h1 = b.find("h1").rect();
    assert!(h1.width > 100.0 && h1.height > 10.0, "{h1:?}");
    let shot = b.save_screenshot("verify-valid-desktop");
    assert!(is_png(&std::fs::read(&shot).unwrap()));
    let found = b.axe();
    println!("axe on /verify/{{id}}: {} violation(s)", found.len());
    for v in &found {
        print!("  {v}");
    }

    // An unknown receipt, on a phone.
    let phone = Browser::start_with(BrowserOptions::mobile());
    phone.goto(&format!("{base}/verify/no-such-receipt?lang=ar"));
    assert_eq!(phone.execute("return window.innerWidth;", &[]), 360);
    let status = phone.find("[role=status]");
    assert!(status.text().contains("لا يوجد وصل"), "{}", status.text());
    assert!(phone.find("main").rect().width <= 360.0);
    assert!(is_png(&phone.screenshot_png()));
    phone.save_screenshot("verify-unknown-phone");
    let found = phone.axe();
    println!(
        "axe on /verify/unknown (phone): {} violation(s)",
        found.len()
    );
    for v in &found {
        print!("  {v}");
    }

    // History.
    phone.goto(&format!("{base}/verify/{id}?lang=fr"));
    assert!(phone.find(".details").text().contains(&number));
    assert!(phone.find("[role=status]").text().contains("valide"));
    phone.back();
    assert!(phone.current_url().contains("/verify/no-such-receipt"));
}

#[test]
fn axe_reports_an_image_without_alt_and_the_serious_violation_assertion_fails_on_it() {
    let b = Browser::start();
    b.goto(&data_url(
        r#"<!doctype html><html lang="fr"><head><title>Mauvaise page</title></head>
        <body><main><h1>Page</h1><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw="></main></body></html>"#,
    ));
    let found = b.axe();
    let alt = found
        .iter()
        .find(|v| v.id == "image-alt")
        .unwrap_or_else(|| panic!("axe missed the image without alt: {found:?}"));
    assert_eq!(alt.impact, "critical");
    assert!(alt.is_serious());
    assert_eq!(alt.nodes.len(), 1, "{alt}");
    assert!(alt.nodes[0].starts_with("img "), "{alt}");
    // A second run on the same page reuses the injected axe-core.
    assert!(b.axe().iter().any(|v| v.id == "image-alt"));

    let failed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        b.assert_no_serious_axe("bad-page");
    }));
    let message = failed.expect_err("the assertion accepted an image without alt");
    let message = message
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(message.contains("image-alt"), "{message}");

    // The same page made right passes.
    b.goto(&data_url(
        r#"<!doctype html><html lang="fr"><head><title>Bonne page</title></head>
        <body><main><h1>Page</h1><img alt="Un point" src="data:image/gif;base64,R0lGODlhAQABAAAAACw="></main></body></html>"#,
    ));
    assert!(b.assert_no_serious_axe("good-page").is_empty());
}

/// A small server: `/` is sent with a strict Content-Security-Policy and shows the request's
/// `Accept-Language`; `/script` (no policy) has an inline script. Returns its address.
fn strict_csp_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        // One thread per connection: the browser opens speculative connections that may
        // never carry a request, and one of those must not hold up the real navigation.
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            std::thread::spawn(move || serve_strict_csp(stream));
        }
    });
    format!("http://{addr}/")
}

fn serve_strict_csp(mut stream: std::net::TcpStream) {
    let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(30)));
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    let _ = reader.read_line(&mut request_line);
    let mut language = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case("accept-language")
        {
            language = v.trim().to_owned();
        }
    }
    let (status, csp, body) = if request_line.starts_with("GET / ") {
        (
            "200 OK",
            "Content-Security-Policy: default-src 'none'; script-src 'self'; \
             style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; \
             frame-ancestors 'none'\r\n",
            format!(
                r#"<!doctype html><html lang="ar" dir="rtl"><head><title>صفحة</title></head>
<body><main><h1>صفحة</h1><p id="lang">{language}</p><p id="inline">لم يعمل</p>
<script>document.getElementById("inline").textContent = "ran";</script>
<img src="/pixel.gif"></main></body></html>"#
            ),
        )
    } else if request_line.starts_with("GET /script ") {
        (
            "200 OK",
            "",
            r#"<!doctype html><html lang="fr"><head><title>Script</title></head>
<body><main><h1>Script</h1><p id="t">sans script</p><noscript><p>pas de JavaScript</p></noscript>
<script>document.getElementById("t").textContent = "avec script";</script></main></body></html>"#
                .to_owned(),
        )
    } else {
        ("404 Not Found", "", String::new())
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\n{csp}\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

#[test]
fn axe_is_injected_under_a_strict_csp_and_the_browser_languages_reach_the_server() {
    let url = strict_csp_server();
    let b = Browser::start_with(BrowserOptions {
        accept_language: Some("fr-FR,fr,ar"),
        ..BrowserOptions::default()
    });
    b.goto(&url);
    // The policy is in force: the page's inline script was blocked…
    assert_eq!(b.find("#inline").text(), "لم يعمل");
    // …yet WebDriver scripts, axe-core's source included, run.
    let found = b.axe();
    assert!(
        found.iter().any(|v| v.id == "image-alt"),
        "axe did not run under the CSP: {found:?}"
    );
    assert_eq!(
        b.execute("return typeof window.axe;", &[]),
        "object",
        "axe-core is in the page"
    );

    let sent = b.find("#lang").text();
    assert!(sent.starts_with("fr-FR"), "Accept-Language: {sent}");
    assert!(sent.contains("ar"), "Accept-Language: {sent}");
    assert_eq!(b.execute("return navigator.language;", &[]), "fr-FR");
}

#[test]
fn javascript_can_be_turned_off_and_form_controls_can_be_driven() {
    let page = data_url(
        r#"<!doctype html><html lang="fr"><head><title>Formulaire</title></head><body><main>
        <p id="t">sans script</p>
        <script>document.getElementById("t").textContent = "avec script";</script>
        <form><label for="n">Nom</label><input id="n" name="n" value="x">
        <label for="r">Bureau</label><select id="r"><option value="a">Un</option><option value="b">Deux</option></select>
        <label for="c">Accord</label><input id="c" type="checkbox">
        <label for="f">Pièces</label><input id="f" type="file" multiple>
        <p id="hidden" style="display:none">caché</p>
        </form></main></body></html>"#,
    );

    let on = Browser::start();
    on.goto(&page);
    assert_eq!(on.find("#t").text(), "avec script");

    let off = Browser::start_with(BrowserOptions {
        javascript: false,
        ..BrowserOptions::mobile()
    });
    off.goto(&page);
    assert_eq!(
        off.find("#t").text(),
        "sans script",
        "the page's script ran"
    );
    assert_eq!(
        off.execute("return document.getElementById('t').textContent;", &[]),
        "sans script"
    );
    assert!(
        off.try_find("#nothing").is_none(),
        "try_find found a missing element"
    );
    // axe-core still runs with the page's scripts off.
    let found = off.axe();
    println!("axe with JavaScript off: {found:?} (tags {AXE_TAGS:?})");

    // Form controls.
    let name = off.find("#n");
    assert_eq!(name.attr("value").as_deref(), Some("x"));
    name.clear();
    name.send_keys("فاطمة Zahra");
    assert_eq!(name.property("value"), "فاطمة Zahra");
    assert_eq!(name.tag_name(), "input");
    assert!(name.is_enabled());

    let select = off.find("#r");
    select.select_by_value("b");
    assert_eq!(select.property("value"), "b");
    select.select_by_text("Un");
    assert_eq!(select.property("value"), "a");

    let check = off.find("#c");
    assert!(!check.is_selected());
    off.find("label[for=c]").click();
    assert!(check.is_selected());

    let dir = std::env::temp_dir().join(format!("diwan-browser-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (a, b) = (dir.join("une.pdf"), dir.join("deux.pdf"));
    std::fs::write(&a, pdf(1024)).unwrap();
    std::fs::write(&b, pdf(2048)).unwrap();
    let files = off.find("#f");
    files.send_keys(&format!("{}\n{}", a.display(), b.display()));
    assert_eq!(
        off.execute(
            "return Array.from(arguments[0].files, (f) => f.name + ':' + f.size);",
            &[files.to_json()]
        ),
        json!(["une.pdf:1024", "deux.pdf:2048"])
    );
    let _ = std::fs::remove_dir_all(&dir);

    assert!(!off.find("#hidden").is_displayed());
    assert_eq!(off.find("#hidden").text(), "");
    assert_eq!(off.find("#hidden").css_value("display"), "none");
    let labels = off.find("form").find_all("label");
    assert_eq!(labels.len(), 4);
    assert_eq!(labels[1].text(), "Bureau");
    let returned = off.execute("return document.querySelector('h1, label');", &[]);
    assert_eq!(off.element_from(&returned).unwrap().text(), "Nom");
    assert_eq!(
        on.execute_async(
            "const done = arguments[arguments.length - 1]; setTimeout(() => done(arguments[0] * 2), 10);",
            &[json!(21)]
        ),
        42
    );

    // Still off after a navigation to another origin (another renderer process), and on in
    // the other browser.
    let other = format!("{}script", strict_csp_server());
    off.goto(&other);
    assert_eq!(off.find("#t").text(), "sans script");
    assert!(off.find("noscript p").is_displayed());
    assert!(off.axe().iter().all(|v| !v.is_serious()));
    assert_eq!(
        off.find("#t").text(),
        "sans script",
        "axe ran the page's script"
    );
    on.goto(&other);
    assert_eq!(on.find("#t").text(), "avec script");
    assert!(on.try_find("noscript p").is_none_or(|p| !p.is_displayed()));
}
