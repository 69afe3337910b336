//! Background work as durable jobs: mining runs as a job an admin can see in the queue; a job whose
//! worker stopped mid-run is taken over and finished by the next worker; jobs stay in their workspace.

use serde_json::{Value, json};

use crate::{
    helpers::{ADMIN_PASSWORD, TestApp},
    on_both_backends,
};

on_both_backends!(config = lianluo_server::ServerConfig { job_lease_secs: 1, ..Default::default() };
    work_survives_a_stopped_worker);

async fn work_survives_a_stopped_worker(app: TestApp) {
    let (channel, contact) = app.channel_and_contact(&app.admin).await;
    let id = app.conversation(&app.admin, &channel, &contact, None).await;
    for (kind, content) in [
        ("incoming", "Do you ship to Macau?"),
        ("outgoing", "Yes, we ship to Macau: delivery takes 3 to 5 working days."),
    ] {
        app.post(
            &format!("/api/v1/conversations/{id}/messages"),
            &app.admin,
            json!({ "kind": kind, "content": content }),
        )
        .await
        .expect(201);
    }
    app.patch(&format!("/api/v1/conversations/{id}"), &app.admin, json!({ "status": "resolved" }))
        .await
        .expect(200);

    let queued = app.post("/api/v1/kb/candidates/mine", &app.admin, json!({})).await.expect(202);
    assert_eq!(queued["state"], "queued", "{queued}");
    let job_id = queued["job_id"].as_str().unwrap().to_string();
    let again = app.post("/api/v1/kb/candidates/mine", &app.admin, json!({})).await.expect(202);
    assert_eq!(again["job_id"], job_id.as_str(), "a run already queued is returned, not queued twice");

    // The customer's message above went to a conversation routed to a person, so no AI agent's turn (a
    // job of the interactive lane) was queued for it; admins list the background lane apart.
    let turns = app.get("/api/v1/jobs?lane=interactive", &app.admin).await.expect(200);
    assert_eq!(turns["items"], json!([]), "{turns}");
    let listed = app.get("/api/v1/jobs?lane=background", &app.admin).await.expect(200);
    let items = listed["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{listed}");
    assert_eq!(items[0]["kind"], "mine_conversations");
    assert_eq!(items[0]["payload"], json!({ "conversations": 200 }));
    assert_eq!(items[0]["state"], "pending");
    let (_, agent) = app.agent(&app.admin, "zhang@acme.example").await;
    app.get("/api/v1/jobs", &agent).await.expect(403);

    // A worker claims the job and stops without a word (a crash, kill -9): the job shows as running
    // until its lease (1 s here) runs out, then the next worker takes it over and finishes it.
    let stopped = app
        .store
        .claim_job(lianluo_domain::Timestamp::now(), 1_000, 1, lianluo_domain::job::Lane::Background)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stopped.id.to_string(), job_id);
    assert_eq!(app.get("/api/v1/kb/candidates/mine", &app.admin).await.expect(200)["state"], "running");
    assert_eq!(lianluo_server::jobs::run_until_idle(&app.state).await.unwrap(), 0, "its lease still holds");
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    assert_eq!(app.run_jobs().await, 1);

    let job = app.get(&format!("/api/v1/jobs/{job_id}"), &app.admin).await.expect(200);
    assert_eq!(job["state"], "done", "{job}");
    assert_eq!(job["attempts"], 2, "the second attempt finished it: {job}");
    assert_eq!(job["progress"]["conversations_read"], 1, "{job}");
    let run = app.get("/api/v1/kb/candidates/mine", &app.admin).await.expect(200);
    assert_eq!(run["state"], "done", "{run}");
    let added: Vec<&Value> = run["report"]["added"].as_array().unwrap().iter().collect();
    assert_eq!(added.len(), 1, "{run}");
    assert!(added[0]["question"].as_str().unwrap().contains("Macau"));
    let pending = app.get("/api/v1/kb/candidates", &app.admin).await.expect(200);
    assert_eq!(pending["items"].as_array().unwrap().len(), 1, "the interrupted attempt added nothing twice");
    // The stopped worker comes back late: what it says changes nothing.
    assert!(
        app.store
            .finish_job(&stopped, json!({}), json!({ "late": true }), lianluo_domain::Timestamp::now())
            .await
            .is_err()
    );
    assert_eq!(
        app.get(&format!("/api/v1/jobs/{job_id}"), &app.admin).await.expect(200)["result"],
        job["result"]
    );

    // Only a failed job is retried.
    app.post(&format!("/api/v1/jobs/{job_id}/retry"), &app.admin, json!({}))
        .await
        .expect_error(409, "conflict");
    assert_eq!(app.get("/api/v1/jobs?state=failed", &app.admin).await.expect(200)["items"], json!([]));
    app.get("/api/v1/jobs?limit=0", &app.admin).await.expect(422);

    // Another workspace sees none of it.
    app.workspace("bravo", "admin@bravo.example").await;
    let bravo = app.token_for(&app.login("admin@bravo.example", ADMIN_PASSWORD).await, "admin").await;
    app.get(&format!("/api/v1/jobs/{job_id}"), &bravo).await.expect(404);
    app.post(&format!("/api/v1/jobs/{job_id}/retry"), &bravo, json!({})).await.expect(404);
    assert_eq!(app.get("/api/v1/jobs", &bravo).await.expect(200)["items"], json!([]));
    assert_eq!(app.get("/api/v1/kb/candidates/mine", &bravo).await.expect(200)["state"], "idle");
}
