//! What a SQL backend implements: row primitives inside one transaction, and a way to run a
//! transaction. The use cases in `engine` are written once on top of these.

use std::{future::Future, pin::Pin};

use lianluo_domain::{
    ApiTokenId, CannedResponseId, ChannelId, ContactId, ConversationId, KbCandidateId, KbChunkId,
    KbQuestionId, KbSourceId, MessageId, TeamId, Timestamp, UserId, WorkspaceId,
    ai::AiUsage,
    canned::CannedResponse,
    contact::{Contact, Identity},
    conversation::Conversation,
    directory::{ApiToken, Channel, Team, User, Workspace},
    event::{Event, NewEvent},
    knowledge::{CandidateStatus, KbCandidate, KbChunk, KbQuestion, KbSource},
    message::Message,
    page::PageRequest,
    value::EmailAddress,
};

use crate::{ContactFilter, ConversationFilter, Credentials, Result, Session, VisitorSession};

/// What the inbox adds to a conversation (see [`Tx::inbox_details`]).
#[derive(Debug, Clone, PartialEq)]
pub struct InboxDetail {
    pub conversation_id: ConversationId,
    pub contact_name: Option<String>,
    pub last_kind: Option<String>,
    pub last_excerpt: Option<String>,
    pub last_at: Option<Timestamp>,
    pub unread: i64,
}

/// Row primitives in one transaction. Every method that takes a workspace filters by it.
/// Lists return up to `page.limit + 1` rows so the caller can tell whether there is a next page.
/// `lock` asks the backend to lock the row until the transaction ends (`SELECT … FOR UPDATE`).
pub trait Tx: crate::jobs::JobRows + crate::csat::CsatRows + Send {
    fn insert_workspace(&mut self, ws: &Workspace) -> impl Future<Output = Result<()>> + Send;
    fn workspace(&mut self, id: WorkspaceId) -> impl Future<Output = Result<Option<Workspace>>> + Send;
    fn workspace_by_slug(&mut self, slug: &str) -> impl Future<Output = Result<Option<Workspace>>> + Send;

    fn insert_user(&mut self, user: &User, password_hash: &str) -> impl Future<Output = Result<()>> + Send;
    fn user(
        &mut self,
        ws: WorkspaceId,
        id: UserId,
        lock: bool,
    ) -> impl Future<Output = Result<Option<User>>> + Send;
    fn users(&mut self, ws: WorkspaceId, page: PageRequest)
    -> impl Future<Output = Result<Vec<User>>> + Send;
    fn save_user(&mut self, user: &User, now: Timestamp) -> impl Future<Output = Result<()>> + Send;
    fn credentials_by_email(
        &mut self,
        email: &EmailAddress,
    ) -> impl Future<Output = Result<Option<Credentials>>> + Send;
    fn set_password(
        &mut self,
        ws: WorkspaceId,
        id: UserId,
        hash: &str,
        now: Timestamp,
    ) -> impl Future<Output = Result<bool>> + Send;
    /// Signs the user out everywhere (after a password change or deactivation).
    fn delete_sessions_of(&mut self, user: UserId) -> impl Future<Output = Result<()>> + Send;

    fn insert_session(&mut self, s: &Session) -> impl Future<Output = Result<()>> + Send;
    fn session(
        &mut self,
        token_hash: &str,
        now: Timestamp,
    ) -> impl Future<Output = Result<Option<(Session, User)>>> + Send;
    fn delete_session(&mut self, token_hash: &str) -> impl Future<Output = Result<()>> + Send;

    fn insert_api_token(&mut self, t: &ApiToken, hash: &str) -> impl Future<Output = Result<()>> + Send;
    /// The unrevoked token with this hash whose creator is active.
    fn api_token(&mut self, hash: &str) -> impl Future<Output = Result<Option<ApiToken>>> + Send;
    fn api_tokens(&mut self, ws: WorkspaceId) -> impl Future<Output = Result<Vec<ApiToken>>> + Send;
    /// Returns false when no unrevoked token with this id is in the workspace.
    fn revoke_api_token(
        &mut self,
        ws: WorkspaceId,
        id: ApiTokenId,
        now: Timestamp,
    ) -> impl Future<Output = Result<bool>> + Send;

    /// Inserts the team and its members.
    fn insert_team(&mut self, t: &Team) -> impl Future<Output = Result<()>> + Send;
    fn team(
        &mut self,
        ws: WorkspaceId,
        id: TeamId,
        lock: bool,
    ) -> impl Future<Output = Result<Option<Team>>> + Send;
    fn teams(&mut self, ws: WorkspaceId) -> impl Future<Output = Result<Vec<Team>>> + Send;
    /// Updates the team and replaces its members.
    fn save_team(&mut self, t: &Team, now: Timestamp) -> impl Future<Output = Result<()>> + Send;
    /// Deletes the team; conversations and channels routed to it keep no team.
    fn delete_team(&mut self, ws: WorkspaceId, id: TeamId) -> impl Future<Output = Result<bool>> + Send;

