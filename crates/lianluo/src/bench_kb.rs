//! `lianluo bench kb`: the knowledge base's speed. Embedding throughput and single-query latency,
//! hybrid search latency over a large index, the embedded chat model's prompt and generation speed, and
//! the time from a customer's question to the first streamed token of the AI agent's answer, through a
//! real server.

use std::time::Instant;

use anyhow::{Context, bail};
use clap::Args;
use lianluo_domain::{
    KbChunkId, KbSourceId, WorkspaceId,
    knowledge::{KbChunk, SourceKind},
};
use lianluo_knowledge::{HybridIndex, SearchOptions, chunk_sections, parse_source};
use lianluo_models::{ChatMessage, ChatModel, ChatRequest, Role};
use serde_json::{Value, json};

use crate::{
    bench::{BENCH_PASSWORD, ChildServer, bench_server, open_ws, percentile, sign_in},
    config::Config,
};

#[derive(Args)]
pub struct KbArgs {
    /// Passages in the search index.
    #[arg(long, default_value_t = 100_000)]
    chunks: usize,
    /// Search queries timed.
    #[arg(long, default_value_t = 1_000)]
    queries: usize,
    /// Questions sent through the server for the first-token measurement.
    #[arg(long, default_value_t = 40)]
    questions: usize,
    /// Writes the passages and questions embedded here to a JSON file, for an anchor to embed the same
    /// texts (`scripts/bench-e5-anchor.py`), and stops.
    #[arg(long)]
    write_texts: Option<std::path::PathBuf>,
}

fn stats(mut micros: Vec<u64>) -> String {
    micros.sort_unstable();
    format!("p50 {:.2} ms, p99 {:.2} ms", percentile(&micros, 0.5), percentile(&micros, 0.99))
}

/// The demo brand's passages and the evaluation questions.
fn corpus() -> (Vec<(String, String)>, Vec<String>) {
    let mut passages = Vec::new();
    for new in crate::demo::knowledge::sources() {
        if let Ok(sections) = parse_source(SourceKind::Markdown, &new.title, &new.content) {
            passages.extend(chunk_sections(&sections).into_iter().map(|c| (c.heading, c.text)));
        }
    }
    let questions = include_str!("../../../eval/kb-lumio.jsonl")
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| !v["source"].is_null())
        .filter_map(|v| v["question"].as_str().map(str::to_string))
        .collect();
    (passages, questions)
}

