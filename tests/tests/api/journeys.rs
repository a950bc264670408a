//! The pages in a real browser (headless Chromium through chromedriver): a citizen's deposit in
//! Arabic with the code read from the e-mail a real SMTP peer received, the receipt, its PDF
//! and QR verification page, tracking; a registrar's counter registration and register search;
//! the deposit with JavaScript off. axe-core checks accessibility on each page kind in Arabic
//! and French; screenshots go to the test artifacts.

use std::path::{Path, PathBuf};
use std::time::Duration;

use diwan_tests::browser::{Browser, BrowserOptions};
use diwan_tests::smtp::{Smtp, smtp_server, wait_for_message};
use diwan_tests::{Sandbox, ServerProcess, start_server};

use super::pages::code_from_mails;

const NAME: &str = "\"مريم\" <b>بنت أحمد</b> <img src=x onerror=alert(1)>";
const SUBJECT: &str = "طلب رخصة <img src=x onerror=alert(1)>";

struct Site {
    base: String,
    smtp: Smtp,
    _server: ServerProcess,
    sandbox: Sandbox,
}

fn site() -> Site {
    let sandbox = Sandbox::new();
    let smtp = smtp_server(&sandbox.data_dir);
    let url = format!("smtp://127.0.0.1:{}", smtp.port);
    let (server, base) = start_server(
        env!("CARGO_BIN_EXE_diwan-under-test"),
        &sandbox,
        &[
            ("DIWAN__MAIL__TRANSPORT", "smtp"),
            ("DIWAN__MAIL__SMTP_URL", &url),
        ],
    );
    Site {
        base,
        smtp,
        _server: server,
        sandbox,
    }
}

/// Writes the attachments the browser uploads.
fn fixtures(dir: &Path) -> (PathBuf, PathBuf) {
    let pdf = dir.join("طلب.pdf");
    std::fs::write(&pdf, diwan_tests::docs::text_pdf(12, "Demande")).unwrap();
    let png = dir.join("scan.png");
    let mut bytes = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];
    bytes.extend_from_slice(&[0u8; 2048]);
    std::fs::write(&png, bytes).unwrap();
    (pdf, png)
}

/// The code e-mailed to `to`, as the SMTP peer received it.
fn mailed_code(site: &Site, to: &str) -> String {
    let mail = wait_for_message(&site.smtp.maildir, to, Duration::from_secs(20));
    assert!(
        mail.is_some(),
        "the code e-mail did not reach the SMTP server"
    );
    let code = code_from_mails(&[&site.smtp.maildir.join("new")], to);
    assert!(code.is_some(), "no six-digit code in the e-mail");
    code.unwrap()
}

fn dir_of(b: &Browser) -> String {
    b.find("html").attr("dir").unwrap_or_default()
}

/// Arabic mirrors the header: the brand is on the right and the language switcher on the left;
/// French the other way round.
fn assert_mirrored(b: &Browser, rtl: bool) {
    let brand = b.find(".brand").rect();
    let switch = b.find("#lang-switch").rect();
    if rtl {
        assert!(brand.x > switch.x, "rtl: brand {brand:?} switch {switch:?}");
    } else {
        assert!(brand.x < switch.x, "ltr: brand {brand:?} switch {switch:?}");
    }
}

/// Fills the letter form (the browser is on /deposit/letter).
fn fill_letter(b: &Browser, files: &[&Path], code: &str) {
    b.find("#unit").select_by_value("DP-KENITRA");
    b.find("#name").send_keys(NAME);
    b.find("#phone").send_keys("+212 6 12 34 56 78");
    b.find("#subject").send_keys(SUBJECT);
    b.find("#message").send_keys("السلام عليكم، أرفق طلبي.");
    let paths: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
    b.find("#file").send_keys(&paths.join("\n"));
    b.find("#code").send_keys(code);
}

