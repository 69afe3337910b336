//! How entities are laid out in columns, shared by the SQL backends: enums with payloads split into
//! columns, the `SELECT` lists, and the mappers from a row back to an entity.

use lianluo_domain::{
    ApiTokenId, ChannelId, ContactId, ConversationId, MessageId, TeamId, Timestamp, UserId, WorkspaceId,
    contact::{Contact, Identity},
    conversation::{Conversation, Priority, Status},
    directory::{ApiToken, Channel, ChannelKind, Role, Team, User, Workspace},
    event::{Actor, Event},
    message::{Message, MessageKind, Sender},
    value::{EmailAddress, Name},
};
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::{Result, StoreError};

pub fn actor_parts(a: &Actor) -> (&'static str, Option<Uuid>) {
    match a {
        Actor::User { id } => ("user", Some(id.0)),
        Actor::ApiToken { id } => ("api_token", Some(id.0)),
        Actor::Contact { id } => ("contact", Some(id.0)),
        Actor::System => ("system", None),
    }
}

pub fn actor_from_parts(kind: &str, id: Option<Uuid>) -> Result<Actor> {
    Ok(match (kind, id) {
        ("user", Some(id)) => Actor::User { id: lianluo_domain::UserId(id) },
        ("api_token", Some(id)) => Actor::ApiToken { id: lianluo_domain::ApiTokenId(id) },
        ("contact", Some(id)) => Actor::Contact { id: lianluo_domain::ContactId(id) },
        ("system", None) => Actor::System,
        _ => return Err(corrupt("actor")),
    })
}

pub fn sender_parts(s: &Sender) -> (&'static str, Option<Uuid>) {
    match s {
        Sender::Contact { id } => ("contact", Some(id.0)),
        Sender::User { id } => ("user", Some(id.0)),
        Sender::Bot => ("bot", None),
        Sender::System => ("system", None),
    }
}

pub fn sender_from_parts(kind: &str, id: Option<Uuid>) -> Result<Sender> {
    Ok(match (kind, id) {
        ("contact", Some(id)) => Sender::Contact { id: lianluo_domain::ContactId(id) },
        ("user", Some(id)) => Sender::User { id: lianluo_domain::UserId(id) },
        ("bot", None) => Sender::Bot,
        ("system", None) => Sender::System,
        _ => return Err(corrupt("sender")),
    })
}

/// A stored value that the domain cannot read back: a bug or a hand-edited database.
pub fn corrupt(what: &str) -> StoreError {
    StoreError::Backend(format!("stored {what} is not valid"))
}

/// Parses a stored enum or value with the domain's own parser.
pub fn parse_stored<T>(what: &str, v: Option<T>) -> Result<T> {
    v.ok_or_else(|| corrupt(what))
}

/// One stored row, whatever the driver. Each backend implements the typed getters once; the mappers
/// below turn rows into entities for both, given the column order of the `SELECT_*` statements.
pub trait Columns {
    fn uuid(&self, i: usize) -> Result<Uuid>;
    fn opt_uuid(&self, i: usize) -> Result<Option<Uuid>>;
    fn text(&self, i: usize) -> Result<String>;
    fn opt_text(&self, i: usize) -> Result<Option<String>>;
    fn int(&self, i: usize) -> Result<i64>;
    fn opt_int(&self, i: usize) -> Result<Option<i64>>;
    /// A floating-point column (REAL in SQLite, double precision in PostgreSQL).
    fn opt_real(&self, i: usize) -> Result<Option<f64>>;
    fn boolean(&self, i: usize) -> Result<bool>;
    /// A JSON column (text in SQLite, jsonb in PostgreSQL).
    fn json(&self, i: usize) -> Result<serde_json::Value>;
    fn bytes(&self, i: usize) -> Result<Vec<u8>>;

    fn time(&self, i: usize) -> Result<Timestamp> {
        self.int(i).map(Timestamp)
    }

    fn opt_time(&self, i: usize) -> Result<Option<Timestamp>> {
        self.opt_int(i).map(|t| t.map(Timestamp))
    }

    fn name(&self, i: usize) -> Result<Name> {
        Name::parse(&self.text(i)?).map_err(|_| corrupt("name"))
    }

    /// A JSON column read into a typed value.
    fn parsed<T: DeserializeOwned>(&self, i: usize) -> Result<T> {
        serde_json::from_value(self.json(i)?).map_err(|_| corrupt("json"))
    }
}

pub const SELECT_WORKSPACE: &str = "SELECT id, name, slug, created_at FROM workspaces";
pub const SELECT_USER: &str =
    "SELECT id, workspace_id, name, email, role, active, created_at, password_hash FROM users";
