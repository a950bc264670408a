//! Full-text search through `GET /api/v1/correspondences?q=`: Arabic and Latin folding, query
//! syntax that must stay text, confidential mail that must stay invisible (in results and in
//! counts), pagination, snippets, document texts, and the back office's register page.
//! Every test runs on the backend `DIWAN_TEST_BACKEND` names: the expectations are the same.

use diwan_app::model::TextSource;
use diwan_tests::{TestApp, get, letter, pdf, register, urlencode};
use serde_json::{Value, json};

use crate::failures::create_agent;
use crate::pages::PageClient;

fn search(app: &TestApp, token: &str, registry: &str, q: &str) -> Value {
    let r = get(
        &app.url(&format!(
            "/api/v1/correspondences?registry={registry}&q={}",
            urlencode(q)
        )),
        Some(token),
    );
    assert_eq!(r.status, 200, "q={q:?}: {}", r.text());
    r.json()
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Registers `metadata` with a PDF whose bytes are unique to `n`; returns the id.
fn registered(app: &TestApp, token: &str, metadata: &Value, n: usize) -> String {
    let r = register(&app.base, token, metadata, &pdf(700 + n));
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()["id"].as_str().unwrap().to_owned()
}

#[test]
fn arabic_and_latin_spellings_find_each_other() {
    let app = TestApp::spawn();
    let registrar = app.login("registrar@demo.diwan");
    let subjects = [
        "طلب السيد أحمد بن علي",
        "تسجيل في مدرسة النور",
        "إعلان مُسَابَقَة التوظيف",
        "نتائج امتحان الباكالوريا",
        "Inscription à l'École normale supérieure",
        "Demande de l'hôpital régional",
    ];
    let id: Vec<String> = subjects
        .iter()
        .enumerate()
        .map(|(n, s)| registered(&app, &registrar, &letter("CENTRAL", s), n))
        .collect();
    let mut by_sender = letter("CENTRAL", "شكاية");
    by_sender["sender"]["name"] = json!("إبراهيم الفاسي");
    by_sender["sender"]["email"] = json!("ibrahim.fassi@example.ma");
    by_sender["sender_reference"] = json!("REF-2026/٤٥");
    let sender_id = registered(&app, &registrar, &by_sender, 99);

    let finds = |q: &str, expected: &[&String]| {
        let page = search(&app, &registrar, "CENTRAL", q);
        let mut got = ids(&page);
        got.sort();
        let mut want: Vec<String> = expected.iter().map(|s| (*s).clone()).collect();
        want.sort();
        assert_eq!(got, want, "q={q:?}: {page}");
        assert_eq!(page["total"], expected.len(), "q={q:?}");
        assert_eq!(page["total_capped"], false);
    };
    finds("احمد", &[&id[0]]);
    finds("أحمد", &[&id[0]]);
    finds("مدرسه", &[&id[1]]);
    finds("مدرسة", &[&id[1]]);
    finds("المدرسة", &[&id[1]]);
    // Tashkeel in the letter, none in the query; and the other way round.
    finds("مسابقة", &[&id[2]]);
    finds("امْتِحَان", &[&id[3]]);
    finds("ecole", &[&id[4]]);
    finds("ÉCOLE normale", &[&id[4]]);
    finds("hopital regional", &[&id[5]]);
    finds("HÔPITAL", &[&id[5]]);
    // Prefixes of three characters or more; every word must be found.
    finds("super", &[&id[4]]);
    finds("ecole hopital", &[]);
    // Parties and references.
    finds("ابراهيم", &[&sender_id]);
    finds("ibrahim.fassi@example.ma", &[&sender_id]);
    finds("ref 2026 45", &[&sender_id]);
    // The registration number.
    let number = get(
        &app.url(&format!("/api/v1/correspondences/{}", id[3])),
        Some(&registrar),
    )
    .json()["registration_number"]
        .as_str()
        .unwrap()
        .to_owned();
    finds(&number, &[&id[3]]);
}

#[test]
fn query_syntax_and_markup_are_only_text() {
    let app = TestApp::spawn();
    let registrar = app.login("registrar@demo.diwan");
    let ahmed = registered(&app, &registrar, &letter("CENTRAL", "طلب أحمد"), 1);
    registered(
        &app,
        &registrar,
        &letter("CENTRAL", "Objet : <b>x</b> & \"y\""),
        2,
    );
    // None of these may fail, and none may widen the search beyond its words.
    let nothing = [
        "\"",
        "*",
        ":",
        "&",
        "|",
        "!",
        "(",
        ")",
        "'",
        "\\",
        "NEAR",
        "OR",
        "AND",
        "NOT",
        "-",
        "^",
        "{",
        "}",
        "\"احمد\" OR *",
        "احمد OR zzz",
        "احمد | zzz",
        "احمد & !zzz",
        "NEAR(احمد zzz)",
        "' OR 1=1 --",
        "'); DROP TABLE correspondences; --",
        "zq:*",
        "احمد:* | zzz",
        "\u{E000}o",
        "words:احمد zzz",
        "\0",
    ];
    for q in nothing {
        let page = search(&app, &registrar, "CENTRAL", q);
        assert_eq!(ids(&page), Vec::<String>::new(), "q={q:?}: {page}");
        assert_eq!(page["total"], 0);
    }
    // Punctuation around a word is just punctuation.
    for q in ["احمد*", "\"احمد\"", "(احمد)", "احمد:", "'احمد'", "!احمد"] {
        assert_eq!(
            ids(&search(&app, &registrar, "CENTRAL", q)),
            std::slice::from_ref(&ahmed),
            "q={q:?}"
        );
    }
    let markup = search(&app, &registrar, "CENTRAL", "<b>x</b>");
    assert_eq!(markup["items"].as_array().unwrap().len(), 1);
    // Too long, too many words: 400 with the query code, never a 5xx.
    let long = "ا".repeat(201);
    let many: String = (0..17).map(|i| format!("w{i} ")).collect();
    for q in [long, many] {
        get(
            &app.url(&format!(
                "/api/v1/correspondences?registry=CENTRAL&q={}",
                urlencode(&q)
            )),
            Some(&registrar),
        )
        .assert_problem(400, "invalid_query");
    }
}

#[test]
fn confidential_letters_stay_out_of_other_units_results_and_counts() {
    let app = TestApp::spawn();
    let registrar = app.login("registrar@demo.diwan");
    let mut secret = letter("DP-KENITRA", "ملف تأديبي خاص بالموظف");
    secret["confidentiality"] = json!("confidential");
    secret["recipient"]["unit"] = json!("DP-KENITRA");
    let secret_id = registered(&app, &registrar, &secret, 1);
    let mut for_khemisset = letter("DP-KENITRA", "ملف تأديبي آخر");
    for_khemisset["confidentiality"] = json!("secret");
    for_khemisset["recipient"]["unit"] = json!("DP-KHEMISSET");
    let khemisset_id = registered(&app, &registrar, &for_khemisset, 2);
    let normal_id = registered(&app, &registrar, &letter("DP-KENITRA", "ملف عادي"), 3);
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };

    let head = app.login("head@demo.diwan"); // regional directorate above: not concerned
    let auditor = app.login("auditor@demo.diwan");
    for (who, token) in [("regional head", &head), ("auditor", &auditor)] {
        for q in ["ملف", "تاديبي", "ملف تأديبي", "الموظف", "اخر"] {
            let page = search(&app, token, "DP-KENITRA", q);
            let got = ids(&page);
            assert!(
                !got.contains(&secret_id) && !got.contains(&khemisset_id),
                "{who} q={q:?}: {page}"
            );
            let expected = usize::from(got.contains(&normal_id));
            assert_eq!(
                page["total"], expected,
                "{who} counts only what it sees, q={q:?}"
            );
        }
    }
    // A head of the region who also works in Khemisset sees the letter that concerns
    // Khemisset, never the one that concerns only Kenitra.
    let both = create_agent(&app, "rsk-khemisset@demo.diwan", "DR-RSK", "head");
    let admin = app.login("admin@demo.diwan");
    let me = get(&app.url("/api/v1/auth/me"), Some(&both)).json();
    let granted = diwan_tests::post_json(
        &app.url(&format!(
            "/api/v1/admin/agents/{}/grants",
            me["agent_id"].as_str().unwrap()
        )),
        Some(&admin),
        &json!({"unit": "DP-KHEMISSET", "role": "handler"}),
    );
    assert!(granted.status < 300, "{}", granted.text());
    let both = app.login_with("rsk-khemisset@demo.diwan", "a-long-password");
    let page = search(&app, &both, "DP-KENITRA", "ملف");
    assert_eq!(
        sorted(ids(&page)),
        sorted(vec![khemisset_id.clone(), normal_id.clone()])
    );
    assert_eq!(page["total"], 2);
    assert_eq!(search(&app, &both, "DP-KENITRA", "الموظف")["total"], 0);
    // The registry's own unit is concerned by all three; so is its registrar.
    let kenitra_head = create_agent(&app, "kenitra-head@demo.diwan", "DP-KENITRA", "head");
    for token in [&kenitra_head, &registrar] {
        let page = search(&app, token, "DP-KENITRA", "ملف");
        assert_eq!(
            sorted(ids(&page)),
            sorted(vec![
                secret_id.clone(),
                khemisset_id.clone(),
                normal_id.clone()
            ])
        );
        assert_eq!(page["total"], 3);
    }
    // An agent who may not list the register cannot search it either.
    let khemisset = create_agent(&app, "khemisset@demo.diwan", "DP-KHEMISSET", "handler");
    get(
        &app.url(&format!(
            "/api/v1/correspondences?registry=DP-KENITRA&q={}",
            urlencode("ملف")
        )),
        Some(&khemisset),
    )
    .assert_problem(403, "forbidden");
}

