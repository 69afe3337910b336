//! A workspace's AI settings: how answers are written, which chat model writes them and which model
//! embeds its knowledge (the node's embedded models, or the workspace's own OpenAI-compatible providers),
//! and the tokens it used.

use serde::{Deserialize, Serialize};

use crate::{DomainError, Timestamp};

/// How the AI agent words an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AnswerStyle {
    /// The best passage's own sentences: faithful with any model.
    Extractive,
    /// Written by the chat model from the passages and checked against them (use a strong model).
    Generative,
    /// Written by the chat model when it passes the strength check (bilingual probes answered as a
    /// customer's question would be, EVALUATION.md), quoted otherwise.
    Auto,
}

/// An OpenAI-compatible model provider (OpenAI, DeepSeek, Qwen compatible mode, vLLM, Ollama, llama.cpp).
#[derive(Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModelProvider {
    /// For example `https://api.deepseek.com/v1`.
    pub base_url: String,
    /// The provider's model name.
    pub model: String,
    /// Sent as a bearer token. Never shown again once saved; leave it out to keep the saved one.
    #[serde(default)]
    pub api_key: Option<String>,
    /// Longest wait for the provider's first byte and between streamed pieces, 1 to 300 (default 30).
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    /// Further attempts after a failure to connect, a timeout, 429 or 5xx, 0 to 5 (default 2).
    #[serde(default = "default_retries")]
    pub max_retries: u32,
}

fn default_timeout() -> u64 {
    30
}
fn default_retries() -> u32 {
    2
}

impl ModelProvider {
    fn validate(&mut self, field: &str) -> Result<(), DomainError> {
        self.base_url = self.base_url.trim().trim_end_matches('/').to_string();
        self.model = self.model.trim().to_string();
        if !(self.base_url.starts_with("https://") || self.base_url.starts_with("http://"))
            || self.base_url.len() > 2000
        {
            return Err(DomainError::new(
                format!("{field}.base_url"),
                "an http(s) address of at most 2000 characters",
            ));
        }
        if self.model.is_empty() || self.model.chars().count() > 200 {
            return Err(DomainError::new(format!("{field}.model"), "1 to 200 characters"));
        }
        if let Some(k) = &self.api_key
            && (k.is_empty() || k.len() > 500 || k.chars().any(char::is_control))
        {
            return Err(DomainError::new(format!("{field}.api_key"), "1 to 500 printable characters"));
        }
        if !(1..=300).contains(&self.timeout_secs) {
            return Err(DomainError::new(format!("{field}.timeout_secs"), "1 to 300"));
        }
        if self.max_retries > 5 {
            return Err(DomainError::new(format!("{field}.max_retries"), "0 to 5"));
        }
        Ok(())
    }

    fn view(&self) -> ModelProviderView {
        ModelProviderView {
            base_url: self.base_url.clone(),
            model: self.model.clone(),
            api_key_set: self.api_key.is_some(),
            timeout_secs: self.timeout_secs,
            max_retries: self.max_retries,
        }
    }

    /// Whether two settings name the same model (a change of embedding model embeds everything again).
    pub fn same_model(a: &Option<ModelProvider>, b: &Option<ModelProvider>) -> bool {
        match (a, b) {
            (None, None) => true,
            (Some(a), Some(b)) => a.base_url == b.base_url && a.model == b.model,
            _ => false,
        }
    }
}

impl std::fmt::Debug for ModelProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelProvider")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "***"))
            .finish()
    }
}

/// A workspace's AI settings; empty means the node's defaults.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AiSettings {
    /// How answers are worded; absent uses the node's configured mode.
    #[serde(default)]
    pub answer_mode: Option<AnswerStyle>,
    /// The chat model for this workspace; absent uses the node's model.
    #[serde(default)]
    pub chat: Option<ModelProvider>,
    /// The embedding model for this workspace's knowledge; absent uses the node's embedder. Changing it
    /// embeds every source of the workspace again.
    #[serde(default)]
    pub embeddings: Option<ModelProvider>,
    /// How generated answers should sound ("warm and concise"); a channel's own tone wins.
    #[serde(default)]
    pub tone: Option<String>,
    /// The AI agent declines (and offers a person) when its confidence that an answer is right is below
    /// this, 0 to 1; absent uses the default operating point (0.7).
    #[serde(default)]
    pub min_confidence: Option<f32>,
}

impl AiSettings {
    pub fn validate(&mut self) -> Result<(), DomainError> {
        if let Some(c) = self.min_confidence
            && !(0.0..=1.0).contains(&c)
        {
            return Err(DomainError::new("min_confidence", "a number from 0 to 1"));
        }
        if let Some(t) = &mut self.tone {
            *t = t.trim().to_string();
            check_tone("tone", t)?;
        }
        for (field, provider) in [("chat", &mut self.chat), ("embeddings", &mut self.embeddings)] {
            if let Some(p) = provider {
                p.validate(field)?;
            }
        }
        Ok(())
    }

    /// Keeps the saved keys when a new version leaves them out for the same provider address.
    pub fn keep_key_from(&mut self, saved: &AiSettings) {
        for (new, old) in [(&mut self.chat, &saved.chat), (&mut self.embeddings, &saved.embeddings)] {
            if let (Some(new), Some(old)) = (new, old)
                && new.api_key.is_none()
                && new.base_url == old.base_url
            {
                new.api_key = old.api_key.clone();
            }
        }
    }

    /// What may be shown: everything but the key.
    pub fn view(&self) -> AiSettingsView {
        AiSettingsView {
            answer_mode: self.answer_mode,
            chat: self.chat.as_ref().map(ModelProvider::view),
            embeddings: self.embeddings.as_ref().map(ModelProvider::view),
            tone: self.tone.clone(),
            min_confidence: self.min_confidence,
        }
    }
}

/// A workspace's AI settings as shown: the key never leaves the server.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct AiSettingsView {
    pub answer_mode: Option<AnswerStyle>,
    pub chat: Option<ModelProviderView>,
    pub embeddings: Option<ModelProviderView>,
    pub tone: Option<String>,
    pub min_confidence: Option<f32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct ModelProviderView {
    pub base_url: String,
    pub model: String,
    pub api_key_set: bool,
    pub timeout_secs: u64,
    pub max_retries: u32,
}

/// Tokens one model used for a workspace in one day (UTC).
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct AiUsage {
    /// The start of the day.
    pub day: Timestamp,
    pub model: String,
    pub requests: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
}

/// Longest tone description, in characters.
pub const MAX_TONE_CHARS: usize = 200;

/// A tone description (the workspace's or a channel's): one line of 1 to 200 characters, since it goes
/// into the model's instructions.
pub fn check_tone(field: &str, tone: &str) -> Result<(), DomainError> {
    let t = tone.trim();
    if t.is_empty() || t.chars().count() > MAX_TONE_CHARS || t.chars().any(char::is_control) {
        return Err(DomainError::new(field, format!("1 to {MAX_TONE_CHARS} characters on one line")));
    }
    Ok(())
}

/// Milliseconds in a day.
pub const DAY_MS: i64 = 86_400_000;
