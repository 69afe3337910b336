//! A workspace's AI settings: how answers are written and which chat model writes them (the node's
//! embedded model, or the workspace's own OpenAI-compatible provider), and the tokens it used.

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
}

/// An OpenAI-compatible chat provider (OpenAI, DeepSeek, Qwen compatible mode, vLLM, Ollama, llama.cpp).
#[derive(Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChatProvider {
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

impl std::fmt::Debug for ChatProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatProvider")
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
    pub chat: Option<ChatProvider>,
}

impl AiSettings {
    pub fn validate(&mut self) -> Result<(), DomainError> {
        let Some(c) = &mut self.chat else { return Ok(()) };
        c.base_url = c.base_url.trim().trim_end_matches('/').to_string();
        c.model = c.model.trim().to_string();
        if !(c.base_url.starts_with("https://") || c.base_url.starts_with("http://"))
            || c.base_url.len() > 2000
        {
            return Err(DomainError::new("chat.base_url", "an http(s) address of at most 2000 characters"));
        }
        if c.model.is_empty() || c.model.chars().count() > 200 {
            return Err(DomainError::new("chat.model", "1 to 200 characters"));
        }
        if let Some(k) = &c.api_key
            && (k.is_empty() || k.len() > 500 || k.chars().any(char::is_control))
        {
            return Err(DomainError::new("chat.api_key", "1 to 500 printable characters"));
        }
        if !(1..=300).contains(&c.timeout_secs) {
            return Err(DomainError::new("chat.timeout_secs", "1 to 300"));
        }
        if c.max_retries > 5 {
            return Err(DomainError::new("chat.max_retries", "0 to 5"));
        }
        Ok(())
    }

    /// Keeps the saved key when a new version leaves it out for the same provider address.
    pub fn keep_key_from(&mut self, saved: &AiSettings) {
        if let (Some(new), Some(old)) = (&mut self.chat, &saved.chat)
            && new.api_key.is_none()
            && new.base_url == old.base_url
        {
            new.api_key = old.api_key.clone();
        }
    }

    /// What may be shown: everything but the key.
    pub fn view(&self) -> AiSettingsView {
        AiSettingsView {
            answer_mode: self.answer_mode,
            chat: self.chat.as_ref().map(|c| ChatProviderView {
                base_url: c.base_url.clone(),
                model: c.model.clone(),
                api_key_set: c.api_key.is_some(),
                timeout_secs: c.timeout_secs,
                max_retries: c.max_retries,
            }),
        }
    }
}

/// A workspace's AI settings as shown: the key never leaves the server.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct AiSettingsView {
    pub answer_mode: Option<AnswerStyle>,
    pub chat: Option<ChatProviderView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct ChatProviderView {
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

/// Milliseconds in a day.
pub const DAY_MS: i64 = 86_400_000;
