use diwan_tests::{TestApp, get, send};
use serde_json::json;

#[test]
fn the_demo_organisation_is_complete_and_idempotent() {
    let app = TestApp::spawn();
    diwan_server::demo::load(&app.inst.services).unwrap();
    let token = app.login("admin@demo.diwan");
    let org = get(&app.url("/api/v1/org"), Some(&token)).json();
    let units = org["units"].as_array().unwrap();
    let level = |l: &str| units.iter().filter(|u| u["level"] == l).count();
    assert_eq!(
        (level("central"), level("regional"), level("provincial")),
        (1, 2, 3)
    );
    assert_eq!(org["registries"].as_array().unwrap().len(), 6);
    assert!(
        org["registries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["code"] == "CENTRAL")
    );
    assert!(units.iter().all(|u| {
        u["name_ar"]
            .as_str()
            .unwrap()
            .chars()
            .any(|c| ('\u{600}'..='\u{6ff}').contains(&c))
    }));
    let agents = get(&app.url("/api/v1/admin/agents"), Some(&token)).json();
    assert_eq!(agents.as_array().unwrap().len(), 6);
    let registrar = agents
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["email"] == "registrar@demo.diwan")
        .unwrap();
    assert_eq!(registrar["grants"].as_array().unwrap().len(), 6);
}

#[test]
fn administrators_import_organisations_and_manage_agents() {
    let app = TestApp::spawn();
    let admin = app.login("admin@demo.diwan");
    let org = json!({"administrations": [{"code": "COMMUNE-SALE", "name_ar": "جماعة سلا", "name_fr": "Commune de Salé",
    "units": [
        {"code": "SALE-BO", "level": "local", "name_ar": "مكتب الضبط", "name_fr": "Bureau d'ordre", "parent": "SALE",
         "registries": [{"code": "SALE", "name_ar": "سجل", "name_fr": "Registre", "numbering_format": "{year}-{direction}-{seq:04}@{registry}"}]},
        {"code": "SALE", "level": "local", "name_ar": "الجماعة", "name_fr": "La commune"}
    ]}]});
    for _ in 0..2 {
        let r = send(
            "PUT",
            &app.url("/api/v1/admin/org"),
            Some(&admin),
            "application/json",
            org.to_string().as_bytes(),
        );
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["units"], 2);
    }
    let all = get(&app.url("/api/v1/org"), Some(&admin)).json();
    assert_eq!(all["administrations"].as_array().unwrap().len(), 2);
    let bad = json!({"administrations": [{"code": "X", "name_ar": "س", "name_fr": "x", "units": [
        {"code": "U", "level": "local", "name_ar": "س", "name_fr": "x", "registries": [{"code": "R", "name_ar": "س", "name_fr": "x", "numbering_format": "{seq}"}]}]}]});
    send(
        "PUT",
        &app.url("/api/v1/admin/org"),
        Some(&admin),
        "application/json",
        bad.to_string().as_bytes(),
    )
    .assert_problem(422, "invalid_input");
    let unknown = json!({"administrations": [], "extra": 1});
    send(
        "PUT",
        &app.url("/api/v1/admin/org"),
        Some(&admin),
        "application/json",
        unknown.to_string().as_bytes(),
    )
    .assert_problem(400, "invalid_json");

    let clerk = crate::failures::create_agent(&app, "clerk@sale.ma", "SALE-BO", "registrar");
    let r = diwan_tests::register(
        &app.base,
        &clerk,
        &diwan_tests::letter("SALE", "طلب"),
        &diwan_tests::pdf(300),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let year = chrono::Utc::now().format("%Y").to_string();
    assert_eq!(
        r.json()["registration_number"],
        format!("{year}-A-0001@SALE")
    );
    let dup = diwan_tests::post_json(
        &app.url("/api/v1/admin/agents"),
        Some(&admin),
        &json!({"email": "CLERK@sale.ma", "display_name": "x", "password": "a-long-password"}),
    );
    dup.assert_problem(409, "email_taken");
    let weak = diwan_tests::post_json(
        &app.url("/api/v1/admin/agents"),
        Some(&admin),
        &json!({"email": "new@sale.ma", "display_name": "x", "password": "short"}),
    );
    weak.assert_problem(422, "weak_password");
}

#[test]
fn problems_are_documented_json_and_the_openapi_document_is_served() {
    let app = TestApp::spawn();
    let r = get(&app.url("/nowhere"), None);
    r.assert_problem(404, "not_found");
    let r = send(
        "POST",
        &app.url("/api/v1/auth/login"),
        None,
        "application/json",
        b"{",
    );
    r.assert_problem(400, "invalid_json");
    assert_eq!(get(&app.url("/healthz"), None).status, 200);
    assert_eq!(get(&app.url("/readyz"), None).json()["status"], "ready");
    let doc = get(&app.url("/api/v1/openapi.json"), None).json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in [
        "/api/v1/auth/login",
        "/api/v1/correspondences",
        "/api/v1/correspondences/{id}",
        "/api/v1/registries",
        "/api/v1/admin/org",
    ] {
        assert!(
            doc["paths"].get(path).is_some(),
            "{path} missing from the OpenAPI document"
        );
    }
}
