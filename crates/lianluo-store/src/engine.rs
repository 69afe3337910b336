//! The use cases, written once over [`Tx`]: reference checks within the workspace, domain rules,
//! audit events and idempotency. Every SQL backend gets a [`Store`] by wrapping itself in [`SqlStore`].

use async_trait::async_trait;
use lianluo_domain::{
    ApiTokenId, CannedResponseId, ChannelId, ContactId, ConversationId, DomainError, KbCandidateId,
    KbChunkId, KbQuestionId, KbSourceId, MessageId, TeamId, Timestamp, UserId, WorkspaceId,
    ai::{AiSettings, AiUsage},
    canned::{CannedResponse, CannedResponsePatch, NewCannedResponse},
    contact::{Contact, ContactPatch, Identity, NewContact},
    conversation::{self, Conversation, ConversationPatch, NewConversation},
    directory::{
        ApiToken, Channel, ChannelKind, ChannelPatch, NewChannel, NewTeam, Team, TeamPatch, User, UserPatch,
        Workspace,
    },
    event::{Actor, Event, EventKind, NewEvent},
    job::JobSpec,
    knowledge::{
        CandidateDecision, CandidateStatus, KbCandidate, KbChunk, KbQuestion, KbSource, KbSourcePatch,
        NewKbSource, QuestionOutcome, SourceStatus,
    },
    message::{Message, NewMessage, Sender},
    page::{Cursor, Page, PageRequest},
    value::EmailAddress,
};
use serde_json::json;

use crate::{
    Appended, ContactFilter, ConversationFilter, Credentials, InboxItem, LastMessage, Result, Session, Store,
    StoreError, VisitorSession,
    tx::{Backend, Tx, tx_fn},
};

/// A [`Store`] built from a SQL backend's primitives.
pub struct SqlStore<B>(pub B);

fn found<T>(v: Option<T>, what: &'static str) -> Result<T> {
    v.ok_or(StoreError::NotFound(what))
}

fn invalid(field: impl Into<String>, msg: impl Into<String>) -> StoreError {
    StoreError::Invalid(DomainError::new(field, msg))
}

async fn check_user<T: Tx>(tx: &mut T, ws: WorkspaceId, id: UserId, field: &str) -> Result<()> {
    match tx.user(ws, id, false).await? {
        Some(u) if u.active => Ok(()),
        Some(_) => Err(invalid(field, "that user is deactivated")),
        None => Err(invalid(field, "no such user in this workspace")),
    }
}

async fn check_team<T: Tx>(tx: &mut T, ws: WorkspaceId, id: TeamId, field: &str) -> Result<()> {
    match tx.team(ws, id, false).await? {
        Some(_) => Ok(()),
        None => Err(invalid(field, "no such team in this workspace")),
    }
}

async fn check_members<T: Tx>(tx: &mut T, ws: WorkspaceId, ids: &[UserId]) -> Result<()> {
    for (i, id) in ids.iter().enumerate() {
        if tx.user(ws, *id, false).await?.is_none() {
            return Err(invalid(format!("member_ids[{i}]"), "no such user in this workspace"));
        }
    }
    Ok(())
}

/// Checks that every identity is free (or already this contact's) and that channels are in the workspace.
async fn check_identities<T: Tx>(
    tx: &mut T,
    ws: WorkspaceId,
    ids: &[Identity],
    owner: Option<ContactId>,
) -> Result<()> {
    for (i, identity) in ids.iter().enumerate() {
        if let Some(ch) = identity.channel_id()
            && tx.channel(ws, ch, false).await?.is_none()
        {
            return Err(invalid(format!("identities[{i}].channel_id"), "no such channel in this workspace"));
        }
        if let Some(other) = tx.contact_by_identity(ws, identity).await?
            && Some(other) != owner
        {
            return Err(StoreError::Conflict(format!(
                "another contact ({other}) already has the {} identity {:?}",
                identity.kind(),
                identity.value()
            )));
        }
    }
    Ok(())
}

/// Applies a patch to a locked conversation of the workspace (checking the assignee and team it names)
/// and records the change, if any.
async fn update<T: Tx>(
    tx: &mut T,
    conv: &mut Conversation,
    patch: &ConversationPatch,
    actor: Actor,
    now: Timestamp,
) -> Result<()> {
    let ws = conv.workspace_id;
    if let Some(Some(a)) = patch.assignee_id {
        check_user(tx, ws, a, "assignee_id").await?;
    }
    if let Some(Some(t)) = patch.team_id {
        check_team(tx, ws, t, "team_id").await?;
    }
    let changes = patch.apply(conv, now);
    if !changes.is_empty() {
        tx.save_conversation(conv).await?;
        tx.insert_event(
            ws,
            &NewEvent::new(actor, EventKind::ConversationUpdated, conv.id, changes.into()),
            now,
        )
        .await?;
    }
    Ok(())
}

/// Stores a message (unless its key is taken) and applies it to the conversation.
async fn append<T: Tx>(
    tx: &mut T,
    conv: &mut Conversation,
    new: NewMessage,
    sender: Sender,
    actor: Actor,
    now: Timestamp,
) -> Result<(Message, bool)> {
    let ws = conv.workspace_id;
    if let Some(key) = &new.idempotency_key
        && let Some(existing) = tx.message_by_key(ws, conv.id, key).await?
    {
        return replay(&new, existing);
    }
    let message = new.clone().into_message(ws, conv.id, sender, now);
    if !tx.insert_message(&message).await? {
        // A concurrent request with the same key committed first.
        let key = new.idempotency_key.as_deref().unwrap_or_default();
        let existing = found(tx.message_by_key(ws, conv.id, key).await?, "message")?;
        return replay(&new, existing);
    }
    let reopened = conversation::apply_message(conv, message.kind, now);
    tx.save_conversation(conv).await?;
    tx.insert_event(
        ws,
        &NewEvent::new(
            actor,
            EventKind::MessageCreated,
            message.id,
            json!({ "conversation_id": conv.id, "kind": message.kind }),
        ),
        now,
    )
    .await?;
    if let Some((from, to)) = reopened {
        tx.insert_event(
            ws,
            &NewEvent::new(
                actor,
                EventKind::ConversationUpdated,
                conv.id,
                json!({ "status": { "from": from, "to": to } }),
            ),
            now,
        )
        .await?;
    }
    if conv.ai_answers(new.ai_answers, &message) {
        let turn = JobSpec::AnswerCustomer { conversation: conv.id, message: message.id };
        crate::jobs::queue(tx, ws, turn, actor, now).await?;
    }
    Ok((message, true))
}

