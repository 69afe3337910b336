//! Messages: posting, listing, and idempotent retries.

use axum::{
    body::Body,
    http::{Request, header},
};
use serde_json::{Value, json};

use crate::{
    helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, Caller, TestApp},
    on_both_backends,
};

on_both_backends!(
    thread_reads_in_order,
    a_long_thread_opens_at_its_end,
    retries_with_the_same_key_store_once,
    concurrent_retries_store_once
);

async fn thread_reads_in_order(app: TestApp) {
    let admin = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let me = app.get("/api/v1/auth/me", &admin).await.expect(200)["user"]["id"].clone();
    let (ch, contact) = app.channel_and_contact(&app.admin).await;
    let conv = app.conversation(&app.admin, &ch, &contact, Some("Do you ship to Hong Kong?")).await;
    let path = format!("/api/v1/conversations/{conv}/messages");
    let note =
        app.post(&path, &admin, json!({"kind": "note", "content": "Check with logistics"})).await.expect(201);
    assert_eq!(note["sender"], json!({"type": "user", "id": me}));
    let attach = json!({"name": "rates.pdf", "content_type": "application/pdf", "size_bytes": 20480, "url": "https://cdn.example.com/rates.pdf"});
    let reply = json!({"kind": "outgoing", "content": "Yes, 3-5 days.", "attachments": [attach]});
    app.post(&path, &admin, reply).await.expect(201);
    let thread = app.get(&path, &admin).await.expect(200);
    let kinds: Vec<_> =
        thread["items"].as_array().unwrap().iter().map(|m| m["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["incoming", "note", "outgoing"]);
    assert_eq!(thread["items"][0]["sender"]["type"], "contact");
    assert_eq!(thread["items"][2]["attachments"][0]["name"], "rates.pdf");
    let conv = app.get(&format!("/api/v1/conversations/{conv}"), &admin).await.expect(200);
    assert_eq!(conv["message_count"], 3);
    assert_eq!(
        conv["first_response_at"], thread["items"][2]["created_at"],
        "the reply, not the note, is the first response"
    );
    let bad = json!({"kind": "outgoing", "content": "x", "attachments": [{"name": "a", "content_type": "nope", "size_bytes": 1, "url": "javascript:alert(1)"}]});
    app.post(&path, &admin, bad).await.expect_error(422, "validation_failed");
}

/// A thread longer than a page opens at its newest messages, and each next page goes further back.
async fn a_long_thread_opens_at_its_end(app: TestApp) {
    let (ch, contact) = app.channel_and_contact(&app.admin).await;
    let conv = app.conversation(&app.admin, &ch, &contact, Some("message 0")).await;
    let path = format!("/api/v1/conversations/{conv}/messages");
    for i in 1..130 {
        let kind = if i % 2 == 0 { "incoming" } else { "outgoing" };
        app.post(&path, &app.admin, json!({"kind": kind, "content": format!("message {i}")}))
            .await
            .expect(201);
    }
    let contents = |page: &Value| -> Vec<String> {
        page["items"].as_array().unwrap().iter().map(|m| m["content"].as_str().unwrap().to_string()).collect()
    };
    let newest = app.get(&format!("{path}?order=desc&limit=50"), &app.admin).await.expect(200);
    let got = contents(&newest);
    assert_eq!((got.len(), got[0].as_str(), got[49].as_str()), (50, "message 129", "message 80"));
    let mut seen = got;
    let mut cursor = newest["next_cursor"].as_str().unwrap().to_string();
    loop {
        let page =
            app.get(&format!("{path}?order=desc&limit=50&cursor={cursor}"), &app.admin).await.expect(200);
        seen.extend(contents(&page));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = c.to_string(),
            None => break,
        }
    }
    let expected: Vec<String> = (0..130).rev().map(|i| format!("message {i}")).collect();
    assert_eq!(seen, expected, "every message once, newest to oldest");
    // The default stays oldest first.
    let oldest = app.get(&format!("{path}?limit=2"), &app.admin).await.expect(200);
    assert_eq!(contents(&oldest), ["message 0", "message 1"]);
    app.get(&format!("{path}?order=sideways"), &app.admin).await.expect_error(400, "invalid_query");
}

fn keyed(caller: &Caller, path: &str, key: &str, body: &Value) -> Request<Body> {
    let Caller::Token(t) = caller else { panic!("token caller") };
    Request::post(path)
        .header(header::AUTHORIZATION, format!("Bearer {t}"))
        .header(header::CONTENT_TYPE, "application/json")
        .header("Idempotency-Key", key)
        .body(Body::from(body.to_string()))
        .unwrap()
}

async fn retries_with_the_same_key_store_once(app: TestApp) {
    let (ch, contact) = app.channel_and_contact(&app.admin).await;
    let conv = app.conversation(&app.admin, &ch, &contact, None).await;
    let path = format!("/api/v1/conversations/{conv}/messages");
    let body = json!({"kind": "incoming", "content": "退货地址是哪里？"});
    let first = app.send(keyed(&app.admin, &path, "wx-8841", &body)).await.expect(201);
    let again = app.send(keyed(&app.admin, &path, "wx-8841", &body)).await.expect(200);
    assert_eq!(first, again);
    // The key may also travel in the body.
    let in_body = json!({"kind": "incoming", "content": "退货地址是哪里？", "idempotency_key": "wx-8841"});
    assert_eq!(app.post(&path, &app.admin, in_body).await.expect(200)["id"], first["id"]);
    let changed = json!({"kind": "incoming", "content": "something else"});
    app.send(keyed(&app.admin, &path, "wx-8841", &changed)).await.expect_error(409, "conflict");
    app.send(keyed(&app.admin, &path, "bad key with spaces", &body))
        .await
        .expect_error(422, "validation_failed");
    let thread = app.get(&path, &app.admin).await.expect(200);
    assert_eq!(thread["items"].as_array().unwrap().len(), 1);
}

async fn concurrent_retries_store_once(app: TestApp) {
    let (ch, contact) = app.channel_and_contact(&app.admin).await;
    let conv = app.conversation(&app.admin, &ch, &contact, None).await;
    let path = format!("/api/v1/conversations/{conv}/messages");
    let body = json!({"kind": "incoming", "content": "double-tapped send"});
    let app = std::sync::Arc::new(app);
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (app, path, body) = (app.clone(), path.clone(), body.clone());
            tokio::spawn(
                async move { app.send(keyed(&app.admin, &path, "tap-1", &body)).await.status.as_u16() },
            )
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    statuses.sort();
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == 200 || *s == 201), "{statuses:?}");
    let thread = app.get(&path, &app.admin).await.expect(200);
    assert_eq!(thread["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        app.get(&format!("/api/v1/conversations/{conv}"), &app.admin).await.expect(200)["message_count"],
        1
    );
}