#[test]
fn a_citizen_deposits_in_arabic_gets_the_receipt_verifies_it_and_tracks_the_letter() {
    let site = site();
    let (pdf, png) = fixtures(&site.sandbox.data_dir);
    let b = Browser::start_with(BrowserOptions {
        accept_language: Some("ar"),
        ..BrowserOptions::mobile()
    });

    b.goto(&format!("{}/deposit", site.base));
    assert_eq!(dir_of(&b), "rtl");
    assert_eq!(b.find("html").attr("lang").as_deref(), Some("ar"));
    assert_mirrored(&b, true);
    b.assert_no_serious_axe("deposit (ar)");
    b.save_screenshot("ar-deposit");
    b.find("#email").send_keys("maryam@example.org");
    b.find("#send-code").click();
    b.wait_until("the letter form", Duration::from_secs(10), |b| {
        b.try_find("#deposit-form").is_some()
    });
    let code = mailed_code(&site, "maryam@example.org");

    // The service list filters as one types (any language), and chosen files show their sizes.
    b.find("#q").send_keys("بالقنيطرة");
    let visible = b.execute(
        "return Array.from(document.querySelectorAll('#unit option[data-search]')).filter(o => !o.hidden).map(o => o.value)",
        &[],
    );
    assert_eq!(visible, serde_json::json!(["DP-KENITRA"]), "{visible}");
    fill_letter(&b, &[&pdf, &png], &code);
    let chosen = b.find_all("#file-chosen li");
    assert_eq!(chosen.len(), 2);
    assert!(chosen[0].text().contains("طلب.pdf") && chosen[0].text().contains("KiB"));
    b.assert_no_serious_axe("deposit letter form (ar)");
    b.save_screenshot("ar-deposit-letter");
    b.find("#submit-deposit").click();
    b.wait_until("the receipt page", Duration::from_secs(15), |b| {
        b.try_find("#receipt-number").is_some()
    });
    assert!(b.alert_text().is_none(), "markup ran as script");

    // The receipt: number, depositor and subject as text, three files with digests, QR code.
    let number = b.find("#receipt-number").text();
    assert!(number.starts_with("DP-KENITRA/"), "{number}");
    assert_eq!(b.find("#depositor").text(), NAME);
    assert_eq!(b.find("#subject").text(), SUBJECT);
    assert_eq!(b.find_all("#files tbody tr").len(), 3);
    assert!(b.find("#deadline").text().contains('-'));
    assert!(!b.find("#silence").text().is_empty());
    assert!(b.try_find("#receipt-qr").is_some());
    let tracking = b.find("#tracking-code").text();
    b.assert_no_serious_axe("receipt (ar)");
    b.save_screenshot("ar-receipt");

    // The sealed PDF behind the download link.
    let pdf_href = b.find("#receipt-pdf").property("href");
    let r = diwan_tests::get(pdf_href.as_str().unwrap(), None);
    assert_eq!(r.status, 200);
    assert_eq!(r.content_type, "application/pdf");
    assert!(r.body.starts_with(b"%PDF-"));

    // The QR code's target says the receipt is valid.
    let verify = b.find("#verify-link").attr("href").unwrap();
    assert!(verify.starts_with(&site.base), "{verify}");
    b.goto(&verify);
    assert_eq!(
        b.find("#verify-result").attr("data-valid").as_deref(),
        Some("true")
    );
    assert!(
        !b.page_source().contains("مريم"),
        "no personal data on the public page"
    );
    b.assert_no_serious_axe("verification (ar)");
    b.save_screenshot("ar-verify");

    // Tracking: a wrong code is refused in Arabic, the right one shows the history.
    b.goto(&format!("{}/track", site.base));
    b.find("#number").send_keys(&number);
    b.find("#code").send_keys("AAAAAAAAAAAA");
    b.find("#track-submit").click();
    b.wait_until("the error", Duration::from_secs(10), |b| {
        b.try_find("#code-error").is_some()
    });
    assert!(b.find("#code-error").text().contains("لا توجد مراسلة"));
    b.find("#code").send_keys(&tracking);
    b.find("#track-submit").click();
    b.wait_until("the history", Duration::from_secs(10), |b| {
        b.try_find("#status-history").is_some()
    });
    assert!(!b.find_all("#status-history li").is_empty());
    b.assert_no_serious_axe("tracking (ar)");
    b.save_screenshot("ar-track");
}

#[test]
fn a_registrar_registers_at_the_counter_and_finds_the_letter_in_the_register() {
    let site = site();
    let (pdf, _) = fixtures(&site.sandbox.data_dir);
    let b = Browser::start_with(BrowserOptions {
        accept_language: Some("fr"),
        ..BrowserOptions::default()
    });
    b.goto(&format!("{}/office", site.base));
    assert!(b.current_url().ends_with("/office/login"));
    assert_eq!(dir_of(&b), "ltr");
    assert_mirrored(&b, false);
    b.find("#email").send_keys("registrar@demo.diwan");
    b.find("#password").send_keys("demo-password");
    b.find("#login-submit").click();
    b.wait_until("the register", Duration::from_secs(10), |b| {
        b.current_url().contains("/office/register")
    });

    b.goto(&format!("{}/office/counter", site.base));
    b.find("#registry").select_by_value("DP-KENITRA");
    b.find("#unit").select_by_value("DP-KENITRA");
    b.find("#sender_name")
        .send_keys("Fatima Zahra El Idrissi <script>");
    b.find("#sender_national_id").send_keys("AB123456");
    b.find("#subject")
        .send_keys("Demande d'attestation de revenus 2026");
    b.find("#file").send_keys(&pdf.display().to_string());
    b.save_screenshot("fr-counter");
    b.assert_no_serious_axe("counter registration (fr)");
    b.find("#counter-submit").click();
    b.wait_until("the correspondence page", Duration::from_secs(15), |b| {
        b.try_find("#correspondence-number").is_some()
    });
    let number = b.find("#correspondence-number").text();
    assert!(number.starts_with("DP-KENITRA/"), "{number}");
    assert!(b.try_find("#receipt-pdf").is_some(), "the receipt to print");
    assert!(b.try_find(".pdf-view").is_some(), "the scan shown inline");
    b.assert_no_serious_axe("correspondence (fr)");
    b.save_screenshot("fr-correspondence");

    // The register finds it by a word of its subject.
    b.goto(&format!(
        "{}/office/register?registry=DP-KENITRA&q=attestation",
        site.base
    ));
    let rows = b.find_all("#register-table tbody tr");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].find("a.number").text(), number);
    b.assert_no_serious_axe("register (fr)");
    b.save_screenshot("fr-register");

    // The same pages in Arabic.
    b.goto(&format!(
        "{}/office/register?registry=DP-KENITRA&q=attestation&lang=ar",
        site.base
    ));
    assert_eq!(dir_of(&b), "rtl");
    assert_mirrored(&b, true);
    b.assert_no_serious_axe("register (ar)");
    b.save_screenshot("ar-register");
    b.find("#register-table a.number").click();
    b.wait_until("the correspondence page", Duration::from_secs(10), |b| {
        b.try_find("#correspondence-number").is_some()
    });
    b.assert_no_serious_axe("correspondence (ar)");
    b.save_screenshot("ar-correspondence");
    b.goto(&format!("{}/office/inbox", site.base));
    b.assert_no_serious_axe("inbox (ar)");
    b.goto(&format!("{}/office/admin", site.base));
    assert!(b.try_find("#org-tree").is_some());
    b.assert_no_serious_axe("administration (ar)");
}

