//! The product's use cases, free of HTTP: what happens when a customer writes (intake), who gets a
//! conversation (routing), and whether the AI agent answers on a channel. The HTTP server, and later each
//! channel (email, WeChat), call these and translate their results; none of them decides these rules
//! itself.

use std::sync::Arc;

use lianluo_store::{Store, StoreError};

pub mod intake;
pub mod routing;

pub use intake::{CustomerMessage, Received};
pub use routing::{Presence, Routing};

/// Why a use case failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Storage refused or failed (not found, conflict, invalid, busy, backend).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Something the use case relies on did not hold (a bug or a race it cannot resolve).
    #[error("{0}")]
    Invariant(&'static str),
}

pub type Result<T> = std::result::Result<T, Error>;

/// The use cases with what they need: the store, routing, and whether the AI agent can answer on this
/// node (its knowledge models are loaded).
pub struct App {
    pub store: Arc<dyn Store>,
    pub routing: Routing,
    ai_available: bool,
}

impl App {
    pub fn new(store: Arc<dyn Store>, routing: Routing, ai_available: bool) -> Self {
        Self { store, routing, ai_available }
    }

    /// Whether the AI agent can answer at all on this node.
    pub fn ai_available(&self) -> bool {
        self.ai_available
    }
}

/// A channel's AI-agent settings, from `settings.bot` (`{"enabled": true, "tone": "warm and concise"}`).
#[derive(Debug, Clone, Default)]
pub struct BotSettings {
    pub enabled: bool,
    /// How answers should sound; used by generative answers.
    pub tone: Option<String>,
}

impl BotSettings {
    pub fn of(channel: &lianluo_domain::directory::Channel) -> Self {
        let b = channel.settings.get("bot");
        Self {
            enabled: b.and_then(|b| b.get("enabled")).and_then(|v| v.as_bool()).unwrap_or(false),
            tone: b.and_then(|b| b.get("tone")).and_then(|v| v.as_str()).map(str::to_string),
        }
    }
}
