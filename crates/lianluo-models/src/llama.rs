//! The embedded chat model: any llama.cpp-compatible GGUF file (SmolLM2-135M-Instruct by default; a
//! stronger model such as a Qwen2.5 instruct GGUF when configured), run by llama.cpp on the CPU.
//!
//! One worker thread owns the model and its context and answers one request at a time; the chat template
//! and the tokenizer come from the GGUF file itself.

use std::{
    num::NonZeroU32,
    path::Path,
    sync::{
        Arc, OnceLock,
        atomic::{AtomicUsize, Ordering},
        mpsc as std_mpsc,
    },
};

use async_trait::async_trait;
use llama_cpp_2::{
    context::params::LlamaContextParams,
    llama_backend::LlamaBackend,
    llama_batch::LlamaBatch,
    model::{LlamaChatMessage, LlamaModel, params::LlamaModelParams},
    sampling::LlamaSampler,
};
use tokio::sync::oneshot;

use crate::{ChatModel, ChatOutput, ChatRequest, ModelError, Result, TokenSink};

/// Tokens the context holds: prompt and answer together.
const CONTEXT_TOKENS: u32 = 4096;
/// Prompt tokens decoded per step.
const BATCH_TOKENS: usize = 512;

fn backend() -> Result<&'static LlamaBackend> {
    static BACKEND: OnceLock<std::result::Result<LlamaBackend, String>> = OnceLock::new();
    BACKEND
        .get_or_init(|| {
            llama_cpp_2::send_logs_to_tracing(llama_cpp_2::LogOptions::default().with_logs_enabled(false));
            LlamaBackend::init().map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| ModelError::Engine(e.clone()))
}

struct Job {
    request: ChatRequest,
    sink: Option<TokenSink>,
    reply: oneshot::Sender<Result<ChatOutput>>,
}

/// A GGUF chat model served by a worker thread, one request at a time; at most `queue` more wait, and
/// the next is refused at once with [`ModelError::Busy`] rather than kept waiting.
pub struct LlamaChat {
    jobs: std_mpsc::Sender<Job>,
    /// Requests sent to the worker and not yet answered: the one it runs and those waiting behind it.
    admitted: Arc<AtomicUsize>,
    queue: usize,
    id: String,
}

/// Requests that may wait for the embedded chat model by default.
pub const DEFAULT_CHAT_QUEUE: usize = 16;

/// How long a refused request is told to wait before trying again.
const BUSY_RETRY_SECS: u64 = 5;

impl LlamaChat {
    /// Loads the model with the default queue; fails with a readable reason when the file is missing or
    /// not a model.
    pub fn load(path: &Path, threads: usize) -> Result<Self> {
        Self::load_with_queue(path, threads, DEFAULT_CHAT_QUEUE)
    }

    /// Loads the model; at most `queue` requests wait while one runs.
    pub fn load_with_queue(path: &Path, threads: usize, queue: usize) -> Result<Self> {
        if !path.is_file() {
            return Err(ModelError::Files(format!("{} is missing", path.display())));
        }
        let backend = backend()?;
        let model = LlamaModel::load_from_file(
            backend,
            crate::requantize::for_loading(path),
            &LlamaModelParams::default(),
        )
        .map_err(|e| ModelError::Files(format!("{}: {e}", path.display())))?;
        let template = model
            .chat_template(None)
            .map_err(|e| ModelError::Files(format!("{}: no chat template: {e}", path.display())))?;
        let (jobs, rx) = std_mpsc::channel::<Job>();
        let admitted = Arc::new(AtomicUsize::new(0));
        let answered = admitted.clone();
        let (ready_tx, ready_rx) = std_mpsc::channel::<Result<()>>();
        let threads = i32::try_from(threads.max(1)).unwrap_or(2);
        std::thread::Builder::new()
            .name("llama".into())
            .spawn(move || {
                let params = LlamaContextParams::default()
                    .with_n_ctx(NonZeroU32::new(CONTEXT_TOKENS))
                    .with_n_batch(BATCH_TOKENS as u32)
                    .with_n_threads(threads)
                    .with_n_threads_batch(threads)
                    // Flash attention off (0): measured faster for generation on the CPU with small models.
                    .with_flash_attention_policy(0);
                let mut ctx = match model.new_context(backend, params) {
                    Ok(ctx) => {
                        let _ = ready_tx.send(Ok(()));
                        ctx
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(ModelError::Engine(e.to_string())));
                        return;
                    }
                };
                while let Ok(job) = rx.recv() {
                    let out = generate(&model, &template, &mut ctx, &job.request, job.sink.as_ref());
                    // Counted out before the answer goes back, so whoever reads it finds the room it left.
                    answered.fetch_sub(1, Ordering::SeqCst);
                    let _ = job.reply.send(out);
                }
            })
            .map_err(|e| ModelError::Engine(e.to_string()))?;
        ready_rx.recv().map_err(|e| ModelError::Engine(e.to_string()))??;
        let name = path.file_stem().and_then(|n| n.to_str()).unwrap_or("gguf").to_string();
        Ok(Self { jobs, admitted, queue, id: format!("embedded:{name}") })
    }
}

/// Collects bytes and hands out the complete UTF-8 text so far (a Chinese character can span tokens).
#[derive(Default)]
struct Utf8Pieces(Vec<u8>);