pub const SELECT_TOKEN: &str =
    "SELECT id, workspace_id, name, role, created_by, created_at, revoked_at, prefix FROM api_tokens";
pub const SELECT_TEAM: &str = "SELECT id, workspace_id, name, description, created_at FROM teams";
pub const SELECT_CHANNEL: &str =
    "SELECT id, workspace_id, kind, name, team_id, settings, created_at, public_token FROM channels";
pub const SELECT_CONTACT: &str =
    "SELECT id, workspace_id, name, attributes, tags, created_at, updated_at FROM contacts";
pub const SELECT_CONVERSATION: &str = "SELECT id, workspace_id, channel_id, contact_id, subject, status, \
    priority, assignee_id, team_id, tags, created_at, updated_at, last_activity_at, first_response_at, \
    resolved_at, snoozed_until, message_count FROM conversations";
pub const SELECT_MESSAGE: &str = "SELECT id, workspace_id, conversation_id, kind, sender_type, sender_id, \
    content, attachments, idempotency_key, created_at FROM messages";
pub const SELECT_CANNED: &str =
    "SELECT id, workspace_id, shortcut, content, created_by, created_at, updated_at FROM canned_responses";
/// Sources in lists leave out their content (it can be megabytes); one source is read whole.
pub const SELECT_KB_SOURCE: &str = "SELECT id, workspace_id, kind, title, content, url, status, error, chunk_count, \
    created_by, created_at, updated_at, page_limit FROM kb_sources";
pub const SELECT_KB_SOURCE_LISTED: &str = "SELECT id, workspace_id, kind, title, '' AS content, url, status, error, \
    chunk_count, created_by, created_at, updated_at, page_limit FROM kb_sources";
pub const SELECT_KB_CHUNK: &str = "SELECT id, workspace_id, source_id, ordinal, heading, text, model, embedding, curated, url, \
    held, held_code FROM kb_chunks";
pub const SELECT_KB_CANDIDATE: &str = "SELECT id, workspace_id, conversation_id, message_id, question, answer, \
    language, status, source_id, decided_by, created_at, updated_at, asked, duplicate_of, confidence FROM kb_candidates";
pub const SELECT_KB_QUESTION: &str = "SELECT id, workspace_id, conversation_id, answer_message_id, question, \
    language, outcome, source_id, resolved_by, created_at, updated_at FROM kb_questions";
/// The audit log's page both backends run ([`crate::tx::Tx::events_before`]), given their placeholders for
/// the workspace, the id bound, the limit and each kind prefix (a `LIKE` pattern).
pub fn events_before_sql(ws: &str, before: &str, limit: &str, prefixes: &[String]) -> String {
    let kinds = if prefixes.is_empty() {
        String::new()
    } else {
        format!(
            " AND ({})",
            prefixes.iter().map(|p| format!("kind LIKE {p}")).collect::<Vec<_>>().join(" OR ")
        )
    };
    format!(
        "{SELECT_EVENT} WHERE workspace_id = {ws} AND id < {before}{kinds} ORDER BY id DESC LIMIT {limit}"
    )
}

pub const SELECT_EVENT: &str =
    "SELECT id, workspace_id, actor_type, actor_id, kind, subject_id, data, created_at FROM events";

pub fn workspace<R: Columns>(r: &R) -> Result<Workspace> {
    Ok(Workspace { id: WorkspaceId(r.uuid(0)?), name: r.name(1)?, slug: r.text(2)?, created_at: r.time(3)? })
}

/// Columns 0 to 6 of [`SELECT_USER`]; column 7 is the password hash, read only for sign-in.
pub fn user<R: Columns>(r: &R) -> Result<User> {
    Ok(User {
        id: UserId(r.uuid(0)?),
        workspace_id: WorkspaceId(r.uuid(1)?),
        name: r.name(2)?,
        email: EmailAddress::parse(&r.text(3)?).map_err(|_| corrupt("email"))?,
        role: parse_stored("role", Role::parse(&r.text(4)?))?,
        active: r.boolean(5)?,
        created_at: r.time(6)?,
    })
}

pub fn api_token<R: Columns>(r: &R) -> Result<ApiToken> {
    Ok(ApiToken {
        id: ApiTokenId(r.uuid(0)?),
        workspace_id: WorkspaceId(r.uuid(1)?),
        name: r.name(2)?,
        role: parse_stored("role", Role::parse(&r.text(3)?))?,
        created_by: UserId(r.uuid(4)?),
        created_at: r.time(5)?,
        revoked_at: r.opt_time(6)?,
        prefix: r.text(7)?,
    })
}