#[test]
fn search_pages_are_keyset_paginated_newest_first_with_filters() {
    let app = TestApp::spawn();
    let registrar = app.login("registrar@demo.diwan");
    let mut made = Vec::new();
    for n in 0..7 {
        let mut m = letter("CENTRAL", &format!("Convocation réunion numéro {n}"));
        if n % 2 == 1 {
            m["direction"] = json!("outgoing");
            m["channel"] = json!("counter");
        }
        made.push(registered(&app, &registrar, &m, n));
        app.clock.advance(chrono::Duration::milliseconds(5));
    }
    registered(&app, &registrar, &letter("CENTRAL", "autre chose"), 50);
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = "/api/v1/correspondences?registry=CENTRAL&q=reunion&limit=3".to_owned();
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let page = get(&app.url(&path), Some(&registrar)).json();
        assert_eq!(page["total"], 7, "the total does not depend on the page");
        seen.extend(ids(&page));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    let newest_first: Vec<String> = made.iter().rev().cloned().collect();
    assert_eq!(seen, newest_first);
    let outgoing = get(
        &app.url("/api/v1/correspondences?registry=CENTRAL&q=convocation&direction=outgoing"),
        Some(&registrar),
    )
    .json();
    let want: Vec<String> = made
        .iter()
        .enumerate()
        .rev()
        .filter(|(n, _)| n % 2 == 1)
        .map(|(_, id)| id.clone())
        .collect();
    assert_eq!(ids(&outgoing), want);
    assert_eq!(outgoing["total"], 3);
    let year = chrono::Utc::now().format("%Y").to_string();
    let this_year = get(
        &app.url(&format!(
            "/api/v1/correspondences?registry=CENTRAL&q=convocation&year={year}"
        )),
        Some(&registrar),
    )
    .json();
    assert_eq!(this_year["total"], 7);
    let other_year = get(
        &app.url("/api/v1/correspondences?registry=CENTRAL&q=convocation&year=1999"),
        Some(&registrar),
    )
    .json();
    assert_eq!(other_year["total"], 0);
    // Another registry has none of them.
    assert_eq!(
        search(&app, &registrar, "DP-KENITRA", "convocation")["total"],
        0
    );
}

