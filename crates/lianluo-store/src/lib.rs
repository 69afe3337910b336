//! The storage interface: use-case methods every backend implements, and the conformance suite that proves it.
//!
//! Every method takes the workspace it acts in; a backend must never read or change a row of another
//! workspace. Every change writes its audit event in the same transaction as the change itself.

/// Runs `$body` in a write (or read) transaction of the [`SqlStore`]'s backend `B`, with the transaction
/// bound to `$tx`: how every use case written over [`tx::Tx`] starts.
macro_rules! write {
    ($self:ident, |$tx:ident| $body:expr) => {
        $self.0.write(tx_fn(move |$tx: &mut B::Tx| Box::pin(async move { $body }))).await
    };
}

macro_rules! read {
    ($self:ident, |$tx:ident| $body:expr) => {
        $self.0.read(tx_fn(move |$tx: &mut B::Tx| Box::pin(async move { $body }))).await
    };
}

pub mod columns;
pub mod conformance;
pub mod csat;
mod engine;
mod error;
pub mod jobs;
pub mod migrate;
pub mod tx;

pub use csat::Ratings;
pub use engine::SqlStore;
pub use jobs::JobQueue;

use async_trait::async_trait;
pub use error::StoreError;
use lianluo_domain::{
    ApiTokenId, CannedResponseId, ChannelId, ContactId, ConversationId, KbCandidateId, KbChunkId,
    KbQuestionId, KbSourceId, MessageId, TeamId, Timestamp, UserId, WorkspaceId,
    ai::{AiSettings, AiUsage},
    canned::{CannedResponse, CannedResponsePatch, NewCannedResponse},
    contact::{Contact, ContactPatch, Identity, NewContact},
    conversation::{Conversation, ConversationPatch, NewConversation, Priority, Status},
    directory::{
        ApiToken, Channel, ChannelPatch, NewChannel, NewTeam, Team, TeamPatch, User, UserPatch, Workspace,
    },
    event::{Actor, Event},
    knowledge::{
        CandidateDecision, CandidateStatus, KbCandidate, KbChunk, KbQuestion, KbSource, KbSourcePatch,
        NewKbSource,
    },
    message::{Message, NewMessage, Sender},
    page::{Page, PageRequest},
    value::{EmailAddress, Tag},
};

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A signed-in browser session. The token itself is never stored, only its hash.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub token_hash: String,
    pub user_id: UserId,
    pub workspace_id: WorkspaceId,
    /// Sent back by the browser in `X-CSRF-Token` on every state-changing request.
    pub csrf_token: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// How long a widget visitor's session lasts without the visitor coming back: 30 days.
pub const VISITOR_IDLE_MS: i64 = 30 * 24 * 3600 * 1000;

/// A visitor of a web widget: the browser holds the token, the store only its hash.
#[derive(Debug, Clone, PartialEq)]
pub struct VisitorSession {
    pub token_hash: String,
    pub workspace_id: WorkspaceId,
    pub channel_id: ChannelId,
    pub contact_id: ContactId,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
}

/// A user with the hash of their password, for signing in.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub user: User,
    pub password_hash: String,
}

/// Filters for listing conversations.
#[derive(Debug, Clone, Default)]
pub struct ConversationFilter {
    pub status: Option<Status>,
    /// `Some(None)` lists unassigned conversations.
    pub assignee_id: Option<Option<UserId>>,
    pub team_id: Option<TeamId>,
    pub channel_id: Option<ChannelId>,
    pub contact_id: Option<ContactId>,
    pub priority: Option<Priority>,
    pub tag: Option<Tag>,
    /// Case-insensitive text found in any message or in the contact's name or identities.
    pub query: Option<String>,
}

/// The latest words of the customer or of a person answering them, shortened for a list: the AI agent's
/// answers, private notes and system messages are not what an agent scanning the inbox needs to read.
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
pub struct LastMessage {
    pub kind: lianluo_domain::message::MessageKind,
    /// The first 140 characters.
    pub excerpt: String,
    pub created_at: Timestamp,
}