#[test]
fn the_deposit_works_with_javascript_off_in_french() {
    let site = site();
    let (pdf, png) = fixtures(&site.sandbox.data_dir);
    let b = Browser::start_with(BrowserOptions {
        accept_language: Some("fr"),
        javascript: false,
        ..BrowserOptions::mobile()
    });
    b.goto(&format!("{}/deposit", site.base));
    assert_eq!(b.find("html").attr("lang").as_deref(), Some("fr"));
    b.assert_no_serious_axe("deposit (fr)");
    b.save_screenshot("fr-deposit");
    b.find("#email").send_keys("sara@example.org");
    b.find("#send-code").click();
    b.wait_until("the letter form", Duration::from_secs(10), |b| {
        b.try_find("#deposit-form").is_some()
    });
    let code = mailed_code(&site, "sara@example.org");
    // Without scripts, the service search is a form that reloads the page.
    b.find("#q").send_keys("Délégation provinciale de Kénitra");
    b.find("#service-search button").click();
    b.wait_until("the filtered list", Duration::from_secs(10), |b| {
        b.find_all("#unit option[data-search]").len() == 1
    });
    fill_letter(&b, &[&pdf, &png], &code);
    assert!(b.find_all("#file-chosen li").is_empty(), "scripts are off");
    b.assert_no_serious_axe("deposit letter form (fr)");
    b.find("#submit-deposit").click();
    b.wait_until("the receipt page", Duration::from_secs(15), |b| {
        b.try_find("#receipt-number").is_some()
    });
    assert_eq!(b.find("#depositor").text(), NAME);
    b.assert_no_serious_axe("receipt (fr)");
    b.save_screenshot("fr-receipt");
    let number = b.find("#receipt-number").text();
    let tracking = b.find("#tracking-code").text();
    b.goto(&format!("{}/track", site.base));
    b.find("#number").send_keys(&number);
    b.find("#code").send_keys(&tracking);
    b.find("#track-submit").click();
    b.wait_until("the history", Duration::from_secs(10), |b| {
        b.try_find("#status-history").is_some()
    });
    b.assert_no_serious_axe("tracking (fr)");
    b.save_screenshot("fr-track");
    b.goto(&format!("{}/verify", site.base));
    b.assert_no_serious_axe("verification upload (fr)");
}

/// Logs in on the back office page as `email`, after clearing any earlier session.
fn office_login(b: &Browser, base: &str, email: &str) {
    b.delete_all_cookies();
    b.goto(&format!("{base}/office/login"));
    b.find("#email").send_keys(email);
    b.find("#password").send_keys("demo-password");
    b.find("#login-submit").click();
    b.wait_until("logged in", Duration::from_secs(10), |b| {
        !b.current_url().ends_with("/office/login")
    });
}

/// Opens a move's form on the correspondence page, fills it and submits it.
fn do_move(b: &Browser, name: &str, fill: impl FnOnce(&Browser)) {
    b.find(&format!("#move-{name} summary")).click();
    fill(b);
    b.find(&format!("#move-{name}-submit")).click();
    b.wait_until("the move done", Duration::from_secs(10), |b| {
        b.current_url().contains(&format!("moved={name}"))
    });
}

