//! Rate limits keyed by the real client: behind a trusted reverse proxy, and against password guessing
//! that must not lock the owner out.

use axum::{
    body::Body,
    extract::ConnectInfo,
    http::{Method, Request, header},
};
use serde_json::json;

use crate::{
    helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, Response, TestApp},
    on_both_backends,
    widget::{SHOP, widget_channel},
};

on_both_backends!(
    config = super::config();
    behind_a_proxy_each_client_has_its_own_limits,
    guesses_do_not_lock_the_owner_out,
);

/// The proxy in front of the server.
const PROXY: &str = "127.0.0.1";
const GUESSER: &str = "203.0.113.7";
const OWNER: &str = "198.51.100.2";

fn config() -> lianluo_server::ServerConfig {
    lianluo_server::ServerConfig {
        trusted_proxies: vec![PROXY.parse().unwrap()],
        login_failures_per_email: 5,
        login_failures_per_account: 12,
        login_failures_per_client: 20,
        widget_visitors_per_client_per_minute: 3,
        ..Default::default()
    }
}

/// A request reaching the server from `peer`, with `X-Forwarded-For` when given.
async fn from(
    app: &TestApp,
    peer: &str,
    forwarded: Option<&str>,
    path: &str,
    body: serde_json::Value,
) -> Response {
    let mut req = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::ORIGIN, SHOP)
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(f) = forwarded {
        req = req.header("x-forwarded-for", f);
    }
    let mut req = req.body(Body::from(body.to_string())).unwrap();
    let addr: std::net::SocketAddr = format!("{peer}:40000").parse().unwrap();
    req.extensions_mut().insert(ConnectInfo(addr));
    app.send(req).await
}

/// A sign-in by a client at `client`, through the proxy.
async fn sign_in(app: &TestApp, client: &str, email: &str, password: &str) -> Response {
    from(app, PROXY, Some(client), "/api/v1/auth/login", json!({"email": email, "password": password})).await
}

fn retry_after(res: &Response) -> u64 {
    res.headers[header::RETRY_AFTER].to_str().unwrap().parse().unwrap()
}

async fn behind_a_proxy_each_client_has_its_own_limits(app: TestApp) {
    // A guesser trying made-up accounts through the proxy is refused once its address reaches the limit.
    for i in 0..20 {
        sign_in(&app, GUESSER, &format!("nobody{i}@example.com"), "a guess")
            .await
            .expect_error(401, "bad_credentials");
    }
    let res = sign_in(&app, GUESSER, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert!(retry_after(&res) > 0);
    res.expect_error(429, "rate_limited");
    // Everyone else behind the same proxy still signs in.
    sign_in(&app, OWNER, ADMIN_EMAIL, ADMIN_PASSWORD).await.expect(200);
    // The nearest address the proxy did not add counts: what the guesser wrote further left does not.
    let chained = format!("{OWNER}, {GUESSER}");
    sign_in(&app, &chained, ADMIN_EMAIL, ADMIN_PASSWORD).await.expect_error(429, "rate_limited");
    // A client that is not a trusted proxy cannot choose its address with the header.
    let body = json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD});
    from(&app, GUESSER, Some(OWNER), "/api/v1/auth/login", body).await.expect_error(429, "rate_limited");

    // New widget visitors are counted per client too: one client's limit leaves the rest of the site alone.
    let admin = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (_, token, _) = widget_channel(&app, &admin, None, json!({})).await;
    let start = json!({"channel": token});
    for _ in 0..3 {
        from(&app, PROXY, Some(GUESSER), "/widget/v1/sessions", start.clone()).await.expect(200);
    }
    from(&app, PROXY, Some(GUESSER), "/widget/v1/sessions", start.clone())
        .await
        .expect_error(429, "rate_limited");
    from(&app, PROXY, Some(OWNER), "/widget/v1/sessions", start).await.expect(200);
}

async fn guesses_do_not_lock_the_owner_out(app: TestApp) {
    // The owner has signed in from home before.
    sign_in(&app, OWNER, ADMIN_EMAIL, ADMIN_PASSWORD).await.expect(200);
    // From its fifth wrong password on, the guesser's address waits before each try, longer each time,
    // even with the right password.
    for _ in 0..5 {
        sign_in(&app, GUESSER, ADMIN_EMAIL, "a guess").await.expect_error(401, "bad_credentials");
    }
    let res = sign_in(&app, GUESSER, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(retry_after(&res), 1);
    res.expect_error(429, "rate_limited");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    sign_in(&app, GUESSER, ADMIN_EMAIL, "another guess").await.expect_error(401, "bad_credentials");
    let res = sign_in(&app, GUESSER, ADMIN_EMAIL, "another guess").await;
    assert_eq!(retry_after(&res), 2, "the wait doubles");
    res.expect_error(429, "rate_limited");
    // Meanwhile the owner signs in as usual.
    sign_in(&app, OWNER, ADMIN_EMAIL, ADMIN_PASSWORD).await.expect(200);

    // Guesses spread over many addresses reach the account's cap for the window (12; 6 so far). Then an
    // address the account never signed in from waits, whatever the password; the owner's does not.
    for i in 1..=6 {
        sign_in(&app, &format!("192.0.2.{i}"), ADMIN_EMAIL, "a guess")
            .await
            .expect_error(401, "bad_credentials");
    }
    let res = sign_in(&app, "192.0.2.50", ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert!(retry_after(&res) > 60, "until the window ends");
    res.expect_error(429, "rate_limited");
    sign_in(&app, OWNER, ADMIN_EMAIL, ADMIN_PASSWORD).await.expect(200);
    // Other accounts are not touched.
    let agent = json!({"name": "Agent Li", "email": "li@acme.example", "role": "agent", "password": "agent-password-1"});
    let admin = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    app.post("/api/v1/users", &admin, agent).await.expect(201);
    sign_in(&app, "192.0.2.50", "li@acme.example", "agent-password-1").await.expect(200);
}