    /// Inserts the channel; web widgets also get their secret.
    fn insert_channel(
        &mut self,
        c: &Channel,
        widget_secret: Option<&str>,
    ) -> impl Future<Output = Result<()>> + Send;
    fn channel_by_public_token(
        &mut self,
        token: &str,
    ) -> impl Future<Output = Result<Option<(Channel, String)>>> + Send;
    fn widget_secret(
        &mut self,
        ws: WorkspaceId,
        id: ChannelId,
    ) -> impl Future<Output = Result<Option<String>>> + Send;
    fn set_widget_secret(
        &mut self,
        ws: WorkspaceId,
        id: ChannelId,
        secret: &str,
    ) -> impl Future<Output = Result<bool>> + Send;
    fn insert_visitor_session(&mut self, s: &VisitorSession) -> impl Future<Output = Result<()>> + Send;
    fn visitor_session(&mut self, hash: &str) -> impl Future<Output = Result<Option<VisitorSession>>> + Send;
    fn touch_visitor_session(
        &mut self,
        hash: &str,
        now: Timestamp,
    ) -> impl Future<Output = Result<()>> + Send;
    fn channel(
        &mut self,
        ws: WorkspaceId,
        id: ChannelId,
        lock: bool,
    ) -> impl Future<Output = Result<Option<Channel>>> + Send;
    fn channels(&mut self, ws: WorkspaceId) -> impl Future<Output = Result<Vec<Channel>>> + Send;
    fn save_channel(&mut self, c: &Channel, now: Timestamp) -> impl Future<Output = Result<()>> + Send;
    fn delete_channel(&mut self, ws: WorkspaceId, id: ChannelId)
    -> impl Future<Output = Result<bool>> + Send;

    /// Inserts the contact and its identities.
    fn insert_contact(&mut self, c: &Contact) -> impl Future<Output = Result<()>> + Send;
    fn contact(
        &mut self,
        ws: WorkspaceId,
        id: ContactId,
        lock: bool,
    ) -> impl Future<Output = Result<Option<Contact>>> + Send;
    fn contact_by_identity(
        &mut self,
        ws: WorkspaceId,
        identity: &Identity,
    ) -> impl Future<Output = Result<Option<ContactId>>> + Send;
    fn contacts(
        &mut self,
        ws: WorkspaceId,
        filter: &ContactFilter,
        page: PageRequest,
    ) -> impl Future<Output = Result<Vec<Contact>>> + Send;
    /// Updates the contact and replaces its identities.
    fn save_contact(&mut self, c: &Contact) -> impl Future<Output = Result<()>> + Send;
    fn delete_contact(&mut self, ws: WorkspaceId, id: ContactId)
    -> impl Future<Output = Result<bool>> + Send;

    /// Counts conversations that use a channel or a contact.
    fn count_conversations(
        &mut self,
        ws: WorkspaceId,
        channel: Option<ChannelId>,
        contact: Option<ContactId>,
    ) -> impl Future<Output = Result<i64>> + Send;
    /// Open or pending conversations per assignee, for the users given (absent users hold none).
    fn open_counts(
        &mut self,
        ws: WorkspaceId,
        users: &[UserId],
    ) -> impl Future<Output = Result<Vec<(UserId, i64)>>> + Send;
    /// Stores a new conversation; `opening_key` is its first message's idempotency key, unique per contact
    /// (a second conversation opened with the same key is a `Conflict`).
    fn insert_conversation(
        &mut self,
        c: &Conversation,
        opening_key: Option<&str>,
    ) -> impl Future<Output = Result<()>> + Send;
    fn conversation(
        &mut self,
        ws: WorkspaceId,
        id: ConversationId,
        lock: bool,
    ) -> impl Future<Output = Result<Option<Conversation>>> + Send;
    fn conversations(
        &mut self,
        ws: WorkspaceId,
        filter: &ConversationFilter,
        page: PageRequest,
    ) -> impl Future<Output = Result<Vec<Conversation>>> + Send;
    fn save_conversation(&mut self, c: &Conversation) -> impl Future<Output = Result<()>> + Send;
    /// Deletes the conversation and its messages; false if it is not in the workspace.
    fn delete_conversation(
        &mut self,
        ws: WorkspaceId,
        id: ConversationId,
    ) -> impl Future<Output = Result<bool>> + Send;

