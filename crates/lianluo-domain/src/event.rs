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

wire_enum! {
    /// Every kind of event: the durable ones written to the log, and the ephemeral ones sent only to live
    /// connections (typing, presence, the AI agent's streamed pieces). The dotted names are the wire format
    /// API clients read (`"kind": "message.created"`); they never change.
    pub enum EventKind ("kind") {
        WorkspaceCreated = "workspace.created",
        UserCreated = "user.created",
        UserUpdated = "user.updated",
        UserPasswordChanged = "user.password_changed",
        TeamCreated = "team.created",
        TeamUpdated = "team.updated",
        TeamDeleted = "team.deleted",
        ChannelCreated = "channel.created",
        ChannelUpdated = "channel.updated",
        ChannelDeleted = "channel.deleted",
        ChannelSecretRotated = "channel.secret_rotated",
        ContactCreated = "contact.created",
        ContactUpdated = "contact.updated",
        ContactDeleted = "contact.deleted",
        ConversationCreated = "conversation.created",
        ConversationUpdated = "conversation.updated",
        ConversationDeleted = "conversation.deleted",
        ConversationRated = "conversation.rated",
        MessageCreated = "message.created",
        CannedResponseCreated = "canned_response.created",
        CannedResponseUpdated = "canned_response.updated",
        CannedResponseDeleted = "canned_response.deleted",
        ApiTokenCreated = "api_token.created",
        ApiTokenRevoked = "api_token.revoked",
        AiSettingsUpdated = "ai_settings.updated",
        KbSourceCreated = "kb_source.created",
        KbSourceUpdated = "kb_source.updated",
        KbSourceDeleted = "kb_source.deleted",
        KbSourceIndexed = "kb_source.indexed",
        KbSourceFailed = "kb_source.failed",
        KbChunkReleased = "kb_chunk.released",
        KbGapResolved = "kb_gap.resolved",
        KbAnswerRated = "kb_answer.rated",
        KbCandidateMined = "kb_candidate.mined",
        KbCandidateApproved = "kb_candidate.approved",
        KbCandidateRejected = "kb_candidate.rejected",
        JobQueued = "job.queued",
        JobDone = "job.done",
        JobFailed = "job.failed",
        // Ephemeral: sent to live connections, never written to the log.
        Typing = "typing",
        Presence = "presence",
        BotDelta = "bot.delta",
    }
}

impl EventKind {
    /// Whether events of this kind are written to the log (the others only reach live connections).
    pub fn is_durable(self) -> bool {
        !matches!(self, EventKind::Typing | EventKind::Presence | EventKind::BotDelta)
    }
}

impl PartialEq<&str> for EventKind {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// One entry of the log. `id` grows monotonically, so a reader can resume after the last id it saw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Event {
    pub id: i64,
    pub workspace_id: WorkspaceId,
    pub actor: Actor,
    /// What happened: `conversation.created`, `message.created`, `user.updated`, …
    pub kind: EventKind,
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
    pub kind: EventKind,
    pub subject_id: uuid::Uuid,
    pub data: Value,
}

impl NewEvent {
    pub fn new(actor: Actor, kind: EventKind, subject_id: impl Into<uuid::Uuid>, data: Value) -> Self {
        debug_assert!(kind.is_durable(), "{kind} is sent to live connections, never written to the log");
        Self { actor, kind, subject_id: subject_id.into(), data }
    }
}

#[cfg(test)]
mod tests {
    use super::EventKind;

    /// The wire names are what API clients read: each is unique, reads back as its kind, and is what
    /// serde writes.
    #[test]
    fn every_kind_has_one_stable_wire_name() {
        let mut names = std::collections::HashSet::new();
        for kind in EventKind::ALL {
            assert!(names.insert(kind.as_str()), "{kind} twice");
            assert_eq!(kind.as_str().parse::<EventKind>().unwrap(), *kind);
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
        assert_eq!(EventKind::MessageCreated.as_str(), "message.created");
        assert!(!EventKind::Typing.is_durable() && EventKind::ConversationUpdated.is_durable());
        assert!("message.sent".parse::<EventKind>().is_err());
    }
}