impl Utf8Pieces {
    fn push(&mut self, bytes: &[u8]) -> String {
        self.0.extend_from_slice(bytes);
        let valid = match std::str::from_utf8(&self.0) {
            Ok(s) => s.len(),
            // Invalid bytes that cannot become valid later are dropped; an incomplete tail waits.
            Err(e) => match e.error_len() {
                Some(bad) => {
                    let upto = e.valid_up_to();
                    let text = String::from_utf8_lossy(&self.0[..upto]).into_owned();
                    self.0.drain(..upto + bad);
                    return text + &self.push(&[]);
                }
                None => e.valid_up_to(),
            },
        };
        let text = String::from_utf8_lossy(&self.0[..valid]).into_owned();
        self.0.drain(..valid);
        text
    }
}

fn generate(
    model: &LlamaModel,
    template: &llama_cpp_2::model::LlamaChatTemplate,
    ctx: &mut llama_cpp_2::context::LlamaContext<'_>,
    request: &ChatRequest,
    sink: Option<&TokenSink>,
) -> Result<ChatOutput> {
    let engine = |e: &dyn std::fmt::Display| ModelError::Engine(e.to_string());
    let messages = request
        .messages
        .iter()
        .map(|m| LlamaChatMessage::new(m.role.as_str().to_string(), m.content.replace('\0', "")))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| engine(&e))?;
    let prompt = model.apply_chat_template(template, &messages, true).map_err(|e| engine(&e))?;
    let vocab = model.vocab();
    let tokens = vocab.tokenize(prompt.as_bytes(), true, true);
    let max_new = request.max_tokens.max(1) as usize;
    if tokens.is_empty() || tokens.len() + max_new > CONTEXT_TOKENS as usize {
        return Err(ModelError::Input(format!(
            "the prompt has {} tokens; with {max_new} to generate the model holds {CONTEXT_TOKENS}",
            tokens.len()
        )));
    }
    ctx.clear_kv_cache();
    let mut batch = LlamaBatch::new(BATCH_TOKENS, 1);
    let last = tokens.len() - 1;
    for (start, chunk) in tokens.chunks(BATCH_TOKENS).enumerate().map(|(i, c)| (i * BATCH_TOKENS, c)) {
        batch.clear();
        for (j, &t) in chunk.iter().enumerate() {
            let pos = start + j;
            batch.add(t, pos as i32, &[0], pos == last).map_err(|e| engine(&e))?;
        }
        ctx.decode(&mut batch).map_err(|e| engine(&e))?;
    }
    let mut sampler = if request.temperature <= 0.0 {
        LlamaSampler::greedy()
    } else {
        LlamaSampler::chain_simple([
            LlamaSampler::top_k(40),
            LlamaSampler::top_p(0.95, 1),
            LlamaSampler::temp(request.temperature),
            LlamaSampler::dist(0x5eed),
        ])
    };
    let mut text = String::new();
    let mut pieces = Utf8Pieces::default();
    let mut produced = 0usize;
    let mut finish = "length";
    let mut pos = tokens.len();
    let mut logits_at = batch.n_tokens() - 1;
    while produced < max_new {
        let token = sampler.sample(ctx, logits_at);
        sampler.accept(token);
        if vocab.is_eog(token) {
            finish = "stop";
            break;
        }
        produced += 1;
        let piece = pieces.push(&vocab.token_to_piece(token, false, None));
        if !piece.is_empty() {
            if let Some(s) = sink {
                // A closed (or full) sink means nobody listens any more: stop generating.
                if s.try_send(piece.clone()).is_err() {
                    text.push_str(&piece);
                    finish = "cancelled";
                    break;
                }
            }
            text.push_str(&piece);
        }
        batch.clear();
        batch.add(token, pos as i32, &[0], true).map_err(|e| engine(&e))?;
        pos += 1;
        logits_at = 0;
        ctx.decode(&mut batch).map_err(|e| engine(&e))?;
    }
    Ok(ChatOutput {
        text,
        prompt_tokens: tokens.len() as u32,
        completion_tokens: produced as u32,
        finish_reason: finish.to_string(),
    })
}

#[async_trait]
impl ChatModel for LlamaChat {
    fn id(&self) -> &str {
        &self.id
    }

    fn busy(&self) -> Option<u64> {
        (self.admitted.load(Ordering::SeqCst) > self.queue).then_some(BUSY_RETRY_SECS)
    }

    async fn chat(&self, request: &ChatRequest, sink: Option<TokenSink>) -> Result<ChatOutput> {
        // One runs and `queue` wait: counted from the moment a request is sent, so a burst is bounded
        // however late the worker wakes up to take the first.
        if self.admitted.fetch_add(1, Ordering::SeqCst) > self.queue {
            self.admitted.fetch_sub(1, Ordering::SeqCst);
            return Err(ModelError::Busy(BUSY_RETRY_SECS));
        }
        let (reply, rx) = oneshot::channel();
        if self.jobs.send(Job { request: request.clone(), sink, reply }).is_err() {
            self.admitted.fetch_sub(1, Ordering::SeqCst);
            return Err(ModelError::Engine("the model worker stopped".into()));
        }
        rx.await.map_err(|_| ModelError::Engine("the model worker stopped".into()))?
    }
}
