//! The product's use cases, free of HTTP: what happens when a customer writes (intake), who gets a
//! conversation (routing), and the AI agent's turn (agent). The HTTP server, and later each channel
//! (email, WeChat), call these and translate their results; none of them decides these rules itself.

use std::sync::Arc;

use lianluo_store::{Store, StoreError};

pub mod agent;
pub mod intake;
pub mod routing;

pub use agent::{Answers, Live};
pub use intake::{CustomerMessage, Received};
pub use routing::{Presence, Routing};

/// Why a use case failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Storage refused or failed (not found, conflict, invalid, busy, backend).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The knowledge service could not answer (its models failed or timed out).
    #[error("the knowledge base could not answer: {0}")]
    Knowledge(String),
    /// Something the use case relies on did not hold (a bug or a race it cannot resolve).
    #[error("{0}")]
    Invariant(&'static str),
}

pub type Result<T> = std::result::Result<T, Error>;

/// The use cases with what they need: the store, routing, the live side (notices, the sequencer), and
/// the knowledge service when this node has its models loaded (without it the AI agent is off).
pub struct App {
    pub store: Arc<dyn Store>,
    pub routing: Routing,
    live: Arc<dyn Live>,
    answers: Option<Arc<dyn Answers>>,
}

impl App {
    pub fn new(
        store: Arc<dyn Store>,
        routing: Routing,
        live: Arc<dyn Live>,
        answers: Option<Arc<dyn Answers>>,
    ) -> Self {
        Self { store, routing, live, answers }
    }

    /// Whether the AI agent can answer at all on this node.
    pub fn ai_available(&self) -> bool {
        self.answers.is_some()
    }
}

/// A channel's AI-agent settings, from `settings.bot` (`{"enabled": true, "tone": "warm and concise"}`).
#[derive(Debug, Clone, Default)]
pub struct BotSettings {
    pub enabled: bool,
    /// How answers should sound; used by generative answers.
    pub tone: Option<String>,
    /// Questions a new visitor can ask with one tap (checked when the channel is saved).
    pub suggestions: Vec<String>,
}

impl BotSettings {
    pub fn of(channel: &lianluo_domain::directory::Channel) -> Self {
        let b = channel.settings.get("bot");
        Self {
            enabled: b.and_then(|b| b.get("enabled")).and_then(|v| v.as_bool()).unwrap_or(false),
            tone: b.and_then(|b| b.get("tone")).and_then(|v| v.as_str()).map(str::to_string),
            suggestions: b
                .and_then(|b| b.get("suggestions"))
                .and_then(|v| v.as_array())
                .map(|a| a.iter().filter_map(|q| q.as_str()).map(|q| q.trim().to_string()).collect())
                .unwrap_or_default(),
        }
    }
}
