//! Every endpoint refuses the anonymous, agents without the role and agents of another unit;
//! confidential mail is invisible to whoever it does not concern.

use diwan_tests::{TestApp, get, letter, multipart, pdf, post_json, register, send};
use serde_json::json;

use crate::failures::create_agent;

struct Case {
    method: &'static str,
    path: String,
    body: serde_json::Value,
}

fn call(app: &TestApp, case: &Case, token: Option<&str>) -> diwan_tests::Resp {
    let url = app.url(&case.path);
    match case.method {
        "GET" => get(&url, token),
        "MULTIPART" => {
            let meta = case.body.to_string();
            let (ct, body) = multipart(&[
                ("metadata", None, "application/json", meta.as_bytes()),
                ("file", Some("a.pdf"), "application/pdf", &pdf(400)),
            ]);
            send("POST", &url, token, &ct, &body)
        }
        m => send(
            m,
            &url,
            token,
            "application/json",
            case.body.to_string().as_bytes(),
        ),
    }
}

#[test]
fn every_endpoint_refuses_the_wrong_callers() {
    let app = TestApp::spawn();
    let registrar = app.login("registrar@demo.diwan");
    let created = register(
        &app.base,
        &registrar,
        &letter("DP-KENITRA", "لكم"),
        &pdf(600),
    )
    .json();
    let id = created["id"].as_str().unwrap().to_owned();
    let file_id = created["receipt"]["files"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let nobody = create_agent(&app, "nobody@demo.diwan", "DP-SETTAT", "signer");
    let settat_registrar = create_agent(&app, "settat@demo.diwan", "DP-SETTAT", "registrar");
    let settat_admin = create_agent(&app, "settat-admin@demo.diwan", "DP-SETTAT", "admin");
    let handler = app.login("handler@demo.diwan");
    let grant = json!({"unit": "DP-KENITRA", "role": "handler"});
    let org = json!({"administrations": []});
    let agent_id = get(&app.url("/api/v1/auth/me"), Some(&nobody)).json()["agent_id"]
        .as_str()
        .unwrap()
        .to_owned();

    // (case, status for an agent without the role, status for an agent of another unit)
    let cases = vec![
        (
            Case {
                method: "MULTIPART",
                path: "/api/v1/correspondences".into(),
                body: letter("DP-KENITRA", "x"),
            },
            403,
            403,
        ),
        (
            Case {
                method: "GET",
                path: format!("/api/v1/correspondences/{id}"),
                body: json!(null),
            },
            404,
            404,
        ),
        (
            Case {
                method: "GET",
                path: "/api/v1/correspondences?registry=DP-KENITRA".into(),
                body: json!(null),
            },
            403,
            403,
        ),
        (
            Case {
                method: "POST",
                path: format!("/api/v1/correspondences/{id}/annul"),
                body: json!({"reason": "x"}),
            },
            404,
            404,
        ),
        (
            Case {
                method: "GET",
                path: format!("/api/v1/correspondences/{id}/files/{file_id}"),
                body: json!(null),
            },
            404,
            404,
        ),
        (
            Case {
                method: "PUT",
                path: "/api/v1/admin/org".into(),
                body: org,
            },
            403,
            403,
        ),
        (
            Case {
                method: "GET",
                path: "/api/v1/admin/agents".into(),
                body: json!(null),
            },
            403,
            403,
        ),
        (
            Case {
                method: "POST",
                path: "/api/v1/admin/agents".into(),
                body: json!({"email": "x@demo.diwan", "display_name": "x", "password": "a-long-password", "grants": [grant]}),
            },
            403,
            403,
        ),
        (
            Case {
                method: "POST",
                path: format!("/api/v1/admin/agents/{agent_id}/grants"),
                body: grant.clone(),
            },
            403,
            403,
        ),
        (
            Case {
                method: "DELETE",
                path: format!("/api/v1/admin/agents/{agent_id}/grants"),
                body: grant.clone(),
            },
            403,
            403,
        ),
    ];
    for (case, without_role, other_unit) in &cases {
        let what = format!("{} {}", case.method, case.path);
        let r = call(&app, case, None);
        assert_eq!(r.status, 401, "anonymous {what}: {}", r.text());
        let r = call(&app, case, Some(&nobody));
        assert_eq!(r.status, *without_role, "no role {what}: {}", r.text());
        let r = call(&app, case, Some(&settat_registrar));
        assert_eq!(r.status, *other_unit, "other unit {what}: {}", r.text());
    }
    // An admin of a unit of the same administration still cannot touch installation-wide things.
    assert_eq!(call(&app, &cases[5].0, Some(&settat_admin)).status, 403);
    assert_eq!(call(&app, &cases[6].0, Some(&settat_admin)).status, 403);
    // A handler of the concerned unit reads it but cannot annul it.
    assert_eq!(
        get(
            &app.url(&format!("/api/v1/correspondences/{id}")),
            Some(&handler)
        )
        .status,
        200
    );
    post_json(
        &app.url(&format!("/api/v1/correspondences/{id}/annul")),
        Some(&handler),
        &json!({"reason": "x"}),
    )
    .assert_problem(403, "forbidden");

    // Endpoints for any agent still refuse the anonymous.
    for path in [
        "/api/v1/registries",
        "/api/v1/org",
        "/api/v1/auth/me",
        "/api/v1/auth/tokens",
    ] {
        assert_eq!(get(&app.url(path), None).status, 401, "{path}");
    }
    assert_eq!(
        send(
            "POST",
            &app.url("/api/v1/auth/logout"),
            None,
            "application/json",
            b""
        )
        .status,
        401
    );
    let registries = get(&app.url("/api/v1/registries"), Some(&nobody)).json();
    assert_eq!(
        registries.as_array().unwrap().len(),
        0,
        "a signer has no register"
    );
    let mine = get(&app.url("/api/v1/registries"), Some(&settat_registrar)).json();
    assert_eq!(mine.as_array().unwrap().len(), 1);
    assert_eq!(mine[0]["code"], "DP-SETTAT");
}

#[test]
fn confidential_mail_is_invisible_to_whoever_it_does_not_concern() {
    let app = TestApp::spawn();
    let registrar = app.login("registrar@demo.diwan");
    let mut secret = letter("DP-KENITRA", "ملف تأديبي سري");
    secret["confidentiality"] = json!("confidential");
    secret["recipient"]["unit"] = json!("DP-KENITRA");
    let c = register(&app.base, &registrar, &secret, &pdf(800)).json();
    let normal = register(
        &app.base,
        &registrar,
        &letter("DP-KENITRA", "عادي"),
        &pdf(801),
    )
    .json();
    let (id, file) = (
        c["id"].as_str().unwrap(),
        c["receipt"]["files"][0]["id"].as_str().unwrap(),
    );

    let head = app.login("head@demo.diwan"); // head of the regional directorate above
    let auditor = app.login("auditor@demo.diwan");
    let handler = app.login("handler@demo.diwan"); // handler of DP-KENITRA: concerned
    let kenitra_head = create_agent(&app, "kenitra-head@demo.diwan", "DP-KENITRA", "head");

    let item = format!("/api/v1/correspondences/{id}");
    let download = format!("/api/v1/correspondences/{id}/files/{file}");
    let list = "/api/v1/correspondences?registry=DP-KENITRA";
    for (who, token) in [("regional head", &head), ("auditor", &auditor)] {
        get(&app.url(&item), Some(token)).assert_problem(404, "not_found");
        get(&app.url(&download), Some(token)).assert_problem(404, "not_found");
        let page = get(&app.url(list), Some(token));
        assert_eq!(page.status, 200, "{who}");
        let items = page.json()["items"].as_array().unwrap().clone();
        assert_eq!(items.len(), 1, "{who} sees only the normal letter");
        assert_eq!(items[0]["id"], normal["id"]);
        let search = get(
            &app.url(&format!("{list}&q=%D8%B3%D8%B1%D9%8A")),
            Some(token),
        )
        .json();
        assert_eq!(
            search["items"].as_array().unwrap().len(),
            0,
            "{who} cannot find it by searching"
        );
        assert_eq!(
            get(
                &app.url(&format!(
                    "/api/v1/correspondences/{}",
                    normal["id"].as_str().unwrap()
                )),
                Some(token)
            )
            .status,
            200
        );
    }
    for token in [&registrar, &handler, &kenitra_head] {
        assert_eq!(get(&app.url(&item), Some(token)).status, 200);
        assert_eq!(get(&app.url(&download), Some(token)).status, 200);
    }
    let page = get(&app.url(list), Some(&kenitra_head)).json();
    assert_eq!(
        page["items"].as_array().unwrap().len(),
        2,
        "the concerned unit's head lists both"
    );
}
