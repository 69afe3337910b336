//! The append-only log of what happened in a workspace and who did it.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{ApiTokenId, ContactId, Timestamp, UserId, WorkspaceId};

/// Who caused a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Actor {
    User {
        id: UserId,
    },
    ApiToken {
        id: ApiTokenId,
    },
    Contact {
        id: ContactId,
    },
    /// Lianluo itself: the CLI, the demo seeder, automatic rules.
    System,
}

/// One entry of the log. `id` grows monotonically, so a reader can resume after the last id it saw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Event {
    pub id: i64,
    pub workspace_id: WorkspaceId,
    pub actor: Actor,
    /// Dotted name: `conversation.created`, `message.created`, `user.updated`, …
    pub kind: String,
    /// The id of the entity the event is about.
    pub subject_id: uuid::Uuid,
    /// What changed; for updates `{field: {from, to}}`.
    pub data: Value,
    pub created_at: Timestamp,
}

/// An event about to be appended (its id is given by the store).
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub actor: Actor,
    pub kind: &'static str,
    pub subject_id: uuid::Uuid,
    pub data: Value,
}

impl NewEvent {
    pub fn new(actor: Actor, kind: &'static str, subject_id: impl Into<uuid::Uuid>, data: Value) -> Self {
        Self { actor, kind, subject_id: subject_id.into(), data }
    }
}
