//! The inbox view, unread counts, search, and canned responses.

use serde_json::json;

use crate::{
    helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp},
    on_both_backends,
};

on_both_backends!(inbox_shows_previews_unread_counts_and_finds_text, canned_responses_by_shortcut);

async fn inbox_shows_previews_unread_counts_and_finds_text(app: TestApp) {
    let admin = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (_, agent) = app.agent(&admin, "he.jun@acme.example").await;
    let (ch, contact) = app.channel_and_contact(&app.admin).await;
    let conv = app.conversation(&app.admin, &ch, &contact, Some("充电宝充不进电")).await;
    let path = format!("/api/v1/conversations/{conv}/messages");
    app.post(&path, &app.admin, json!({"kind": "incoming", "content": "订单号 LM20251111"}))
        .await
        .expect(201);

    let inbox = app.get("/api/v1/inbox?status=open", &agent).await.expect(200);
    let item = &inbox["items"][0];
    assert_eq!(item["conversation"]["id"], conv.as_str());
    assert_eq!(item["contact_name"], "陈静");
    assert_eq!(item["last_message"]["excerpt"], "订单号 LM20251111");
    assert_eq!(item["unread_count"], 2);
    app.post(&format!("/api/v1/conversations/{conv}/read"), &agent, json!({})).await.expect(204);
    assert_eq!(app.get("/api/v1/inbox", &agent).await.expect(200)["items"][0]["unread_count"], 0);
    assert_eq!(
        app.get("/api/v1/inbox", &admin).await.expect(200)["items"][0]["unread_count"],
        2,
        "per agent"
    );

    let found = app.get("/api/v1/inbox?q=%E5%85%85%E7%94%B5%E5%AE%9D", &agent).await.expect(200);
    assert_eq!(found["items"].as_array().unwrap().len(), 1, "充电宝 finds the conversation");
    let none = app.get("/api/v1/conversations?q=nothing-like-this", &agent).await.expect(200);
    assert_eq!(none["items"], json!([]));
    let long = "x".repeat(201);
    app.get(&format!("/api/v1/inbox?q={long}"), &agent).await.expect_error(400, "invalid_query");
    app.post("/api/v1/conversations/0190b3c2-7a5e-7cc1-8f3e-1234567890ab/read", &agent, json!({}))
        .await
        .expect_error(404, "not_found");
}

async fn canned_responses_by_shortcut(app: TestApp) {
    let admin = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (_, agent) = app.agent(&admin, "wu.fang@acme.example").await;
    let made = app
        .post(
            "/api/v1/canned-responses",
            &admin,
            json!({"shortcut": "/Shipping", "content": "我们会在48小时内发货。"}),
        )
        .await
        .expect(201);
    assert_eq!(made["shortcut"], "shipping");
    app.post("/api/v1/canned-responses", &admin, json!({"shortcut": "shipping", "content": "dup"}))
        .await
        .expect_error(409, "conflict");
    let bad =
        app.post("/api/v1/canned-responses", &admin, json!({"shortcut": "two words", "content": "x"})).await;
    assert_eq!(bad.expect(422)["error"]["field"], "shortcut");
    app.post("/api/v1/canned-responses", &agent, json!({"shortcut": "mine", "content": "x"}))
        .await
        .expect_error(403, "forbidden");
    app.post(
        "/api/v1/canned-responses",
        &admin,
        json!({"shortcut": "sizes", "content": "Sizes run true to fit."}),
    )
    .await
    .expect(201);
    let list = app.get("/api/v1/canned-responses?prefix=sh", &agent).await.expect(200);
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(list["items"][0]["content"], "我们会在48小时内发货。");
    let id = made["id"].as_str().unwrap();
    let patched = app
        .patch(&format!("/api/v1/canned-responses/{id}"), &admin, json!({"content": "24小时内发货。"}))
        .await
        .expect(200);
    assert_eq!(patched["content"], "24小时内发货。");
    app.delete(&format!("/api/v1/canned-responses/{id}"), &admin).await.expect(204);
    assert_eq!(
        app.get("/api/v1/canned-responses", &agent).await.expect(200)["items"].as_array().unwrap().len(),
        1
    );
}
