//! Conversations and the rules for their status, assignment and timestamps.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::{
    ChannelId, ContactId, ConversationId, DomainError, TeamId, Timestamp, UserId, WorkspaceId,
    message::{MessageKind, NewMessage},
    value::{Tag, double_option, normalise_tags},
};

/// Where a conversation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Waiting on the team.
    Open,
    /// Waiting on the customer or on a third party.
    Pending,
    /// Hidden until `snoozed_until`, or until the customer writes again.
    Snoozed,
    Resolved,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Pending => "pending",
            Status::Snoozed => "snoozed",
            Status::Resolved => "resolved",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Status::Open, Status::Pending, Status::Snoozed, Status::Resolved]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
}

/// How urgent a conversation is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    None,
    Low,
    Medium,
    High,
    Urgent,
}

impl Priority {
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::None => "none",
            Priority::Low => "low",
            Priority::Medium => "medium",
            Priority::High => "high",
            Priority::Urgent => "urgent",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Priority::None, Priority::Low, Priority::Medium, Priority::High, Priority::Urgent]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
}

/// A thread between one contact and the workspace on one channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Conversation {
    pub id: ConversationId,
    pub workspace_id: WorkspaceId,
    pub channel_id: ChannelId,
    pub contact_id: ContactId,
    pub subject: Option<String>,
    pub status: Status,
    pub priority: Priority,
    pub assignee_id: Option<UserId>,
    pub team_id: Option<TeamId>,
    pub tags: Vec<Tag>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Time of the newest message.
    pub last_activity_at: Timestamp,
    /// Time of the first reply by a person on the team.
    pub first_response_at: Option<Timestamp>,
    /// Time it was last resolved; cleared when it reopens.
    pub resolved_at: Option<Timestamp>,
    pub snoozed_until: Option<Timestamp>,
    pub message_count: i64,
}

impl Conversation {
    /// Whether the AI agent holds the conversation: pending, with nobody assigned.
    pub fn waits_for_ai_agent(&self) -> bool {
        self.status == Status::Pending && self.assignee_id.is_none()
    }

    /// Whether the AI agent answers `message`, just stored here by a request that asked for it
    /// ([`NewMessage::ai_answers`](crate::message::NewMessage::ai_answers)): a customer's, while the AI
    /// agent still holds the conversation. The store queues the turn by this rule, in the message's
    /// transaction.
    pub fn ai_answers(&self, asked: bool, message: &crate::message::Message) -> bool {
        asked && message.kind == crate::message::MessageKind::Incoming && self.waits_for_ai_agent()
    }
}

/// Longest subject accepted.
pub const MAX_SUBJECT_CHARS: usize = 500;

/// Input to start a conversation, optionally with its first message, written together or not at all.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewConversation {
    pub channel_id: ChannelId,
    pub contact_id: ContactId,
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    pub priority: Option<Priority>,
    #[serde(default)]
    pub assignee_id: Option<UserId>,
    /// Defaults to the channel's team.
    #[serde(default)]
    pub team_id: Option<TeamId>,
    #[serde(default)]
    pub tags: Vec<Tag>,
    #[serde(default)]
    pub message: Option<NewMessage>,
    /// `Pending` for a conversation the AI agent answers first (it waits, unassigned, in the same
    /// transaction as its first message); `Open` otherwise. Set by the intake, never by API clients.
    #[serde(skip)]
    #[schemars(skip)]
    pub waits_for_bot: bool,
}

fn check_subject(s: &Option<String>) -> Result<(), DomainError> {
    if let Some(s) = s
        && (s.chars().count() > MAX_SUBJECT_CHARS || s.chars().any(char::is_control))
    {
        return Err(DomainError::new(
            "subject",
            format!("at most {MAX_SUBJECT_CHARS} characters, no control characters"),
        ));
    }
    Ok(())
}

impl NewConversation {
    pub fn validate(&mut self) -> Result<(), DomainError> {
        check_subject(&self.subject)?;
        self.tags = normalise_tags("tags", std::mem::take(&mut self.tags))?;
        if let Some(m) = &mut self.message {
            m.validate().map_err(|e| DomainError::new(format!("message.{}", e.field), e.message))?;
        }
        Ok(())
    }

    /// The conversation as first stored, before its first message is applied.
    pub fn into_conversation(
        &self,
        workspace_id: WorkspaceId,
        channel_team: Option<TeamId>,
        now: Timestamp,
    ) -> Conversation {
        Conversation {
            id: ConversationId::new(),
            workspace_id,
            channel_id: self.channel_id,
            contact_id: self.contact_id,
            subject: self.subject.clone(),
            status: if self.waits_for_bot { Status::Pending } else { Status::Open },
            priority: self.priority.unwrap_or(Priority::None),
            assignee_id: self.assignee_id,
            team_id: self.team_id.or(channel_team),
            tags: self.tags.clone(),
            created_at: now,
            updated_at: now,
            last_activity_at: now,
            first_response_at: None,
            resolved_at: None,
            snoozed_until: None,
            message_count: 0,
        }
    }
}

