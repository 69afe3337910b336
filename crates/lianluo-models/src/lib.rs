//! Language models behind two interfaces: an [`Embedder`] that turns text into vectors and a
//! [`ChatModel`] that answers a conversation token by token.
//!
//! Each has an embedded implementation that runs on this machine's CPU from model files
//! (`scripts/fetch-models` puts them in `data/models`) and an implementation that calls any
//! OpenAI-compatible HTTP endpoint (OpenAI, DeepSeek, Qwen's compatible mode, vLLM, Ollama,
//! llama.cpp's server). The `conformance` suite runs against every implementation.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

pub mod conformance;
mod e5;
mod llama;
mod minilm;
pub mod net;
mod openai;
mod q4;
mod requantize;

pub use e5::E5Small;
pub use llama::{DEFAULT_CHAT_QUEUE, LlamaChat};
pub use minilm::MiniLm;
pub use openai::{OpenAiChat, OpenAiEmbedder, OpenAiEndpoint, install_tls_provider};

/// Why a model call failed. Every variant carries a message fit to show an admin.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The model files are missing or unreadable.
    #[error("model files: {0}")]
    Files(String),
    /// The input is not something the model accepts (empty, too long).
    #[error("input: {0}")]
    Input(String),
    /// The provider did not answer in time.
    #[error("the model provider did not answer within {0} s")]
    Timeout(u64),
    /// The provider answered with an error or could not be reached.
    #[error("model provider: {0}")]
    Provider(String),
    /// The embedded engine failed.
    #[error("model engine: {0}")]
    Engine(String),
    /// Too many requests are waiting for the model; try again after this many seconds.
    #[error("the model is busy with other requests; try again in {0} s")]
    Busy(u64),
}

pub type Result<T, E = ModelError> = std::result::Result<T, E>;

/// Turns texts into unit-length vectors; similar meanings give a high dot product.
#[async_trait]
pub trait Embedder: Send + Sync {
    /// A stable name of the model, stored beside each vector so a change of model is noticed.
    fn id(&self) -> &str;
    /// Length of every vector.
    fn dimensions(&self) -> usize;
    /// One vector per text (a passage to be found), in order.
    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>>;
    /// One vector per question that searches for passages; models trained with separate query and
    /// passage prefixes (E5) tell them apart, the others embed them alike.
    async fn embed_queries(&self, texts: &[String]) -> Result<Vec<Vec<f32>>> {
        self.embed(texts).await
    }
    /// How to read this model's cosine similarities.
    fn calibration(&self) -> Calibration {
        Calibration::default()
    }
}

/// How an embedder's cosines read, measured on the evaluation set (EVALUATION.md): about what a question
/// scores against unrelated passages, and against the passage that answers it. The re-ranker's cosine
/// features and question grouping scale similarities between the two, so a model whose cosines sit in a narrow band
/// (E5's are all above 0.7) is read like one whose cosines spread.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Calibration {
    pub unrelated: f32,
    pub answering: f32,
    /// Whether its vectors can be trusted for Chinese as much as for English.
    pub multilingual: bool,
}

impl Default for Calibration {
    /// all-MiniLM-L6-v2's band, an English model.
    fn default() -> Self {
        Self { unrelated: 0.35, answering: 0.70, multilingual: false }
    }
}

impl Calibration {
    /// A cosine on the model's own scale: 0 at the typical best cosine of an unrelated passage, 1 at that
    /// of an answering one (below 0 and above 1 beyond them).
    pub fn scale(&self, cosine: f32) -> f32 {
        (cosine - self.unrelated) / (self.answering - self.unrelated)
    }

    /// The cosine above which two questions ask the same thing (0.8 for all-MiniLM-L6-v2).
    pub fn same_question(&self) -> f32 {
        self.unrelated + 1.3 * (self.answering - self.unrelated)
    }
}

/// A dot product in eight independent lanes, which the compiler turns into SIMD (a single running sum
/// cannot be reordered, so it stays scalar): the similarity of two unit vectors.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            lanes[i] += x[i] * y[i];
        }
    }
    lanes.iter().sum::<f32>() + tail
}

/// A sum in eight independent lanes, as [`dot`]'s.
#[inline(always)]
pub(crate) fn sum(xs: &[f32]) -> f32 {
    lanes(xs, 0.0, |a, b| a + b)
}

/// The largest value (−∞ for none), in eight lanes.
#[inline(always)]
pub(crate) fn max(xs: &[f32]) -> f32 {
    lanes(xs, f32::NEG_INFINITY, f32::max)
}