/// 244 random bits, as 64 hex characters.
fn new_secret() -> String {
    format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple())
}

fn replay(new: &NewMessage, existing: Message) -> Result<(Message, bool)> {
    if new.same_request_as(&existing) {
        Ok((existing, false))
    } else {
        Err(StoreError::Conflict("this idempotency key was already used for a different message".into()))
    }
}

impl<B: Backend> SqlStore<B> {
    /// A page of a conversation's messages in either direction (the cursor names the last message seen).
    async fn messages_page(
        &self,
        ws: WorkspaceId,
        conversation: ConversationId,
        page: PageRequest,
        newest_first: bool,
    ) -> Result<Page<Message>> {
        let rows = read!(self, |tx| {
            found(tx.conversation(ws, conversation, false).await?, "conversation")?;
            tx.messages(ws, conversation, page, newest_first).await
        })?;
        Ok(Page::from_rows(rows, page.limit, |m| Cursor { sort: m.created_at.0, id: m.id.0 }))
    }
}

#[async_trait]
impl<B: Backend> Store for SqlStore<B> {
    fn backend(&self) -> &'static str {
        self.0.name()
    }

    async fn ping(&self) -> Result<()> {
        read!(self, |tx| tx.workspace(WorkspaceId(uuid::Uuid::nil())).await.map(drop))
    }

    async fn create_workspace(&self, ws: &Workspace) -> Result<()> {
        let ws = ws.clone();
        write!(self, |tx| {
            if tx.workspace_by_slug(&ws.slug).await?.is_some() {
                return Err(StoreError::Conflict(format!("a workspace with slug {:?} exists", ws.slug)));
            }
            tx.insert_workspace(&ws).await?;
            tx.insert_event(
                ws.id,
                &NewEvent::new(Actor::System, EventKind::WorkspaceCreated, ws.id, json!({})),
                ws.created_at,
            )
            .await
        })
    }

    async fn get_workspace(&self, id: WorkspaceId) -> Result<Workspace> {
        read!(self, |tx| found(tx.workspace(id).await?, "workspace"))
    }

    async fn workspace_by_slug(&self, slug: &str) -> Result<Option<Workspace>> {
        let slug = slug.to_string();
        read!(self, |tx| tx.workspace_by_slug(&slug).await)
    }

    async fn create_user(&self, user: &User, password_hash: &str, actor: Actor) -> Result<()> {
        let (user, hash) = (user.clone(), password_hash.to_string());
        write!(self, |tx| {
            found(tx.workspace(user.workspace_id).await?, "workspace")?;
            if tx.credentials_by_email(&user.email).await?.is_some() {
                return Err(StoreError::Conflict(format!("a user with email {} exists", user.email)));
            }
            tx.insert_user(&user, &hash).await?;
            let data = json!({ "name": user.name, "role": user.role });
            tx.insert_event(
                user.workspace_id,
                &NewEvent::new(actor, EventKind::UserCreated, user.id, data),
                user.created_at,
            )
            .await
        })
    }

    async fn get_user(&self, ws: WorkspaceId, id: UserId) -> Result<User> {
        read!(self, |tx| found(tx.user(ws, id, false).await?, "user"))
    }

    async fn list_users(&self, ws: WorkspaceId, page: PageRequest) -> Result<Page<User>> {
        let rows = read!(self, |tx| tx.users(ws, page).await)?;
        Ok(Page::from_rows(rows, page.limit, |u| Cursor { sort: u.created_at.0, id: u.id.0 }))
    }

    async fn update_user(
        &self,
        ws: WorkspaceId,
        id: UserId,
        patch: &UserPatch,
        actor: Actor,
        now: Timestamp,
    ) -> Result<User> {
        let patch = patch.clone();
        write!(self, |tx| {
            let mut user = found(tx.user(ws, id, true).await?, "user")?;
            let before = user.clone();
            patch.apply(&mut user);
            tx.save_user(&user, now).await?;
            if !user.active {
                tx.delete_sessions_of(user.id).await?;
            }
            let data = json!({ "name": user.name, "role": user.role, "active": user.active,
                "previous": { "name": before.name, "role": before.role, "active": before.active } });
            tx.insert_event(ws, &NewEvent::new(actor, EventKind::UserUpdated, id, data), now).await?;
            Ok(user)
        })
    }

    async fn credentials_by_email(&self, email: &EmailAddress) -> Result<Option<Credentials>> {
        let email = email.clone();
        read!(self, |tx| tx.credentials_by_email(&email).await)
    }

    async fn set_password(
        &self,
        ws: WorkspaceId,
        id: UserId,
        password_hash: &str,
        actor: Actor,
        now: Timestamp,
    ) -> Result<()> {
        let hash = password_hash.to_string();
        write!(self, |tx| {
            if !tx.set_password(ws, id, &hash, now).await? {
                return Err(StoreError::NotFound("user"));
            }
            tx.delete_sessions_of(id).await?;
            tx.insert_event(ws, &NewEvent::new(actor, EventKind::UserPasswordChanged, id, json!({})), now)
                .await
        })
    }

    async fn create_session(&self, session: &Session) -> Result<()> {
        let s = session.clone();
        write!(self, |tx| tx.insert_session(&s).await)
    }

    async fn session(&self, token_hash: &str, now: Timestamp) -> Result<Option<(Session, User)>> {
        let hash = token_hash.to_string();
        read!(self, |tx| Ok(tx.session(&hash, now).await?.filter(|(_, u)| u.active)))
    }

    async fn delete_session(&self, token_hash: &str) -> Result<()> {
        let hash = token_hash.to_string();
        write!(self, |tx| tx.delete_session(&hash).await)
    }

    async fn create_api_token(&self, token: &ApiToken, token_hash: &str, actor: Actor) -> Result<()> {
        let (t, hash) = (token.clone(), token_hash.to_string());
        write!(self, |tx| {
            check_user(tx, t.workspace_id, t.created_by, "created_by").await?;
            tx.insert_api_token(&t, &hash).await?;
            let data = json!({ "name": t.name, "role": t.role });
            tx.insert_event(
                t.workspace_id,
                &NewEvent::new(actor, EventKind::ApiTokenCreated, t.id, data),
                t.created_at,
            )
            .await
        })
    }

    async fn api_token(&self, token_hash: &str) -> Result<Option<ApiToken>> {
        let hash = token_hash.to_string();
        read!(self, |tx| tx.api_token(&hash).await)
    }

    async fn list_api_tokens(&self, ws: WorkspaceId) -> Result<Vec<ApiToken>> {
        read!(self, |tx| tx.api_tokens(ws).await)
    }

    async fn revoke_api_token(
        &self,
        ws: WorkspaceId,
        id: ApiTokenId,
        actor: Actor,
        now: Timestamp,
    ) -> Result<()> {
        write!(self, |tx| {
            if !tx.revoke_api_token(ws, id, now).await? {
                return Err(StoreError::NotFound("api token"));
            }
            tx.insert_event(ws, &NewEvent::new(actor, EventKind::ApiTokenRevoked, id, json!({})), now).await
        })
    }

    async fn create_team(
        &self,
        ws: WorkspaceId,
        new: &NewTeam,
        actor: Actor,
        now: Timestamp,
    ) -> Result<Team> {
        let new = new.clone();
        write!(self, |tx| {
            check_members(tx, ws, &new.member_ids).await?;
            let team = Team {
                id: TeamId::new(),
                workspace_id: ws,
                name: new.name,
                description: new.description,
                member_ids: new.member_ids,
                created_at: now,
            };
            if tx.teams(ws).await?.iter().any(|t| t.name == team.name) {
                return Err(StoreError::Conflict(format!("a team named {:?} exists", team.name.as_str())));
            }
            tx.insert_team(&team).await?;
            let data = json!({ "name": team.name, "member_ids": team.member_ids });
            tx.insert_event(ws, &NewEvent::new(actor, EventKind::TeamCreated, team.id, data), now).await?;
            Ok(team)
        })
    }

    async fn get_team(&self, ws: WorkspaceId, id: TeamId) -> Result<Team> {
        read!(self, |tx| found(tx.team(ws, id, false).await?, "team"))
    }

    async fn list_teams(&self, ws: WorkspaceId) -> Result<Vec<Team>> {
        read!(self, |tx| tx.teams(ws).await)
    }

    async fn update_team(
        &self,
        ws: WorkspaceId,
        id: TeamId,
        patch: &TeamPatch,
        actor: Actor,
        now: Timestamp,
    ) -> Result<Team> {
        let patch = patch.clone();
        write!(self, |tx| {
            let mut team = found(tx.team(ws, id, true).await?, "team")?;
            if let Some(m) = &patch.member_ids {
                check_members(tx, ws, m).await?;
            }
            if let Some(name) = &patch.name
                && tx.teams(ws).await?.iter().any(|t| &t.name == name && t.id != id)
            {
                return Err(StoreError::Conflict(format!("a team named {:?} exists", name.as_str())));
            }
            patch.apply(&mut team);
            tx.save_team(&team, now).await?;
            let data = json!({ "name": team.name, "member_ids": team.member_ids });
            tx.insert_event(ws, &NewEvent::new(actor, EventKind::TeamUpdated, id, data), now).await?;
            Ok(team)
        })
    }

    async fn delete_team(&self, ws: WorkspaceId, id: TeamId, actor: Actor, now: Timestamp) -> Result<()> {
        write!(self, |tx| {
            if !tx.delete_team(ws, id).await? {
                return Err(StoreError::NotFound("team"));
            }
            tx.insert_event(ws, &NewEvent::new(actor, EventKind::TeamDeleted, id, json!({})), now).await
        })
    }

    async fn create_channel(
        &self,
        ws: WorkspaceId,
        new: &NewChannel,
        actor: Actor,
        now: Timestamp,
    ) -> Result<Channel> {
        let new = new.clone();
        write!(self, |tx| {
            if let Some(t) = new.team_id {
                check_team(tx, ws, t, "team_id").await?;
            }
            let widget = new.kind == ChannelKind::WebWidget;
            let ch = Channel {
                id: ChannelId::new(),
                workspace_id: ws,
                kind: new.kind,
                name: new.name,
                team_id: new.team_id,
                settings: new.settings,
                public_token: widget.then(|| format!("wc_{}", uuid::Uuid::new_v4().simple())),
                created_at: now,
            };
            let secret = widget.then(new_secret);
            tx.insert_channel(&ch, secret.as_deref()).await?;
            let data = json!({ "kind": ch.kind, "name": ch.name, "team_id": ch.team_id });
            tx.insert_event(ws, &NewEvent::new(actor, EventKind::ChannelCreated, ch.id, data), now).await?;
            Ok(ch)
        })
    }

    async fn get_channel(&self, ws: WorkspaceId, id: ChannelId) -> Result<Channel> {
        read!(self, |tx| found(tx.channel(ws, id, false).await?, "channel"))
    }

    async fn list_channels(&self, ws: WorkspaceId) -> Result<Vec<Channel>> {
        read!(self, |tx| tx.channels(ws).await)
    }

    async fn update_channel(
        &self,
        ws: WorkspaceId,
        id: ChannelId,
        patch: &ChannelPatch,
        actor: Actor,
        now: Timestamp,
    ) -> Result<Channel> {
        let patch = patch.clone();
        write!(self, |tx| {
            let mut ch = found(tx.channel(ws, id, true).await?, "channel")?;
            if let Some(Some(t)) = patch.team_id {
                check_team(tx, ws, t, "team_id").await?;
            }
            patch.apply(&mut ch);
            tx.save_channel(&ch, now).await?;
            let data = json!({ "name": ch.name, "team_id": ch.team_id });
            tx.insert_event(ws, &NewEvent::new(actor, EventKind::ChannelUpdated, id, data), now).await?;
            Ok(ch)
        })
    }

    async fn delete_channel(
        &self,
        ws: WorkspaceId,
        id: ChannelId,
        actor: Actor,
        now: Timestamp,
    ) -> Result<()> {
        write!(self, |tx| {
            found(tx.channel(ws, id, true).await?, "channel")?;
            let n = tx.count_conversations(ws, Some(id), None).await?;
            if n > 0 {
                return Err(StoreError::Conflict(format!("the channel still has {n} conversations")));
            }
            tx.delete_channel(ws, id).await?;
            tx.insert_event(ws, &NewEvent::new(actor, EventKind::ChannelDeleted, id, json!({})), now).await
        })
    }

    async fn widget_channel(&self, public_token: &str) -> Result<Option<(Channel, String)>> {
        let token = public_token.to_string();
        read!(self, |tx| tx.channel_by_public_token(&token).await)
    }

    async fn widget_secret(&self, ws: WorkspaceId, channel: ChannelId) -> Result<String> {
        read!(self, |tx| found(tx.widget_secret(ws, channel).await?, "widget channel"))
    }

    async fn rotate_widget_secret(
        &self,
        ws: WorkspaceId,
        channel: ChannelId,
        actor: Actor,
        now: Timestamp,
    ) -> Result<String> {
        let secret = new_secret();
        write!(self, |tx| {
            if !tx.set_widget_secret(ws, channel, &secret).await? {
                return Err(StoreError::NotFound("widget channel"));
            }
            tx.insert_event(
                ws,
                &NewEvent::new(actor, EventKind::ChannelSecretRotated, channel, json!({})),
                now,
            )
            .await?;
            Ok(secret)
        })
    }

    async fn create_visitor_session(&self, session: &VisitorSession) -> Result<()> {
        let s = session.clone();
        write!(self, |tx| {
            let contact = tx.contact(s.workspace_id, s.contact_id, false).await?;
            let channel = tx.channel(s.workspace_id, s.channel_id, false).await?;
            if contact.is_none() || channel.is_none() {
                return Err(invalid("contact_id", "no such contact or channel in this workspace"));
            }
            tx.insert_visitor_session(&s).await
        })
    }

    async fn visitor_session(&self, token_hash: &str) -> Result<Option<VisitorSession>> {
        let hash = token_hash.to_string();
        read!(self, |tx| tx.visitor_session(&hash).await)
    }

    async fn touch_visitor_session(&self, token_hash: &str, now: Timestamp) -> Result<()> {
        let hash = token_hash.to_string();
        write!(self, |tx| tx.touch_visitor_session(&hash, now).await)
    }

    async fn create_contact(
        &self,
        ws: WorkspaceId,
        new: &NewContact,
        actor: Actor,
        now: Timestamp,
    ) -> Result<Contact> {
        let new = new.clone();
        write!(self, |tx| {
            check_identities(tx, ws, &new.identities, None).await?;
            let c = Contact {
                id: ContactId::new(),
                workspace_id: ws,
                name: new.name,
                identities: new.identities,
                attributes: new.attributes,
                tags: new.tags,
                created_at: now,
                updated_at: now,
            };
            tx.insert_contact(&c).await?;
            tx.insert_event(ws, &NewEvent::new(actor, EventKind::ContactCreated, c.id, json!({})), now)
                .await?;
            Ok(c)
        })
    }

    async fn get_contact(&self, ws: WorkspaceId, id: ContactId) -> Result<Contact> {
        read!(self, |tx| found(tx.contact(ws, id, false).await?, "contact"))
    }

    async fn find_contact(&self, ws: WorkspaceId, identity: &Identity) -> Result<Option<Contact>> {
        let identity = identity.clone();
        read!(self, |tx| match tx.contact_by_identity(ws, &identity).await? {
            Some(id) => tx.contact(ws, id, false).await,
            None => Ok(None),
        })
    }

    async fn list_contacts(
        &self,
        ws: WorkspaceId,
        filter: &ContactFilter,
        page: PageRequest,
    ) -> Result<Page<Contact>> {
        let filter = filter.clone();
        let rows = read!(self, |tx| tx.contacts(ws, &filter, page).await)?;
        Ok(Page::from_rows(rows, page.limit, |c| Cursor { sort: c.created_at.0, id: c.id.0 }))
    }

    async fn update_contact(
        &self,
        ws: WorkspaceId,
        id: ContactId,
        patch: &ContactPatch,
        actor: Actor,
        now: Timestamp,
    ) -> Result<Contact> {
        let patch = patch.clone();
        write!(self, |tx| {
            let mut c = found(tx.contact(ws, id, true).await?, "contact")?;
            if let Some(ids) = &patch.identities {
                check_identities(tx, ws, ids, Some(id)).await?;
            }
            let changed: Vec<&str> = [
                patch.name.as_ref().map(|_| "name"),
                patch.identities.as_ref().map(|_| "identities"),
                patch.attributes.as_ref().map(|_| "attributes"),
                patch.tags.as_ref().map(|_| "tags"),
            ]
            .into_iter()
            .flatten()
            .collect();
            patch.apply(&mut c, now)?;
            tx.save_contact(&c).await?;
            tx.insert_event(
                ws,
                &NewEvent::new(actor, EventKind::ContactUpdated, id, json!({ "fields": changed })),
                now,
            )
            .await?;
            Ok(c)
        })
    }

    async fn delete_contact(
        &self,
        ws: WorkspaceId,
        id: ContactId,
        actor: Actor,
        now: Timestamp,
    ) -> Result<()> {
        write!(self, |tx| {
            found(tx.contact(ws, id, true).await?, "contact")?;
            let n = tx.count_conversations(ws, None, Some(id)).await?;
            if n > 0 {
                return Err(StoreError::Conflict(format!("the contact still has {n} conversations")));
            }
            tx.delete_contact(ws, id).await?;
            tx.insert_event(ws, &NewEvent::new(actor, EventKind::ContactDeleted, id, json!({})), now).await
        })
    }

    async fn create_conversation(
        &self,
        ws: WorkspaceId,
        new: &NewConversation,
        first_sender: Option<Sender>,
        actor: Actor,
        now: Timestamp,
    ) -> Result<(Conversation, Option<Message>)> {
        let new = new.clone();
        write!(self, |tx| {
            let channel = tx.channel(ws, new.channel_id, false).await?;
            let channel =
                channel.ok_or_else(|| invalid("channel_id", "no such channel in this workspace"))?;
            if tx.contact(ws, new.contact_id, false).await?.is_none() {
                return Err(invalid("contact_id", "no such contact in this workspace"));
            }
            if let Some(a) = new.assignee_id {
                check_user(tx, ws, a, "assignee_id").await?;
            }
            if let Some(t) = new.team_id {
                check_team(tx, ws, t, "team_id").await?;
            }
            let opening_key = new.message.as_ref().and_then(|m| m.idempotency_key.clone());
            let mut conv = new.into_conversation(ws, channel.team_id, now);
            tx.insert_conversation(&conv, opening_key.as_deref()).await?;
            let data = json!({ "channel_id": conv.channel_id, "contact_id": conv.contact_id,
                "assignee_id": conv.assignee_id, "team_id": conv.team_id, "status": conv.status.as_str() });
            tx.insert_event(ws, &NewEvent::new(actor, EventKind::ConversationCreated, conv.id, data), now)
                .await?;
            let message = match new.message {
                Some(m) => {
                    let sender = first_sender.unwrap_or(Sender::Contact { id: conv.contact_id });
                    Some(append(tx, &mut conv, m, sender, actor, now).await?.0)
                }
                None => None,
            };
            Ok((conv, message))
        })
    }

    async fn get_conversation(&self, ws: WorkspaceId, id: ConversationId) -> Result<Conversation> {
        read!(self, |tx| found(tx.conversation(ws, id, false).await?, "conversation"))
    }

    async fn open_counts(&self, ws: WorkspaceId, users: &[UserId]) -> Result<Vec<(UserId, i64)>> {
        let wanted = users.to_vec();
        let found = read!(self, |tx| tx.open_counts(ws, &wanted).await)?;
        Ok(users.iter().map(|u| (*u, found.iter().find(|(f, _)| f == u).map_or(0, |(_, n)| *n))).collect())
    }

    async fn list_conversations(
        &self,
        ws: WorkspaceId,
        filter: &ConversationFilter,
        page: PageRequest,
    ) -> Result<Page<Conversation>> {
        let filter = filter.clone();
        let rows = read!(self, |tx| tx.conversations(ws, &filter, page).await)?;
        Ok(Page::from_rows(rows, page.limit, |c| Cursor { sort: c.last_activity_at.0, id: c.id.0 }))
    }

    async fn update_conversation(
        &self,
        ws: WorkspaceId,
        id: ConversationId,
        patch: &ConversationPatch,
        actor: Actor,
        now: Timestamp,
    ) -> Result<Conversation> {
        let patch = patch.clone();
        write!(self, |tx| {
            let mut conv = found(tx.conversation(ws, id, true).await?, "conversation")?;
            update(tx, &mut conv, &patch, actor, now).await?;
            Ok(conv)
        })
    }

    async fn delete_conversation(
        &self,
        ws: WorkspaceId,
        id: ConversationId,
        actor: Actor,
        now: Timestamp,
    ) -> Result<()> {
        write!(self, |tx| {
            let conv = found(tx.conversation(ws, id, true).await?, "conversation")?;
            tx.delete_conversation(ws, id).await?;
            let data = json!({ "contact_id": conv.contact_id, "channel_id": conv.channel_id,
                "message_count": conv.message_count });
            tx.insert_event(ws, &NewEvent::new(actor, EventKind::ConversationDeleted, id, data), now).await
        })
    }

    async fn append_message(
        &self,
        ws: WorkspaceId,
        conversation: ConversationId,
        new: &NewMessage,
        sender: Option<Sender>,
        actor: Actor,
        now: Timestamp,
    ) -> Result<Appended> {
        let new = new.clone();
        write!(self, |tx| {
            let mut conv = found(tx.conversation(ws, conversation, true).await?, "conversation")?;
            let sender = sender.unwrap_or(Sender::Contact { id: conv.contact_id });
            let (message, created) = append(tx, &mut conv, new, sender, actor, now).await?;
            Ok(Appended { message, conversation: conv, created })
        })
    }

    async fn update_with_messages(
        &self,
        ws: WorkspaceId,
        conversation: ConversationId,
        patch: &ConversationPatch,
        messages: &[(NewMessage, Sender)],
        unanswered: Option<&KbQuestion>,
        actor: Actor,
        now: Timestamp,
    ) -> Result<(Conversation, Vec<Message>)> {
        if unanswered.is_some_and(|q| q.workspace_id != ws || q.conversation_id != Some(conversation)) {
            return Err(invalid("unanswered", "a question of another conversation"));
        }
        let (patch, mut messages, unanswered) = (patch.clone(), messages.to_vec(), unanswered.cloned());
        for (m, _) in &mut messages {
            m.validate()?;
        }
        write!(self, |tx| {
            let mut conv = found(tx.conversation(ws, conversation, true).await?, "conversation")?;
            update(tx, &mut conv, &patch, actor, now).await?;
            let mut stored = Vec::with_capacity(messages.len());
            for (m, sender) in messages {
                stored.push(append(tx, &mut conv, m, sender, actor, now).await?.0);
            }
            if let Some(q) = &unanswered {
                tx.insert_kb_question(q).await?;
            }
            Ok((conv, stored))
        })
    }

    async fn list_messages(
        &self,
        ws: WorkspaceId,
        conversation: ConversationId,
        page: PageRequest,
    ) -> Result<Page<Message>> {
        self.messages_page(ws, conversation, page, false).await
    }

    async fn recent_messages(
        &self,
        ws: WorkspaceId,
        conversation: ConversationId,
        page: PageRequest,
    ) -> Result<Page<Message>> {
        self.messages_page(ws, conversation, page, true).await
    }

    async fn wake_snoozed(&self, now: Timestamp, limit: u32) -> Result<Vec<Conversation>> {
        write!(self, |tx| {
            let mut woken = Vec::new();
            for (ws, id) in tx.snoozed_due(now, limit).await? {
                let Some(mut conv) = tx.conversation(ws, id, true).await? else { continue };
                if conversation::wake_if_due(&mut conv, now) {
                    tx.save_conversation(&conv).await?;
                    let data =
                        json!({ "status": { "from": "snoozed", "to": "open" }, "reason": "snooze_ended" });
                    tx.insert_event(
                        ws,
                        &NewEvent::new(Actor::System, EventKind::ConversationUpdated, id, data),
                        now,
                    )
                    .await?;
                    woken.push(conv);
                }
            }
            Ok(woken)
        })
    }

    async fn delete_expired_sessions(&self, now: Timestamp) -> Result<u64> {
        write!(self, |tx| tx.delete_expired_sessions(now).await)
    }

    async fn inbox(
        &self,
        ws: WorkspaceId,
        user: UserId,
        filter: &ConversationFilter,
        page: PageRequest,
    ) -> Result<Page<InboxItem>> {
        let filter = filter.clone();
        let (rows, details) = read!(self, |tx| {
            let rows = tx.conversations(ws, &filter, page).await?;
            let ids: Vec<ConversationId> = rows.iter().map(|c| c.id).collect();
            let details = tx.inbox_details(ws, user, &ids).await?;
            Ok((rows, details))
        })?;
        let page = Page::from_rows(rows, page.limit, |c| Cursor { sort: c.last_activity_at.0, id: c.id.0 });
        let items = page
            .items
            .into_iter()
            .map(|conversation| {
                let d = details.iter().find(|d| d.conversation_id == conversation.id);
                let last_message = d.and_then(|d| {
                    Some(LastMessage {
                        kind: lianluo_domain::message::MessageKind::parse(d.last_kind.as_deref()?)?,
                        excerpt: d.last_excerpt.clone()?,
                        created_at: d.last_at?,
                    })
                });
                InboxItem {
                    contact_name: d.and_then(|d| d.contact_name.clone()),
                    unread_count: d.map_or(0, |d| d.unread),
                    last_message,
                    conversation,
                }
            })
            .collect();
        Ok(Page { items, next_cursor: page.next_cursor })
    }

    async fn mark_read(
        &self,
        ws: WorkspaceId,
        conversation: ConversationId,
        user: UserId,
        at: Timestamp,
    ) -> Result<()> {
        write!(self, |tx| {
            found(tx.conversation(ws, conversation, false).await?, "conversation")?;
            check_user(tx, ws, user, "user_id").await?;
            tx.mark_read(ws, conversation, user, at).await
        })
    }

    async fn list_canned(&self, ws: WorkspaceId, prefix: Option<&str>) -> Result<Vec<CannedResponse>> {
        let prefix = prefix.map(|p| p.trim_start_matches('/').to_lowercase());
        let all = read!(self, |tx| tx.canned_list(ws).await)?;
        Ok(match prefix {
            Some(p) => all.into_iter().filter(|c| c.shortcut.starts_with(&p)).collect(),
            None => all,
        })
    }

    async fn create_canned(
        &self,
        ws: WorkspaceId,
        new: &NewCannedResponse,
        actor: UserId,
        now: Timestamp,
    ) -> Result<CannedResponse> {
        let new = new.clone();
        write!(self, |tx| {
            check_user(tx, ws, actor, "created_by").await?;
            if tx.canned_list(ws).await?.iter().any(|c| c.shortcut == new.shortcut) {
                return Err(StoreError::Conflict(format!("the shortcut /{} is taken", new.shortcut)));
            }
            let c = CannedResponse {
                id: CannedResponseId::new(),
                workspace_id: ws,
                shortcut: new.shortcut,
                content: new.content,
                created_by: actor,
                created_at: now,
                updated_at: now,
            };
            tx.insert_canned(&c).await?;
            let data = json!({ "shortcut": c.shortcut });
            tx.insert_event(
                ws,
                &NewEvent::new(Actor::User { id: actor }, EventKind::CannedResponseCreated, c.id, data),
                now,
            )
            .await?;
            Ok(c)
        })
    }

    async fn update_canned(
        &self,
        ws: WorkspaceId,
        id: CannedResponseId,
        patch: &CannedResponsePatch,
        actor: Actor,
        now: Timestamp,
    ) -> Result<CannedResponse> {
        let patch = patch.clone();
        write!(self, |tx| {
            let mut c = found(tx.canned(ws, id).await?, "canned response")?;
            if let Some(s) = &patch.shortcut
                && tx.canned_list(ws).await?.iter().any(|o| &o.shortcut == s && o.id != id)
            {
                return Err(StoreError::Conflict(format!("the shortcut /{s} is taken")));
            }
            patch.apply(&mut c, now);
            tx.save_canned(&c).await?;
            tx.insert_event(
                ws,
                &NewEvent::new(
                    actor,
                    EventKind::CannedResponseUpdated,
                    id,
                    json!({ "shortcut": c.shortcut }),
                ),
                now,
            )
            .await?;
            Ok(c)
        })
    }

    async fn delete_canned(
        &self,
        ws: WorkspaceId,
        id: CannedResponseId,
        actor: Actor,
        now: Timestamp,
    ) -> Result<()> {
        write!(self, |tx| {
            if !tx.delete_canned(ws, id).await? {
                return Err(StoreError::NotFound("canned response"));
            }
            tx.insert_event(ws, &NewEvent::new(actor, EventKind::CannedResponseDeleted, id, json!({})), now)
                .await
        })
    }

    async fn create_kb_source(
        &self,
        ws: WorkspaceId,
        new: &NewKbSource,
        actor: Actor,
        created_by: Option<UserId>,
        now: Timestamp,
    ) -> Result<KbSource> {
        let new = new.clone();
        write!(self, |tx| {
            let k = KbSource::queued(ws, new, created_by, now);
            tx.insert_kb_source(&k).await?;
            let data = json!({ "kind": k.kind, "title": k.title });
            tx.insert_event(ws, &NewEvent::new(actor, EventKind::KbSourceCreated, k.id, data), now).await?;
            Ok(k)
        })
    }

    async fn list_kb_sources(&self, ws: WorkspaceId) -> Result<Vec<KbSource>> {
        read!(self, |tx| tx.kb_sources(ws).await)
    }

    async fn get_kb_source(&self, ws: WorkspaceId, id: KbSourceId) -> Result<KbSource> {
        read!(self, |tx| found(tx.kb_source(ws, id).await?, "knowledge source"))
    }

    async fn update_kb_source(
        &self,
        ws: WorkspaceId,
        id: KbSourceId,
        patch: &KbSourcePatch,
        actor: Actor,
        now: Timestamp,
    ) -> Result<KbSource> {
        let patch = patch.clone();
        write!(self, |tx| {
            let mut k = found(tx.kb_source(ws, id).await?, "knowledge source")?;
            // Two edits in the same millisecond must still look different to a run that is indexing.
            let now = Timestamp(now.0.max(k.updated_at.0 + 1));
            patch.apply(&mut k, now);
            tx.save_kb_source(&k).await?;
            tx.insert_event(
                ws,
                &NewEvent::new(actor, EventKind::KbSourceUpdated, id, json!({ "title": k.title })),
                now,
            )
            .await?;
            Ok(k)
        })
    }

    async fn start_kb_source(&self, ws: WorkspaceId, id: KbSourceId) -> Result<KbSource> {
        write!(self, |tx| {
            let mut k = found(tx.kb_source(ws, id).await?, "knowledge source")?;
            k.status = SourceStatus::Processing;
            k.error = None;
            tx.save_kb_source(&k).await?;
            Ok(k)
        })
    }

    async fn finish_kb_source(
        &self,
        ws: WorkspaceId,
        id: KbSourceId,
        seen: Timestamp,
        outcome: std::result::Result<Vec<KbChunk>, String>,
        now: Timestamp,
    ) -> Result<Option<KbSource>> {
        write!(self, |tx| {
            let Some(mut k) = tx.kb_source(ws, id).await? else { return Ok(None) };
            if k.updated_at != seen {
                return Ok(None);
            }
            let (kind, data) = match outcome {
                Ok(chunks) => {
                    tx.delete_kb_chunks(ws, id).await?;
                    for c in &chunks {
                        if c.workspace_id != ws || c.source_id != id {
                            return Err(invalid("chunks", "a chunk of another source"));
                        }
                        tx.insert_kb_chunk(c).await?;
                    }
                    k.status = SourceStatus::Indexed;
                    k.error = None;
                    k.chunk_count = chunks.len() as i64;
                    (EventKind::KbSourceIndexed, json!({ "chunks": k.chunk_count }))
                }
                Err(reason) => {
                    // The previous chunks stay searchable until a good version replaces them.
                    k.status = SourceStatus::Failed;
                    k.error = Some(reason.clone());
                    (EventKind::KbSourceFailed, json!({ "error": reason }))
                }
            };
            tx.save_kb_source(&k).await?;
            tx.insert_event(ws, &NewEvent::new(Actor::System, kind, id, data), now).await?;
            Ok(Some(k))
        })
    }

    async fn delete_kb_source(
        &self,
        ws: WorkspaceId,
        id: KbSourceId,
        actor: Actor,
        now: Timestamp,
    ) -> Result<()> {
        write!(self, |tx| {
            if !tx.delete_kb_source(ws, id).await? {
                return Err(StoreError::NotFound("knowledge source"));
            }
            tx.insert_event(ws, &NewEvent::new(actor, EventKind::KbSourceDeleted, id, json!({})), now).await
        })
    }

    async fn list_kb_chunks(&self, ws: WorkspaceId, source: KbSourceId) -> Result<Vec<KbChunk>> {
        read!(self, |tx| {
            found(tx.kb_source(ws, source).await?, "knowledge source")?;
            tx.kb_chunks(ws, source).await
        })
    }

    async fn list_held_kb_chunks(&self, ws: WorkspaceId) -> Result<Vec<KbChunk>> {
        read!(self, |tx| tx.held_kb_chunks(ws, 500).await)
    }

    async fn release_kb_chunk(
        &self,
        ws: WorkspaceId,
        id: KbChunkId,
        actor: Actor,
        now: Timestamp,
    ) -> Result<KbChunk> {
        write!(self, |tx| {
            let chunk = found(tx.kb_chunk(ws, id).await?, "passage")?;
            if !tx.release_kb_chunk(ws, id).await? {
                return Ok(chunk);
            }
            let data = json!({ "source_id": chunk.source_id, "held": chunk.held });
            tx.insert_event(ws, &NewEvent::new(actor, EventKind::KbChunkReleased, id, data), now).await?;
            Ok(KbChunk { held: None, held_code: None, ..chunk })
        })
    }

    async fn record_kb_question(&self, ws: WorkspaceId, q: &KbQuestion) -> Result<()> {
        if q.workspace_id != ws {
            return Err(invalid("workspace_id", "a question of another workspace"));
        }
        let q = q.clone();
        write!(self, |tx| tx.insert_kb_question(&q).await)
    }

    async fn record_bot_answer(
        &self,
        ws: WorkspaceId,
        conversation: ConversationId,
        answer: &NewMessage,
        note: &NewMessage,
        question: &KbQuestion,
        now: Timestamp,
    ) -> Result<Message> {
        if question.workspace_id != ws {
            return Err(invalid("workspace_id", "a question of another workspace"));
        }
        let (mut answer, mut note, mut question) = (answer.clone(), note.clone(), question.clone());
        answer.validate()?;
        note.validate()?;
        write!(self, |tx| {
            let mut conv = found(tx.conversation(ws, conversation, true).await?, "conversation")?;
            let (posted, _) = append(tx, &mut conv, answer, Sender::Bot, Actor::System, now).await?;
            question.answer_message_id = Some(posted.id);
            tx.insert_kb_question(&question).await?;
            append(tx, &mut conv, note, Sender::System, Actor::System, now).await?;
            Ok(posted)
        })
    }

    async fn rate_kb_answer(
        &self,
        ws: WorkspaceId,
        answer: MessageId,
        helpful: bool,
        actor: Actor,
        now: Timestamp,
    ) -> Result<KbQuestion> {
        write!(self, |tx| {
            let mut q = found(tx.kb_question_by_answer(ws, answer).await?, "answer")?;
            if q.outcome == QuestionOutcome::Unanswered {
                return Err(StoreError::Conflict("only answers can be rated".into()));
            }
            let newly_unhelpful = !helpful && q.outcome != QuestionOutcome::NotHelpful;
            q.outcome = if helpful { QuestionOutcome::Helpful } else { QuestionOutcome::NotHelpful };
            q.updated_at = now;
            tx.save_kb_question(&q).await?;
            let data = json!({ "helpful": helpful, "message_id": answer });
            tx.insert_event(ws, &NewEvent::new(actor, EventKind::KbAnswerRated, q.id, data), now).await?;
            // The AI agent follows up an answer rated not helpful where it still holds the conversation;
            // queued with the rating, once per answer.
            if newly_unhelpful && let Some(id) = q.conversation_id {
                let conv = tx.conversation(ws, id, false).await?;
                if conv.is_some_and(|c| c.waits_for_ai_agent()) {
                    let spec =
                        JobSpec::FollowUpRating { conversation: id, answer, language: q.language.clone() };
                    crate::jobs::queue(tx, ws, spec, actor, now).await?;
                }
            }
            Ok(q)
        })
    }

    async fn ai_settings(&self, ws: WorkspaceId) -> Result<AiSettings> {
        let raw = read!(self, |tx| tx.ai_settings(ws).await)?;
        match raw {
            None => Ok(AiSettings::default()),
            Some(t) => {
                serde_json::from_str(&t).map_err(|e| StoreError::Backend(format!("stored AI settings: {e}")))
            }
        }
    }

    async fn set_ai_settings(
        &self,
        ws: WorkspaceId,
        settings: &AiSettings,
        actor: Actor,
        now: Timestamp,
    ) -> Result<()> {
        let text = serde_json::to_string(settings).map_err(|e| StoreError::Backend(e.to_string()))?;
        let data = json!({
            "answer_mode": settings.answer_mode,
            "chat": settings.chat.as_ref().map(|c| json!({ "base_url": c.base_url, "model": c.model })),
            "embeddings": settings.embeddings.as_ref().map(|c| json!({ "base_url": c.base_url, "model": c.model })),
        });
        write!(self, |tx| {
            tx.save_ai_settings(ws, &text, now).await?;
            tx.insert_event(ws, &NewEvent::new(actor, EventKind::AiSettingsUpdated, ws, data.clone()), now)
                .await
        })
    }

    async fn record_ai_usage(
        &self,
        ws: WorkspaceId,
        model: &str,
        prompt_tokens: u32,
        completion_tokens: u32,
        now: Timestamp,
    ) -> Result<()> {
        let day = now.0.div_euclid(lianluo_domain::ai::DAY_MS);
        let model: String = model.chars().take(200).collect();
        write!(self, |tx| {
            tx.add_ai_usage(ws, day, &model, i64::from(prompt_tokens), i64::from(completion_tokens)).await
        })
    }

    async fn list_ai_usage(&self, ws: WorkspaceId, since: Timestamp) -> Result<Vec<AiUsage>> {
        let since = since.0.div_euclid(lianluo_domain::ai::DAY_MS);
        read!(self, |tx| tx.ai_usage(ws, since).await)
    }

    async fn mined_replies(&self, ws: WorkspaceId, replies: &[MessageId]) -> Result<Vec<MessageId>> {
        let replies = replies.to_vec();
        read!(self, |tx| tx.mined_replies(ws, &replies).await)
    }

    async fn add_kb_candidates(
        &self,
        ws: WorkspaceId,
        candidates: &[KbCandidate],
        actor: Actor,
        now: Timestamp,
    ) -> Result<Vec<KbCandidate>> {
        if candidates.iter().any(|c| c.workspace_id != ws) {
            return Err(invalid("workspace_id", "a candidate of another workspace"));
        }
        let candidates = candidates.to_vec();
        write!(self, |tx| {
            let mut added: Vec<KbCandidate> = Vec::new();
            for c in &candidates {
                if !tx.insert_kb_candidate(c).await? {
                    continue;
                }
                // A duplicate counts in the candidate it repeats (which may be new in this batch).
                if let Some(target) = c.duplicate_of {
                    if let Some(t) = added.iter_mut().find(|a| a.id == target) {
                        t.asked += 1;
                        tx.save_kb_candidate(t).await?;
                    } else if let Some(mut t) = tx.kb_candidate(ws, target).await? {
                        t.asked += 1;
                        tx.save_kb_candidate(&t).await?;
                    }
                }
                added.push(c.clone());
            }
            for c in &added {
                let data = json!({ "conversation_id": c.conversation_id });
                tx.insert_event(ws, &NewEvent::new(actor, EventKind::KbCandidateMined, c.id, data), now)
                    .await?;
            }
            Ok(added)
        })
    }

    async fn list_kb_candidates(
        &self,
        ws: WorkspaceId,
        status: CandidateStatus,
        limit: u32,
    ) -> Result<Vec<KbCandidate>> {
        let limit = limit.clamp(1, 1_000);
        read!(self, |tx| tx.kb_candidates(ws, status, limit).await)
    }

    async fn decide_kb_candidate(
        &self,
        ws: WorkspaceId,
        id: KbCandidateId,
        decision: &CandidateDecision,
        actor: Actor,
        by: Option<UserId>,
        now: Timestamp,
    ) -> Result<(KbCandidate, Option<KbSource>)> {
        let decision = decision.clone();
        write!(self, |tx| {
            let mut c = found(tx.kb_candidate(ws, id).await?, "knowledge candidate")?;
            if c.status != CandidateStatus::Pending {
                return Err(StoreError::Conflict(format!("the candidate was already {}", c.status.as_str())));
            }
            let mut source = None;
            if decision.approve {
                let question = decision.question.clone().unwrap_or_else(|| c.question.clone());
                let answer = decision.answer.clone().unwrap_or_else(|| c.answer.clone());
                let mut new = NewKbSource::qa(&question, &answer);
                new.validate()?;
                let k = KbSource::queued(ws, new, by, now);
                tx.insert_kb_source(&k).await?;
                let data = json!({ "kind": k.kind, "title": k.title });
                tx.insert_event(ws, &NewEvent::new(actor, EventKind::KbSourceCreated, k.id, data), now)
                    .await?;
                c.question = question;
                c.answer = answer;
                c.status = CandidateStatus::Approved;
                c.source_id = Some(k.id);
                source = Some(k);
            } else {
                c.status = CandidateStatus::Rejected;
            }
            c.decided_by = by;
            c.updated_at = now;
            tx.save_kb_candidate(&c).await?;
            let kind = if decision.approve {
                EventKind::KbCandidateApproved
            } else {
                EventKind::KbCandidateRejected
            };
            tx.insert_event(ws, &NewEvent::new(actor, kind, id, json!({ "source_id": c.source_id })), now)
                .await?;
            Ok((c, source))
        })
    }

    async fn list_kb_gap_questions(&self, ws: WorkspaceId, limit: u32) -> Result<Vec<KbQuestion>> {
        let limit = limit.clamp(1, 5_000);
        read!(self, |tx| tx.kb_gap_questions(ws, limit).await)
    }

    async fn list_kb_questions_in(
        &self,
        ws: WorkspaceId,
        conversation: ConversationId,
    ) -> Result<Vec<KbQuestion>> {
        read!(self, |tx| tx.kb_questions_in(ws, conversation).await)
    }

    async fn resolve_kb_questions(
        &self,
        ws: WorkspaceId,
        ids: &[KbQuestionId],
        by: KbSourceId,
        actor: Actor,
        now: Timestamp,
    ) -> Result<usize> {
        let ids = ids.to_vec();
        write!(self, |tx| {
            found(tx.kb_source(ws, by).await?, "knowledge source")?;
            let mut changed = 0;
            for id in &ids {
                let Some(mut q) = tx.kb_question(ws, *id).await? else { continue };
                if q.resolved_by.is_none() {
                    q.resolved_by = Some(by);
                    q.updated_at = now;
                    tx.save_kb_question(&q).await?;
                    changed += 1;
                }
            }
            let data = json!({ "questions": changed, "source_id": by });
            tx.insert_event(ws, &NewEvent::new(actor, EventKind::KbGapResolved, by, data), now).await?;
            Ok(changed)
        })
    }

    async fn pending_kb_sources(&self) -> Result<Vec<(WorkspaceId, KbSourceId)>> {
        read!(self, |tx| tx.kb_sources_pending().await)
    }

    async fn kb_chunks_after(&self, after: Option<KbChunkId>, limit: u32) -> Result<Vec<KbChunk>> {
        let limit = limit.clamp(1, 10_000);
        read!(self, |tx| tx.kb_chunks_after(after, limit).await)
    }

    async fn get_message(&self, ws: WorkspaceId, id: MessageId) -> Result<Message> {
        read!(self, |tx| found(tx.message(ws, id).await?, "message"))
    }

    async fn events_since(&self, after: i64, limit: u32) -> Result<Vec<Event>> {
        let limit = limit.clamp(1, 10_000);
        read!(self, |tx| tx.all_events(after, limit).await)
    }

    async fn latest_event_id(&self) -> Result<i64> {
        read!(self, |tx| tx.latest_event_id().await)
    }

    async fn list_events(&self, ws: WorkspaceId, after: i64, limit: u32) -> Result<Vec<Event>> {
        let limit = limit.clamp(1, 1000);
        read!(self, |tx| tx.events(ws, after, limit).await)
    }

    async fn list_events_before(
        &self,
        ws: WorkspaceId,
        before: i64,
        kind_prefix: &[String],
        limit: u32,
    ) -> Result<Vec<Event>> {
        let (limit, prefixes) = (limit.clamp(1, 1000), kind_prefix.to_vec());
        read!(self, |tx| tx.events_before(ws, before, &prefixes, limit).await)
    }
}