#[test]
fn snippets_mark_the_words_found_as_data() {
    let app = TestApp::spawn();
    let registrar = app.login("registrar@demo.diwan");
    let mut m = letter(
        "CENTRAL",
        "Inscription à l'École <script>alert(1)</script> de Rabat",
    );
    m["sender"]["email"] = json!("parent.eleve@example.ma");
    registered(&app, &registrar, &m, 1);
    let page = search(&app, &registrar, "CENTRAL", "ecole");
    let snippet = &page["items"][0]["snippet"];
    assert_eq!(snippet["field"], "subject");
    let parts = snippet["parts"].as_array().unwrap();
    let hits: Vec<&str> = parts
        .iter()
        .filter(|p| p["hit"] == true)
        .map(|p| p["text"].as_str().unwrap())
        .collect();
    assert_eq!(hits, ["École"]);
    let text: String = parts.iter().map(|p| p["text"].as_str().unwrap()).collect();
    assert_eq!(
        text,
        "Inscription à l'École <script>alert(1)</script> de Rabat"
    );
    let page = search(&app, &registrar, "CENTRAL", "parent eleve");
    let snippet = &page["items"][0]["snippet"];
    assert_eq!(snippet["field"], "sender");
    assert!(
        snippet["parts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["hit"] == true && p["text"] == "parent")
    );
    // Without q, no snippet and no total.
    let plain = get(
        &app.url("/api/v1/correspondences?registry=CENTRAL"),
        Some(&registrar),
    )
    .json();
    assert!(plain["items"][0].get("snippet").is_none());
    assert!(plain.get("total").is_none());
}

#[test]
fn document_texts_make_a_letter_findable_by_its_words() {
    let app = TestApp::spawn();
    let registrar = app.login("registrar@demo.diwan");
    let r = register(
        &app.base,
        &registrar,
        &letter("CENTRAL", "مراسلة"),
        &pdf(900),
    )
    .json();
    let id = r["id"].as_str().unwrap().to_owned();
    let sha = r["receipt"]["files"][0]["sha256"]
        .as_str()
        .unwrap()
        .to_owned();
    let store = &app.inst.services.store;
    assert_eq!(search(&app, &registrar, "CENTRAL", "Tétouan")["total"], 0);

    let text = "Le conseil communal de Tétouan a décidé… قرار المجلس الجماعي لمدينة تطوان";
    store
        .put_document_text(&id, &sha, TextSource::Pdf, text)
        .unwrap();
    for q in ["tetouan", "تطوان", "المجلس الجماعي", "conseil communal"] {
        let page = search(&app, &registrar, "CENTRAL", q);
        assert_eq!(ids(&page), std::slice::from_ref(&id), "q={q:?}");
        assert_eq!(page["items"][0]["snippet"]["field"], "document", "q={q:?}");
    }
    // Idempotent: the same call again changes nothing; a new text for the same file and
    // source replaces the old one; another source adds to it.
    store
        .put_document_text(&id, &sha, TextSource::Pdf, text)
        .unwrap();
    assert_eq!(store.document_texts(&id).unwrap().len(), 1);
    store
        .put_document_text(&id, &sha, TextSource::Pdf, "Rapport annuel")
        .unwrap();
    assert_eq!(search(&app, &registrar, "CENTRAL", "tetouan")["total"], 0);
    assert_eq!(search(&app, &registrar, "CENTRAL", "rapport")["total"], 1);
    store
        .put_document_text(&id, &sha, TextSource::Ocr, "صورة ممسوحة\0 ضوئيا")
        .unwrap();
    assert_eq!(search(&app, &registrar, "CENTRAL", "ممسوحه")["total"], 1);
    assert_eq!(search(&app, &registrar, "CENTRAL", "rapport")["total"], 1);
    let texts = store.document_texts(&id).unwrap();
    assert_eq!(texts.len(), 2);
    assert!(texts.iter().all(|t| !t.body.contains('\0')));
    // The metadata stays searchable beside the texts.
    assert_eq!(search(&app, &registrar, "CENTRAL", "مراسلة")["total"], 1);
    // Bounded: 1 MiB kept, cut on a character boundary.
    let huge = "كلمة ".repeat(300_000);
    store
        .put_document_text(&id, &sha, TextSource::Ocr, &huge)
        .unwrap();
    let kept = store
        .document_texts(&id)
        .unwrap()
        .into_iter()
        .find(|t| t.source == TextSource::Ocr)
        .unwrap();
    assert!(kept.body.len() <= 1024 * 1024 && kept.body.starts_with("كلمة"));
    // Refused: an unknown correspondence, a digest that is not one.
    let unknown = diwan_app::ids::new_id().unwrap();
    let e = store
        .put_document_text(&unknown, &sha, TextSource::Pdf, "x")
        .unwrap_err();
    assert!(
        matches!(
            e,
            diwan_app::AppError::Rejected {
                code: "not_found",
                ..
            }
        ),
        "{e:?}"
    );
    let e = store
        .put_document_text(&id, "not-a-digest", TextSource::Pdf, "x")
        .unwrap_err();
    assert!(
        matches!(
            e,
            diwan_app::AppError::Rejected {
                code: "invalid_input",
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn correspondences_without_an_index_entry_are_indexed_again() {
    let app = TestApp::spawn();
    let registrar = app.login("registrar@demo.diwan");
    let id = registered(
        &app,
        &registrar,
        &letter("CENTRAL", "Dossier de subvention"),
        1,
    );
    for subject in ["Deuxième lettre", "Troisième lettre"] {
        registered(&app, &registrar, &letter("CENTRAL", subject), 1);
    }
    let wipe = match app.inst.database.backend() {
        diwan_db::Backend::Sqlite => "DELETE FROM search_fts; DELETE FROM search_docs;",
        diwan_db::Backend::Postgres => "DELETE FROM search_docs;",
    };
    app.inst.database.execute_batch(wipe).unwrap();
    assert_eq!(
        search(&app, &registrar, "CENTRAL", "subvention")["total"],
        0
    );
    let store = &app.inst.services.store;
    // In id order, two at a time, each batch continuing after the last one's last id.
    let (n, next) = store.index_missing(None, 2).unwrap();
    assert_eq!(n, 2);
    let next = next.expect("more to index");
    assert_eq!(store.index_missing(Some(&next), 2).unwrap(), (1, None));
    assert_eq!(store.index_missing(None, 2).unwrap(), (0, None));
    assert_eq!(search(&app, &registrar, "CENTRAL", "lettre")["total"], 2);
    assert_eq!(
        ids(&search(&app, &registrar, "CENTRAL", "subvention")),
        [id]
    );
}

#[test]
fn the_register_page_searches_and_marks_the_words_found() {
    let app = TestApp::spawn();
    let registrar = app.login("registrar@demo.diwan");
    registered(
        &app,
        &registrar,
        &letter("DP-KENITRA", "طلب تسجيل بالمَدْرَسَة <i>x</i>"),
        1,
    );
    registered(&app, &registrar, &letter("DP-KENITRA", "Autre objet"), 2);
    for lang in ["ar", "fr", "en"] {
        let mut agent = PageClient::new(&app.base, lang);
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
        let page = agent.get(&format!(
            "/office/register?registry=DP-KENITRA&q={}",
            urlencode("مدرسة")
        ));
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(
            page.body.contains("<mark>بالمَدْرَسَة</mark>"),
            "{lang}: {}",
            page.body
        );
        assert!(page.body.contains("&lt;i&gt;x&lt;/i&gt;") && !page.body.contains("<i>x"));
        assert!(!page.body.contains("Autre objet"));
        let total = page.by_id("search-total").unwrap();
        assert!(
            total.contains('1') || total.contains("واحدة"),
            "{lang}: {total}"
        );
        let none = agent.get("/office/register?registry=DP-KENITRA&q=%22%2A%3A");
        assert_eq!(none.status, 200);
        assert!(none.body.contains("id=\"register-empty\""));
    }
}

/// Over the count cap the total says "1000 and more" and the pages walk back month by month in
/// exactly newest-first order, with and without a year; a rarer word with a year is counted
/// exactly (its first months show it is not common, and the rest of the year is counted at
/// once); a word no letter has finds nothing in a year.
#[test]
fn more_matches_than_the_count_cap_come_newest_first_with_and_without_a_year() {
    use chrono::Datelike;
    use std::fmt::Write as _;
    /// (registered_at, id, year, with the rare word, with the word that thins out)
    type Row = (String, String, i32, bool, bool);

    let app = TestApp::spawn();
    let registrar = app.login("registrar@demo.diwan");
    let template = registered(&app, &registrar, &letter("CENTRAL", "قالب — modèle"), 0);
    // Three letters a day (09:00, 12:00, 15:00 UTC) for 800 days from 2019-01-01, inserted
    // as copies of the template: over a thousand in 2019 and in 2020.
    let day0 = chrono::NaiveDate::from_ymd_opt(2019, 1, 1).unwrap();
    let mut sql = String::from("BEGIN;\n");
    let mut rows: Vec<Row> = Vec::new();
    for n in 0..2400u32 {
        let date = day0 + chrono::Days::new(u64::from(n / 3));
        let at = format!(
            "{}T{:02}:00:00.000000Z",
            date.format("%Y-%m-%d"),
            9 + 3 * (n % 3)
        );
        let id = format!("00000000-0000-4000-8000-{n:012x}");
        let rare = n % 25 == 0;
        // In every letter of the first 500 days, then in one in twenty: over the count cap,
        // yet too rare in the newest months for a page to be found in their first rows.
        let thinning = n < 1500 || n % 20 == 0;
        let subject = format!(
            "Convocation {} {n}{}",
            if rare { "rarissime" } else { "réunion" },
            if thinning { " semestrielle" } else { "" }
        );
        let year = date.year();
        writeln!(
            sql,
            "INSERT INTO correspondences (id, registry_id, direction, year, seq,
                registration_number, channel, subject, sender, recipient, sender_name,
                recipient_name, confidentiality, priority, category, sender_reference,
                sender_date, received_at, registered_at, registered_by, tracking_hash,
                search_text)
             SELECT '{id}', t.registry_id, t.direction, {year}, {seq}, 'CENTRAL/A/{year}/C{n:05}',
                t.channel, '{subject}', t.sender, t.recipient, t.sender_name, t.recipient_name,
                'normal', t.priority, t.category, NULL, t.sender_date, '{at}', '{at}',
                t.registered_by, 'cap{n}', '{subject}'
             FROM correspondences t WHERE t.id = '{template}';
             INSERT INTO correspondence_units (correspondence_id, unit_id, concern)
             SELECT '{id}', u.unit_id, u.concern FROM correspondence_units u
             WHERE u.correspondence_id = '{template}';",
            seq = 100_000 + n,
        )
        .unwrap();
        rows.push((at, id, year, rare, thinning));
    }
    sql.push_str("COMMIT;");
    app.inst.database.execute_batch(&sql).unwrap();
    let store = &app.inst.services.store;
    let mut after: Option<String> = None;
    while let (_, Some(next)) = store.index_missing(after.as_deref(), 1_000).unwrap() {
        after = Some(next);
    }
    rows.sort_by(|a, b| (&b.0, &b.1).cmp(&(&a.0, &a.1)));
    let newest_first = |keep: &dyn Fn(&Row) -> bool| -> Vec<String> {
        rows.iter()
            .filter(|r| keep(r))
            .map(|r| r.1.clone())
            .collect()
    };
    // Three pages of 50 (fifty days: across months and, without a year, across a year).
    let walk = |query: &str, pages: usize| -> (Vec<String>, Value) {
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        let mut first = Value::Null;
        for _ in 0..pages {
            let mut path = format!("/api/v1/correspondences?registry=CENTRAL&limit=50&{query}");
            if let Some(c) = &cursor {
                path.push_str(&format!("&cursor={c}"));
            }
            let r = get(&app.url(&path), Some(&registrar));
            assert_eq!(r.status, 200, "{path}: {}", r.text());
            let page = r.json();
            seen.extend(ids(&page));
            if first.is_null() {
                first = page.clone();
            }
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => break,
            }
        }
        (seen, first)
    };

    let (seen, first) = walk("q=convocation", 3);
    assert_eq!(first["total_capped"], true, "{first}");
    assert_eq!(first["total"], 1000);
    assert_eq!(seen, newest_first(&|_| true)[..150].to_vec());

    let (seen, first) = walk("q=convocation&year=2020", 3);
    assert_eq!(first["total_capped"], true, "{first}");
    assert_eq!(seen, newest_first(&|r| r.2 == 2020)[..150].to_vec());

    let (seen, first) = walk("q=convocation&year=2019&direction=incoming", 2);
    assert_eq!(first["total_capped"], true, "{first}");
    assert_eq!(seen, newest_first(&|r| r.2 == 2019)[..100].to_vec());

    let rare_2020 = newest_first(&|r| r.2 == 2020 && r.3);
    assert!(
        rare_2020.len() > 40 && rare_2020.len() < 50,
        "{}",
        rare_2020.len()
    );
    let (seen, first) = walk("q=rarissime&year=2020", 2);
    assert_eq!(first["total_capped"], false, "{first}");
    assert_eq!(first["total"], rare_2020.len());
    assert_eq!(seen, rare_2020);

    let (seen, first) = walk("q=rarissime+convocation", 1);
    assert_eq!(first["total"], newest_first(&|r| r.3).len());
    assert_eq!(seen, newest_first(&|r| r.3)[..50].to_vec());

    // Newest first across the months where the word is rare and into those where it is in
    // every letter, by pages of 50 and of 7.
    let thinning = newest_first(&|r| r.4);
    let (seen, first) = walk("q=semestrielle", 4);
    assert_eq!(first["total_capped"], true, "{first}");
    assert_eq!(seen, thinning[..200].to_vec());
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..12 {
        let mut path = "/api/v1/correspondences?registry=CENTRAL&limit=7&q=semes".to_owned();
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let page = get(&app.url(&path), Some(&registrar)).json();
        seen.extend(ids(&page));
        cursor = page["next_cursor"].as_str().map(str::to_owned);
    }
    assert_eq!(seen, thinning[..84].to_vec());
    let (seen, _) = walk("q=semestrielle&year=2020", 3);
    assert_eq!(seen, newest_first(&|r| r.4 && r.2 == 2020)[..150].to_vec());

    let (seen, first) = walk("q=introuvable&year=2020", 1);
    assert_eq!(first["total"], 0);
    assert!(seen.is_empty());
}