/// A team without its members, which live in another table.
pub fn team<R: Columns>(r: &R) -> Result<Team> {
    Ok(Team {
        id: TeamId(r.uuid(0)?),
        workspace_id: WorkspaceId(r.uuid(1)?),
        name: r.name(2)?,
        description: r.text(3)?,
        member_ids: Vec::new(),
        created_at: r.time(4)?,
    })
}

pub fn channel<R: Columns>(r: &R) -> Result<Channel> {
    Ok(Channel {
        id: ChannelId(r.uuid(0)?),
        workspace_id: WorkspaceId(r.uuid(1)?),
        kind: parse_stored("channel kind", ChannelKind::parse(&r.text(2)?))?,
        name: r.name(3)?,
        team_id: r.opt_uuid(4)?.map(TeamId),
        settings: r.parsed(5)?,
        created_at: r.time(6)?,
        public_token: r.opt_text(7)?,
    })
}

/// A contact without its identities, which live in another table.
pub fn contact<R: Columns>(r: &R) -> Result<Contact> {
    Ok(Contact {
        id: ContactId(r.uuid(0)?),
        workspace_id: WorkspaceId(r.uuid(1)?),
        name: r.opt_text(2)?.map(|n| Name::parse(&n).map_err(|_| corrupt("name"))).transpose()?,
        identities: Vec::new(),
        attributes: r.parsed(3)?,
        tags: r.parsed(4)?,
        created_at: r.time(5)?,
        updated_at: r.time(6)?,
    })
}

/// An identity from three columns starting at `at`: kind, channel id ('' for none), value.
pub fn identity<R: Columns>(r: &R, at: usize) -> Result<Identity> {
    let ch = r.text(at + 1)?;
    let ch =
        if ch.is_empty() { None } else { Some(ChannelId(Uuid::parse_str(&ch).map_err(|_| corrupt("id"))?)) };
    parse_stored("identity", Identity::from_parts(&r.text(at)?, ch, &r.text(at + 2)?))
}

/// How a channel id is stored in `contact_identities`: '' when the identity has no channel.
pub fn channel_key(ch: Option<ChannelId>) -> String {
    ch.map(|c| c.to_string()).unwrap_or_default()
}

pub fn conversation<R: Columns>(r: &R) -> Result<Conversation> {
    Ok(Conversation {
        id: ConversationId(r.uuid(0)?),
        workspace_id: WorkspaceId(r.uuid(1)?),
        channel_id: ChannelId(r.uuid(2)?),
        contact_id: ContactId(r.uuid(3)?),
        subject: r.opt_text(4)?,
        status: parse_stored("status", Status::parse(&r.text(5)?))?,
        priority: parse_stored("priority", Priority::parse(&r.text(6)?))?,
        assignee_id: r.opt_uuid(7)?.map(UserId),
        team_id: r.opt_uuid(8)?.map(TeamId),
        tags: r.parsed(9)?,
        created_at: r.time(10)?,
        updated_at: r.time(11)?,
        last_activity_at: r.time(12)?,
        first_response_at: r.opt_time(13)?,
        resolved_at: r.opt_time(14)?,
        snoozed_until: r.opt_time(15)?,
        message_count: r.int(16)?,
    })
}

pub fn message<R: Columns>(r: &R) -> Result<Message> {
    Ok(Message {
        id: MessageId(r.uuid(0)?),
        workspace_id: WorkspaceId(r.uuid(1)?),
        conversation_id: ConversationId(r.uuid(2)?),
        kind: parse_stored("message kind", MessageKind::parse(&r.text(3)?))?,
        sender: sender_from_parts(&r.text(4)?, r.opt_uuid(5)?)?,
        content: r.text(6)?,
        attachments: r.parsed(7)?,
        idempotency_key: r.opt_text(8)?,
        created_at: r.time(9)?,
    })
}

pub fn event<R: Columns>(r: &R) -> Result<Event> {
    Ok(Event {
        id: r.int(0)?,
        workspace_id: WorkspaceId(r.uuid(1)?),
        actor: actor_from_parts(&r.text(2)?, r.opt_uuid(3)?)?,
        kind: r.text(4)?.parse().map_err(|_| corrupt("event kind"))?,
        subject_id: r.uuid(5)?,
        data: r.json(6)?,
        created_at: r.time(7)?,
    })
}

