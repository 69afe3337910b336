//! Models behind any OpenAI-compatible HTTP endpoint: `POST {base}/chat/completions` (streamed as
//! server-sent events) and `POST {base}/embeddings`.

use std::time::Duration;

use async_trait::async_trait;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::{Calibration, ChatModel, ChatOutput, ChatRequest, Embedder, ModelError, Result, TokenSink};

/// Where and how to call a provider.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OpenAiEndpoint {
    /// For example `https://api.deepseek.com/v1` or `http://127.0.0.1:11434/v1`.
    pub base_url: String,
    /// Sent as a bearer token when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
    /// The provider's model name.
    pub model: String,
    /// Longest wait for the provider's first byte and between streamed pieces.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    /// Further attempts after a failure to connect, a timeout, 429 or 5xx (never once text has streamed).
    #[serde(default = "default_retries")]
    pub max_retries: u32,
}

impl std::fmt::Debug for OpenAiEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiEndpoint")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "***"))
            .field("model", &self.model)
            .field("timeout_secs", &self.timeout_secs)
            .field("max_retries", &self.max_retries)
            .finish()
    }
}

fn default_timeout() -> u64 {
    30
}

fn default_retries() -> u32 {
    2
}

/// Installs the process's TLS provider (ring) for every HTTP client; calling it again is harmless.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

fn client() -> reqwest::Client {
    install_tls_provider();
    reqwest::Client::builder().connect_timeout(Duration::from_secs(10)).build().unwrap_or_default()
}

/// A client that connects to public addresses only (a workspace's own provider): a name that resolves to
/// private addresses only fails to connect.
fn public_client() -> reqwest::Client {
    install_tls_provider();
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .dns_resolver(crate::net::PublicOnly)
        .build()
        .unwrap_or_default()
}

impl OpenAiEndpoint {
    fn url(&self, path: &str) -> String {
        format!("{}/{path}", self.base_url.trim_end_matches('/'))
    }

    /// Sends `body`, retrying what is worth retrying, and returns the successful response.
    async fn post(&self, http: &reqwest::Client, path: &str, body: &Value) -> Result<reqwest::Response> {
        let timeout = Duration::from_secs(self.timeout_secs.max(1));
        let mut attempt = 0;
        loop {
            let mut req = http.post(self.url(path)).json(body);
            if let Some(key) = &self.api_key {
                req = req.bearer_auth(key);
            }
            let outcome = tokio::time::timeout(timeout, req.send()).await;
            let retry_err = match outcome {
                Err(_) => ModelError::Timeout(self.timeout_secs),
                // A refused address says why (its resolver's reason), not only that sending failed.
                Ok(Err(e)) if e.is_connect() && innermost(&e).contains("private network") => {
                    return Err(ModelError::Provider(format!("{}: {}", self.base_url, innermost(&e))));
                }
                Ok(Err(e)) if e.is_connect() || e.is_timeout() => {
                    ModelError::Provider(format!("{}: {e}", self.base_url))
                }
                Ok(Err(e)) => return Err(ModelError::Provider(e.to_string())),
                Ok(Ok(resp)) if resp.status().is_success() => return Ok(resp),
                Ok(Ok(resp)) => {
                    let status = resp.status();
                    let retry_after = resp
                        .headers()
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok());
                    let text = resp.text().await.unwrap_or_default();
                    let msg = serde_json::from_str::<Value>(&text)
                        .ok()
                        .and_then(|v| v["error"]["message"].as_str().map(str::to_string))
                        .unwrap_or_else(|| text.chars().take(300).collect());
                    // A provider that is still busy after the retries: the caller is told to wait.
                    let err = if status.as_u16() == 429 {
                        ModelError::Busy(retry_after.unwrap_or(5).clamp(1, 300))
                    } else {
                        ModelError::Provider(format!("{status}: {msg}"))
                    };
                    if status.as_u16() != 429 && !status.is_server_error() {
                        return Err(err);
                    }
                    err
                }
            };
            if attempt >= self.max_retries {
                return Err(retry_err);
            }
            attempt += 1;
            tokio::time::sleep(Duration::from_millis(250 * 2u64.pow(attempt))).await;
        }
    }
}