/// `op` folded over `xs` in eight independent lanes (which the compiler keeps in one vector register),
/// then over the lanes: for operations whose order does not matter, or matters only in the last bits.
#[inline(always)]
pub(crate) fn lanes(xs: &[f32], init: f32, op: impl Fn(f32, f32) -> f32) -> f32 {
    let mut lanes = [init; 8];
    let chunks = xs.chunks_exact(8);
    let tail = chunks.remainder().iter().fold(init, |a, &b| op(a, b));
    for c in chunks {
        for i in 0..8 {
            lanes[i] = op(lanes[i], c[i]);
        }
    }
    lanes.into_iter().fold(tail, op)
}

/// Runs `forward` over batches of inputs of similar length (less work on padding) and returns one vector
/// per input, in input order.
pub(crate) fn in_length_batches<T>(
    items: &[T],
    len: impl Fn(&T) -> usize,
    batch: usize,
    mut forward: impl FnMut(&[&T]) -> Result<Vec<Vec<f32>>>,
) -> Result<Vec<Vec<f32>>> {
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by_key(|&i| len(&items[i]));
    let mut out = vec![Vec::new(); items.len()];
    for group in order.chunks(batch) {
        let inputs: Vec<&T> = group.iter().map(|&i| &items[i]).collect();
        for (&i, v) in group.iter().zip(forward(&inputs)?) {
            out[i] = v;
        }
    }
    Ok(out)
}

/// Who said a message in a chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

/// One message of a chat.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ChatMessage {
    pub role: Role,
    pub content: String,
}

impl ChatMessage {
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        Self { role, content: content.into() }
    }
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct ChatRequest {
    pub messages: Vec<ChatMessage>,
    /// Most tokens to generate.
    pub max_tokens: u32,
    /// 0 picks the most likely token every time (reproducible answers).
    pub temperature: f32,
}

/// What a chat call produced, with token accounting.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChatOutput {
    pub text: String,
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
    /// `stop` when the model ended its answer, `length` when `max_tokens` cut it.
    pub finish_reason: String,
}

/// Receives generated text piece by piece while the answer is produced. Bounded: it holds at most
/// [`TOKEN_STREAM_BOUND`] unread pieces; a model whose sink is full or closed stops generating, as when
/// its listener has gone.
pub type TokenSink = mpsc::Sender<String>;
/// The receiving end of a [`TokenSink`].
pub type TokenStream = mpsc::Receiver<String>;

/// Most pieces a token stream holds unread: more than any answer's tokens (requests are capped at
/// 2,048 and the embedded model's context at 4,096), so only a listener that stopped reading fills it.
pub const TOKEN_STREAM_BOUND: usize = 8_192;

/// A new token stream: the sink for the model, the stream for its listener.
pub fn token_stream() -> (TokenSink, TokenStream) {
    mpsc::channel(TOKEN_STREAM_BOUND)
}

/// Generates the assistant's next message.
#[async_trait]
pub trait ChatModel: Send + Sync {
    /// A stable name of the model.
    fn id(&self) -> &str;
    /// `Some(seconds to wait)` when a request now would be refused with [`ModelError::Busy`] (its
    /// queue is full); a provider without a known queue says `None`.
    fn busy(&self) -> Option<u64> {
        None
    }
    /// Generates an answer; each piece of text is also sent to `sink` as soon as it exists; refused with
    /// [`ModelError::Busy`] when too many requests wait.
    async fn chat(&self, request: &ChatRequest, sink: Option<TokenSink>) -> Result<ChatOutput>;
}

/// The embedded chat model's file name inside the models directory.
pub const DEFAULT_CHAT_FILE: &str = "smollm2-135m-instruct-q4_1.gguf";
/// The embedded embedder's folder name inside the models directory.
pub const DEFAULT_EMBEDDER_DIR: &str = "all-minilm-l6-v2";
/// The multilingual embedder's file name inside the models directory.
pub const MULTILINGUAL_EMBEDDER_FILE: &str = "multilingual-e5-small-q4.bin";

/// The embedded models' paths.
#[derive(Debug, Clone)]
pub struct EmbeddedPaths {
    pub chat_gguf: PathBuf,
    pub embedder_dir: PathBuf,
    pub multilingual_embedder: PathBuf,
}

impl EmbeddedPaths {
    pub fn in_dir(dir: &Path) -> Self {
        Self {
            chat_gguf: dir.join(DEFAULT_CHAT_FILE),
            embedder_dir: dir.join(DEFAULT_EMBEDDER_DIR),
            multilingual_embedder: dir.join(MULTILINGUAL_EMBEDDER_FILE),
        }
    }
}

/// Threads for the embedded engines: every core, as llama.cpp does by default.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2)
}
