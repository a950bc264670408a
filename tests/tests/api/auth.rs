use diwan_tests::{TestApp, get, post_json, send};
use serde_json::json;

#[test]
fn login_gives_a_token_that_works_until_logout() {
    let app = TestApp::spawn();
    let token = app.login("registrar@demo.diwan");
    let me = get(&app.url("/api/v1/auth/me"), Some(&token));
    assert_eq!(me.status, 200);
    assert_eq!(me.json()["email"], "registrar@demo.diwan");
    let out = send(
        "POST",
        &app.url("/api/v1/auth/logout"),
        Some(&token),
        "application/json",
        b"",
    );
    assert_eq!(out.status, 204);
    get(&app.url("/api/v1/auth/me"), Some(&token)).assert_problem(401, "unauthenticated");
}

#[test]
fn wrong_credentials_are_refused_alike() {
    let app = TestApp::spawn();
    for (email, password) in [
        ("registrar@demo.diwan", "wrong-password!"),
        ("nobody@demo.diwan", "demo-password"),
        ("REGISTRAR@demo.diwan", "x"),
    ] {
        let r = post_json(
            &app.url("/api/v1/auth/login"),
            None,
            &json!({"email": email, "password": password}),
        );
        r.assert_problem(401, "invalid_credentials");
    }
    let r = post_json(
        &app.url("/api/v1/auth/login"),
        None,
        &json!({"email": "a@b.c"}),
    );
    r.assert_problem(400, "invalid_json");
    // E-mail addresses are case-insensitive.
    app.login("Registrar@Demo.Diwan");
}

#[test]
fn garbage_and_foreign_tokens_are_refused() {
    let app = TestApp::spawn();
    for bad in [
        "",
        "dwn_",
        "dwn_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "Basic abc",
        &"dwn_x".repeat(100),
    ] {
        get(&app.url("/api/v1/registries"), Some(bad)).assert_problem(401, "unauthenticated");
    }
}

#[test]
fn sessions_expire() {
    let app = TestApp::spawn();
    let token = app.login("registrar@demo.diwan");
    assert_eq!(
        get(&app.url("/api/v1/registries"), Some(&token)).status,
        200
    );
    app.clock.advance(chrono::Duration::hours(13));
    get(&app.url("/api/v1/registries"), Some(&token)).assert_problem(401, "unauthenticated");
}

#[test]
fn api_tokens_are_created_listed_used_and_revoked() {
    let app = TestApp::spawn();
    let session = app.login("registrar@demo.diwan");
    let r = post_json(
        &app.url("/api/v1/auth/tokens"),
        Some(&session),
        &json!({"name": "scanner-1", "expires_in_days": 30}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let api = r.json()["token"].as_str().unwrap().to_owned();
    let id = r.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(get(&app.url("/api/v1/registries"), Some(&api)).status, 200);
    let list = get(&app.url("/api/v1/auth/tokens"), Some(&session)).json();
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .any(|t| t["id"] == id.as_str() && t["kind"] == "api")
    );
    assert!(!list.to_string().contains(&api), "secrets are never listed");
    post_json(
        &app.url("/api/v1/auth/tokens"),
        Some(&session),
        &json!({"name": "x", "expires_in_days": 5000}),
    )
    .assert_problem(422, "invalid_input");
    // Another agent cannot revoke it.
    let other = app.login("handler@demo.diwan");
    send(
        "DELETE",
        &app.url(&format!("/api/v1/auth/tokens/{id}")),
        Some(&other),
        "application/json",
        b"",
    )
    .assert_problem(404, "not_found");
    let r = send(
        "DELETE",
        &app.url(&format!("/api/v1/auth/tokens/{id}")),
        Some(&session),
        "application/json",
        b"",
    );
    assert_eq!(r.status, 204);
    get(&app.url("/api/v1/registries"), Some(&api)).assert_problem(401, "unauthenticated");
}

#[test]
fn repeated_failed_logins_are_slowed_down() {
    let app = TestApp::spawn();
    let attempt = |password: &str| {
        post_json(
            &app.url("/api/v1/auth/login"),
            None,
            &json!({"email": "registrar@demo.diwan", "password": password}),
        )
    };
    for _ in 0..10 {
        attempt("guessing-password").assert_problem(401, "invalid_credentials");
    }
    attempt("demo-password").assert_problem(429, "too_many_attempts");
    // Other agents are not affected.
    app.login("handler@demo.diwan");
    app.clock.advance(chrono::Duration::minutes(16));
    assert_eq!(attempt("demo-password").status, 200);
}
