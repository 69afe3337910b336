//! Attachments: accepted types whose bytes match, size limits, and safe serving.

use axum::{
    body::Body,
    http::{Method, Request, header},
};
use serde_json::json;

use crate::{
    helpers::{Caller, TestApp},
    on_both_backends,
};

on_both_backends!(config = super::small_uploads(); attachments_are_checked_stored_and_served_safely);

fn small_uploads() -> lianluo_server::ServerConfig {
    lianluo_server::ServerConfig { max_upload_bytes: 4096, ..Default::default() }
}

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89";

fn upload(path: &str, bearer: Option<&str>, content_type: &str, body: &[u8]) -> Request<Body> {
    let mut req =
        Request::builder().method(Method::POST).uri(path).header(header::CONTENT_TYPE, content_type);
    if let Some(t) = bearer {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    req.body(Body::from(body.to_vec())).unwrap()
}

async fn attachments_are_checked_stored_and_served_safely(app: TestApp) {
    let Caller::Token(token) = app.admin.clone() else { unreachable!() };
    let t = Some(token.as_str());
    let made = app
        .send(upload("/api/v1/uploads?name=%E6%94%B6%E6%8D%AE%20receipt.png", t, "image/png", PNG))
        .await
        .expect(201);
    assert_eq!(
        (made["name"].as_str(), made["content_type"].as_str()),
        (Some("收据 receipt.png"), Some("image/png"))
    );
    assert_eq!(made["size_bytes"], PNG.len());
    let url = made["url"].as_str().unwrap().to_string();
    assert!(url.starts_with("/files/") && url.len() > 30);

    let served = app.send(Request::get(&url).body(Body::empty()).unwrap()).await;
    assert_eq!(served.headers[header::CONTENT_TYPE], "image/png");
    assert_eq!(served.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert!(served.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap().contains("sandbox"));
    assert!(
        served.headers[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .starts_with("inline; filename*=UTF-8''%E6%94%B6")
    );

    // Only the listed types, and only when the bytes agree with the label.
    let html =
        app.send(upload("/api/v1/uploads?name=x.html", t, "text/html", b"<script>alert(1)</script>")).await;
    html.expect_error(415, "unsupported_file");
    let fake =
        app.send(upload("/api/v1/uploads?name=x.png", t, "image/png", b"<script>alert(1)</script>")).await;
    assert!(fake.expect_error(415, "unsupported_file").contains("not really image/png"));
    let pdf = app
        .send(upload("/api/v1/uploads?name=invoice.pdf", t, "application/pdf", b"%PDF-1.7\n..."))
        .await
        .expect(201);
    let pdf_served = app.send(Request::get(pdf["url"].as_str().unwrap()).body(Body::empty()).unwrap()).await;
    assert!(
        pdf_served.headers[header::CONTENT_DISPOSITION].to_str().unwrap().starts_with("attachment;"),
        "downloads, never rendered"
    );
    app.send(upload("/api/v1/uploads", t, "image/png", &[0x89; 5000]))
        .await
        .expect_error(413, "payload_too_large");
    app.send(upload("/api/v1/uploads", t, "text/plain", b"")).await.expect_error(422, "invalid_body");
    app.send(upload("/api/v1/uploads", None, "image/png", PNG)).await.expect_error(401, "unauthenticated");
    app.get("/files/not-a-real-file-id-but-32-chars!", &Caller::Anonymous)
        .await
        .expect_error(404, "not_found");
    app.get("/files/..%2F..%2Fetc%2Fpasswd", &Caller::Anonymous).await.expect_error(404, "not_found");

    // A visitor attaches a picture to their message; the agent sees it in the thread.
    let ch = app
        .post("/api/v1/channels", &app.admin, json!({"kind": "web_widget", "name": "Shop"}))
        .await
        .expect(201);
    let session = app
        .post("/widget/v1/sessions", &Caller::Anonymous, json!({"channel": ch["public_token"]}))
        .await
        .expect(200);
    let visitor = session["visitor_token"].as_str().unwrap();
    let pic = app
        .send(upload("/widget/v1/uploads?name=broken.png", Some(visitor), "image/png", PNG))
        .await
        .expect(201);
    let sent = app
        .send(
            Request::post("/widget/v1/messages")
                .header(header::AUTHORIZATION, format!("Bearer {visitor}"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(json!({"content": "", "attachments": [pic]}).to_string()))
                .unwrap(),
        )
        .await
        .expect(201);
    let conv = sent["conversation"]["id"].as_str().unwrap();
    let thread = app.get(&format!("/api/v1/conversations/{conv}/messages"), &app.admin).await.expect(200);
    assert_eq!(thread["items"][0]["attachments"][0]["name"], "broken.png");

    // A visitor cannot attach another site's address, a protocol-relative one, or another workspace's
    // file; an agent cannot attach another workspace's file either.
    app.workspace("bravo", "admin@bravo.example").await;
    let b_browser = app.login("admin@bravo.example", crate::helpers::ADMIN_PASSWORD).await;
    let b = app.token_for(&b_browser, "admin").await;
    let Caller::Token(b_token) = b else { unreachable!() };
    let theirs = app
        .send(upload("/api/v1/uploads?name=theirs.png", Some(&b_token), "image/png", PNG))
        .await
        .expect(201);
    let visitor_post = |attachment: serde_json::Value| {
        Request::post("/widget/v1/messages")
            .header(header::AUTHORIZATION, format!("Bearer {visitor}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(json!({"content": "see attached", "attachments": [attachment]}).to_string()))
            .unwrap()
    };
    for url in [
        "//evil.example/invoice.pdf",
        "/\\evil.example/invoice.pdf",
        "https://evil.example/invoice.pdf",
        "/api/v1/contacts",
        theirs["url"].as_str().unwrap(),
    ] {
        let attachment =
            json!({"name": "invoice.pdf", "content_type": "application/pdf", "size_bytes": 10, "url": url});
        let res = app.send(visitor_post(attachment.clone())).await;
        assert_eq!(res.expect(422)["error"]["field"], "attachments[0].url", "{url}");
    }
    let res = app
        .post(
            &format!("/api/v1/conversations/{conv}/messages"),
            &app.admin,
            json!({"kind": "outgoing", "content": "here", "attachments": [theirs]}),
        )
        .await;
    assert_eq!(res.expect(422)["error"]["field"], "attachments[0].url");
    let thread = app.get(&format!("/api/v1/conversations/{conv}/messages"), &app.admin).await.expect(200);
    assert_eq!(thread["items"].as_array().unwrap().len(), 1, "nothing else was stored: {thread}");
}
