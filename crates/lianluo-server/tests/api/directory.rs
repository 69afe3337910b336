//! Users, teams and channels managed by admins.

use serde_json::json;

use crate::{
    helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp},
    on_both_backends,
};

on_both_backends!(users_teams_and_channels);

async fn users_teams_and_channels(app: TestApp) {
    let admin = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let me = app.get("/api/v1/auth/me", &admin).await.expect(200)["user"]["id"].as_str().unwrap().to_string();
    let (agent_id, _) = app.agent(&admin, "huang.wei@acme.example").await;
    let dup = json!({"name": "Again", "email": "HUANG.WEI@acme.example", "role": "agent", "password": "another-password"});
    app.post("/api/v1/users", &admin, dup).await.expect_error(409, "conflict");
    let weak = json!({"name": "Weak", "email": "weak@acme.example", "role": "agent", "password": "123"});
    assert_eq!(app.post("/api/v1/users", &admin, weak).await.expect(422)["error"]["field"], "password");
    let promoted =
        app.patch(&format!("/api/v1/users/{agent_id}"), &admin, json!({"role": "admin"})).await.expect(200);
    assert_eq!(promoted["role"], "admin");
    app.patch(&format!("/api/v1/users/{me}"), &admin, json!({"active": false}))
        .await
        .expect_error(409, "conflict");
    let users = app.get("/api/v1/users", &admin).await.expect(200);
    assert!(users.to_string().find("password").is_none(), "hashes never leave the server");

    let team = app
        .post("/api/v1/teams", &admin, json!({"name": "VIP 服务", "member_ids": [agent_id, me]}))
        .await
        .expect(201);
    let team_id = team["id"].as_str().unwrap();
    app.post("/api/v1/teams", &admin, json!({"name": "VIP 服务"})).await.expect_error(409, "conflict");
    let t =
        app.patch(&format!("/api/v1/teams/{team_id}"), &admin, json!({"member_ids": [me]})).await.expect(200);
    assert_eq!(t["member_ids"], json!([me]));

    let ch = app
        .post(
            "/api/v1/channels",
            &admin,
            json!({"kind": "email", "name": "support@acme.example", "team_id": team_id}),
        )
        .await
        .expect(201);
    let ch_id = ch["id"].as_str().unwrap();
    let renamed = app
        .patch(&format!("/api/v1/channels/{ch_id}"), &admin, json!({"name": "售后邮箱", "team_id": null}))
        .await
        .expect(200);
    assert_eq!((renamed["name"].as_str(), renamed["team_id"].is_null()), (Some("售后邮箱"), true));
    app.post("/api/v1/channels", &admin, json!({"kind": "carrier_pigeon", "name": "x"}))
        .await
        .expect_error(422, "invalid_body");
    app.delete(&format!("/api/v1/teams/{team_id}"), &admin).await.expect(204);
    app.delete(&format!("/api/v1/channels/{ch_id}"), &admin).await.expect(204);
    assert_eq!(app.get("/api/v1/channels", &admin).await.expect(200)["items"], json!([]));
    assert_eq!(app.get("/api/v1/workspace", &admin).await.expect(200)["slug"], "acme");
}
