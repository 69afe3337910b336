//! The agents' WebSocket: live events, catch-up after a reconnect, typing and presence, origin checks.

use serde_json::{Value, json};

use crate::{
    helpers::{
        ADMIN_EMAIL, ADMIN_PASSWORD, Caller, TestApp, expect_silence, frames_until, next_frame, open_socket,
        send_frame,
    },
    on_both_backends,
};

on_both_backends!(
    live_events_reach_the_workspace_only,
    reconnecting_catches_up_without_loss,
    typing_and_presence,
    sockets_need_credentials_and_the_right_origin,
    revoking_a_credential_closes_its_sockets_at_once,
);

fn kind(f: &Value) -> &str {
    f["kind"].as_str().unwrap_or("")
}

async fn live_events_reach_the_workspace_only(app: TestApp) {
    let addr = app.serve().await;
    app.workspace("bravo", "admin@bravo.example").await;
    let b = app.token_for(&app.login("admin@bravo.example", ADMIN_PASSWORD).await, "agent").await;
    app.settle().await;
    let mut a_sock = open_socket(&addr, "", &app.admin, None).await.unwrap();
    let mut b_sock = open_socket(&addr, "", &b, None).await.unwrap();
    assert_eq!(next_frame(&mut a_sock).await["type"], "ready");
    assert_eq!(next_frame(&mut b_sock).await["type"], "ready");

    let (ch, contact) = app.channel_and_contact(&app.admin).await;
    let conv = app.conversation(&app.admin, &ch, &contact, Some("耳机左边没声音了")).await;
    let frames = frames_until(&mut a_sock, |f| kind(f) == "message.created").await;
    let created =
        frames.iter().find(|f| kind(f) == "conversation.created").expect("conversation.created first");
    assert_eq!(created["conversation_id"], conv.as_str());
    let msg = frames.last().unwrap();
    assert_eq!(msg["data"]["message"]["content"], "耳机左边没声音了");
    assert_eq!(msg["data"]["conversation"]["message_count"], 1);
    assert!(msg["id"].as_i64().unwrap() > created["id"].as_i64().unwrap(), "in log order");

    let path = format!("/api/v1/conversations/{conv}");
    app.patch(&path, &app.admin, json!({"status": "resolved"})).await.expect(200);
    let update = frames_until(&mut a_sock, |f| kind(f) == "conversation.updated").await.pop().unwrap();
    assert_eq!(update["data"]["change"]["status"], json!({"from": "open", "to": "resolved"}));
    assert_eq!(update["data"]["conversation"]["status"], "resolved");
    // Workspace B's agent heard none of it (B's own presence aside).
    expect_silence(&mut b_sock, 300).await;
}

