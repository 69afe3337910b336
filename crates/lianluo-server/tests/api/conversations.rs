//! Conversations: start, list with filters, assign, resolve, snooze, reopen, and the audit trail.

use serde_json::json;

use crate::{
    helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp},
    on_both_backends,
};

on_both_backends!(inbox_filters_and_status, assignment_and_audit_trail);

async fn inbox_filters_and_status(app: TestApp) {
    let admin = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (agent_id, agent) = app.agent(&admin, "xiao.li@acme.example").await;
    let (ch, contact) = app.channel_and_contact(&app.admin).await;
    let first = app.conversation(&app.admin, &ch, &contact, Some("Where is my order #A1001?")).await;
    let second = app.conversation(&app.admin, &ch, &contact, Some("耳机充不进电")).await;
    let created = app.get(&format!("/api/v1/conversations/{first}"), &agent).await.expect(200);
    assert_eq!((created["status"].as_str(), created["message_count"].as_i64()), (Some("open"), Some(1)));

    let assign = json!({"assignee_id": agent_id, "priority": "high", "tags": ["Shipping"]});
    app.patch(&format!("/api/v1/conversations/{first}"), &admin, assign).await.expect(200);
    let mine = app.get("/api/v1/conversations?assignee=me", &agent).await.expect(200);
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
    assert_eq!(mine["items"][0]["id"], first.as_str());
    let unassigned = app.get("/api/v1/conversations?assignee=none", &agent).await.expect(200);
    assert_eq!(unassigned["items"][0]["id"], second.as_str());
    let tagged = app.get("/api/v1/conversations?tag=shipping&priority=high", &agent).await.expect(200);
    assert_eq!(tagged["items"].as_array().unwrap().len(), 1);

    let resolved = app
        .patch(&format!("/api/v1/conversations/{second}"), &agent, json!({"status": "resolved"}))
        .await
        .expect(200);
    assert!(resolved["resolved_at"].is_string());
    let open = app.get("/api/v1/conversations?status=open", &agent).await.expect(200);
    assert_eq!(open["items"].as_array().unwrap().len(), 1);
    let bad =
        app.patch(&format!("/api/v1/conversations/{second}"), &agent, json!({"status": "snoozed"})).await;
    assert_eq!(bad.expect(422)["error"]["field"], "snoozed_until");
    let past = json!({"status": "snoozed", "snoozed_until": "2020-01-01T00:00:00Z"});
    app.patch(&format!("/api/v1/conversations/{second}"), &agent, past)
        .await
        .expect_error(422, "validation_failed");
    let snooze = json!({"status": "snoozed", "snoozed_until": "2099-01-01T08:00:00+08:00"});
    let snoozed = app.patch(&format!("/api/v1/conversations/{second}"), &agent, snooze).await.expect(200);
    assert_eq!(snoozed["snoozed_until"], "2099-01-01T00:00:00.000Z");
    // The customer writing again wakes it up.
    let msg = json!({"kind": "incoming", "content": "还是不行"});
    app.post(&format!("/api/v1/conversations/{second}/messages"), &app.admin, msg).await.expect(201);
    let woke = app.get(&format!("/api/v1/conversations/{second}"), &agent).await.expect(200);
    assert_eq!((woke["status"].as_str(), woke["snoozed_until"].is_null()), (Some("open"), true));
    assert_eq!(
        app.get("/api/v1/conversations", &agent).await.expect(200)["items"][0]["id"],
        second.as_str(),
        "latest activity first"
    );
}

async fn assignment_and_audit_trail(app: TestApp) {
    let admin = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (agent_id, agent) = app.agent(&admin, "wu.gang@acme.example").await;
    let team = app
        .post("/api/v1/teams", &admin, json!({"name": "After-sales", "member_ids": [agent_id]}))
        .await
        .expect(201);
    let team_id = team["id"].as_str().unwrap();
    let ch = app
        .post("/api/v1/channels", &admin, json!({"kind": "douyin", "name": "抖音店", "team_id": team_id}))
        .await
        .expect(201);
    let contact = app.post("/api/v1/contacts", &agent, json!({"name": "Sun Li"})).await.expect(201);
    let body = json!({"channel_id": ch["id"], "contact_id": contact["id"]});
    let conv = app.post("/api/v1/conversations", &agent, body).await.expect(201);
    assert_eq!(conv["conversation"]["team_id"], team_id, "routed to the channel's team");
    let id = conv["conversation"]["id"].as_str().unwrap();
    app.patch(&format!("/api/v1/conversations/{id}"), &agent, json!({"assignee_id": agent_id}))
        .await
        .expect(200);
    app.patch(&format!("/api/v1/conversations/{id}"), &agent, json!({"assignee_id": null})).await.expect(200);

    let events = app.get("/api/v1/events?limit=1000", &app.admin).await.expect(200);
    let updates: Vec<_> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "conversation.updated" && e["subject_id"] == id)
        .collect();
    assert_eq!(updates.len(), 2);
    assert_eq!(updates[0]["actor"], json!({"type": "user", "id": agent_id}));
    assert_eq!(updates[0]["data"]["assignee_id"], json!({"from": null, "to": agent_id}));
    assert_eq!(updates[1]["data"]["assignee_id"], json!({"from": agent_id, "to": null}));
    let last = updates[1]["id"].as_i64().unwrap();
    let after = app.get(&format!("/api/v1/events?after={last}"), &app.admin).await.expect(200);
    assert_eq!(after["items"], json!([]));
    // The audit log screen reads newest first, by area, a page at a time.
    let newest = app.get("/api/v1/events?area=conversations&limit=2", &app.admin).await.expect(200);
    let ids: Vec<i64> =
        newest["items"].as_array().unwrap().iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, [last, updates[0]["id"].as_i64().unwrap()], "{newest}");
    let older = app
        .get(&format!("/api/v1/events?area=conversations&before={}", ids[1]), &app.admin)
        .await
        .expect(200);
    assert_eq!(older["items"][0]["kind"], "conversation.created", "{older}");
    let people = app.get("/api/v1/events?area=people", &app.admin).await.expect(200);
    assert!(people["items"].as_array().unwrap().iter().all(|e| {
        let k = e["kind"].as_str().unwrap();
        k.starts_with("user.")
            || k.starts_with("team.")
            || k.starts_with("workspace.")
            || k.starts_with("api_token.")
    }));
    assert!(people["items"].as_array().unwrap().iter().any(|e| e["kind"] == "team.created"), "{people}");
    app.get("/api/v1/events?area=secrets", &app.admin).await.expect_error(400, "invalid_query");
    app.get("/api/v1/events?after=1&before=5", &app.admin).await.expect_error(400, "invalid_query");
    app.get("/api/v1/events?area=people", &agent).await.expect_error(403, "forbidden");

    // Deleting is for admins; the thread goes with it and the log remembers.
    app.delete(&format!("/api/v1/conversations/{id}"), &agent).await.expect_error(403, "forbidden");
    app.delete(&format!("/api/v1/conversations/{id}"), &admin).await.expect(204);
    app.get(&format!("/api/v1/conversations/{id}"), &agent).await.expect_error(404, "not_found");
    app.get(&format!("/api/v1/conversations/{id}/messages"), &agent).await.expect_error(404, "not_found");
    let events = app.get(&format!("/api/v1/events?after={last}"), &app.admin).await.expect(200);
    assert_eq!(events["items"][0]["kind"], "conversation.deleted");
}