/// The innermost cause of an error.
fn innermost(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// Embeddings from an OpenAI-compatible endpoint.
pub struct OpenAiEmbedder {
    endpoint: OpenAiEndpoint,
    http: reqwest::Client,
    dimensions: usize,
    id: String,
    /// Only public addresses may be reached (a workspace's own provider).
    public_only: bool,
}

impl OpenAiEmbedder {
    /// Asks the endpoint once to learn the vector length (and that it answers at all).
    pub async fn connect(endpoint: OpenAiEndpoint) -> Result<Self> {
        let mut this = Self::new(endpoint);
        let probe = this.embed(&["dimensions".to_string()]).await?;
        this.dimensions = probe.first().map(Vec::len).unwrap_or(0);
        Ok(this)
    }

    /// A client that has not asked anything yet (`dimensions` is 0 until it has).
    pub fn new(endpoint: OpenAiEndpoint) -> Self {
        Self {
            id: Self::id_for(&endpoint.model),
            endpoint,
            http: client(),
            dimensions: 0,
            public_only: false,
        }
    }

    /// A client that reaches public addresses only, checked when each connection is opened: a workspace's
    /// own provider, whose name may resolve elsewhere than when it was saved.
    pub fn public_only(endpoint: OpenAiEndpoint) -> Self {
        Self { http: public_client(), public_only: true, ..Self::new(endpoint) }
    }

    /// The id its vectors are stored under.
    pub fn id_for(model: &str) -> String {
        format!("openai:{model}")
    }
}

#[derive(Deserialize)]
struct EmbeddingData {
    index: usize,
    embedding: Vec<f32>,
}

#[async_trait]
impl Embedder for OpenAiEmbedder {
    fn id(&self) -> &str {
        &self.id
    }

    fn dimensions(&self) -> usize {
        self.dimensions
    }

    /// An unknown model's cosines cannot be read as confidence: its vectors rank passages (in both
    /// languages, as today's hosted embedders are multilingual) but never make an answer look supported,
    /// and questions are grouped by their words.
    fn calibration(&self) -> Calibration {
        Calibration { unrelated: 1.0, answering: 2.0, multilingual: true }
    }

    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>> {
        if self.public_only {
            crate::net::refuse_private_literal(&self.endpoint.base_url)?;
        }
        let mut out = Vec::with_capacity(texts.len());
        for group in texts.chunks(64) {
            let body = json!({ "model": self.endpoint.model, "input": group });
            let resp = self.endpoint.post(&self.http, "embeddings", &body).await?;
            let v: Value = resp.json().await.map_err(|e| ModelError::Provider(e.to_string()))?;
            let mut data: Vec<EmbeddingData> = serde_json::from_value(v["data"].clone())
                .map_err(|e| ModelError::Provider(format!("unexpected embeddings answer: {e}")))?;
            data.sort_by_key(|d| d.index);
            if data.len() != group.len() {
                return Err(ModelError::Provider(format!(
                    "{} vectors for {} texts",
                    data.len(),
                    group.len()
                )));
            }
            for d in data {
                let mut e = d.embedding;
                let n = e.iter().map(|x| x * x).sum::<f32>().sqrt();
                if n > 0.0 {
                    e.iter_mut().for_each(|x| *x /= n);
                }
                out.push(e);
            }
        }
        Ok(out)
    }
}

/// Chat from an OpenAI-compatible endpoint, streamed.
pub struct OpenAiChat {
    endpoint: OpenAiEndpoint,
    http: reqwest::Client,
    id: String,
    /// Only public addresses may be reached (a workspace's own provider).
    public_only: bool,
}

impl OpenAiChat {
    pub fn new(endpoint: OpenAiEndpoint) -> Self {
        Self { id: format!("openai:{}", endpoint.model), endpoint, http: client(), public_only: false }
    }

    /// A client that reaches public addresses only (see `OpenAiEmbedder::public_only`).
    pub fn public_only(endpoint: OpenAiEndpoint) -> Self {
        Self { http: public_client(), public_only: true, ..Self::new(endpoint) }
    }
}

#[async_trait]
impl ChatModel for OpenAiChat {
    fn id(&self) -> &str {
        &self.id
    }

    async fn chat(&self, request: &ChatRequest, sink: Option<TokenSink>) -> Result<ChatOutput> {
        if self.public_only {
            crate::net::refuse_private_literal(&self.endpoint.base_url)?;
        }
        let body = json!({
            "model": self.endpoint.model,
            "messages": request.messages,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "stream": true,
            "stream_options": { "include_usage": true },
        });
        let resp = self.endpoint.post(&self.http, "chat/completions", &body).await?;
        let idle = Duration::from_secs(self.endpoint.timeout_secs.max(1));
        let mut stream = resp.bytes_stream();
        let mut buf = Vec::<u8>::new();
        let mut out = ChatOutput {
            text: String::new(),
            prompt_tokens: 0,
            completion_tokens: 0,
            finish_reason: "stop".into(),
        };
        let mut pieces = 0u32;
        'read: loop {
            let chunk = match tokio::time::timeout(idle, stream.next()).await {
                Err(_) => return Err(ModelError::Timeout(self.endpoint.timeout_secs)),
                Ok(None) => break,
                Ok(Some(Err(e))) => return Err(ModelError::Provider(e.to_string())),
                Ok(Some(Ok(c))) => c,
            };
            buf.extend_from_slice(&chunk);
            while let Some(end) = buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = buf.drain(..=end).collect();
                let line = String::from_utf8_lossy(&line);
                let Some(data) = line.trim().strip_prefix("data:").map(str::trim) else { continue };
                if data == "[DONE]" {
                    break 'read;
                }
                let v: Value = serde_json::from_str(data)
                    .map_err(|e| ModelError::Provider(format!("unexpected stream event: {e}")))?;
                if let Some(u) = v.get("usage").filter(|u| u.is_object()) {
                    out.prompt_tokens = u["prompt_tokens"].as_u64().unwrap_or(0) as u32;
                    out.completion_tokens = u["completion_tokens"].as_u64().unwrap_or(0) as u32;
                }
                let Some(choice) = v["choices"].get(0) else { continue };
                if let Some(piece) = choice["delta"]["content"].as_str().filter(|p| !p.is_empty()) {
                    pieces += 1;
                    out.text.push_str(piece);
                    if let Some(s) = &sink
                        && s.try_send(piece.to_string()).is_err()
                    {
                        out.finish_reason = "cancelled".into();
                        break 'read;
                    }
                }
                if let Some(r) = choice["finish_reason"].as_str() {
                    out.finish_reason = r.to_string();
                }
            }
        }
        if out.completion_tokens == 0 {
            // Providers that do not report usage: count streamed pieces (about one token each).
            out.completion_tokens = pieces;
        }
        Ok(out)
    }
}