    /// Inserts the message; returns false, writing nothing, if its idempotency key is taken.
    fn insert_message(&mut self, m: &Message) -> impl Future<Output = Result<bool>> + Send;
    fn message_by_key(
        &mut self,
        ws: WorkspaceId,
        conversation: ConversationId,
        key: &str,
    ) -> impl Future<Output = Result<Option<Message>>> + Send;
    /// A page of a conversation's messages after `page.after`: oldest first, or newest first (the
    /// cursor then names the oldest message seen, and the page goes back from it).
    fn messages(
        &mut self,
        ws: WorkspaceId,
        conversation: ConversationId,
        page: PageRequest,
        newest_first: bool,
    ) -> impl Future<Output = Result<Vec<Message>>> + Send;

    /// Snoozed conversations due to wake, oldest due first, across workspaces.
    fn snoozed_due(
        &mut self,
        now: Timestamp,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<(WorkspaceId, ConversationId)>>> + Send;
    fn delete_expired_sessions(&mut self, now: Timestamp) -> impl Future<Output = Result<u64>> + Send;

    fn insert_event(
        &mut self,
        ws: WorkspaceId,
        e: &NewEvent,
        now: Timestamp,
    ) -> impl Future<Output = Result<()>> + Send;
    fn message(
        &mut self,
        ws: WorkspaceId,
        id: MessageId,
    ) -> impl Future<Output = Result<Option<Message>>> + Send;
    /// Events of every workspace after `after`, oldest first.
    fn all_events(&mut self, after: i64, limit: u32) -> impl Future<Output = Result<Vec<Event>>> + Send;
    fn latest_event_id(&mut self) -> impl Future<Output = Result<i64>> + Send;
    /// For each conversation: the contact's name, the latest message (kind, first 140 characters, time),
    /// and the customer's messages after `user` last read it.
    fn inbox_details(
        &mut self,
        ws: WorkspaceId,
        user: UserId,
        ids: &[ConversationId],
    ) -> impl Future<Output = Result<Vec<InboxDetail>>> + Send;
    fn mark_read(
        &mut self,
        ws: WorkspaceId,
        conversation: ConversationId,
        user: UserId,
        at: Timestamp,
    ) -> impl Future<Output = Result<()>> + Send;
    fn insert_canned(&mut self, c: &CannedResponse) -> impl Future<Output = Result<()>> + Send;
    fn canned(
        &mut self,
        ws: WorkspaceId,
        id: CannedResponseId,
    ) -> impl Future<Output = Result<Option<CannedResponse>>> + Send;
    /// Ordered by shortcut.
    fn canned_list(&mut self, ws: WorkspaceId) -> impl Future<Output = Result<Vec<CannedResponse>>> + Send;
    fn save_canned(&mut self, c: &CannedResponse) -> impl Future<Output = Result<()>> + Send;
    fn delete_canned(
        &mut self,
        ws: WorkspaceId,
        id: CannedResponseId,
    ) -> impl Future<Output = Result<bool>> + Send;
    fn events(
        &mut self,
        ws: WorkspaceId,
        after: i64,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<Event>>> + Send;
    /// Newest first, below `before`, of the kinds starting with one of `kind_prefix` (any when empty).
    fn events_before(
        &mut self,
        ws: WorkspaceId,
        before: i64,
        kind_prefix: &[String],
        limit: u32,
    ) -> impl Future<Output = Result<Vec<Event>>> + Send;
    fn insert_kb_source(&mut self, s: &KbSource) -> impl Future<Output = Result<()>> + Send;
    /// With its content.
    fn kb_source(
        &mut self,
        ws: WorkspaceId,
        id: KbSourceId,
    ) -> impl Future<Output = Result<Option<KbSource>>> + Send;
    /// Oldest first, without content.
    fn kb_sources(&mut self, ws: WorkspaceId) -> impl Future<Output = Result<Vec<KbSource>>> + Send;
    fn save_kb_source(&mut self, s: &KbSource) -> impl Future<Output = Result<()>> + Send;
    /// Deletes the source and its chunks; false when there was no such source.
    fn delete_kb_source(
        &mut self,
        ws: WorkspaceId,
        id: KbSourceId,
    ) -> impl Future<Output = Result<bool>> + Send;
    fn delete_kb_chunks(
        &mut self,
        ws: WorkspaceId,
        source: KbSourceId,
    ) -> impl Future<Output = Result<()>> + Send;
    fn insert_kb_chunk(&mut self, c: &KbChunk) -> impl Future<Output = Result<()>> + Send;
    /// In source order.
    fn kb_chunks(
        &mut self,
        ws: WorkspaceId,
        source: KbSourceId,
    ) -> impl Future<Output = Result<Vec<KbChunk>>> + Send;
    fn kb_chunk(
        &mut self,
        ws: WorkspaceId,
        id: KbChunkId,
    ) -> impl Future<Output = Result<Option<KbChunk>>> + Send;
    /// Held passages, by source and position, at most `limit`.
    fn held_kb_chunks(
        &mut self,
        ws: WorkspaceId,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<KbChunk>>> + Send;
    /// Clears a passage's hold; false when it was not held.
    fn release_kb_chunk(
        &mut self,
        ws: WorkspaceId,
        id: KbChunkId,
    ) -> impl Future<Output = Result<bool>> + Send;
    fn insert_kb_question(&mut self, q: &KbQuestion) -> impl Future<Output = Result<()>> + Send;
    fn kb_question(
        &mut self,
        ws: WorkspaceId,
        id: KbQuestionId,
    ) -> impl Future<Output = Result<Option<KbQuestion>>> + Send;
    fn kb_question_by_answer(
        &mut self,
        ws: WorkspaceId,
        answer: MessageId,
    ) -> impl Future<Output = Result<Option<KbQuestion>>> + Send;
    fn save_kb_question(&mut self, q: &KbQuestion) -> impl Future<Output = Result<()>> + Send;
    /// Unresolved unanswered or not-helpful questions, newest first.
    fn kb_gap_questions(
        &mut self,
        ws: WorkspaceId,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<KbQuestion>>> + Send;
    /// A conversation's questions, oldest first.
    fn kb_questions_in(
        &mut self,
        ws: WorkspaceId,
        conversation: ConversationId,
    ) -> impl Future<Output = Result<Vec<KbQuestion>>> + Send;
    /// Sources of every workspace waiting to be indexed (queued, or processing when the server stopped).
    fn kb_sources_pending(&mut self) -> impl Future<Output = Result<Vec<(WorkspaceId, KbSourceId)>>> + Send;
    /// The workspace's AI settings as JSON text, when saved.
    fn ai_settings(&mut self, ws: WorkspaceId) -> impl Future<Output = Result<Option<String>>> + Send;
    fn save_ai_settings(
        &mut self,
        ws: WorkspaceId,
        json: &str,
        now: Timestamp,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Adds one request's tokens to the day's row for the model.
    fn add_ai_usage(
        &mut self,
        ws: WorkspaceId,
        day: i64,
        model: &str,
        prompt_tokens: i64,
        completion_tokens: i64,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Rows from `since_day` on, by day then model.
    fn ai_usage(
        &mut self,
        ws: WorkspaceId,
        since_day: i64,
    ) -> impl Future<Output = Result<Vec<AiUsage>>> + Send;
    /// Adds a mined candidate; false when its reply was mined before.
    fn insert_kb_candidate(&mut self, c: &KbCandidate) -> impl Future<Output = Result<bool>> + Send;
    /// Which of these agent replies were mined before (whatever became of their candidates).
    fn mined_replies(
        &mut self,
        ws: WorkspaceId,
        replies: &[MessageId],
    ) -> impl Future<Output = Result<Vec<MessageId>>> + Send;
    fn kb_candidate(
        &mut self,
        ws: WorkspaceId,
        id: KbCandidateId,
    ) -> impl Future<Output = Result<Option<KbCandidate>>> + Send;
    /// Candidates with a status, oldest first.
    fn kb_candidates(
        &mut self,
        ws: WorkspaceId,
        status: CandidateStatus,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<KbCandidate>>> + Send;
    fn save_kb_candidate(&mut self, c: &KbCandidate) -> impl Future<Output = Result<()>> + Send;
    /// Chunks of every workspace with an id greater than `after`, by id (to load the search index).
    fn kb_chunks_after(
        &mut self,
        after: Option<KbChunkId>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<KbChunk>>> + Send;
}

/// A future borrowing the transaction.
pub type TxFuture<'a, R> = Pin<Box<dyn Future<Output = Result<R>> + Send + 'a>>;
/// A unit of work to run inside one transaction.
pub type TxFn<T, R> = Box<dyn for<'a> FnOnce(&'a mut T) -> TxFuture<'a, R> + Send>;

/// Boxes a closure as a [`TxFn`], helping the compiler see that it works for any borrow of the transaction.
pub fn tx_fn<T, R, F>(f: F) -> TxFn<T, R>
where
    F: for<'a> FnOnce(&'a mut T) -> TxFuture<'a, R> + Send + 'static,
{
    Box::new(f)
}

/// How a backend runs units of work: writes commit (or roll back on error) atomically; reads see
/// everything committed before they start.
#[async_trait::async_trait]
pub trait Backend: Send + Sync + 'static {
    type Tx: Tx;
    fn name(&self) -> &'static str;
    async fn write<R: Send + 'static>(&self, f: TxFn<Self::Tx, R>) -> Result<R>;
    async fn read<R: Send + 'static>(&self, f: TxFn<Self::Tx, R>) -> Result<R>;
}
