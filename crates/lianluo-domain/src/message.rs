//! Messages: what was said in a conversation, by whom, with which attachments.

use serde::{Deserialize, Serialize};

use crate::{ContactId, ConversationId, DomainError, MessageId, Timestamp, UserId, WorkspaceId};

/// Longest message text, in characters.
pub const MAX_CONTENT_CHARS: usize = 20_000;
/// Most attachments on one message.
pub const MAX_ATTACHMENTS: usize = 10;
/// Longest idempotency key.
pub const MAX_IDEMPOTENCY_KEY_CHARS: usize = 128;

/// What a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    /// From the customer.
    Incoming,
    /// From an agent to the customer.
    Outgoing,
    /// Between agents; the customer never sees it.
    Note,
    /// Written by Lianluo itself ("conversation assigned to …").
    System,
    /// Written by the AI agent to the customer.
    Bot,
}

impl MessageKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Incoming => "incoming",
            MessageKind::Outgoing => "outgoing",
            MessageKind::Note => "note",
            MessageKind::System => "system",
            MessageKind::Bot => "bot",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            MessageKind::Incoming,
            MessageKind::Outgoing,
            MessageKind::Note,
            MessageKind::System,
            MessageKind::Bot,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Sender {
    Contact { id: ContactId },
    User { id: UserId },
    Bot,
    System,
}

/// A file sent with a message; the bytes live elsewhere, this is what is known of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Attachment {
    pub name: String,
    pub content_type: String,
    pub size_bytes: u64,
    pub url: String,
}

impl Attachment {
    fn validate(&self, i: usize) -> Result<(), DomainError> {
        let f = |name: &str| format!("attachments[{i}].{name}");
        if self.name.is_empty() || self.name.chars().count() > 255 || self.name.chars().any(char::is_control)
        {
            return Err(DomainError::new(f("name"), "1 to 255 characters"));
        }
        let ct_ok = self.content_type.len() <= 127
            && self.content_type.split_once('/').is_some_and(|(a, b)| !a.is_empty() && !b.is_empty())
            && self.content_type.bytes().all(|b| b.is_ascii_graphic());
        if !ct_ok {
            return Err(DomainError::new(f("content_type"), "a media type such as image/png"));
        }
        // A path on this server; "//host/x" and "/\\host/x" would be read as another site.
        let path = self.url.starts_with('/') && !self.url.starts_with("//") && !self.url.starts_with("/\\");
        let url_ok = self.url.len() <= 2048
            && (self.url.starts_with("https://") || self.url.starts_with("http://") || path)
            && !self.url.chars().any(|c| c.is_whitespace() || c.is_control());
        if !url_ok {
            return Err(DomainError::new(f("url"), "an http(s) URL or a path, at most 2048 characters"));
        }
        Ok(())
    }
}

/// A message as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Message {
    pub id: MessageId,
    pub workspace_id: WorkspaceId,
    pub conversation_id: ConversationId,
    pub kind: MessageKind,
    pub sender: Sender,
    pub content: String,
    pub attachments: Vec<Attachment>,
    /// The client's key for safe retries; a second post with the same key returns the first message.
    pub idempotency_key: Option<String>,
    pub created_at: Timestamp,
}

/// Input to post a message.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMessage {
    pub kind: MessageKind,
    #[serde(default)]
    pub content: String,
    #[serde(default)]
    pub attachments: Vec<Attachment>,
    /// May also be sent as the `Idempotency-Key` header.
    #[serde(default)]
    pub idempotency_key: Option<String>,
    /// The AI agent answers this message if its conversation still waits for it once the message is
    /// stored (pending, nobody assigned): its turn is then queued in the same transaction, so a stored
    /// customer message is never left without one. Set by the intake, never by API clients.
    #[serde(skip)]
    #[schemars(skip)]
    pub ai_answers: bool,
}

impl NewMessage {
    /// A message of text alone.
    pub fn text(kind: MessageKind, content: impl Into<String>) -> Self {
        Self { kind, content: content.into(), attachments: vec![], idempotency_key: None, ai_answers: false }
    }

    pub fn validate(&mut self) -> Result<(), DomainError> {
        if self.content.chars().count() > MAX_CONTENT_CHARS {
            return Err(DomainError::new("content", format!("at most {MAX_CONTENT_CHARS} characters")));
        }
        if self.content.trim().is_empty() && self.attachments.is_empty() {
            return Err(DomainError::new("content", "a message needs text or an attachment"));
        }
        if self.attachments.len() > MAX_ATTACHMENTS {
            return Err(DomainError::new("attachments", format!("at most {MAX_ATTACHMENTS}")));
        }
        for (i, a) in self.attachments.iter().enumerate() {
            a.validate(i)?;
        }
        if let Some(k) = &self.idempotency_key {
            check_idempotency_key(k)?;
        }
        Ok(())
    }

    /// The message as it will be stored.
    pub fn into_message(
        self,
        workspace_id: WorkspaceId,
        conversation_id: ConversationId,
        sender: Sender,
        now: Timestamp,
    ) -> Message {
        Message {
            id: MessageId::new(),
            workspace_id,
            conversation_id,
            kind: self.kind,
            sender,
            content: self.content,
            attachments: self.attachments,
            idempotency_key: self.idempotency_key,
            created_at: now,
        }
    }

    /// Whether a stored message is the same request as this one (used when a key is reused).
    pub fn same_request_as(&self, m: &Message) -> bool {
        self.kind == m.kind && self.content == m.content && self.attachments == m.attachments
    }
}

/// Checks an idempotency key: 1 to 128 visible ASCII characters.
pub fn check_idempotency_key(k: &str) -> Result<(), DomainError> {
    if k.is_empty() || k.len() > MAX_IDEMPOTENCY_KEY_CHARS || !k.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(DomainError::new(
            "idempotency_key",
            format!("1 to {MAX_IDEMPOTENCY_KEY_CHARS} visible ASCII characters"),
        ));
    }
    Ok(())
}
