//! The web widget: visitors chatting with agents live, identity verification, CORS and origins.

use axum::{
    body::Body,
    http::{Method, Request, header},
};
use lianluo_server::routes::widget::identity_hash;
use serde_json::{Value, json};

use crate::{
    helpers::{
        ADMIN_EMAIL, ADMIN_PASSWORD, Caller, Socket, TestApp, expect_silence, frames_until, open_socket,
    },
    on_both_backends,
};

on_both_backends!(
    a_visitor_chats_live_with_an_agent,
    site_identities_must_be_signed,
    cross_origin_rules,
    visitors_see_only_their_own_conversation,
    a_first_message_sent_twice_at_once_opens_one_conversation,
    customers_rate_resolved_conversations,
);

pub const SHOP: &str = "https://shop.example";

/// A widget channel routed to a team; returns (channel id, public token, secret).
pub async fn widget_channel(
    app: &TestApp,
    admin: &Caller,
    team: Option<&str>,
    settings: Value,
) -> (String, String, String) {
    let ch = app
        .post(
            "/api/v1/channels",
            admin,
            json!({"kind": "web_widget", "name": "官网 Web shop", "team_id": team, "settings": settings}),
        )
        .await
        .expect(201);
    let id = ch["id"].as_str().unwrap().to_string();
    let setup = app.get(&format!("/api/v1/channels/{id}/widget"), admin).await.expect(200);
    let token = setup["public_token"].as_str().unwrap().to_string();
    assert_eq!(ch["public_token"], token.as_str());
    assert!(setup["snippet"].as_str().unwrap().contains(&format!(r#"data-channel="{token}""#)));
    (id, token, setup["secret"].as_str().unwrap().to_string())
}

/// Calls a widget route from a page of `origin`, as a browser would.
pub async fn from_page(
    app: &TestApp,
    method: Method,
    path: &str,
    origin: &str,
    visitor: Option<&str>,
    body: Option<Value>,
) -> crate::helpers::Response {
    let mut req = Request::builder().method(method).uri(path).header(header::ORIGIN, origin);
    if let Some(v) = visitor {
        req = req.header(header::AUTHORIZATION, format!("Bearer {v}"));
    }
    let req = match body {
        Some(b) => req.header(header::CONTENT_TYPE, "application/json").body(Body::from(b.to_string())),
        None => req.body(Body::empty()),
    };
    app.send(req.unwrap()).await
}

pub async fn start(app: &TestApp, token: &str, extra: Value) -> Value {
    let mut body = json!({"channel": token});
    body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    from_page(app, Method::POST, "/widget/v1/sessions", SHOP, None, Some(body)).await.expect(200)
}

pub async fn visitor_socket(addr: &str, visitor: &str) -> Socket {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut req = format!("ws://{addr}/widget/v1/realtime?token={visitor}").into_client_request().unwrap();
    req.headers_mut().insert(header::ORIGIN, SHOP.parse().unwrap());
    let (mut s, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    frames_until(&mut s, |f| f["type"] == "ready").await;
    s
}

async fn a_visitor_chats_live_with_an_agent(app: TestApp) {
    let addr = app.serve().await;
    let admin = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (agent_id, agent) = app.agent(&admin, "xia.yu@acme.example").await;
    let team = app
        .post("/api/v1/teams", &admin, json!({"name": "Chat", "member_ids": [agent_id]}))
        .await
        .expect(201);
    let (_, token, _) = widget_channel(&app, &admin, team["id"].as_str(), json!({})).await;

    // Nobody online: the widget offers to leave a message.
    let offline = start(&app, &token, json!({})).await;
    assert_eq!(offline["agents_online"], false);

    let mut agent_socket = open_socket(&addr, "", &agent, Some(&format!("http://{addr}"))).await.unwrap();
    frames_until(&mut agent_socket, |f| f["type"] == "ready").await;
    let session = start(&app, &token, json!({"name": "Chen Jing", "email": "chen.jing@example.com"})).await;
    assert_eq!(session["agents_online"], true);
    assert_eq!(session["messages"], json!([]));
    let visitor = session["visitor_token"].as_str().unwrap().to_string();
    assert!(visitor.starts_with("vt_"));
    let contact = app
        .get(&format!("/api/v1/contacts/{}", session["contact_id"].as_str().unwrap()), &admin)
        .await
        .expect(200);
    assert_eq!(contact["name"], "Chen Jing", "the pre-chat form fills in the contact");
    let mut visitor_ws = visitor_socket(&addr, &visitor).await;

    let sent = from_page(
        &app,
        Method::POST,
        "/widget/v1/messages",
        SHOP,
        Some(&visitor),
        Some(json!({"content": "你好，我想退货"})),
    )
    .await;
    assert_eq!(sent.headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).unwrap(), SHOP);
    let sent = sent.expect(201);
    let conv = sent["conversation"]["id"].as_str().unwrap().to_string();
    let arrived = frames_until(&mut agent_socket, |f| f["kind"] == "message.created").await.pop().unwrap();
    assert_eq!(arrived["data"]["message"]["content"], "你好，我想退货");
    assert_eq!(
        arrived["data"]["conversation"]["assignee_id"],
        agent_id.as_str(),
        "routed to the online agent"
    );

    let path = format!("/api/v1/conversations/{conv}/messages");
    app.post(&path, &agent, json!({"kind": "note", "content": "check the order first"})).await.expect(201);
    app.post(&path, &agent, json!({"kind": "outgoing", "content": "您好！请提供订单号。"})).await.expect(201);
    let reply =
        frames_until(&mut visitor_ws, |f| f["type"] == "message" && f["message"]["kind"] == "outgoing").await;
    assert!(
        reply.iter().all(|f| f.to_string().find("check the order").is_none()),
        "notes never reach visitors"
    );
    let reply = reply.last().unwrap();
    assert_eq!(reply["message"]["content"], "您好！请提供订单号。");
    assert_eq!(reply["message"]["author"], "Agent Zhang");

    app.patch(&format!("/api/v1/conversations/{conv}"), &agent, json!({"status": "resolved"}))
        .await
        .expect(200);
    let status = frames_until(&mut visitor_ws, |f| f["type"] == "status").await.pop().unwrap();
    assert_eq!(status["status"], "resolved");

    // A reload resumes the same conversation from the same browser.
    let again = start(&app, &token, json!({"visitor_token": visitor})).await;
    assert_eq!(again["visitor_token"], visitor.as_str());
    assert_eq!(again["conversation"]["id"], conv.as_str());
    let texts: Vec<_> =
        again["messages"].as_array().unwrap().iter().map(|m| m["content"].as_str().unwrap()).collect();
    assert_eq!(texts, ["你好，我想退货", "您好！请提供订单号。"]);
}

async fn site_identities_must_be_signed(app: TestApp) {
    let admin = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (id, token, secret) = widget_channel(&app, &admin, None, json!({})).await;
    let signed = json!({"identity": {"id": "42", "hash": identity_hash(&secret, "42")}, "name": "Li Lei"});
    let first = start(&app, &token, signed.clone()).await;
    let second = start(&app, &token, signed).await;
    assert_eq!(
        first["contact_id"], second["contact_id"],
        "the same site user is the same contact on every device"
    );
    assert_ne!(first["visitor_token"], second["visitor_token"]);
    let contact = app
        .get(&format!("/api/v1/contacts/{}", first["contact_id"].as_str().unwrap()), &admin)
        .await
        .expect(200);
    assert_eq!(contact["identities"][0], json!({"kind": "external", "channel_id": id, "value": "user:42"}));

    let forged = json!({"channel": token, "identity": {"id": "43", "hash": identity_hash(&secret, "42")}});
    from_page(&app, Method::POST, "/widget/v1/sessions", SHOP, None, Some(forged))
        .await
        .expect_error(403, "identity_invalid");
    let garbage = json!({"channel": token, "identity": {"id": "42", "hash": "zz"}});
    from_page(&app, Method::POST, "/widget/v1/sessions", SHOP, None, Some(garbage))
        .await
        .expect_error(403, "identity_invalid");

    let rotated =
        app.post(&format!("/api/v1/channels/{id}/widget/secret"), &admin, json!({})).await.expect(200);
    assert_ne!(rotated["secret"], secret.as_str());
    let stale = json!({"channel": token, "identity": {"id": "42", "hash": identity_hash(&secret, "42")}});
    from_page(&app, Method::POST, "/widget/v1/sessions", SHOP, None, Some(stale))
        .await
        .expect_error(403, "identity_invalid");
    let fresh =
        json!({"identity": {"id": "42", "hash": identity_hash(rotated["secret"].as_str().unwrap(), "42")}});
    assert_eq!(start(&app, &token, fresh).await["contact_id"], first["contact_id"]);
    // Only admins see the secret.
    let (_, agent) = app.agent(&admin, "agent@acme.example").await;
    app.get(&format!("/api/v1/channels/{id}/widget"), &agent).await.expect_error(403, "forbidden");
}

async fn cross_origin_rules(app: TestApp) {
    let admin = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (_, token, _) = widget_channel(&app, &admin, None, json!({"allowed_origins": [SHOP]})).await;
    let preflight = Request::builder()
        .method(Method::OPTIONS)
        .uri("/widget/v1/messages")
        .header(header::ORIGIN, SHOP)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "authorization, content-type")
        .body(Body::empty())
        .unwrap();
    let res = app.send(preflight).await;
    assert_eq!(res.status.as_u16(), 204);
    assert_eq!(res.headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).unwrap(), SHOP);
    assert!(
        res.headers
            .get(header::ACCESS_CONTROL_ALLOW_HEADERS)
            .unwrap()
            .to_str()
            .unwrap()
            .contains("authorization")
    );
    assert!(res.headers.get(header::ACCESS_CONTROL_ALLOW_CREDENTIALS).is_none(), "no cookies cross-site");
    // The agents' API is not open to other sites.
    let api = Request::builder()
        .method(Method::GET)
        .uri("/api/v1/contacts")
        .header(header::ORIGIN, SHOP)
        .body(Body::empty())
        .unwrap();
    assert!(app.send(api).await.headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
    // A channel that lists its sites refuses others.
    let body = json!({"channel": token});
    from_page(&app, Method::POST, "/widget/v1/sessions", "https://evil.example", None, Some(body.clone()))
        .await
        .expect_error(403, "cross_origin");
    let session =
        from_page(&app, Method::POST, "/widget/v1/sessions", SHOP, None, Some(body)).await.expect(200);
    // The visitor's token works from the channel's site only: copied to another page, it sends nothing.
    let visitor = session["visitor_token"].as_str().unwrap();
    let message = json!({"content": "hello from elsewhere"});
    from_page(
        &app,
        Method::POST,
        "/widget/v1/messages",
        "https://evil.example",
        Some(visitor),
        Some(message.clone()),
    )
    .await
    .expect_error(403, "cross_origin");
    from_page(&app, Method::GET, "/widget/v1/messages", "https://evil.example", Some(visitor), None)
        .await
        .expect_error(403, "cross_origin");
    let sent = from_page(&app, Method::POST, "/widget/v1/messages", SHOP, Some(visitor), Some(message)).await;
    assert_eq!(sent.expect(201)["message"]["content"], "hello from elsewhere");
    let unknown = json!({"channel": "wc_nothing"});
    from_page(&app, Method::POST, "/widget/v1/sessions", SHOP, None, Some(unknown))
        .await
        .expect_error(404, "not_found");
}

async fn visitors_see_only_their_own_conversation(app: TestApp) {
    let addr = app.serve().await;
    let admin = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (_, token, _) = widget_channel(&app, &admin, None, json!({})).await;
    let a = start(&app, &token, json!({})).await["visitor_token"].as_str().unwrap().to_string();
    let b = start(&app, &token, json!({})).await["visitor_token"].as_str().unwrap().to_string();
    let mut b_ws = visitor_socket(&addr, &b).await;
    let posted = from_page(
        &app,
        Method::POST,
        "/widget/v1/messages",
        SHOP,
        Some(&a),
        Some(json!({"content": "secret order 123"})),
    )
    .await;
    let conv = posted.expect(201)["conversation"]["id"].as_str().unwrap().to_string();
    app.post(
        &format!("/api/v1/conversations/{conv}/messages"),
        &admin,
        json!({"kind": "outgoing", "content": "for A only"}),
    )
    .await
    .expect(201);
    let b_view = from_page(&app, Method::GET, "/widget/v1/messages", SHOP, Some(&b), None).await.expect(200);
    assert_eq!(b_view, json!({"conversation": null, "messages": []}));
    let a_view = from_page(&app, Method::GET, "/widget/v1/messages", SHOP, Some(&a), None).await.expect(200);
    assert_eq!(a_view["messages"].as_array().unwrap().len(), 2);
    expect_silence(&mut b_ws, 400).await;
    from_page(&app, Method::GET, "/widget/v1/messages", SHOP, Some("vt_forged"), None)
        .await
        .expect_error(401, "unauthenticated");
    from_page(&app, Method::GET, "/widget/v1/messages", SHOP, None, None)
        .await
        .expect_error(401, "unauthenticated");
    // An agent token is not a visitor token.
    let Caller::Token(t) = &app.admin else { unreachable!() };
    from_page(&app, Method::GET, "/widget/v1/messages", SHOP, Some(t), None)
        .await
        .expect_error(401, "unauthenticated");
}

/// One visitor holds a few live connections (tabs), not thousands: past the cap the next is refused
/// with 429, and closing one frees its place.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_holds_a_bounded_number_of_live_connections() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let config = lianluo_server::ServerConfig { max_sockets_per_visitor: 3, ..Default::default() };
    let app = TestApp::sqlite_with(config).await;
    let addr = app.serve().await;
    let admin = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (_, token, _) = widget_channel(&app, &admin, None, json!({})).await;
    let visitor = start(&app, &token, json!({})).await["visitor_token"].as_str().unwrap().to_string();
    let other = start(&app, &token, json!({})).await["visitor_token"].as_str().unwrap().to_string();
    let mut open = Vec::new();
    for _ in 0..3 {
        open.push(visitor_socket(&addr, &visitor).await);
    }
    let mut req = format!("ws://{addr}/widget/v1/realtime?token={visitor}").into_client_request().unwrap();
    req.headers_mut().insert(header::ORIGIN, SHOP.parse().unwrap());
    match tokio_tungstenite::connect_async(req).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => assert_eq!(res.status().as_u16(), 429),
        other => panic!("a fourth connection is refused: {:?}", other.map(|(_, r)| r.status())),
    }
    // Another visitor is not affected; a closed connection frees its place.
    let _theirs = visitor_socket(&addr, &other).await;
    let mut first = open.remove(0);
    first.close(None).await.unwrap();
    drop(first);
    let started = std::time::Instant::now();
    loop {
        let mut req =
            format!("ws://{addr}/widget/v1/realtime?token={visitor}").into_client_request().unwrap();
        req.headers_mut().insert(header::ORIGIN, SHOP.parse().unwrap());
        if tokio_tungstenite::connect_async(req).await.is_ok() {
            break;
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "the place was not freed");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// A visitor's first message and its retry racing it (the same `Idempotency-Key`, the response of the
/// first lost) open one conversation with one message; both answers carry it.
async fn a_first_message_sent_twice_at_once_opens_one_conversation(app: TestApp) {
    let admin = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (_, token, _) = widget_channel(&app, &admin, None, json!({})).await;
    let visitor = start(&app, &token, json!({})).await["visitor_token"].as_str().unwrap().to_string();
    let post = || {
        let req = Request::builder()
            .method(Method::POST)
            .uri("/widget/v1/messages")
            .header(header::ORIGIN, SHOP)
            .header(header::AUTHORIZATION, format!("Bearer {visitor}"))
            .header("idempotency-key", "w-1764530000000-abc")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(json!({"content": "Where is my order 5512?"}).to_string()))
            .unwrap();
        app.send(req)
    };
    let answers = futures_util::future::join_all((0..4).map(|_| post())).await;
    let mut statuses: Vec<u16> = answers.iter().map(|r| r.status.as_u16()).collect();
    statuses.sort();
    assert_eq!(statuses, [200, 200, 200, 201], "one stored it, the others found it: {statuses:?}");
    let ids: std::collections::BTreeSet<String> =
        answers.iter().map(|r| r.body["message"]["id"].as_str().unwrap().to_string()).collect();
    assert_eq!(ids.len(), 1, "the same message in every answer");
    let conversations: std::collections::BTreeSet<String> =
        answers.iter().map(|r| r.body["conversation"]["id"].as_str().unwrap().to_string()).collect();
    assert_eq!(conversations.len(), 1, "one conversation");
    let listed = app.get("/api/v1/conversations", &admin).await.expect(200);
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "{listed}");
    let seen =
        from_page(&app, Method::GET, "/widget/v1/messages", SHOP, Some(&visitor), None).await.expect(200);
    assert_eq!(seen["messages"].as_array().unwrap().len(), 1, "{seen}");
}