/// A row of an agent's inbox: the conversation and what the list shows about it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
pub struct InboxItem {
    pub conversation: Conversation,
    pub contact_name: Option<String>,
    pub last_message: Option<LastMessage>,
    /// The customer's messages since this agent last read the conversation.
    pub unread_count: i64,
}

/// Filters for listing contacts.
#[derive(Debug, Clone, Default)]
pub struct ContactFilter {
    /// Case-insensitive substring of the name or of any identity (email, phone, external id).
    pub query: Option<String>,
    pub tag: Option<Tag>,
}

/// The result of posting a message: stored now, or found stored under the same idempotency key.
#[derive(Debug, Clone, PartialEq)]
pub struct Appended {
    pub message: Message,
    pub conversation: Conversation,
    /// False when an earlier message with the same idempotency key was returned instead.
    pub created: bool,
}

/// The storage interface. See the module documentation for the invariants.
#[async_trait]
pub trait Store: JobQueue + Ratings + Send + Sync + 'static {
    /// Short name of the backend (`sqlite`, `postgres`), for logs and `/readyz`.
    fn backend(&self) -> &'static str;

    /// Checks that the database answers.
    async fn ping(&self) -> Result<()>;

    // Workspaces.
    async fn create_workspace(&self, ws: &Workspace) -> Result<()>;
    async fn get_workspace(&self, id: WorkspaceId) -> Result<Workspace>;
    async fn workspace_by_slug(&self, slug: &str) -> Result<Option<Workspace>>;

    // Users and authentication.
    async fn create_user(&self, user: &User, password_hash: &str, actor: Actor) -> Result<()>;
    async fn get_user(&self, ws: WorkspaceId, id: UserId) -> Result<User>;
    async fn list_users(&self, ws: WorkspaceId, page: PageRequest) -> Result<Page<User>>;
    async fn update_user(
        &self,
        ws: WorkspaceId,
        id: UserId,
        patch: &UserPatch,
        actor: Actor,
        now: Timestamp,
    ) -> Result<User>;
    /// Finds a user by sign-in email, across workspaces (emails are unique installation-wide).
    async fn credentials_by_email(&self, email: &EmailAddress) -> Result<Option<Credentials>>;
    async fn set_password(
        &self,
        ws: WorkspaceId,
        id: UserId,
        password_hash: &str,
        actor: Actor,
        now: Timestamp,
    ) -> Result<()>;
    async fn create_session(&self, session: &Session) -> Result<()>;
    /// The live session with this token hash and its (active) user.
    async fn session(&self, token_hash: &str, now: Timestamp) -> Result<Option<(Session, User)>>;
    async fn delete_session(&self, token_hash: &str) -> Result<()>;
    async fn create_api_token(&self, token: &ApiToken, token_hash: &str, actor: Actor) -> Result<()>;
    /// The unrevoked token with this hash, provided the user who created it is still active. Its role is
    /// capped by its creator's current role: a demoted admin's tokens lose admin rights too.
    async fn api_token(&self, token_hash: &str) -> Result<Option<ApiToken>>;
    async fn list_api_tokens(&self, ws: WorkspaceId) -> Result<Vec<ApiToken>>;
    async fn revoke_api_token(
        &self,
        ws: WorkspaceId,
        id: ApiTokenId,
        actor: Actor,
        now: Timestamp,
    ) -> Result<()>;

    // Teams.
    async fn create_team(&self, ws: WorkspaceId, new: &NewTeam, actor: Actor, now: Timestamp)
    -> Result<Team>;
    async fn get_team(&self, ws: WorkspaceId, id: TeamId) -> Result<Team>;
    async fn list_teams(&self, ws: WorkspaceId) -> Result<Vec<Team>>;
    async fn update_team(
        &self,
        ws: WorkspaceId,
        id: TeamId,
        patch: &TeamPatch,
        actor: Actor,
        now: Timestamp,
    ) -> Result<Team>;
    async fn delete_team(&self, ws: WorkspaceId, id: TeamId, actor: Actor, now: Timestamp) -> Result<()>;

    // Channels.
    async fn create_channel(
        &self,
        ws: WorkspaceId,
        new: &NewChannel,
        actor: Actor,
        now: Timestamp,
    ) -> Result<Channel>;
    async fn get_channel(&self, ws: WorkspaceId, id: ChannelId) -> Result<Channel>;
    async fn list_channels(&self, ws: WorkspaceId) -> Result<Vec<Channel>>;
    async fn update_channel(
        &self,
        ws: WorkspaceId,
        id: ChannelId,
        patch: &ChannelPatch,
        actor: Actor,
        now: Timestamp,
    ) -> Result<Channel>;
    /// Fails with `Conflict` while conversations still use the channel.
    async fn delete_channel(
        &self,
        ws: WorkspaceId,
        id: ChannelId,
        actor: Actor,
        now: Timestamp,
    ) -> Result<()>;

    // Web widgets and their visitors.
    /// The web-widget channel with this public token, and its secret (any workspace: the token says which).
    async fn widget_channel(&self, public_token: &str) -> Result<Option<(Channel, String)>>;
    /// The secret that signs a widget channel's identities.
    async fn widget_secret(&self, ws: WorkspaceId, channel: ChannelId) -> Result<String>;
    /// Replaces a widget channel's secret; returns the new one. Signatures made with the old one fail.
    async fn rotate_widget_secret(
        &self,
        ws: WorkspaceId,
        channel: ChannelId,
        actor: Actor,
        now: Timestamp,
    ) -> Result<String>;
    async fn create_visitor_session(&self, session: &VisitorSession) -> Result<()>;
    async fn visitor_session(&self, token_hash: &str) -> Result<Option<VisitorSession>>;
    /// Records that the visitor came back; sessions idle for `VISITOR_IDLE_MS` expire.
    async fn touch_visitor_session(&self, token_hash: &str, now: Timestamp) -> Result<()>;

    // Contacts.
    /// Fails with `Conflict` if another contact of the workspace already has one of the identities.
    async fn create_contact(
        &self,
        ws: WorkspaceId,
        new: &NewContact,
        actor: Actor,
        now: Timestamp,
    ) -> Result<Contact>;
    async fn get_contact(&self, ws: WorkspaceId, id: ContactId) -> Result<Contact>;
    async fn find_contact(&self, ws: WorkspaceId, identity: &Identity) -> Result<Option<Contact>>;
    /// Ordered by creation, newest first.
    async fn list_contacts(
        &self,
        ws: WorkspaceId,
        filter: &ContactFilter,
        page: PageRequest,
    ) -> Result<Page<Contact>>;
    async fn update_contact(
        &self,
        ws: WorkspaceId,
        id: ContactId,
        patch: &ContactPatch,
        actor: Actor,
        now: Timestamp,
    ) -> Result<Contact>;
    /// Fails with `Conflict` while the contact has conversations.
    async fn delete_contact(
        &self,
        ws: WorkspaceId,
        id: ContactId,
        actor: Actor,
        now: Timestamp,
    ) -> Result<()>;

    // Conversations and messages.
    /// Creates the conversation and, if given, its first message, in one transaction.
    async fn create_conversation(
        &self,
        ws: WorkspaceId,
        new: &NewConversation,
        first_sender: Option<Sender>,
        actor: Actor,
        now: Timestamp,
    ) -> Result<(Conversation, Option<Message>)>;
    async fn get_conversation(&self, ws: WorkspaceId, id: ConversationId) -> Result<Conversation>;
    /// How many open or pending conversations each of these users is assigned (0 for none).
    async fn open_counts(&self, ws: WorkspaceId, users: &[UserId]) -> Result<Vec<(UserId, i64)>>;
    /// Ordered by last activity, newest first.
    async fn list_conversations(
        &self,
        ws: WorkspaceId,
        filter: &ConversationFilter,
        page: PageRequest,
    ) -> Result<Page<Conversation>>;
    async fn update_conversation(
        &self,
        ws: WorkspaceId,
        id: ConversationId,
        patch: &ConversationPatch,
        actor: Actor,
        now: Timestamp,
    ) -> Result<Conversation>;
    /// Deletes a conversation and its messages; the audit log keeps the record that it existed.
    async fn delete_conversation(
        &self,
        ws: WorkspaceId,
        id: ConversationId,
        actor: Actor,
        now: Timestamp,
    ) -> Result<()>;
    /// Appends a message; without a `sender` it is the conversation's contact. With an idempotency key
    /// already used in this conversation, returns the stored message (`created: false`) if the request is
    /// the same, or `Conflict` if it differs.
    async fn append_message(
        &self,
        ws: WorkspaceId,
        conversation: ConversationId,
        new: &NewMessage,
        sender: Option<Sender>,
        actor: Actor,
        now: Timestamp,
    ) -> Result<Appended>;
    /// Changes a conversation and appends messages (each with its sender) in one transaction, with the
    /// question the AI agent could not answer when given: the AI agent's hand-over (the conversation to
    /// the team's queue, the customer told, the agent's note, the knowledge gap) is all written or none of
    /// it. Returns the conversation and the messages stored.
    #[allow(clippy::too_many_arguments)]
    async fn update_with_messages(
        &self,
        ws: WorkspaceId,
        conversation: ConversationId,
        patch: &ConversationPatch,
        messages: &[(NewMessage, Sender)],
        unanswered: Option<&KbQuestion>,
        actor: Actor,
        now: Timestamp,
    ) -> Result<(Conversation, Vec<Message>)>;
    /// Oldest first, so a thread reads top to bottom.
    async fn list_messages(
        &self,
        ws: WorkspaceId,
        conversation: ConversationId,
        page: PageRequest,
    ) -> Result<Page<Message>>;
    /// Newest first: the latest `page.limit` messages, and a cursor that reads the ones before them (a
    /// long thread opens at its end; the AI agent reads the latest turns).
    async fn recent_messages(
        &self,
        ws: WorkspaceId,
        conversation: ConversationId,
        page: PageRequest,
    ) -> Result<Page<Message>>;
    /// The latest `n` messages (at most 100), oldest first: the end of a thread as a reader, or the
    /// AI agent, takes it in.
    async fn thread_end(
        &self,
        ws: WorkspaceId,
        conversation: ConversationId,
        n: u32,
    ) -> Result<Vec<Message>> {
        let mut items = self.recent_messages(ws, conversation, PageRequest::new(Some(n), None)).await?.items;
        items.reverse();
        Ok(items)
    }

    // Maintenance, across workspaces; each change is recorded in its own workspace's log.
    /// Reopens up to `limit` conversations whose snooze ended by `now`; returns them.
    async fn wake_snoozed(&self, now: Timestamp, limit: u32) -> Result<Vec<Conversation>>;
    /// Deletes sessions that expired before `now`; returns how many.
    async fn delete_expired_sessions(&self, now: Timestamp) -> Result<u64>;

    /// One message.
    async fn get_message(&self, ws: WorkspaceId, id: MessageId) -> Result<Message>;

    /// Conversations as an agent's inbox shows them: with the contact's name, the latest message and the
    /// agent's unread count. Same filters and order as `list_conversations`.
    async fn inbox(
        &self,
        ws: WorkspaceId,
        user: UserId,
        filter: &ConversationFilter,
        page: PageRequest,
    ) -> Result<Page<InboxItem>>;
    /// Records that `user` has read the conversation up to `at`.
    async fn mark_read(
        &self,
        ws: WorkspaceId,
        conversation: ConversationId,
        user: UserId,
        at: Timestamp,
    ) -> Result<()>;

    // Canned responses.
    /// Saved replies, by shortcut; `prefix` narrows to shortcuts starting with it.
    async fn list_canned(&self, ws: WorkspaceId, prefix: Option<&str>) -> Result<Vec<CannedResponse>>;
    async fn create_canned(
        &self,
        ws: WorkspaceId,
        new: &NewCannedResponse,
        actor: UserId,
        now: Timestamp,
    ) -> Result<CannedResponse>;
    async fn update_canned(
        &self,
        ws: WorkspaceId,
        id: CannedResponseId,
        patch: &CannedResponsePatch,
        actor: Actor,
        now: Timestamp,
    ) -> Result<CannedResponse>;
    async fn delete_canned(
        &self,
        ws: WorkspaceId,
        id: CannedResponseId,
        actor: Actor,
        now: Timestamp,
    ) -> Result<()>;

    // The knowledge base.
    /// Adds a source, queued for indexing.
    async fn create_kb_source(
        &self,
        ws: WorkspaceId,
        new: &NewKbSource,
        actor: Actor,
        created_by: Option<UserId>,
        now: Timestamp,
    ) -> Result<KbSource>;
    /// Sources oldest first, without their content.
    async fn list_kb_sources(&self, ws: WorkspaceId) -> Result<Vec<KbSource>>;
    /// One source with its content.
    async fn get_kb_source(&self, ws: WorkspaceId, id: KbSourceId) -> Result<KbSource>;
    /// Edits a source; a new title or content queues it for indexing again.
    async fn update_kb_source(
        &self,
        ws: WorkspaceId,
        id: KbSourceId,
        patch: &KbSourcePatch,
        actor: Actor,
        now: Timestamp,
    ) -> Result<KbSource>;
    /// Marks a source as being indexed and returns it whole (re-sync starts here too).
    async fn start_kb_source(&self, ws: WorkspaceId, id: KbSourceId) -> Result<KbSource>;
    /// Stores the outcome of indexing: the new chunks (replacing the old) or the reason it failed. When the
    /// source was edited after `seen` (its `updated_at` when indexing started) nothing is stored and `None`
    /// comes back: the newer version is indexed by its own run.
    async fn finish_kb_source(
        &self,
        ws: WorkspaceId,
        id: KbSourceId,
        seen: Timestamp,
        outcome: std::result::Result<Vec<KbChunk>, String>,
        now: Timestamp,
    ) -> Result<Option<KbSource>>;
    async fn delete_kb_source(
        &self,
        ws: WorkspaceId,
        id: KbSourceId,
        actor: Actor,
        now: Timestamp,
    ) -> Result<()>;
    /// A source's chunks in order.
    async fn list_kb_chunks(&self, ws: WorkspaceId, source: KbSourceId) -> Result<Vec<KbChunk>>;
    /// Passages held for review (at most 500), by source and position.
    async fn list_held_kb_chunks(&self, ws: WorkspaceId) -> Result<Vec<KbChunk>>;
    /// An admin approves a held passage: it becomes searchable. Approving one that is not held changes
    /// nothing; `NotFound` when the workspace has no such passage.
    async fn release_kb_chunk(
        &self,
        ws: WorkspaceId,
        id: KbChunkId,
        actor: Actor,
        now: Timestamp,
    ) -> Result<KbChunk>;
    /// Records a question the AI agent handled.
    async fn record_kb_question(&self, ws: WorkspaceId, q: &KbQuestion) -> Result<()>;
    /// The AI agent's answer in one transaction: the answer (from the bot), the question it answered
    /// (recorded with the answer's id, for ratings and gaps) and the agents' note on its sources.
    async fn record_bot_answer(
        &self,
        ws: WorkspaceId,
        conversation: ConversationId,
        answer: &NewMessage,
        note: &NewMessage,
        question: &KbQuestion,
        now: Timestamp,
    ) -> Result<Message>;
    /// The customer's rating of a bot answer; `NotFound` when the message is not a recorded answer. An
    /// answer newly rated not helpful, in a conversation the AI agent still holds, queues the AI agent's
    /// follow-up ([`JobSpec::FollowUpRating`](lianluo_domain::job::JobSpec)) in the same transaction.
    async fn rate_kb_answer(
        &self,
        ws: WorkspaceId,
        answer: MessageId,
        helpful: bool,
        actor: Actor,
        now: Timestamp,
    ) -> Result<KbQuestion>;
    /// Unresolved unanswered and not-helpful questions, newest first.
    async fn list_kb_gap_questions(&self, ws: WorkspaceId, limit: u32) -> Result<Vec<KbQuestion>>;
    /// A conversation's recorded questions, oldest first.
    async fn list_kb_questions_in(
        &self,
        ws: WorkspaceId,
        conversation: ConversationId,
    ) -> Result<Vec<KbQuestion>>;
    /// Marks questions as answered by a new knowledge entry; returns how many changed.
    async fn resolve_kb_questions(
        &self,
        ws: WorkspaceId,
        ids: &[KbQuestionId],
        by: KbSourceId,
        actor: Actor,
        now: Timestamp,
    ) -> Result<usize>;
    /// The workspace's AI settings (empty when never saved), with the provider's key.
    async fn ai_settings(&self, ws: WorkspaceId) -> Result<AiSettings>;
    async fn set_ai_settings(
        &self,
        ws: WorkspaceId,
        settings: &AiSettings,
        actor: Actor,
        now: Timestamp,
    ) -> Result<()>;
    /// Counts one model request's tokens for the workspace, on the day of `now`.
    async fn record_ai_usage(
        &self,
        ws: WorkspaceId,
        model: &str,
        prompt_tokens: u32,
        completion_tokens: u32,
        now: Timestamp,
    ) -> Result<()>;
    /// Tokens used per day and model since `since`, oldest first.
    async fn list_ai_usage(&self, ws: WorkspaceId, since: Timestamp) -> Result<Vec<AiUsage>>;
    /// Adds question/answer pairs mined from conversations, pending approval; a reply mined before is
    /// skipped. Returns the candidates added.
    async fn add_kb_candidates(
        &self,
        ws: WorkspaceId,
        candidates: &[KbCandidate],
        actor: Actor,
        now: Timestamp,
    ) -> Result<Vec<KbCandidate>>;
    /// Which of these agent replies were mined before: a mining run skips them before scoring.
    async fn mined_replies(&self, ws: WorkspaceId, replies: &[MessageId]) -> Result<Vec<MessageId>>;
    /// Candidates with a status, oldest first.
    async fn list_kb_candidates(
        &self,
        ws: WorkspaceId,
        status: CandidateStatus,
        limit: u32,
    ) -> Result<Vec<KbCandidate>>;
    /// Approves a pending candidate (a question/answer entry is added, queued for indexing, in the same
    /// transaction) or rejects it. `Conflict` when it was already decided.
    async fn decide_kb_candidate(
        &self,
        ws: WorkspaceId,
        id: KbCandidateId,
        decision: &CandidateDecision,
        actor: Actor,
        by: Option<UserId>,
        now: Timestamp,
    ) -> Result<(KbCandidate, Option<KbSource>)>;
    /// Sources of every workspace still to be indexed (queued, or interrupted while processing). Never
    /// exposed to a workspace.
    async fn pending_kb_sources(&self) -> Result<Vec<(WorkspaceId, KbSourceId)>>;
    /// Chunks of every workspace after `after`, by id: what the search index loads at start. Never exposed
    /// to a workspace.
    async fn kb_chunks_after(&self, after: Option<KbChunkId>, limit: u32) -> Result<Vec<KbChunk>>;

    // The audit log.
    /// Events with an id greater than `after`, oldest first.
    async fn list_events(&self, ws: WorkspaceId, after: i64, limit: u32) -> Result<Vec<Event>>;
    /// Events with an id below `before` (`i64::MAX` for the newest), newest first; with `kind_prefix`,
    /// only kinds starting with one of them (`conversation.`, `kb_`): the audit log as people read it.
    async fn list_events_before(
        &self,
        ws: WorkspaceId,
        before: i64,
        kind_prefix: &[String],
        limit: u32,
    ) -> Result<Vec<Event>>;
    /// Events of all workspaces with an id greater than `after`, oldest first: what the real-time layer
    /// tails to publish changes. Never exposed to a workspace.
    async fn events_since(&self, after: i64, limit: u32) -> Result<Vec<Event>>;
    /// The id of the newest event (0 when there is none).
    async fn latest_event_id(&self) -> Result<i64>;
}