/// A `LIKE` pattern matching `q` anywhere, case-folded, with `%`, `_` and `\` in `q` taken literally
/// (use with `ESCAPE '\'`; PostgreSQL's default escape is the same).
pub fn like_pattern(q: &str) -> String {
    let mut p = String::from("%");
    for c in q.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

pub fn canned<R: Columns>(r: &R) -> Result<lianluo_domain::canned::CannedResponse> {
    Ok(lianluo_domain::canned::CannedResponse {
        id: lianluo_domain::CannedResponseId(r.uuid(0)?),
        workspace_id: WorkspaceId(r.uuid(1)?),
        shortcut: r.text(2)?,
        content: r.text(3)?,
        created_by: UserId(r.uuid(4)?),
        created_at: r.time(5)?,
        updated_at: r.time(6)?,
    })
}

pub fn kb_source<R: Columns>(r: &R) -> Result<lianluo_domain::knowledge::KbSource> {
    use lianluo_domain::knowledge::{SourceKind, SourceStatus};
    Ok(lianluo_domain::knowledge::KbSource {
        id: lianluo_domain::KbSourceId(r.uuid(0)?),
        workspace_id: WorkspaceId(r.uuid(1)?),
        kind: parse_stored("source kind", SourceKind::parse(&r.text(2)?))?,
        title: r.text(3)?,
        content: r.text(4)?,
        url: r.opt_text(5)?,
        status: parse_stored("source status", SourceStatus::parse(&r.text(6)?))?,
        error: r.opt_text(7)?,
        chunk_count: r.int(8)?,
        created_by: r.opt_uuid(9)?.map(UserId),
        created_at: r.time(10)?,
        updated_at: r.time(11)?,
        page_limit: r.opt_int(12)?,
    })
}

pub fn kb_candidate<R: Columns>(r: &R) -> Result<lianluo_domain::knowledge::KbCandidate> {
    use lianluo_domain::{ConversationId, KbSourceId, MessageId, knowledge::CandidateStatus};
    Ok(lianluo_domain::knowledge::KbCandidate {
        id: lianluo_domain::KbCandidateId(r.uuid(0)?),
        workspace_id: WorkspaceId(r.uuid(1)?),
        conversation_id: ConversationId(r.uuid(2)?),
        message_id: MessageId(r.uuid(3)?),
        question: r.text(4)?,
        answer: r.text(5)?,
        language: r.text(6)?,
        status: parse_stored("candidate status", CandidateStatus::parse(&r.text(7)?))?,
        source_id: r.opt_uuid(8)?.map(KbSourceId),
        decided_by: r.opt_uuid(9)?.map(UserId),
        created_at: r.time(10)?,
        updated_at: r.time(11)?,
        asked: r.int(12)?,
        duplicate_of: r.opt_uuid(13)?.map(lianluo_domain::KbCandidateId),
        confidence: r.opt_real(14)?.map(|c| c as f32),
    })
}

pub fn kb_question<R: Columns>(r: &R) -> Result<lianluo_domain::knowledge::KbQuestion> {
    use lianluo_domain::{ConversationId, KbSourceId, MessageId, knowledge::QuestionOutcome};
    Ok(lianluo_domain::knowledge::KbQuestion {
        id: lianluo_domain::KbQuestionId(r.uuid(0)?),
        workspace_id: WorkspaceId(r.uuid(1)?),
        conversation_id: r.opt_uuid(2)?.map(ConversationId),
        answer_message_id: r.opt_uuid(3)?.map(MessageId),
        question: r.text(4)?,
        language: r.text(5)?,
        outcome: parse_stored("question outcome", QuestionOutcome::parse(&r.text(6)?))?,
        source_id: r.opt_uuid(7)?.map(KbSourceId),
        resolved_by: r.opt_uuid(8)?.map(KbSourceId),
        created_at: r.time(9)?,
        updated_at: r.time(10)?,
    })
}

/// Vectors are stored as little-endian `f32` bytes.
pub fn vector_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

pub fn kb_chunk<R: Columns>(r: &R) -> Result<lianluo_domain::knowledge::KbChunk> {
    let raw = r.bytes(7)?;
    if raw.len() % 4 != 0 {
        return Err(corrupt("embedding"));
    }
    Ok(lianluo_domain::knowledge::KbChunk {
        id: lianluo_domain::KbChunkId(r.uuid(0)?),
        workspace_id: WorkspaceId(r.uuid(1)?),
        source_id: lianluo_domain::KbSourceId(r.uuid(2)?),
        ordinal: r.int(3)?,
        heading: r.text(4)?,
        text: r.text(5)?,
        model: r.text(6)?,
        curated: r.boolean(8)?,
        url: r.opt_text(9)?,
        held: r.opt_text(10)?,
        held_code: r.opt_text(11)?.map(|c| c.parse()).transpose().map_err(|_| corrupt("held reason"))?,
        embedding: raw.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect(),
    })
}
