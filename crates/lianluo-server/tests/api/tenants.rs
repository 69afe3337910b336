//! One workspace can never see or change another's rows through the API.

use serde_json::json;

use crate::{
    helpers::{ADMIN_PASSWORD, TestApp},
    on_both_backends,
};

on_both_backends!(workspaces_are_isolated);

async fn workspaces_are_isolated(app: TestApp) {
    // Workspace A (the default) with data; workspace B with its own admin.
    let a = app.admin.clone();
    let (ch, contact) = app.channel_and_contact(&a).await;
    let conv = app.conversation(&a, &ch, &contact, Some("我的订单到哪了？")).await;
    let team = app.post("/api/v1/teams", &a, json!({"name": "A team"})).await.expect(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let a_user = app.get("/api/v1/auth/me", &a).await.expect(200)["user"]["id"].as_str().unwrap().to_string();
    app.workspace("bravo", "admin@bravo.example").await;
    let b_browser = app.login("admin@bravo.example", ADMIN_PASSWORD).await;
    let b = app.token_for(&b_browser, "admin").await;

    for path in [
        format!("/api/v1/contacts/{contact}"),
        format!("/api/v1/channels/{ch}"),
        format!("/api/v1/conversations/{conv}"),
        format!("/api/v1/conversations/{conv}/messages"),
        format!("/api/v1/teams/{team}"),
        format!("/api/v1/users/{a_user}"),
    ] {
        app.get(&path, &b).await.expect_error(404, "not_found");
    }
    app.patch(&format!("/api/v1/contacts/{contact}"), &b, json!({"name": "hijacked"}))
        .await
        .expect_error(404, "not_found");
    app.patch(&format!("/api/v1/conversations/{conv}"), &b, json!({"status": "resolved"}))
        .await
        .expect_error(404, "not_found");
    app.patch(&format!("/api/v1/users/{a_user}"), &b, json!({"active": false}))
        .await
        .expect_error(404, "not_found");
    app.patch(&format!("/api/v1/teams/{team}"), &b, json!({"name": "x"}))
        .await
        .expect_error(404, "not_found");
    app.delete(&format!("/api/v1/channels/{ch}"), &b).await.expect_error(404, "not_found");
    app.delete(&format!("/api/v1/teams/{team}"), &b).await.expect_error(404, "not_found");
    app.delete(&format!("/api/v1/conversations/{conv}"), &b).await.expect_error(404, "not_found");
    let msg = json!({"kind": "outgoing", "content": "hi from B"});
    app.post(&format!("/api/v1/conversations/{conv}/messages"), &b, msg).await.expect_error(404, "not_found");
    // B cannot point its own rows at A's.
    let cross = json!({"channel_id": ch, "contact_id": contact});
    app.post("/api/v1/conversations", &b, cross).await.expect_error(422, "validation_failed");
    // B's lists hold only B's rows.
    for list in [
        "/api/v1/contacts",
        "/api/v1/conversations",
        "/api/v1/channels",
        "/api/v1/teams",
        "/api/v1/api-tokens",
    ] {
        let items = app.get(list, &b).await.expect(200)["items"].clone();
        let ours = if list.ends_with("api-tokens") { 1 } else { 0 };
        assert_eq!(items.as_array().unwrap().len(), ours, "{list}: {items}");
    }
    let users = app.get("/api/v1/users", &b).await.expect(200);
    assert_eq!(users["items"].as_array().unwrap().len(), 1);
    assert!(app.get("/api/v1/events", &b).await.expect(200).to_string().find(&conv).is_none());
    // A's rows are untouched.
    let c = app.get(&format!("/api/v1/contacts/{contact}"), &a).await.expect(200);
    assert_eq!(c["name"], "陈静");
    assert_eq!(app.get(&format!("/api/v1/conversations/{conv}"), &a).await.expect(200)["status"], "open");
}
