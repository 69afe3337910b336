//! Malformed, oversize, mistyped or mistaken requests get a clear 4xx and write nothing.

use axum::{
    body::Body,
    http::{Request, header},
};
use serde_json::json;

use crate::{
    helpers::{Caller, TestApp},
    on_both_backends,
};

on_both_backends!(
    malformed_bodies_write_nothing,
    oversize_bodies_are_refused,
    bad_ids_and_queries,
    unknown_routes_and_methods,
    invalid_first_message_leaves_no_conversation,
);

async fn count_contacts(app: &TestApp) -> usize {
    app.get("/api/v1/contacts?limit=100", &app.admin).await.expect(200)["items"].as_array().unwrap().len()
}

fn raw(token: &Caller, path: &str, content_type: Option<&str>, body: impl Into<Body>) -> Request<Body> {
    let Caller::Token(t) = token else { panic!("token caller") };
    let mut req = Request::post(path).header(header::AUTHORIZATION, format!("Bearer {t}"));
    if let Some(ct) = content_type {
        req = req.header(header::CONTENT_TYPE, ct);
    }
    req.body(body.into()).unwrap()
}

async fn malformed_bodies_write_nothing(app: TestApp) {
    let before = count_contacts(&app).await;
    let json_ct = Some("application/json");
    let res = app.send(raw(&app.admin, "/api/v1/contacts", json_ct, r#"{"name": "Li"#)).await;
    res.expect_error(400, "malformed_json");
    let res = app.send(raw(&app.admin, "/api/v1/contacts", json_ct, r#"{"name": "Li", "vip": true}"#)).await;
    assert!(res.expect_error(422, "invalid_body").contains("vip"), "names the unknown field");
    let res = app.send(raw(&app.admin, "/api/v1/contacts", json_ct, r#"{"name": 42}"#)).await;
    res.expect_error(422, "invalid_body");
    let res = app.send(raw(&app.admin, "/api/v1/contacts", None, r#"{"name": "Li"}"#)).await;
    res.expect_error(415, "unsupported_media_type");
    let bad_email = json!({"name": "Li", "identities": [{"kind": "email", "value": "not-an-email"}]});
    let said = app.post("/api/v1/contacts", &app.admin, bad_email).await.expect_error(422, "invalid_body");
    assert!(
        said.contains("not a valid email") && !said.contains(" at line "),
        "the field, not the offset: {said}"
    );
    let too_many_tags: Vec<String> = (0..60).map(|i| format!("t{i}")).collect();
    let res = app.post("/api/v1/contacts", &app.admin, json!({"tags": too_many_tags})).await;
    assert_eq!(res.expect(422)["error"]["field"], "tags");
    assert_eq!(count_contacts(&app).await, before, "nothing was written");
}

async fn oversize_bodies_are_refused(app: TestApp) {
    let huge = format!(r#"{{"name": "{}"}}"#, "x".repeat(2 * 1024 * 1024));
    let res = app.send(raw(&app.admin, "/api/v1/contacts", Some("application/json"), huge)).await;
    res.expect_error(413, "payload_too_large");
    let (ch, contact) = app.channel_and_contact(&app.admin).await;
    let conv = app.conversation(&app.admin, &ch, &contact, None).await;
    let long = json!({"kind": "incoming", "content": "字".repeat(20_001)});
    let res = app.post(&format!("/api/v1/conversations/{conv}/messages"), &app.admin, long).await;
    assert_eq!(res.expect(422)["error"]["field"], "content");
}

async fn bad_ids_and_queries(app: TestApp) {
    app.get("/api/v1/contacts/not-a-uuid", &app.admin).await.expect_error(400, "invalid_id");
    app.get("/api/v1/contacts/0190b3c2-7a5e-7cc1-8f3e-1234567890ab", &app.admin)
        .await
        .expect_error(404, "not_found");
    app.get("/api/v1/contacts?limit=0", &app.admin).await.expect_error(400, "invalid_query");
    app.get("/api/v1/contacts?limit=1000", &app.admin).await.expect_error(400, "invalid_query");
    app.get("/api/v1/contacts?cursor=garbage", &app.admin).await.expect_error(400, "invalid_query");
    app.get("/api/v1/contacts?colour=red", &app.admin).await.expect_error(400, "invalid_query");
    app.get("/api/v1/conversations?status=closed", &app.admin).await.expect_error(400, "invalid_query");
    app.get("/api/v1/conversations?assignee=somebody", &app.admin).await.expect_error(400, "invalid_query");
}

async fn unknown_routes_and_methods(app: TestApp) {
    app.get("/api/v1/nothing-here", &app.admin).await.expect_error(404, "route_not_found");
    app.call(axum::http::Method::PUT, "/api/v1/contacts", &app.admin, Some(json!({})))
        .await
        .expect_error(405, "method_not_allowed");
}

async fn invalid_first_message_leaves_no_conversation(app: TestApp) {
    let (ch, contact) = app.channel_and_contact(&app.admin).await;
    let bad =
        json!({"channel_id": ch, "contact_id": contact, "message": {"kind": "incoming", "content": "   "}});
    let res = app.post("/api/v1/conversations", &app.admin, bad).await;
    assert_eq!(res.expect(422)["error"]["field"], "message.content");
    let stray = json!({"channel_id": ch, "contact_id": contact, "assignee_id": "0190b3c2-7a5e-7cc1-8f3e-1234567890ab",
        "message": {"kind": "incoming", "content": "hello"}});
    assert_eq!(
        app.post("/api/v1/conversations", &app.admin, stray).await.expect(422)["error"]["field"],
        "assignee_id"
    );
    // Nobody posts as the AI agent or the system: customers would take it for theirs.
    for kind in ["bot", "system"] {
        let posed = json!({"channel_id": ch, "contact_id": contact, "message": {"kind": kind, "content": "Refunds take 365 days."}});
        let res = app.post("/api/v1/conversations", &app.admin, posed).await;
        assert_eq!(res.expect(422)["error"]["field"], "kind", "{kind}");
    }
    let list = app.get("/api/v1/conversations", &app.admin).await.expect(200);
    assert_eq!(list["items"], json!([]));
    let conv = app.conversation(&app.admin, &ch, &contact, Some("hello")).await;
    let (_, agent) = app.agent(&app.admin, "agent.kinds@example.com").await;
    for (caller, kind) in [(&app.admin, "bot"), (&agent, "system"), (&agent, "bot")] {
        let res = app
            .post(
                &format!("/api/v1/conversations/{conv}/messages"),
                caller,
                json!({"kind": kind, "content": "As the AI: 100% off."}),
            )
            .await;
        assert_eq!(res.expect(422)["error"]["field"], "kind", "{kind}");
    }
    let thread = app.get(&format!("/api/v1/conversations/{conv}/messages"), &app.admin).await.expect(200);
    assert_eq!(thread["items"].as_array().unwrap().len(), 1, "only the customer's message: {thread}");
}

/// A request that declares a body over its route's limit gets 413 at once, without the server waiting
/// for bytes that never come; every response says to send no referrer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declared_oversize_bodies_are_refused_at_once() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::sqlite().await;
    let addr = app.serve().await;
    let Caller::Token(token) = app.admin.clone() else { unreachable!() };
    for (path, declared) in
        [("/api/v1/contacts", 50_000_000u64), ("/api/v1/kb/files?name=a.pdf", 500_000_000)]
    {
        let mut socket = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let head = format!(
            "POST {path} HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {token}\r\n\
             content-type: application/json\r\ncontent-length: {declared}\r\n\r\n{{\"name\": \""
        );
        socket.write_all(head.as_bytes()).await.unwrap();
        let mut buf = vec![0u8; 4096];
        let n = tokio::time::timeout(std::time::Duration::from_secs(3), socket.read(&mut buf))
            .await
            .expect("answered at once, not after the request timeout")
            .unwrap();
        let answer = String::from_utf8_lossy(&buf[..n]).to_string();
        assert!(answer.starts_with("HTTP/1.1 413"), "{path}: {answer}");
        assert!(answer.contains("payload_too_large"), "{answer}");
    }
    let res = app.get("/api/v1/contacts", &app.admin).await;
    assert_eq!(res.headers.get("referrer-policy").map(|v| v.to_str().unwrap()), Some("no-referrer"));
}

/// When the database fails under a request, the client gets a 503 that says to try again, never the
/// database's own words (table names, SQL); the cause goes to the log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_database_is_not_quoted_to_the_client() {
    let app = TestApp::postgres_with(lianluo_server::ServerConfig::default()).await;
    let (url, schema) = app.postgres_schema().unwrap();
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    client
        .batch_execute(&format!("ALTER TABLE \"{schema}\".workspace_ai RENAME TO workspace_ai_gone"))
        .await
        .unwrap();
    let res = app.post("/api/v1/kb/search", &app.admin, json!({ "query": "return policy" })).await;
    let message = res.expect_error(503, "unavailable");
    assert!(!message.contains("workspace_ai") && !message.contains("relation"), "{message}");
    assert!(message.contains("try again"), "{message}");
    client
        .batch_execute(&format!("ALTER TABLE \"{schema}\".workspace_ai_gone RENAME TO workspace_ai"))
        .await
        .unwrap();
    app.post("/api/v1/kb/search", &app.admin, json!({ "query": "return policy" })).await.expect(200);
}