#[test]
fn the_registry_assigns_the_delegation_forwards_and_the_reply_reaches_the_depositor() {
    let site = site();
    let token = {
        let r = diwan_tests::post_json(
            &format!("{}/api/v1/auth/login", site.base),
            None,
            &serde_json::json!({"email": "registrar@demo.diwan", "password": "demo-password"}),
        );
        r.json()["token"].as_str().unwrap().to_owned()
    };
    let r = diwan_tests::register(
        &site.base,
        &token,
        &diwan_tests::letter("DP-KENITRA", SUBJECT),
        &diwan_tests::pdf(3000),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["id"].as_str().unwrap().to_owned();
    let number = r.json()["registration_number"].as_str().unwrap().to_owned();
    let code = r.json()["receipt"]["tracking_code"]
        .as_str()
        .unwrap()
        .to_owned();
    let (reply_pdf, _) = fixtures(&site.sandbox.data_dir);
    let page = format!("{}/office/correspondences/{id}", site.base);
    let status = |b: &Browser| {
        b.find("#correspondence-status")
            .attr("data-status")
            .unwrap_or_default()
    };

    // The registrar assigns it to the delegation, the regional directorate kept informed.
    let b = Browser::start_with(BrowserOptions {
        accept_language: Some("ar"),
        ..BrowserOptions::default()
    });
    office_login(&b, &site.base, "registrar@demo.diwan");
    b.goto(&page);
    assert_eq!(status(&b), "registered");
    assert!(
        b.try_find("#move-forward").is_none(),
        "nothing to forward yet"
    );
    do_move(&b, "assign", |b| {
        b.find("#assign-unit").select_by_value("DP-KENITRA");
        b.find("#assign-information").select_by_value("DR-RSK");
        b.find("#assign-instructions")
            .send_keys("للإجابة <b>بسرعة</b>");
    });
    assert_eq!(status(&b), "assigned");
    assert_eq!(b.find_all("#assignments li.open").len(), 2);
    assert!(b.page_source().contains("للإجابة &lt;b&gt;بسرعة&lt;/b&gt;"));
    assert!(b.try_find("#move-assign").is_none(), "assigned once");
    b.assert_no_serious_axe("correspondence, assigned (ar)");
    b.save_screenshot("ar-assigned");

    // The delegation's handler finds it in the inbox by due date and forwards it up.
    office_login(&b, &site.base, "handler@demo.diwan");
    b.goto(&format!("{}/office/inbox?lang=fr", site.base));
    let rows = b.find_all("#inbox-assigned tbody tr");
    assert_eq!(rows.len(), 1);
    b.assert_no_serious_axe("inbox by due date (fr)");
    b.save_screenshot("fr-inbox-assigned");
    rows[0].find("a.number").click();
    b.wait_until("the correspondence page", Duration::from_secs(10), |b| {
        b.try_find("#correspondence-status").is_some()
    });
    assert!(
        b.try_find("#move-reassign").is_none(),
        "a handler does not hand down"
    );
    do_move(&b, "forward", |b| {
        b.find("#forward-unit").select_by_value("DR-RSK");
        b.find("#forward-comment")
            .send_keys("Relève de la direction régionale");
    });
    assert_eq!(status(&b), "assigned");
    assert!(b.find("#correspondence-in-charge").text().contains("Rabat"));
    assert!(b.try_find("#move-start").is_none(), "no longer theirs");
    b.assert_no_serious_axe("correspondence, forwarded (fr)");

    // The head of the directorate takes it up, in English.
    office_login(&b, &site.base, "head@demo.diwan");
    b.goto(&format!("{page}?lang=en"));
    assert!(b.try_find("#reply").is_none(), "a head is not a registrar");
    do_move(&b, "start", |_| {});
    assert_eq!(status(&b), "in_progress");

    // The registry registers the reply, addressed to the depositor, from the letter's page.
    office_login(&b, &site.base, "registrar@demo.diwan");
    b.goto(&format!("{page}?lang=ar"));
    b.find("#reply summary").click();
    b.find("#reply-registry").select_by_value("DR-RSK");
    b.find("#file").send_keys(&reply_pdf.display().to_string());
    b.assert_no_serious_axe("reply form (ar)");
    b.find("#reply-submit").click();
    b.wait_until("the reply registered", Duration::from_secs(15), |b| {
        b.current_url().contains("moved=answer")
    });
    assert_eq!(status(&b), "answered");
    assert!(b.try_find("#reply").is_none(), "answered once");

    // The depositor's tracking shows the answer and offers the reply.
    b.delete_all_cookies();
    b.goto(&format!("{}/track?lang=fr", site.base));
    b.find("#number").send_keys(&number);
    b.find("#code").send_keys(&code);
    b.find("#track-submit").click();
    b.wait_until("the tracking result", Duration::from_secs(10), |b| {
        b.try_find("#track-status").is_some()
    });
    assert_eq!(
        b.find("#track-status").attr("data-status").as_deref(),
        Some("answered")
    );
    assert_eq!(b.find_all("#track-reply-files li").len(), 1);
    b.assert_no_serious_axe("tracking, answered (fr)");
    b.save_screenshot("fr-track-answered");

    // The head closes it.
    office_login(&b, &site.base, "head@demo.diwan");
    b.goto(&format!("{page}?lang=en"));
    do_move(&b, "close", |b| {
        b.find("#close-comment").send_keys("Handled.");
    });
    assert_eq!(status(&b), "closed");
    let history: Vec<String> = b
        .find_all("#history li strong")
        .iter()
        .map(|e| e.text())
        .collect();
    assert_eq!(history.len(), 6, "{history:?}");
    assert_eq!(history[4], "Answer sent");
    assert_eq!(history[2], "Forwarded to another service");
    b.assert_no_serious_axe("correspondence, closed (en)");
    b.save_screenshot("en-closed");
}

#[test]
fn a_citizen_deposit_is_routed_forwarded_answered_and_the_depositor_told() {
    let site = site();
    let (pdf, _) = fixtures(&site.sandbox.data_dir);
    let b = Browser::start_with(BrowserOptions {
        accept_language: Some("fr"),
        ..BrowserOptions::default()
    });

    // The administrator adds a rule to the regional registry: permits go to Kénitra.
    office_login(&b, &site.base, "admin@demo.diwan");
    b.goto(&format!("{}/office/admin", site.base));
    b.find("#rules-registries a[href='/office/registries/DR-RSK/rules']")
        .click();
    b.wait_until("the rules page", Duration::from_secs(10), |b| {
        b.try_find("#rule-form").is_some()
    });
    assert!(b.try_find("#rules-empty").is_some());
    b.find("#rule-name").send_keys("Permis <b>→ Kénitra</b>");
    b.find("#rule-keywords").send_keys("permis, رخصة");
    b.find("#rule-target").select_by_value("DP-KENITRA");
    b.find("#rule-submit").click();
    b.wait_until("the rule saved", Duration::from_secs(10), |b| {
        b.current_url().contains("saved=1")
    });
    assert_eq!(b.find_all("#rules-table tbody tr").len(), 1);
    assert!(
        b.page_source()
            .contains("Permis &lt;b&gt;→ Kénitra&lt;/b&gt;")
    );
    b.assert_no_serious_axe("routing rules (fr)");
    b.save_screenshot("fr-routing-rules");

    // A citizen deposits a letter to the regional directorate.
    b.delete_all_cookies();
    b.goto(&format!("{}/deposit", site.base));
    b.find("#email").send_keys("karim@example.org");
    b.find("#send-code").click();
    b.wait_until("the letter form", Duration::from_secs(10), |b| {
        b.try_find("#deposit-form").is_some()
    });
    let code = mailed_code(&site, "karim@example.org");
    b.find("#unit").select_by_value("DR-RSK");
    b.find("#name").send_keys("Karim Alaoui");
    b.find("#phone").send_keys("+212 6 11 22 33 44");
    b.find("#subject")
        .send_keys("Demande de permis de construire");
    b.find("#message").send_keys("Veuillez trouver ma demande.");
    b.find("#file").send_keys(&pdf.display().to_string());
    b.find("#code").send_keys(&code);
    b.find("#submit-deposit").click();
    b.wait_until("the receipt page", Duration::from_secs(15), |b| {
        b.try_find("#receipt-number").is_some()
    });
    let number = b.find("#receipt-number").text();
    assert!(number.starts_with("DR-RSK/"), "{number}");
    let tracking = b.find("#tracking-code").text();

    // The rule sent it to the delegation, whose handler forwards it to the directorate.
    office_login(&b, &site.base, "handler@demo.diwan");
    b.goto(&format!("{}/office/inbox", site.base));
    let rows = b.find_all("#inbox-assigned tbody tr");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].find("a.number").text(), number);
    rows[0].find("a.number").click();
    b.wait_until("the letter", Duration::from_secs(10), |b| {
        b.try_find("#correspondence-status").is_some()
    });
    assert!(
        b.find("#history").text().contains("par la règle"),
        "{}",
        b.find("#history").text()
    );
    do_move(&b, "forward", |b| {
        b.find("#forward-unit").select_by_value("DR-RSK");
    });
    let page = b.current_url();
    let page = page.split('?').next().unwrap().to_owned();

    // The directorate takes it up; the registry registers the reply.
    office_login(&b, &site.base, "head@demo.diwan");
    b.goto(&page);
    do_move(&b, "start", |_| {});
    office_login(&b, &site.base, "registrar@demo.diwan");
    b.goto(&page);
    b.find("#reply summary").click();
    b.find("#reply-registry").select_by_value("DR-RSK");
    b.find("#file").send_keys(&pdf.display().to_string());
    b.find("#reply-submit").click();
    b.wait_until("the reply registered", Duration::from_secs(15), |b| {
        b.current_url().contains("moved=answer")
    });

    // Tracking says answered; the depositor was told by e-mail.
    b.delete_all_cookies();
    b.goto(&format!("{}/track", site.base));
    b.find("#number").send_keys(&number);
    b.find("#code").send_keys(&tracking);
    b.find("#track-submit").click();
    b.wait_until("the tracking result", Duration::from_secs(10), |b| {
        b.try_find("#track-status").is_some()
    });
    assert_eq!(
        b.find("#track-status").attr("data-status").as_deref(),
        Some("answered")
    );
    let told = wait_for_message(&site.smtp.maildir, "<answered-", Duration::from_secs(20));
    let told = told.expect("no e-mail telling the depositor");
    assert!(String::from_utf8_lossy(&told).contains("karim@example.org"));
}