pub async fn kb(cfg: &Config, args: KbArgs) -> anyhow::Result<()> {
    let (embedder, chat) = crate::load_models(cfg).await?;
    let (passages, questions) = corpus();
    if let Some(path) = &args.write_texts {
        let texts: Vec<String> = passages.iter().map(|(h, t)| format!("{h}\n{t}")).collect();
        std::fs::write(
            path,
            serde_json::to_vec(&serde_json::json!({ "passages": texts, "questions": questions }))?,
        )?;
        println!("wrote {} passages and {} questions to {}", texts.len(), questions.len(), path.display());
        return Ok(());
    }
    println!("## Embedding ({})", embedder.id());
    let texts: Vec<String> = passages.iter().map(|(h, t)| format!("{h}\n{t}")).cycle().take(1_024).collect();
    embedder.embed(&texts[..64]).await?;
    let started = Instant::now();
    embedder.embed(&texts).await?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "passages (heading + text, {} of them, in the embedder's batches): {:.1} passages/s",
        texts.len(),
        texts.len() as f64 / secs
    );
    let short: Vec<String> = questions.iter().cloned().cycle().take(1_024).collect();
    let started = Instant::now();
    embedder.embed(&short).await?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "short sentences (the evaluation questions, {} of them): {:.1} sentences/s",
        short.len(),
        short.len() as f64 / secs
    );
    let mut one = Vec::new();
    for q in questions.iter().cycle().take(200) {
        let t = Instant::now();
        embedder.embed_queries(std::slice::from_ref(q)).await?;
        one.push(t.elapsed().as_micros() as u64);
    }
    println!("one question: {}", stats(one));

    println!("\n## Hybrid search over {} passages", args.chunks);
    let base_vectors =
        embedder.embed(&passages.iter().map(|(h, t)| format!("{h}\n{t}")).collect::<Vec<_>>()).await?;
    let index = build_index(&passages, &base_vectors, args.chunks)?;
    let ws = WorkspaceId(uuid::Uuid::from_u128(1));
    let qvecs = embedder.embed_queries(&questions).await?;
    let opts = SearchOptions {
        vector_weight_zh: if embedder.calibration().multilingual { 1.0 } else { 0.0 },
        ..SearchOptions::default()
    };
    let (mut words, mut hybrid) = (Vec::new(), Vec::new());
    for i in 0..args.queries {
        let (q, v) = (&questions[i % questions.len()], &qvecs[i % questions.len()]);
        let t = Instant::now();
        index.search(ws, q, None, opts);
        words.push(t.elapsed().as_micros() as u64);
        let t = Instant::now();
        index.search(ws, q, Some(v), opts);
        hybrid.push(t.elapsed().as_micros() as u64);
    }
    println!("words only (BM25): {}", stats(words));
    println!("hybrid (BM25 + exact vector scan + fusion): {}", stats(hybrid));

    println!("\n## Chat model ({})", chat.id());
    let (prompt_tps, gen_tps) = chat_speed(chat.as_ref()).await?;
    println!("prompt: {prompt_tps:.1} tokens/s; generation: {gen_tps:.1} tokens/s");

    println!("\n## From a customer's question to the first streamed token");
    first_token(cfg, &questions, args.questions).await
}

/// Passages repeated with a distinguishing suffix, and their vectors with small noise, so the index holds
/// `n` distinct passages of realistic text without embedding each one.
fn build_index(passages: &[(String, String)], vectors: &[Vec<f32>], n: usize) -> anyhow::Result<HybridIndex> {
    let index = HybridIndex::new();
    let ws = WorkspaceId(uuid::Uuid::from_u128(1));
    let mut rng = 0x2545_f491_4f6c_dd1d_u64;
    let mut noise = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        ((rng >> 11) as f32 / (1u64 << 53) as f32 - 0.5) * 0.1
    };
    let mut batch = Vec::with_capacity(5_000);
    for i in 0..n {
        let (h, t) = &passages[i % passages.len()];
        let mut v: Vec<f32> = vectors[i % passages.len()].iter().map(|x| x + noise()).collect();
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter_mut().for_each(|x| *x /= norm);
        batch.push(KbChunk {
            id: KbChunkId::new(),
            workspace_id: ws,
            source_id: KbSourceId(uuid::Uuid::from_u128(i as u128 / 50 + 1)),
            ordinal: (i % 50) as i64,
            heading: h.clone(),
            text: format!("{t} (#{i}, order LM{:08})", i * 7919 % 100_000_000),
            curated: false,
            url: None,
            held: None,
            held_code: None,
            model: String::new(),
            embedding: v,
        });
        if batch.len() == 5_000 {
            index.load(&batch);
            batch.clear();
        }
    }
    index.load(&batch);
    Ok(index)
}