/// Changes to a conversation; `assignee_id: null` unassigns. Snoozing needs `snoozed_until`.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConversationPatch {
    pub status: Option<Status>,
    pub snoozed_until: Option<Timestamp>,
    pub priority: Option<Priority>,
    #[serde(default, deserialize_with = "double_option")]
    pub assignee_id: Option<Option<UserId>>,
    #[serde(default, deserialize_with = "double_option")]
    pub team_id: Option<Option<TeamId>>,
    pub tags: Option<Vec<Tag>>,
    #[serde(default, deserialize_with = "double_option")]
    pub subject: Option<Option<String>>,
}

impl ConversationPatch {
    pub fn validate(&mut self, now: Timestamp) -> Result<(), DomainError> {
        if let Some(Some(s)) = &self.subject {
            check_subject(&Some(s.clone()))?;
        }
        if let Some(tags) = self.tags.take() {
            self.tags = Some(normalise_tags("tags", tags)?);
        }
        match (self.status, self.snoozed_until) {
            (Some(Status::Snoozed), None) => {
                return Err(DomainError::new("snoozed_until", "required when snoozing"));
            }
            (Some(Status::Snoozed), Some(t)) if t <= now => {
                return Err(DomainError::new("snoozed_until", "must be in the future"));
            }
            (Some(Status::Snoozed), _) => {}
            (_, Some(_)) => {
                return Err(DomainError::new("snoozed_until", "only allowed with status \"snoozed\""));
            }
            _ => {}
        }
        Ok(())
    }

    /// Applies the patch and returns what changed, as `{field: {from, to}}` for the event log.
    pub fn apply(&self, c: &mut Conversation, now: Timestamp) -> serde_json::Map<String, Value> {
        let mut changes = serde_json::Map::new();
        let mut note = |field: &str, from: Value, to: Value| {
            if from != to {
                changes.insert(field.into(), json!({ "from": from, "to": to }));
            }
        };
        if let Some(status) = self.status {
            note("status", json!(c.status), json!(status));
            set_status(c, status, self.snoozed_until, now);
        }
        if let Some(p) = self.priority {
            note("priority", json!(c.priority), json!(p));
            c.priority = p;
        }
        if let Some(a) = self.assignee_id {
            note("assignee_id", json!(c.assignee_id), json!(a));
            c.assignee_id = a;
        }
        if let Some(t) = self.team_id {
            note("team_id", json!(c.team_id), json!(t));
            c.team_id = t;
        }
        if let Some(tags) = &self.tags {
            note("tags", json!(c.tags), json!(tags));
            c.tags = tags.clone();
        }
        if let Some(s) = &self.subject {
            note("subject", json!(c.subject), json!(s));
            c.subject = s.clone();
        }
        if !changes.is_empty() {
            c.updated_at = now;
        }
        changes
    }
}

fn set_status(c: &mut Conversation, status: Status, until: Option<Timestamp>, now: Timestamp) {
    c.snoozed_until = if status == Status::Snoozed { until } else { None };
    match status {
        Status::Resolved if c.status != Status::Resolved => c.resolved_at = Some(now),
        Status::Resolved => {}
        _ => c.resolved_at = None,
    }
    c.status = status;
}

/// Reopens a snoozed conversation whose snooze has ended. Returns whether it changed.
pub fn wake_if_due(c: &mut Conversation, now: Timestamp) -> bool {
    if c.status == Status::Snoozed && c.snoozed_until.is_none_or(|t| t <= now) {
        set_status(c, Status::Open, None, now);
        c.updated_at = now;
        true
    } else {
        false
    }
}

/// What a new message does to its conversation: activity time, message count, first response,
/// and a customer writing again reopens a resolved or snoozed conversation.
/// Returns the status change, if any, for the event log.
pub fn apply_message(c: &mut Conversation, kind: MessageKind, at: Timestamp) -> Option<(Status, Status)> {
    c.message_count += 1;
    if at > c.last_activity_at {
        c.last_activity_at = at;
    }
    c.updated_at = c.updated_at.max(at);
    if kind == MessageKind::Outgoing && c.first_response_at.is_none() {
        c.first_response_at = Some(at);
    }
    if kind == MessageKind::Incoming && matches!(c.status, Status::Resolved | Status::Snoozed) {
        let from = c.status;
        set_status(c, Status::Open, None, at);
        return Some((from, Status::Open));
    }
    None
}
