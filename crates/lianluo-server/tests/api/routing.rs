//! Auto-assignment: round-robin among the team's online agents, each up to a cap of open conversations.

use serde_json::json;

use crate::{
    helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, Socket, TestApp, frames_until, open_socket, send_frame},
    on_both_backends,
};

on_both_backends!(config = super::two_each(); round_robin_among_online_agents_up_to_the_cap);

fn two_each() -> lianluo_server::ServerConfig {
    lianluo_server::ServerConfig { max_open_conversations_per_agent: 2, ..Default::default() }
}

async fn online(addr: &str, caller: &crate::helpers::Caller) -> Socket {
    let mut s = open_socket(addr, "", caller, Some(&format!("http://{addr}"))).await.unwrap();
    frames_until(&mut s, |f| f["type"] == "ready").await;
    s
}

async fn round_robin_among_online_agents_up_to_the_cap(app: TestApp) {
    let addr = app.serve().await;
    let admin = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (a, a_session) = app.agent(&admin, "a@acme.example").await;
    let (b, b_session) = app.agent(&admin, "b@acme.example").await;
    let (offline, _) = app.agent(&admin, "offline@acme.example").await;
    let (away, away_session) = app.agent(&admin, "away@acme.example").await;
    let team = app
        .post("/api/v1/teams", &admin, json!({"name": "Support", "member_ids": [a, b, offline, away]}))
        .await
        .expect(201);
    let ch = app
        .post(
            "/api/v1/channels",
            &admin,
            json!({"kind": "web_widget", "name": "Shop", "team_id": team["id"]}),
        )
        .await
        .expect(201);
    let contact = app.post("/api/v1/contacts", &admin, json!({"name": "Customer"})).await.expect(201);

    // Nobody online yet: the conversation waits unassigned.
    let new = json!({"channel_id": ch["id"], "contact_id": contact["id"]});
    let waiting = app.post("/api/v1/conversations", &admin, new.clone()).await.expect(201);
    assert!(waiting["conversation"]["assignee_id"].is_null());

    let _a = online(&addr, &a_session).await;
    let _b = online(&addr, &b_session).await;
    let mut away_socket = online(&addr, &away_session).await;
    send_frame(&mut away_socket, json!({"type": "presence", "status": "away"})).await;
    send_frame(&mut away_socket, json!({"type": "ping"})).await;
    frames_until(&mut away_socket, |f| f["type"] == "pong").await;

    let mut assignees = Vec::new();
    for _ in 0..5 {
        let c = app.post("/api/v1/conversations", &admin, new.clone()).await.expect(201);
        assignees.push(c["conversation"]["assignee_id"].as_str().map(String::from));
    }
    let count = |who: &str| assignees.iter().filter(|x| x.as_deref() == Some(who)).count();
    assert_eq!((count(&a), count(&b)), (2, 2), "{assignees:?}");
    assert!(assignees[..4].windows(2).all(|w| w[0] != w[1]), "alternates: {assignees:?}");
    assert_eq!(assignees[4], None, "both at the cap of 2: the fifth waits unassigned");
    assert_eq!((count(&offline), count(&away)), (0, 0), "offline and away agents get none");

    // Resolving one frees a place.
    let mine = app.get(&format!("/api/v1/conversations?assignee={a}&status=open"), &admin).await.expect(200);
    let id = mine["items"][0]["id"].as_str().unwrap();
    app.patch(&format!("/api/v1/conversations/{id}"), &admin, json!({"status": "resolved"}))
        .await
        .expect(200);
    let next = app.post("/api/v1/conversations", &admin, new).await.expect(201);
    assert_eq!(next["conversation"]["assignee_id"], a.as_str());
}
