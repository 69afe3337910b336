//! The embedded models behind an OpenAI-compatible API (`/v1/chat/completions`, streamed or not, and
//! `/v1/embeddings`), as llama.cpp's server offers them: one Lianluo node can serve its models to others,
//! and any OpenAI client can use them with a Lianluo API token as its key.

use std::convert::Infallible;

use axum::{
    Json as Out,
    extract::State,
    response::{IntoResponse, Response, Sse, sse::Event},
};
use lianluo_models::{ChatMessage, ChatRequest, Role};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::{
    AppState,
    auth::Auth,
    error::{AppError, AppResult},
    extract::Json,
};

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct ChatCompletionRequest {
    /// Ignored: the node's configured chat model answers.
    pub model: Option<String>,
    pub messages: Vec<ChatMessage>,
    pub max_tokens: Option<u32>,
    pub temperature: Option<f32>,
    #[serde(default)]
    pub stream: bool,
    /// `{"include_usage": true}` adds a final chunk with the token counts.
    pub stream_options: Option<Value>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum EmbeddingInput {
    One(String),
    Many(Vec<String>),
}

/// What the texts are: questions are embedded the way search embeds them (E5's `query: ` prefix),
/// passages the way indexing does.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum InputType {
    Query,
    #[default]
    #[serde(alias = "document")]
    Passage,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct EmbeddingRequest {
    pub model: Option<String>,
    pub input: EmbeddingInput,
    /// `query` or `passage` (the default; `document` also accepted).
    #[serde(default)]
    pub input_type: InputType,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct EmbeddingList {
    pub object: &'static str,
    pub data: Vec<Value>,
    pub model: String,
    pub usage: Value,
}

fn invalid(msg: &str) -> AppError {
    AppError::InvalidBody(msg.to_string())
}

pub async fn embeddings(
    State(state): State<AppState>,
    _auth: Auth,
    Json(req): Json<EmbeddingRequest>,
) -> AppResult<Out<EmbeddingList>> {
    let kb = state.knowledge.clone().ok_or_else(|| AppError::Unavailable("no models are loaded".into()))?;
    let input = match req.input {
        EmbeddingInput::One(s) => vec![s],
        EmbeddingInput::Many(v) => v,
    };
    if input.is_empty() || input.len() > 256 || input.iter().any(|s| s.chars().count() > 8_000) {
        return Err(invalid("input: 1 to 256 texts of at most 8000 characters"));
    }
    let embedder = &kb.answerer.embedder;
    let vectors = match req.input_type {
        InputType::Query => embedder.embed_queries(&input).await,
        InputType::Passage => embedder.embed(&input).await,
    }
    .map_err(|e| AppError::ServiceFailed(e.to_string()))?;
    let data = vectors
        .into_iter()
        .enumerate()
        .map(|(i, v)| json!({ "object": "embedding", "index": i, "embedding": v }))
        .collect();
    Ok(Out(EmbeddingList {
        object: "list",
        data,
        model: embedder.id().to_string(),
        usage: json!({ "prompt_tokens": 0, "total_tokens": 0 }),
    }))
}

pub async fn chat_completions(
    State(state): State<AppState>,
    _auth: Auth,
    Json(req): Json<ChatCompletionRequest>,
) -> AppResult<Response> {
    let kb = state.knowledge.clone().ok_or_else(|| AppError::Unavailable("no models are loaded".into()))?;
    let chat =
        kb.answerer.chat.clone().ok_or_else(|| AppError::Unavailable("no chat model is loaded".into()))?;
    if req.messages.is_empty()
        || req.messages.len() > 100
        || req.messages.iter().any(|m| m.content.chars().count() > 20_000)
    {
        return Err(invalid("messages: 1 to 100 messages of at most 20000 characters"));
    }
    let request = ChatRequest {
        messages: req.messages,
        max_tokens: req.max_tokens.unwrap_or(256).clamp(1, 2_048),
        temperature: req.temperature.unwrap_or(0.0).clamp(0.0, 2.0),
    };
    let model = chat.id().to_string();
    let id = format!("chatcmpl-{}", uuid::Uuid::now_v7().simple());
    let created = lianluo_domain::Timestamp::now().0 / 1000;
    // A full queue answers 429 at once (with Retry-After) instead of keeping the caller waiting.
    if let Some(secs) = chat.busy() {
        return Err(AppError::QueueFull(secs));
    }
    if !req.stream {
        let out = chat.chat(&request, None).await.map_err(|e| match e {
            lianluo_models::ModelError::Busy(secs) => AppError::QueueFull(secs),
            e => AppError::ServiceFailed(e.to_string()),
        })?;
        return Ok(Out(json!({
            "id": id, "object": "chat.completion", "created": created, "model": model,
            "choices": [{ "index": 0, "message": { "role": Role::Assistant, "content": out.text }, "finish_reason": out.finish_reason }],
            "usage": { "prompt_tokens": out.prompt_tokens, "completion_tokens": out.completion_tokens,
                       "total_tokens": out.prompt_tokens + out.completion_tokens },
        }))
        .into_response());
    }
    let include_usage =
        req.stream_options.as_ref().and_then(|o| o["include_usage"].as_bool()).unwrap_or(false);
    let (tx, rx) = lianluo_models::token_stream();
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let _ = done_tx.send(chat.chat(&request, Some(tx)).await);
    });
    let chunk = move |delta: Value, finish: Value| {
        json!({ "id": id, "object": "chat.completion.chunk", "created": created, "model": model,
                "choices": [{ "index": 0, "delta": delta, "finish_reason": finish }] })
    };
    enum Phase {
        Pieces(
            lianluo_models::TokenStream,
            tokio::sync::oneshot::Receiver<lianluo_models::Result<lianluo_models::ChatOutput>>,
        ),
        Done,
    }
    let stream = futures_util::stream::unfold(Phase::Pieces(rx, done_rx), move |phase| {
        let chunk = chunk.clone();
        async move {
            let Phase::Pieces(mut rx, done) = phase else { return None };
            if let Some(piece) = rx.recv().await {
                let e = Event::default().data(chunk(json!({ "content": piece }), Value::Null).to_string());
                return Some((vec![e], Phase::Pieces(rx, done)));
            }
            let mut events = Vec::new();
            match done.await {
                Ok(Ok(out)) => {
                    events
                        .push(Event::default().data(chunk(json!({}), json!(out.finish_reason)).to_string()));
                    if include_usage {
                        let mut last = chunk(json!({}), Value::Null);
                        last["choices"] = json!([]);
                        last["usage"] = json!({ "prompt_tokens": out.prompt_tokens, "completion_tokens": out.completion_tokens,
                                                "total_tokens": out.prompt_tokens + out.completion_tokens });
                        events.push(Event::default().data(last.to_string()));
                    }
                }
                Ok(Err(e)) => events.push(
                    Event::default().data(json!({ "error": { "message": e.to_string() } }).to_string()),
                ),
                Err(_) => events.push(
                    Event::default().data(json!({ "error": { "message": "the model stopped" } }).to_string()),
                ),
            }
            events.push(Event::default().data("[DONE]"));
            Some((events, Phase::Done))
        }
    });
    let flat = futures_util::StreamExt::flat_map(stream, |events| {
        futures_util::stream::iter(events.into_iter().map(Ok::<_, Infallible>))
    });
    Ok(Sse::new(flat).into_response())
}
