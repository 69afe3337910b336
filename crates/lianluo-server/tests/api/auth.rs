//! Sign-in, sessions, CSRF, API tokens and roles.

use axum::http::{Method, header};
use lianluo_domain::directory::Role;
use serde_json::json;

use crate::{
    helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, Caller, TestApp},
    on_both_backends,
};

on_both_backends!(
    sign_in_and_out,
    wrong_passwords_are_refused_alike,
    browser_writes_need_the_csrf_token,
    every_private_route_needs_credentials,
    agents_cannot_use_admin_routes,
    demoted_admins_tokens_lose_admin_rights,
    revoked_tokens_stop_working,
    sign_in_is_rate_limited,
    password_change_ends_sessions,
    deactivated_users_lose_access,
    users_rename_themselves_and_nothing_else,
    a_stolen_session_cannot_guess_the_password,
);

async fn sign_in_and_out(app: TestApp) {
    let browser = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let me = app.get("/api/v1/auth/me", &browser).await.expect(200);
    assert_eq!(me["user"]["email"], ADMIN_EMAIL);
    assert_eq!(me["role"], "admin");
    assert_eq!(me["workspace"]["slug"], "acme");
    assert_eq!(me["credential"], "session");
    let res = app.post("/api/v1/auth/logout", &browser, json!({})).await;
    assert!(res.headers.get(header::SET_COOKIE).unwrap().to_str().unwrap().contains("Max-Age=0"));
    res.expect(204);
    app.get("/api/v1/auth/me", &browser).await.expect_error(401, "unauthenticated");
    let me = app.get("/api/v1/auth/me", &app.admin).await.expect(200);
    assert_eq!(me["credential"], "api_token");
}

async fn wrong_passwords_are_refused_alike(app: TestApp) {
    let wrong = app
        .post(
            "/api/v1/auth/login",
            &Caller::Anonymous,
            json!({"email": ADMIN_EMAIL, "password": "nope nope nope"}),
        )
        .await;
    let unknown = app
        .post(
            "/api/v1/auth/login",
            &Caller::Anonymous,
            json!({"email": "ghost@acme.example", "password": "nope nope nope"}),
        )
        .await;
    assert!(wrong.headers.get(header::SET_COOKIE).is_none());
    let m1 = wrong.expect_error(401, "bad_credentials");
    let m2 = unknown.expect_error(401, "bad_credentials");
    assert_eq!(m1, m2, "no hint whether the account exists");
    let forged = Caller::Browser { cookie: "lianluo_session=forged".into(), csrf: None };
    app.get("/api/v1/auth/me", &forged).await.expect_error(401, "unauthenticated");
    app.get("/api/v1/auth/me", &Caller::Token("ll_forged".into())).await.expect_error(401, "unauthenticated");
}

async fn browser_writes_need_the_csrf_token(app: TestApp) {
    let browser = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let Caller::Browser { cookie, .. } = browser.clone() else { unreachable!() };
    let no_csrf = Caller::Browser { cookie: cookie.clone(), csrf: None };
    let wrong = Caller::Browser { cookie, csrf: Some("guess".into()) };
    let team = json!({"name": "售前 Pre-sales"});
    app.post("/api/v1/teams", &no_csrf, team.clone()).await.expect_error(403, "csrf_failed");
    app.post("/api/v1/teams", &wrong, team.clone()).await.expect_error(403, "csrf_failed");
    // Reads need no token; nothing was written by the refused requests.
    assert_eq!(app.get("/api/v1/teams", &no_csrf).await.expect(200)["items"], json!([]));
    app.post("/api/v1/teams", &browser, team).await.expect(201);
}