async fn reconnecting_catches_up_without_loss(app: TestApp) {
    let addr = app.serve().await;
    let (ch, contact) = app.channel_and_contact(&app.admin).await;
    let conv = app.conversation(&app.admin, &ch, &contact, None).await;
    let path = format!("/api/v1/conversations/{conv}/messages");
    let mut sock = open_socket(&addr, "", &app.admin, None).await.unwrap();
    next_frame(&mut sock).await;
    app.post(&path, &app.admin, json!({"kind": "incoming", "content": "first"})).await.expect(201);
    let seen = frames_until(&mut sock, |f| kind(f) == "message.created").await.pop().unwrap();
    let last_seen = seen["id"].as_i64().unwrap();
    drop(sock);

    // Offline: three messages and a status change.
    for text in ["second", "third", "fourth"] {
        app.post(&path, &app.admin, json!({"kind": "incoming", "content": text})).await.expect(201);
    }
    app.patch(&format!("/api/v1/conversations/{conv}"), &app.admin, json!({"priority": "urgent"}))
        .await
        .expect(200);

    // Events up to the published watermark come from the log before `ready`; any the sequencer had not
    // published yet follow live. Either way each arrives once, in order.
    let mut sock = open_socket(&addr, &format!("?after={last_seen}"), &app.admin, None).await.unwrap();
    let mut replay = frames_until(&mut sock, |f| kind(f) == "conversation.updated").await;
    if !replay.iter().any(|f| f["type"] == "ready") {
        replay.extend(frames_until(&mut sock, |f| f["type"] == "ready").await);
    }
    assert_eq!(replay.iter().filter(|f| f["type"] == "ready").count(), 1);
    let events: Vec<_> = replay.iter().filter(|f| f["type"] == "event").collect();
    let texts: Vec<_> = events.iter().filter_map(|f| f["data"]["message"]["content"].as_str()).collect();
    assert_eq!(texts, ["second", "third", "fourth"]);
    assert_eq!(kind(events.last().unwrap()), "conversation.updated");
    let ids: Vec<i64> = events.iter().map(|f| f["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]) && ids[0] > last_seen, "{ids:?}");

    // Live again, with nothing repeated.
    app.post(&path, &app.admin, json!({"kind": "incoming", "content": "fifth"})).await.expect(201);
    let live = frames_until(&mut sock, |f| kind(f) == "message.created").await;
    assert_eq!(live.len(), 1, "{live:?}");
    assert_eq!(live[0]["data"]["message"]["content"], "fifth");
}

async fn typing_and_presence(app: TestApp) {
    let addr = app.serve().await;
    let admin = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (agent_id, agent) = app.agent(&admin, "li.ming@acme.example").await;
    let (ch, contact) = app.channel_and_contact(&app.admin).await;
    let conv = app.conversation(&app.admin, &ch, &contact, None).await;
    let origin = format!("http://{addr}");
    let mut watcher = open_socket(&addr, "", &admin, Some(&origin)).await.unwrap();
    frames_until(&mut watcher, |f| f["type"] == "ready").await;
    let mut typer = open_socket(&addr, "", &agent, Some(&origin)).await.unwrap();
    frames_until(&mut typer, |f| f["type"] == "ready").await;
    let online = frames_until(&mut watcher, |f| kind(f) == "presence").await.pop().unwrap();
    assert_eq!(online["data"], json!({"user_id": agent_id, "status": "online"}));
    let present = app.get("/api/v1/presence", &admin).await.expect(200);
    assert_eq!(present["items"].as_array().unwrap().len(), 2);

    send_frame(&mut typer, json!({"type": "typing", "conversation_id": conv, "typing": true})).await;
    let typing = frames_until(&mut watcher, |f| kind(f) == "typing").await.pop().unwrap();
    assert_eq!(
        (typing["conversation_id"].as_str(), typing["data"]["typing"].as_bool()),
        (Some(conv.as_str()), Some(true))
    );
    assert!(typing["id"].is_null(), "typing is not replayed");
    send_frame(&mut typer, json!({"type": "ping"})).await;
    // Events of the conversation created just before may still arrive; one's own typing never does.
    let before_pong = frames_until(&mut typer, |f| f["type"] == "pong").await;
    assert!(!before_pong.iter().any(|f| kind(f) == "typing"), "{before_pong:?}");
    send_frame(
        &mut typer,
        json!({"type": "typing", "conversation_id": "0190b3c2-7a5e-7cc1-8f3e-1234567890ab", "typing": true}),
    )
    .await;
    assert_eq!(frames_until(&mut typer, |f| f["type"] == "error").await.pop().unwrap()["code"], "not_found");
    send_frame(&mut typer, json!({"type": "shout"})).await;
    assert_eq!(
        frames_until(&mut typer, |f| f["type"] == "error").await.pop().unwrap()["code"],
        "invalid_frame"
    );

    send_frame(&mut typer, json!({"type": "presence", "status": "away"})).await;
    let away = frames_until(&mut watcher, |f| kind(f) == "presence").await.pop().unwrap();
    assert_eq!(away["data"]["status"], "away");
    drop(typer);
    let gone = frames_until(&mut watcher, |f| kind(f) == "presence").await.pop().unwrap();
    assert_eq!(gone["data"]["status"], "offline");
    let present = app.get("/api/v1/presence", &admin).await.expect(200);
    assert_eq!(present["items"].as_array().unwrap().len(), 1);
}

async fn sockets_need_credentials_and_the_right_origin(app: TestApp) {
    let addr = app.serve().await;
    let refused = |r: Result<_, tokio_tungstenite::tungstenite::Error>| match r {
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => res.status().as_u16(),
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => 101,
    };
    assert_eq!(refused(open_socket(&addr, "", &Caller::Anonymous, None).await), 401);
    let browser = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(refused(open_socket(&addr, "", &browser, Some("https://evil.example")).await), 403);
    assert_eq!(refused(open_socket(&addr, "", &browser, Some(&format!("http://{addr}"))).await), 101);
    assert_eq!(refused(open_socket(&addr, "?after=abc", &app.admin, None).await), 400);
    // A plain GET is told to upgrade.
    app.get("/api/v1/realtime", &app.admin).await.expect_error(426, "upgrade_required");
}

/// Waits (at most 3 s) for the socket to say its credential ended and close.
async fn closed_for_sign_out(socket: &mut crate::helpers::Socket) {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    let mut told = false;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(3);
    loop {
        match tokio::time::timeout_at(deadline, socket.next()).await.expect("closed within 3 seconds") {
            Some(Ok(Message::Text(t))) => {
                let f: Value = serde_json::from_str(&t).unwrap();
                told |= f["code"] == "unauthenticated";
            }
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
            Some(Ok(_)) => {}
        }
    }
    assert!(told, "the client is told why");
}

async fn revoking_a_credential_closes_its_sockets_at_once(app: TestApp) {
    let addr = app.serve().await;
    let origin = format!("http://{addr}");
    let admin = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (ch, contact) = app.channel_and_contact(&app.admin).await;

    // A revoked API token.
    let token = app.token_for(&admin, "agent").await;
    let mut by_token = open_socket(&addr, "", &token, None).await.unwrap();
    next_frame(&mut by_token).await; // ready
    let listed = app.get("/api/v1/api-tokens", &admin).await.expect(200);
    let id = listed["items"].as_array().unwrap().iter().find(|t| t["name"] == "agent token").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.delete(&format!("/api/v1/api-tokens/{id}"), &admin).await;
    closed_for_sign_out(&mut by_token).await;

    // A session that signs out.
    let (agent_id, agent) = app.agent(&admin, "ws.agent@acme.example").await;
    let mut by_session = open_socket(&addr, "", &agent, Some(&origin)).await.unwrap();
    next_frame(&mut by_session).await;
    app.post("/api/v1/auth/logout", &agent, json!({})).await;
    closed_for_sign_out(&mut by_session).await;

    // A user who is deactivated: the socket closes before the next customer message could reach it.
    let again = app.login("ws.agent@acme.example", "agent-password-1").await;
    let mut deactivated = open_socket(&addr, "", &again, Some(&origin)).await.unwrap();
    next_frame(&mut deactivated).await;
    app.patch(&format!("/api/v1/users/{agent_id}"), &admin, json!({ "active": false })).await.expect(200);
    closed_for_sign_out(&mut deactivated).await;
    app.conversation(&app.admin, &ch, &contact, Some("my card number is 4111 1111 1111 1111")).await;

    // A socket whose credential is still good stays open and keeps receiving.
    let mut kept = open_socket(&addr, "", &app.admin, None).await.unwrap();
    next_frame(&mut kept).await;
    let other = app.token_for(&admin, "agent").await;
    let listed = app.get("/api/v1/api-tokens", &admin).await.expect(200);
    let newest =
        listed["items"].as_array().unwrap().iter().rfind(|t| t["name"] == "agent token").unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
    drop(other);
    app.delete(&format!("/api/v1/api-tokens/{newest}"), &admin).await;
    app.conversation(&app.admin, &ch, &contact, Some("still here?")).await;
    frames_until(&mut kept, |f| {
        f["data"]["content"] == "still here?" || f.to_string().contains("still here?")
    })
    .await;
}
