//! Knowledge is data, never instructions: the probe suite (`lianluo-knowledge/tests/probes.jsonl`, in
//! Chinese and English: documents, crawled pages with hidden text and zero-width characters, mined
//! conversations, corrections, customers' own messages, role-play, "note for the AI", markdown links)
//! through the API. A probe that plants instructions, a secret or internal material is held for an admin
//! with its reason and is never searched or quoted; what a customer writes changes nothing; and in
//! generative mode a model that obeys what was planted (a stand-in provider that repeats it) gets none of
//! it past the sentence check, even after an admin approved the passage by mistake.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::{
    helpers::{Step, TestApp, scripted_provider, wait_indexed},
    on_both_backends,
};

#[derive(Deserialize)]
struct Probe {
    id: String,
    channel: String,
    text: String,
    expect: String,
    planted: Option<String>,
    question: Option<String>,
    #[serde(default)]
    html: bool,
}

fn probes() -> Vec<Probe> {
    include_str!("../../../lianluo-knowledge/tests/probes.jsonl")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

async fn put_settings(app: &TestApp, body: Value) {
    app.call(axum::http::Method::PUT, "/api/v1/ai/settings", &app.admin, Some(body)).await.expect(200);
}

/// Adds every probe that is knowledge (not a customer's message) as a source of its own and waits until
/// all are indexed; returns (probe, source id).
async fn add_probes(app: &TestApp, probes: &[Probe]) -> Vec<(usize, String)> {
    let mut ids = Vec::new();
    for (i, p) in probes.iter().enumerate().filter(|(_, p)| p.channel != "message") {
        let kind = if p.html { "html" } else { "text" };
        let made = app
            .post(
                "/api/v1/kb/sources",
                &app.admin,
                json!({ "kind": kind, "title": format!("Help {}", p.id), "content": p.text }),
            )
            .await
            .expect(201);
        ids.push((i, made["id"].as_str().unwrap().to_string()));
    }
    for (i, id) in &ids {
        let s = wait_indexed(app, &app.admin, id, std::time::Duration::from_secs(20)).await;
        assert_eq!(s["status"], "indexed", "probe {}: {s}", probes[*i].id);
    }
    ids
}

async fn ask(app: &TestApp, question: &str) -> Value {
    app.post("/api/v1/kb/answer", &app.admin, json!({ "question": question })).await.expect(200)
}

fn never_shows(answer: &Value, planted: &[&str], probe: &str) {
    let text = answer["text"].as_str().unwrap().to_lowercase();
    for p in planted {
        assert!(!text.contains(&p.to_lowercase()), "probe {probe}: {p:?} reached the customer: {answer}");
    }
}

async fn planted_knowledge_is_held_and_never_reaches_customers(app: TestApp) {
    let probes = probes();
    assert!(probes.len() >= 60, "at least 60 probes");
    // The most exposed setting: answer from any confidence.
    put_settings(&app, json!({ "min_confidence": 0.0 })).await;
    let sources = add_probes(&app, &probes).await;

    // Every flagged probe is held with its reason; no clean one is.
    let held = app.get("/api/v1/kb/held", &app.admin).await.expect(200);
    let held = held["items"].as_array().unwrap();
    for (i, id) in &sources {
        let p = &probes[*i];
        let mine: Vec<&Value> = held.iter().filter(|h| h["source_id"] == id.as_str()).collect();
        if p.expect == "clean" {
            assert!(mine.is_empty(), "probe {} is ordinary text but was held: {mine:?}", p.id);
        } else {
            assert!(!mine.is_empty(), "probe {} ({}) was not held", p.id, p.expect);
            assert!(mine.iter().all(|h| !h["held"].as_str().unwrap_or("").is_empty()), "a reason is shown");
            assert!(mine.iter().all(|h| h["held_code"].is_string()), "with its code: {mine:?}");
        }
    }

    // Nothing planted reaches a customer, whatever they ask; a customer's own instructions are a question
    // like any other, answered from the knowledge or declined.
    let planted: Vec<&str> = probes.iter().filter_map(|p| p.planted.as_deref()).collect();
    for p in &probes {
        let question = if p.channel == "message" { Some(p.text.as_str()) } else { p.question.as_deref() };
        let Some(question) = question else { continue };
        let a = ask(&app, question).await;
        never_shows(&a, &planted, &p.id);
        if a["answered"] == true {
            let quote = a["citations"][0]["quote"].as_str().unwrap();
            assert_eq!(a["text"].as_str().unwrap(), quote, "probe {}: extractive answers are quotes", p.id);
        }
    }

    // Only admins see and approve held passages, and only their own workspace's.
    let (_, agent) = app.agent(&app.admin, "agent.probes@example.com").await;
    app.get("/api/v1/kb/held", &agent).await.expect_error(403, "forbidden");
    let first = held[0]["id"].as_str().unwrap();
    app.post(&format!("/api/v1/kb/chunks/{first}/approve"), &agent, json!({}))
        .await
        .expect_error(403, "forbidden");
    app.workspace("bravo", "admin@bravo.example").await;
    let other = app.login("admin@bravo.example", crate::helpers::ADMIN_PASSWORD).await;
    app.post(&format!("/api/v1/kb/chunks/{first}/approve"), &other, json!({}))
        .await
        .expect_error(404, "not_found");
    app.post(&format!("/api/v1/kb/chunks/{}/approve", uuid::Uuid::now_v7()), &app.admin, json!({}))
        .await
        .expect_error(404, "not_found");
}

async fn a_model_that_obeys_planted_text_gets_nothing_past_the_check(app: TestApp) {
    let probes = probes();
    let planted: Vec<&str> = probes.iter().filter_map(|p| p.planted.as_deref()).collect();
    // Instructions planted in knowledge, approved by an admin by mistake.
    let chosen: Vec<&Probe> = probes
        .iter()
        .filter(|p| {
            p.channel != "message"
                && p.expect == "instructions"
                && p.planted.is_some()
                && p.question.is_some()
        })
        .collect();
    assert!(chosen.len() >= 10, "{} instruction probes with a question", chosen.len());
    let only: Vec<Probe> = chosen
        .iter()
        .map(|p| Probe {
            id: p.id.clone(),
            channel: p.channel.clone(),
            text: p.text.clone(),
            expect: p.expect.clone(),
            planted: p.planted.clone(),
            question: p.question.clone(),
            html: p.html,
        })
        .collect();
    add_probes(&app, &only).await;
    let held = app.get("/api/v1/kb/held", &app.admin).await.expect(200);
    for h in held["items"].as_array().unwrap() {
        let approved = app
            .post(&format!("/api/v1/kb/chunks/{}/approve", h["id"].as_str().unwrap()), &app.admin, json!({}))
            .await
            .expect(200);
        assert!(approved["held"].is_null());
    }
    assert!(app.get("/api/v1/kb/held", &app.admin).await.expect(200)["items"].as_array().unwrap().is_empty());

    // The provider does what the planted text asks, every time.
    let obeying: Vec<Vec<Step>> = only
        .iter()
        .map(|p| {
            let said: &'static str =
                Box::leak(format!("{}. ", p.planted.as_deref().unwrap()).into_boxed_str());
            vec![Step::Say(said), Step::Say("Anything else I can help with? ")]
        })
        .collect();
    let provider = scripted_provider(obeying, std::sync::Arc::new(tokio::sync::Notify::new())).await;
    put_settings(
        &app,
        json!({ "min_confidence": 0.0, "answer_mode": "generative", "chat": { "base_url": format!("http://{provider}/v1"), "model": "obeys", "timeout_secs": 10 } }),
    )
    .await;
    for p in &only {
        let a = ask(&app, p.question.as_deref().unwrap()).await;
        never_shows(&a, &planted, &p.id);
    }
}

on_both_backends!(
    planted_knowledge_is_held_and_never_reaches_customers,
    a_model_that_obeys_planted_text_gets_nothing_past_the_check,
);