async fn every_private_route_needs_credentials(app: TestApp) {
    for op in lianluo_server::operations() {
        let path = op.path.replace("{id}", "0190b3c2-7a5e-7cc1-8f3e-1234567890ab");
        let body = (op.method != Method::GET).then(|| json!({}));
        let res = app.call(op.method.clone(), &path, &Caller::Anonymous, body).await;
        if op.access.is_some() || op.visitor {
            assert_eq!(res.status.as_u16(), 401, "{} {} answered {}", op.method, op.path, res.body);
        } else {
            assert_ne!(res.status.as_u16(), 401, "{} {} is public", op.method, op.path);
        }
    }
}

async fn demoted_admins_tokens_lose_admin_rights(app: TestApp) {
    let admin = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (other_id, other) = app.agent(&admin, "second.admin@acme.example").await;
    app.patch(&format!("/api/v1/users/{other_id}"), &admin, json!({"role": "admin"})).await.expect(200);
    let token = app.token_for(&other, "admin").await;
    app.get("/api/v1/api-tokens", &token).await.expect(200);
    app.patch(&format!("/api/v1/users/{other_id}"), &admin, json!({"role": "agent"})).await.expect(200);
    app.get("/api/v1/api-tokens", &token).await.expect_error(403, "forbidden");
    app.get("/api/v1/contacts", &token).await.expect(200);
}

async fn agents_cannot_use_admin_routes(app: TestApp) {
    let admin = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (_, agent) = app.agent(&admin, "agent@acme.example").await;
    let agent_token = app.token_for(&admin, "agent").await;
    let admin_ops: Vec<_> =
        lianluo_server::operations().into_iter().filter(|o| o.access == Some(Role::Admin)).collect();
    assert!(admin_ops.len() >= 10);
    for op in admin_ops {
        let path = op.path.replace("{id}", "0190b3c2-7a5e-7cc1-8f3e-1234567890ab");
        for caller in [&agent, &agent_token] {
            let body = (op.method != Method::GET).then(|| json!({}));
            let res = app.call(op.method.clone(), &path, caller, body).await;
            assert_eq!(res.status.as_u16(), 403, "{} {}: {}", op.method, op.path, res.body);
        }
    }
    // Agents do the everyday work.
    app.post("/api/v1/contacts", &agent, json!({"name": "Zhou Mei"})).await.expect(201);
    app.get("/api/v1/users", &agent_token).await.expect(200);
}

async fn revoked_tokens_stop_working(app: TestApp) {
    let created =
        app.post("/api/v1/api-tokens", &app.admin, json!({"name": "ERP", "role": "agent"})).await.expect(201);
    let secret = created["secret"].as_str().unwrap();
    assert!(secret.starts_with("ll_") && secret.len() > 40);
    assert!(secret.starts_with(created["token"]["prefix"].as_str().unwrap()));
    let token = Caller::Token(secret.into());
    app.get("/api/v1/contacts", &token).await.expect(200);
    let list = app.get("/api/v1/api-tokens", &app.admin).await.expect(200);
    assert!(list.to_string().find(secret).is_none(), "secrets are never listed");
    let id = created["token"]["id"].as_str().unwrap();
    app.delete(&format!("/api/v1/api-tokens/{id}"), &app.admin).await.expect(204);
    app.get("/api/v1/contacts", &token).await.expect_error(401, "unauthenticated");
    app.delete(&format!("/api/v1/api-tokens/{id}"), &app.admin).await.expect_error(404, "not_found");
}

async fn sign_in_is_rate_limited(app: TestApp) {
    // A whole office signing in from one address is not throttled: only failures count.
    for _ in 0..40 {
        app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    }
    for _ in 0..10 {
        let bad = json!({"email": ADMIN_EMAIL, "password": "wrong password"});
        app.post("/api/v1/auth/login", &Caller::Anonymous, bad).await.expect_error(401, "bad_credentials");
    }
    let good = json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD});
    let res = app.post("/api/v1/auth/login", &Caller::Anonymous, good).await;
    let retry: u64 = res.headers.get(header::RETRY_AFTER).unwrap().to_str().unwrap().parse().unwrap();
    assert!(retry > 0);
    res.expect_error(429, "rate_limited");
}