/// Prompt speed from the time to the first token of a long prompt; generation speed from the rest.
async fn chat_speed(chat: &dyn ChatModel) -> anyhow::Result<(f64, f64)> {
    let policy =
        crate::demo::knowledge::DOCS.iter().find(|(n, _)| *n == "returns.en").map(|(_, d)| *d).unwrap_or("");
    let request = ChatRequest {
        messages: vec![
            ChatMessage::new(Role::System, "You are a helpful customer service assistant."),
            ChatMessage::new(
                Role::User,
                format!("{policy}\n\nWrite a detailed summary of this policy for a new agent."),
            ),
        ],
        max_tokens: 128,
        temperature: 0.0,
    };
    chat.chat(&request, None).await?;
    let (mut prompt, mut generation) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        let (tx, mut rx) = lianluo_models::token_stream();
        let started = Instant::now();
        let run = chat.chat(&request, Some(tx));
        tokio::pin!(run);
        let first = tokio::select! {
            _ = rx.recv() => started.elapsed(),
            out = &mut run => { out?; bail!("no token streamed") }
        };
        let out = run.await?;
        let total = started.elapsed();
        prompt.push(out.prompt_tokens as f64 / first.as_secs_f64());
        generation.push((out.completion_tokens.saturating_sub(1)) as f64 / (total - first).as_secs_f64());
    }
    let best = |v: &[f64]| v.iter().copied().fold(0.0, f64::max);
    Ok((best(&prompt), best(&generation)))
}

async fn first_token(cfg: &Config, questions: &[String], n: usize) -> anyhow::Result<()> {
    use futures_util::StreamExt;
    let client = reqwest::Client::new();
    let models = std::fs::canonicalize(cfg.models_dir()).context("the models directory")?;
    let (server, addr, dir): (ChildServer, String, _) =
        bench_server("kb", &format!("[models]\ndir = {models:?}"))?;
    let base = format!("http://{addr}");
    let (cookie, csrf, _) = sign_in(&client, &base, "bench@lianluo.example", BENCH_PASSWORD, "agent").await?;
    let post = |path: String, body: Value| {
        client
            .post(format!("{base}{path}"))
            .header("cookie", &cookie)
            .header("x-csrf-token", &csrf)
            .json(&body)
            .send()
    };
    for new in crate::demo::knowledge::sources() {
        post(
            "/api/v1/kb/sources".into(),
            serde_json::to_value(
                json!({"kind": "markdown", "title": new.title, "content": new.content, "url": new.url}),
            )?,
        )
        .await?
        .error_for_status()?;
    }
    loop {
        let sources: Value = client
            .get(format!("{base}/api/v1/kb/sources"))
            .header("cookie", &cookie)
            .send()
            .await?
            .json()
            .await?;
        if sources["items"].as_array().is_some_and(|s| s.iter().all(|s| s["status"] == "indexed")) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let channel: Value = post(
        "/api/v1/channels".into(),
        json!({"kind": "web_widget", "name": "bench", "settings": {"bot": {"enabled": true}}}),
    )
    .await?
    .json()
    .await?;
    let public = channel["public_token"].as_str().context("no public token")?.to_string();
    let (mut first, mut full) = (Vec::new(), Vec::new());
    for q in questions.iter().cycle().take(n) {
        let session: Value = client
            .post(format!("{base}/widget/v1/sessions"))
            .json(&json!({"channel": public}))
            .send()
            .await?
            .json()
            .await?;
        let visitor = session["visitor_token"].as_str().context("no visitor token")?.to_string();
        let mut ws = open_ws(&format!("ws://{addr}/widget/v1/realtime?token={visitor}"), None).await?;
        let started = Instant::now();
        client
            .post(format!("{base}/widget/v1/messages"))
            .bearer_auth(&visitor)
            .json(&json!({"content": q}))
            .send()
            .await?
            .error_for_status()?;
        let mut got_first = None;
        while let Some(frame) = ws.next().await {
            let tokio_tungstenite::tungstenite::Message::Text(t) = frame? else { continue };
            let f: Value = serde_json::from_str(&t)?;
            if f["type"] == "bot_delta" && got_first.is_none() {
                got_first = Some(started.elapsed());
            }
            if f["type"] == "message" && f["message"]["kind"] == "bot" {
                full.push(started.elapsed().as_micros() as u64);
                first.push(got_first.unwrap_or_else(|| started.elapsed()).as_micros() as u64);
                break;
            }
        }
    }
    println!(
        "{} questions, each from a new visitor: first streamed token {}; whole answer stored and delivered {}",
        first.len(),
        stats(first),
        stats(full)
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