#[test]
fn a_document_is_submitted_approved_and_signed_in_the_parapheur_pages() {
    let site = site();
    let api = |email: &str| {
        let r = diwan_tests::post_json(
            &format!("{}/api/v1/auth/login", site.base),
            None,
            &serde_json::json!({"email": email, "password": "demo-password"}),
        );
        r.json()["token"].as_str().unwrap().to_owned()
    };
    // The administration's circuit for decisions: the registrar's visa, then the head signs.
    let r = diwan_tests::send(
        "PUT",
        &format!("{}/api/v1/parapheur/templates/MIN-DEMO/decision", site.base),
        Some(&api("admin@demo.diwan")),
        "application/json",
        serde_json::json!({"name": "Décision <régionale>", "stages": [
            [{"kind": "visa", "agent": "registrar@demo.diwan"}],
            [{"kind": "signature", "agent": "head@demo.diwan"}]
        ]})
        .to_string()
        .as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let (draft, _) = fixtures(&site.sandbox.data_dir);

    // The head gets a signing key in the office, in Arabic.
    let b = Browser::start_with(BrowserOptions {
        accept_language: Some("ar"),
        ..BrowserOptions::default()
    });
    office_login(&b, &site.base, "head@demo.diwan");
    b.goto(&format!("{}/office/signer", site.base));
    b.find("#name_latin").send_keys("Fatima Zahra Bennani");
    b.find("#name_ar").send_keys("فاطمة الزهراء بناني");
    b.find("#function").send_keys("مديرة جهوية");
    b.find("#pin").send_keys("12");
    b.assert_no_serious_axe("signer enrolment (ar)");
    b.find("#signer-form button[type=submit]").click();
    b.wait_until("a weak PIN refused", Duration::from_secs(10), |b| {
        b.try_find("#pin-error").is_some()
    });
    b.find("#name_latin").send_keys("Fatima Zahra Bennani");
    b.find("#pin").send_keys("583920");
    b.find("#signer-form button[type=submit]").click();
    b.wait_until("enrolled", Duration::from_secs(15), |b| {
        b.current_url().ends_with("/office/parapheur")
    });
    assert!(b.find("main").text().contains("Fatima Zahra Bennani"));

    // The delegation's handler submits the draft to the circuit, in French.
    office_login(&b, &site.base, "handler@demo.diwan");
    b.goto(&format!("{}/office/parapheur?lang=fr", site.base));
    b.find("#title").send_keys("Décision <b>n° 7</b>");
    b.find("#document_type").select_by_value("decision");
    b.find("#file").send_keys(&draft.display().to_string());
    b.assert_no_serious_axe("parapheur home (fr)");
    b.find("#parapheur-submit button[type=submit]").click();
    b.wait_until("the document page", Duration::from_secs(15), |b| {
        b.try_find("#parapheur-status").is_some()
    });
    let page = b.current_url();
    assert!(b.page_source().contains("Décision &lt;b&gt;n° 7&lt;/b&gt;"));
    assert!(
        b.try_find("#parapheur-actions").is_none(),
        "not the submitter's step"
    );

    // The registrar finds it in the queue and approves it.
    office_login(&b, &site.base, "registrar@demo.diwan");
    b.goto(&format!("{}/office/parapheur?lang=ar", site.base));
    let rows = b.find_all("#parapheur-queue tbody tr");
    assert_eq!(rows.len(), 1);
    b.assert_no_serious_axe("parapheur queue (ar)");
    rows[0].find("a").click();
    b.wait_until("the document page", Duration::from_secs(10), |b| {
        b.try_find("#form-approve").is_some()
    });
    assert!(b.try_find("#form-sign").is_none(), "a visa step");
    b.assert_no_serious_axe("parapheur document, visa (ar)");
    b.find("#form-approve textarea").send_keys("مطابق");
    b.find("#form-approve button").click();
    b.wait_until("approved", Duration::from_secs(10), |b| {
        b.current_url().contains("done=1")
    });

    // The head signs it with the PIN.
    office_login(&b, &site.base, "head@demo.diwan");
    b.goto(&format!("{}?lang=fr", page.split('?').next().unwrap()));
    b.find("#pin").send_keys("000000");
    b.find("#form-sign button").click();
    b.wait_until("a wrong PIN refused", Duration::from_secs(15), |b| {
        b.page_source()
            .contains("Ce code PIN n'ouvre pas votre clé de signature")
    });
    b.goto(&format!("{}?lang=fr", page.split('?').next().unwrap()));
    b.find("#pin").send_keys("583920");
    b.assert_no_serious_axe("parapheur document, signature (fr)");
    b.find("#form-sign button").click();
    b.wait_until("signed", Duration::from_secs(20), |b| {
        b.current_url().contains("done=1")
    });
    assert_eq!(
        b.find("#parapheur-status").attr("data-status").as_deref(),
        Some("completed")
    );
    assert_eq!(b.find_all("#parapheur-history li").len(), 3);
    b.assert_no_serious_axe("parapheur document, completed (fr)");
    b.save_screenshot("fr-parapheur-completed");

    // Two notes wait for the head's signature alone: ticked in the queue, one PIN entry.
    let r = diwan_tests::send(
        "PUT",
        &format!("{}/api/v1/parapheur/templates/MIN-DEMO/note", site.base),
        Some(&api("admin@demo.diwan")),
        "application/json",
        serde_json::json!({"name": "Note", "stages": [[{"kind": "signature", "agent": "head@demo.diwan"}]]})
            .to_string()
            .as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let handler = api("handler@demo.diwan");
    let mut notes = Vec::new();
    for n in 1..=2 {
        let r = diwan_tests::post_json(
            &format!("{}/api/v1/parapheur/documents", site.base),
            Some(&handler),
            &serde_json::json!({"title": format!("مذكرة {n} <i>"), "document_type": "note",
                "document": base64::Engine::encode(&base64::engine::general_purpose::STANDARD,
                    diwan_tests::docs::text_pdf(1, "Note"))}),
        );
        assert_eq!(r.status, 201, "{}", r.text());
        notes.push(r.json()["id"].as_str().unwrap().to_owned());
    }
    b.goto(&format!("{}/office/parapheur?lang=ar", site.base));
    let boxes = b.find_all("#parapheur-batch input[type=checkbox]");
    assert_eq!(boxes.len(), 2);
    for checkbox in &boxes {
        checkbox.click();
    }
    b.find("#parapheur-batch #pin").send_keys("583920");
    b.assert_no_serious_axe("parapheur queue, batch signature (ar)");
    b.find("#parapheur-batch button[type=submit]").click();
    b.wait_until("the batch's results", Duration::from_secs(30), |b| {
        b.try_find("#parapheur-batch-results").is_some()
    });
    assert_eq!(b.find_all("#parapheur-batch-results .ok").len(), 2);
    assert!(b.page_source().contains("مذكرة 1 &lt;i&gt;"));
    b.assert_no_serious_axe("batch signature results (ar)");
    for id in &notes {
        let doc = diwan_tests::get(
            &format!("{}/api/v1/parapheur/documents/{id}", site.base),
            Some(&handler),
        )
        .json();
        assert_eq!(doc["status"], "completed", "{doc:#}");
    }

    // Anyone in the office validates the signed PDF, in Arabic.
    let id = page
        .split('?')
        .next()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    let signed = diwan_tests::get(
        &format!("{}/api/v1/parapheur/documents/{id}/pdf", site.base),
        Some(&api("head@demo.diwan")),
    );
    assert_eq!(signed.status, 200);
    let file = site.sandbox.data_dir.join("signed-by-the-head.pdf");
    std::fs::write(&file, &signed.body).unwrap();
    office_login(&b, &site.base, "auditor@demo.diwan");
    b.goto(&format!("{}/office/signatures/validate?lang=ar", site.base));
    b.find("#document").send_keys(&file.display().to_string());
    b.assert_no_serious_axe("signature validation (ar)");
    b.find("#validate-form button[type=submit]").click();
    b.wait_until("the report", Duration::from_secs(15), |b| {
        b.try_find("#validate-verdict").is_some()
    });
    assert_eq!(
        b.find("#validate-verdict").attr("data-valid").as_deref(),
        Some("true")
    );
    assert_eq!(b.find_all("#validate-signatures tbody tr").len(), 1);
    b.assert_no_serious_axe("signature validation report (ar)");
    b.save_screenshot("ar-signature-validation");
}

/// A screenshot of the whole page, beyond the viewport (for the documentation's images).
fn save_full_page(b: &Browser, name: &str) -> PathBuf {
    let metrics = b.cdp("Page.getLayoutMetrics", &serde_json::json!({}));
    let size = &metrics["cssContentSize"];
    let shot = b.cdp(
        "Page.captureScreenshot",
        &serde_json::json!({"format": "png", "captureBeyondViewport": true,
            "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}}),
    );
    let png = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        shot["data"].as_str().unwrap(),
    )
    .unwrap();
    let path = diwan_tests::browser::artifacts_dir().join(format!("{name}.png"));
    std::fs::write(&path, png).unwrap();
    println!("screenshot: {}", path.display());
    path
}

/// The headline figures of the dashboard open in the browser, as the page's data attributes.
fn headline_of(b: &Browser) -> serde_json::Value {
    let figure = |key: &str| {
        b.find(&format!("#headline [data-figure={key}]"))
            .attr("data-value")
            .unwrap_or_default()
    };
    let count = |key: &str| serde_json::json!(figure(key).parse::<u64>().unwrap());
    let seconds = |key: &str| serde_json::json!(figure(key).parse::<i64>().ok());
    serde_json::json!({
        "received": count("received"), "sent": count("sent"), "backlog": count("backlog"),
        "overdue": count("overdue"), "answered": count("answered"),
        "median_seconds": seconds("median"), "p90_seconds": seconds("p90"),
        "on_time_share": figure("on-time").parse::<f64>().ok(),
    })
}

fn api_headline(totals: &serde_json::Value) -> serde_json::Value {
    let keys = [
        "received",
        "sent",
        "backlog",
        "overdue",
        "answered",
        "median_seconds",
        "p90_seconds",
        "on_time_share",
    ];
    serde_json::Value::Object(
        keys.iter()
            .map(|k| ((*k).to_owned(), totals[*k].clone()))
            .collect(),
    )
}

#[test]
fn a_head_reads_the_indicators_dashboard_in_arabic_and_french_and_an_auditor_drills_down() {
    let site = site();
    let api = |email: &str| {
        let r = diwan_tests::post_json(
            &format!("{}/api/v1/auth/login", site.base),
            None,
            &serde_json::json!({"email": email, "password": "demo-password"}),
        );
        r.json()["token"].as_str().unwrap().to_owned()
    };
    let registrar = api("registrar@demo.diwan");
    // Letters to the regional directorate, by three channels; some handed to its delegations.
    let mut ids = Vec::new();
    for (n, channel) in ["portal", "counter", "portal", "email", "portal"]
        .iter()
        .enumerate()
    {
        let mut letter = diwan_tests::letter("DR-RSK", &format!("طلب رقم {n} <b>"));
        letter["channel"] = serde_json::json!(channel);
        let r = diwan_tests::register(&site.base, &registrar, &letter, &diwan_tests::pdf(800));
        assert_eq!(r.status, 201, "{}", r.text());
        ids.push(r.json()["id"].as_str().unwrap().to_owned());
    }
    for (id, unit) in [
        (&ids[0], "DP-KENITRA"),
        (&ids[1], "DP-KHEMISSET"),
        (&ids[2], "DP-KENITRA"),
    ] {
        let r = diwan_tests::post_json(
            &format!("{}/api/v1/correspondences/{id}/assign", site.base),
            Some(&registrar),
            &serde_json::json!({"unit": unit}),
        );
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let reply = serde_json::json!({
        "registry": "DP-KENITRA", "direction": "outgoing", "channel": "portal",
        "subject": "جواب", "in_reply_to": ids[0],
        "sender": {"kind": "administration", "name": "Délégation", "unit": "DP-KENITRA"},
        "recipient": {"kind": "person", "name": "فاطمة"}
    });
    let r = diwan_tests::register(&site.base, &registrar, &reply, &diwan_tests::pdf(500));
    assert_eq!(r.status, 201, "{}", r.text());

    // What the API says of the head's directorate with its delegations, this month.
    let report = diwan_tests::get(
        &format!("{}/api/v1/indicators?unit=DR-RSK&subunits=true", site.base),
        Some(&api("head@demo.diwan")),
    )
    .json();
    let totals = &report["totals"];
    assert_eq!(totals["received"], 5, "{report:#}");
    assert_eq!(totals["answered"], 1, "{report:#}");
    let lines = report["lines"].as_array().unwrap().len();
    let channels = totals["by_channel"].as_object().unwrap().len();
    assert_eq!((lines, channels), (3, 3), "{report:#}");

    // The head's dashboard opens on the directorate with its delegations, in Arabic.
    let b = Browser::start_with(BrowserOptions {
        accept_language: Some("ar"),
        ..BrowserOptions::default()
    });
    office_login(&b, &site.base, "head@demo.diwan");
    for lang in ["ar", "fr"] {
        b.goto(&format!("{}/office/indicators?lang={lang}", site.base));
        assert_eq!(dir_of(&b), if lang == "ar" { "rtl" } else { "ltr" });
        assert_eq!(headline_of(&b), api_headline(totals), "{lang}");
        assert!(b.find("#indicators-scope").text().contains("DR-RSK"));
        for chart in ["#chart-lines", "#chart-channels"] {
            let svg = b.find(chart);
            assert_eq!(svg.attr("role").as_deref(), Some("img"));
            assert!(svg.find("title").html().len() > 10);
        }
        assert_eq!(b.find_all("#chart-lines rect").len(), 3 * lines);
        assert_eq!(b.find_all("#lines-data tbody tr").len(), lines);
        assert_eq!(b.find_all("#channels-data tbody tr").len(), channels);
        assert_eq!(b.find_all("#drilldown tbody tr").len(), lines);
        assert!(
            !b.find("#drilldown tbody tr[data-own=true] th")
                .text()
                .is_empty()
        );
        // Arabic charts are laid out from the right: labels right of their bars.
        let label = b.find("#chart-lines text.chart-label").rect();
        let bar = b.find("#chart-lines rect").rect();
        if lang == "ar" {
            assert!(label.x > bar.x, "rtl: label {label:?} bar {bar:?}");
        } else {
            assert!(label.x < bar.x, "ltr: label {label:?} bar {bar:?}");
        }
        b.assert_no_serious_axe(&format!("indicators dashboard ({lang})"));
        b.save_screenshot(&format!("{lang}-dashboard"));
        save_full_page(&b, &format!("{lang}-dashboard-full"));
    }
    let csv_link = b.find("#csv-lines").attr("href").unwrap();
    let channel_link = b.find("#csv-channels").attr("href").unwrap();

    // The CSV exports, with the head's session.
    let mut c = super::pages::PageClient::new(&site.base, "fr");
    let csrf = c.csrf("/office/login");
    let r = c.post_form(
        "/office/login",
        &[
            ("csrf", &csrf),
            ("email", "head@demo.diwan"),
            ("password", "demo-password"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let csv = c.get(&csv_link);
    assert_eq!(csv.status, 200, "{}", csv.body);
    assert!(
        csv.headers
            .iter()
            .any(|(k, v)| k == "content-type" && v.starts_with("text/csv"))
    );
    assert!(
        csv.headers
            .iter()
            .any(|(k, v)| k == "content-disposition" && v.starts_with("attachment"))
    );
    assert_eq!(csv.body.lines().count(), 2 + lines, "{}", csv.body);
    let csv = c.get(&channel_link);
    assert_eq!(csv.status, 200, "{}", csv.body);
    assert!(csv.body.contains(",counter,1\r\n"), "{}", csv.body);
    assert_eq!(csv.body.lines().count(), 1 + channels, "{}", csv.body);

    // The installation's auditor starts from the ministry and drills down to the directorate.
    office_login(&b, &site.base, "auditor@demo.diwan");
    b.goto(&format!("{}/office/indicators?lang=fr", site.base));
    assert!(b.find("#indicators-scope").text().contains("MIN-DEMO"));
    b.find("#drilldown a.drill").click();
    b.wait_until("the central administration", Duration::from_secs(10), |b| {
        b.current_url().contains("unit=ADM-CENTRALE")
    });
    b.find("#drilldown tr[data-unit=DR-RSK] a.drill").click();
    b.wait_until("the regional directorate", Duration::from_secs(10), |b| {
        b.current_url().contains("unit=DR-RSK")
    });
    assert_eq!(headline_of(&b), api_headline(totals));
    assert!(b.find("#subunits").is_selected());
    b.assert_no_serious_axe("indicators dashboard, drilled down (fr)");

    // A unit the head may not see is refused on the page.
    office_login(&b, &site.base, "head@demo.diwan");
    b.goto(&format!(
        "{}/office/indicators?unit=DR-CS&lang=fr",
        site.base
    ));
    assert!(
        b.find("main")
            .text()
            .contains("Vos rôles ne permettent pas")
    );
}

/// The figures of the open data table open in the browser, one JSON object per line, keyed as
/// the API's cells.
fn open_data_rows(b: &Browser) -> Vec<serde_json::Value> {
    b.find_all("#open-data-table tbody tr")
        .iter()
        .map(|tr| {
            let mut row = serde_json::json!({
                "administration_code": tr.attr("data-administration").unwrap(),
                "category": tr.attr("data-category").filter(|c| !c.is_empty()),
                "channel": tr.attr("data-channel").unwrap(),
            });
            for td in tr.find_all("td[data-field]") {
                let value = td
                    .attr("data-value")
                    .map(|v| serde_json::from_str::<serde_json::Value>(&v).unwrap());
                row[td.attr("data-field").unwrap()] = serde_json::json!(value);
            }
            row
        })
        .collect()
}

#[test]
fn a_visitor_reads_the_open_data_in_arabic_and_french() {
    let app = super::open_data_page::app_with_a_published_month("Commune de Témara");
    let api: serde_json::Value = diwan_tests::get(
        &app.url("/api/v1/open-data?format=json&month=2026-10"),
        None,
    )
    .json();
    let fields = ["received", "answered", "median_delay_days", "on_time_share"];
    let mut expected: Vec<serde_json::Value> = api["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let mut row = serde_json::json!({
                "administration_code": c["administration_code"],
                "category": c["category"],
                "channel": c["channel"],
            });
            for f in fields {
                row[f] = c[f].clone();
            }
            row
        })
        .collect();
    // The portal's six letters, the e-mail's five (answers withheld); not the counter's two.
    assert_eq!(expected.len(), 2, "{api:#}");
    assert!(
        expected
            .iter()
            .any(|c| c["received"] == 6 && c["median_delay_days"] == 4.5)
    );
    let key = |v: &serde_json::Value| v.to_string();
    expected.sort_by_key(key);

    let b = Browser::start_with(BrowserOptions {
        accept_language: Some("ar"),
        ..BrowserOptions::default()
    });
    for lang in ["ar", "fr"] {
        b.goto(&app.url(&format!("/open-data?lang={lang}")));
        assert_eq!(dir_of(&b), if lang == "ar" { "rtl" } else { "ltr" });
        assert_mirrored(&b, lang == "ar");
        // The latest published month is chosen; the table shows what the API publishes.
        assert!(b.find("#month option[value='2026-10']").is_selected());
        let mut rows = open_data_rows(&b);
        rows.sort_by_key(key);
        assert_eq!(rows, expected, "{lang}");
        // The count below the threshold is nowhere; a withheld figure is a dash with its word.
        assert!(b.find_all("#open-data-table td[data-value='2']").is_empty());
        let withheld = b.find("#open-data-table td[data-withheld=true]");
        assert_eq!(withheld.attr("data-field").as_deref(), Some("answered"));
        assert_eq!(withheld.find("[aria-hidden=true]").text(), "—");
        assert!(
            withheld
                .find(".visually-hidden")
                .html()
                .contains(if lang == "ar" { "محجوب" } else { "retenu" })
        );
        assert!(!b.find("#open-data-fields").text().is_empty());
        b.assert_no_serious_axe(&format!("open data ({lang})"));
        b.save_screenshot(&format!("{lang}-open-data"));
        save_full_page(&b, &format!("open-data-{lang}"));
    }

    // The filter form works without script: one administration, the same line.
    b.find("#administration").select_by_value("COMMUNE-TEM");
    b.find("#open-data-filters button[type=submit]").click();
    b.wait_until("the filtered page", Duration::from_secs(10), |b| {
        b.current_url().contains("administration=COMMUNE-TEM")
    });
    let mut rows = open_data_rows(&b);
    rows.sort_by_key(key);
    assert_eq!(rows, expected);
    assert!(b.find("#open-data-caption").text().contains("Témara"));

    // The downloads: the whole publication and the selection, as CSV.
    let absolute = |href: String| {
        if href.starts_with('/') {
            app.url(&href)
        } else {
            href
        }
    };
    for link in ["#download-csv", "#download-selection-csv"] {
        let href = absolute(b.find(link).attr("href").unwrap());
        let csv = diwan_tests::get(&href, None);
        assert_eq!(csv.status, 200, "{href}: {}", csv.text());
        assert!(csv.content_type.starts_with("text/csv"), "{href}");
        let text = csv.text();
        let text = text.trim_start_matches('\u{feff}');
        assert!(text.starts_with("month,administration_code,"), "{text}");
        assert!(text.contains(",COMMUNE-TEM,"), "{text}");
        assert!(text.contains(",portal,6,"), "{text}");
        assert!(!text.contains(",counter,"), "{text}");
    }
    let href = absolute(b.find("#download-selection-json").attr("href").unwrap());
    assert!(
        href.contains("month=2026-10&administration=COMMUNE-TEM"),
        "{href}"
    );
    let json = diwan_tests::get(&href, None).json();
    assert_eq!(json["cells"], api["cells"]);
}