async fn password_change_ends_sessions(app: TestApp) {
    let one = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let two = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let change = json!({"current_password": "not it at all", "new_password": "a brand new secret"});
    let wrong = app.post("/api/v1/auth/password", &one, change).await.expect(422);
    assert_eq!(wrong["error"]["field"], "current_password", "{wrong}");
    app.get("/api/v1/auth/me", &one).await.expect(200);
    let short = json!({"current_password": ADMIN_PASSWORD, "new_password": "short"});
    assert_eq!(
        app.post("/api/v1/auth/password", &one, short).await.expect(422)["error"]["field"],
        "new_password"
    );
    let change = json!({"current_password": ADMIN_PASSWORD, "new_password": "a brand new secret"});
    app.post("/api/v1/auth/password", &one, change).await.expect(204);
    app.get("/api/v1/auth/me", &two).await.expect_error(401, "unauthenticated");
    app.login(ADMIN_EMAIL, "a brand new secret").await;
}

async fn deactivated_users_lose_access(app: TestApp) {
    let admin = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (id, agent) = app.agent(&admin, "leaving@acme.example").await;
    app.get("/api/v1/auth/me", &agent).await.expect(200);
    app.patch(&format!("/api/v1/users/{id}"), &app.admin, json!({"active": false})).await.expect(200);
    app.get("/api/v1/auth/me", &agent).await.expect_error(401, "unauthenticated");
    let again = json!({"email": "leaving@acme.example", "password": "agent-password-1"});
    app.post("/api/v1/auth/login", &Caller::Anonymous, again).await.expect_error(401, "bad_credentials");
}

async fn users_rename_themselves_and_nothing_else(app: TestApp) {
    let admin = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (id, agent) = app.agent(&admin, "rename.me@acme.example").await;
    let me = app.patch("/api/v1/auth/me", &agent, json!({"name": "  林晓雨 Lin Xiaoyu "})).await.expect(200);
    assert_eq!(
        (&me["id"], &me["name"], &me["role"]),
        (&json!(id), &json!("林晓雨 Lin Xiaoyu"), &json!("agent"))
    );
    let listed = app.get(&format!("/api/v1/users/{id}"), &admin).await.expect(200);
    assert_eq!(listed["name"], "林晓雨 Lin Xiaoyu", "colleagues see the new name");
    // A role or a status is an admin's to change, and a name cannot be blank.
    app.patch("/api/v1/auth/me", &agent, json!({"name": "X", "role": "admin"}))
        .await
        .expect_error(422, "invalid_body");
    app.patch("/api/v1/auth/me", &agent, json!({"name": "   "})).await.expect_error(422, "invalid_body");
    assert_eq!(app.get("/api/v1/auth/me", &agent).await.expect(200)["role"], "agent");
    // An API token is no person.
    app.patch("/api/v1/auth/me", &app.admin, json!({"name": "Robot"})).await.expect_error(403, "forbidden");
}

async fn a_stolen_session_cannot_guess_the_password(app: TestApp) {
    let admin = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (_, agent) = app.agent(&admin, "guessed@acme.example").await;
    // Wrong current passwords count as failed sign-ins of the account: after the free ones, the
    // account's back-off answers 429 before any password is checked.
    let mut answers = Vec::new();
    for i in 0..12 {
        let guess =
            json!({"current_password": format!("guess number {i}"), "new_password": "taken over 2026"});
        answers.push(app.post("/api/v1/auth/password", &agent, guess).await.status.as_u16());
    }
    assert_eq!(answers[0], 422, "{answers:?}");
    assert!(answers.contains(&429), "guesses are slowed down: {answers:?}");
    let right = json!({"current_password": "agent-password-1", "new_password": "taken over 2026"});
    app.post("/api/v1/auth/password", &agent, right).await.expect_error(429, "rate_limited");
}
