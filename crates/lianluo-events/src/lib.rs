//! The event bus: how changes reach every connected agent and visitor. The interface is what a NATS
//! implementation will also provide; the in-process bus serves a single node.
//!
//! Two kinds of events travel on it. Durable ones come from the workspace's event log and carry its id,
//! so a client that reconnects can catch up from the last id it saw. Ephemeral ones (typing, presence)
//! carry no id and are not replayed.

pub mod conformance;
mod in_process;

use std::sync::Arc;

use async_trait::async_trait;
pub use in_process::InProcessBus;
use lianluo_domain::WorkspaceId;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One event on the bus. Serializable, so it can cross a network between nodes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    pub workspace_id: WorkspaceId,
    /// The event-log id for durable events; `None` for typing and presence.
    pub id: Option<i64>,
    /// What happened: `message.created`, `conversation.updated`, `typing`, `presence`, …
    pub kind: lianluo_domain::event::EventKind,
    /// The entity the event is about (a conversation, a message, a user).
    pub subject_id: Option<uuid::Uuid>,
    /// The conversation it concerns, when it concerns one (used to route events to widget visitors).
    pub conversation_id: Option<uuid::Uuid>,
    /// What a client needs to update its view without another request.
    pub data: Value,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BusError {
    /// The subscriber fell behind and some events were dropped for it: resynchronise from the log.
    #[error("fell behind by {0} events")]
    Lagged(u64),
    /// The bus is gone (shutting down, or the connection to the broker was lost).
    #[error("the event bus is closed")]
    Closed,
}

/// A stream of one workspace's events.
#[async_trait]
pub trait Subscription: Send {
    /// The next event, in publication order.
    async fn next(&mut self) -> Result<Arc<Notice>, BusError>;
}

/// Publishes events and hands out per-workspace subscriptions.
#[async_trait]
pub trait EventBus: Send + Sync + 'static {
    /// Sends an event to every current subscriber of its workspace. Never blocks on slow subscribers.
    async fn publish(&self, notice: Notice) -> Result<(), BusError>;
    /// Events of one workspace published from now on.
    async fn subscribe(&self, workspace: WorkspaceId) -> Result<Box<dyn Subscription>, BusError>;
}