async fn customers_rate_resolved_conversations(app: TestApp) {
    let addr = app.serve().await;
    let admin = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (agent_id, agent) = app.agent(&admin, "xia.yu@acme.example").await;
    let (_, token, _) = widget_channel(&app, &admin, None, json!({})).await;
    let visitor = start(&app, &token, json!({"name": "Chen Jing"})).await["visitor_token"]
        .as_str()
        .unwrap()
        .to_string();
    let posted = from_page(
        &app,
        Method::POST,
        "/widget/v1/messages",
        SHOP,
        Some(&visitor),
        Some(json!({"content": "耳机左边没声音了"})),
    )
    .await
    .expect(201);
    let conv = posted["conversation"]["id"].as_str().unwrap().to_string();
    let path = format!("/widget/v1/conversations/{conv}/csat");
    let rate = |who: String, body: Value| {
        let (app, path) = (&app, path.clone());
        async move { from_page(app, Method::POST, &path, SHOP, Some(&who), Some(body)).await }
    };
    rate(visitor.clone(), json!({"rating": 5})).await.expect_error(409, "conflict");

    app.patch(
        &format!("/api/v1/conversations/{conv}"),
        &admin,
        json!({"assignee_id": agent_id, "status": "resolved"}),
    )
    .await
    .expect(200);
    // Bad input is refused and changes nothing; another visitor cannot rate it.
    rate(visitor.clone(), json!({"rating": 6})).await.expect_error(422, "validation_failed");
    rate(visitor.clone(), json!({"rating": 3, "comment": "x".repeat(1_001)}))
        .await
        .expect_error(422, "validation_failed");
    rate(visitor.clone(), json!({"rating": "five"})).await.expect_error(422, "invalid_body");
    let stranger = start(&app, &token, json!({})).await["visitor_token"].as_str().unwrap().to_string();
    rate(stranger, json!({"rating": 1})).await.expect_error(404, "not_found");
    let csat = format!("/api/v1/conversations/{conv}/csat");
    assert_eq!(app.get(&csat, &agent).await.expect(200), json!({"csat": null}));

    // The rating reaches the agent live and stays with the conversation and who held it.
    let mut agent_ws = open_socket(&addr, "", &agent, Some(&format!("http://{addr}"))).await.unwrap();
    frames_until(&mut agent_ws, |f| f["type"] == "ready").await;
    let given = rate(visitor.clone(), json!({"rating": 4, "comment": "  解决了，就是等得有点久  "}))
        .await
        .expect(200);
    assert_eq!((&given["rating"], &given["comment"]), (&json!(4), &json!("解决了，就是等得有点久")));
    assert_eq!(given["assignee_id"], agent_id.as_str());
    let live = frames_until(&mut agent_ws, |f| f["kind"] == "conversation.rated").await.pop().unwrap();
    assert_eq!(live["conversation_id"], conv.as_str());
    assert_eq!(live["data"]["change"], json!({"rating": 4, "comment": "解决了，就是等得有点久"}));
    assert_eq!(app.get(&csat, &agent).await.expect(200)["csat"], given);
    // The widget knows it was rated (it shows thanks, not the survey, after a reload).
    let history =
        from_page(&app, Method::GET, "/widget/v1/messages", SHOP, Some(&visitor), None).await.expect(200);
    assert_eq!(history["conversation"]["rating"], 4);

    // Rating again replaces the rating; another workspace sees none of it.
    rate(visitor.clone(), json!({"rating": 5})).await.expect(200);
    let now = app.get(&csat, &agent).await.expect(200)["csat"].clone();
    assert_eq!(
        (&now["rating"], &now["comment"], &now["created_at"]),
        (&json!(5), &Value::Null, &given["created_at"])
    );
    app.workspace("bravo", "admin@bravo.example").await;
    let bravo = app.token_for(&app.login("admin@bravo.example", ADMIN_PASSWORD).await, "admin").await;
    app.get(&csat, &bravo).await.expect_error(404, "not_found");
}
