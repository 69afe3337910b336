//! Conversations: the inbox.

use axum::{Json as Out, extract::State, http::StatusCode};
use lianluo_domain::{
    ChannelId, ContactId, ConversationId, TeamId, Timestamp, UserId,
    conversation::{Conversation, ConversationPatch, NewConversation, Priority, Status},
    message::Message,
    page::Page,
    value::Tag,
};
use lianluo_store::ConversationFilter;
use serde::{Deserialize, Serialize};

use super::{Created, page_request};
use crate::{
    AppState,
    auth::{Admin, Auth},
    error::{AppError, AppResult},
    extract::{Id, Json, Query},
};

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConversationQuery {
    pub status: Option<Status>,
    /// `me`, `none` (unassigned) or a user id.
    pub assignee: Option<String>,
    pub team_id: Option<TeamId>,
    pub channel_id: Option<ChannelId>,
    pub contact_id: Option<ContactId>,
    pub priority: Option<Priority>,
    pub tag: Option<Tag>,
    /// Text found in a message, or in the contact's name, email, phone or external id.
    pub q: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

fn filter_of(
    q: ConversationQuery,
    auth: &Auth,
) -> AppResult<(ConversationFilter, lianluo_domain::page::PageRequest)> {
    let page = page_request(q.limit, q.cursor.as_deref())?;
    let query = q.q.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    if query.as_ref().is_some_and(|s| s.chars().count() > 200) {
        return Err(AppError::InvalidQuery("q may be at most 200 characters".into()));
    }
    let assignee_id = match q.assignee.as_deref() {
        None => None,
        Some("me") => Some(Some(auth.user_id)),
        Some("none") => Some(None),
        Some(id) => Some(Some(
            id.parse::<UserId>()
                .map_err(|_| AppError::InvalidQuery("assignee must be me, none or a user id".into()))?,
        )),
    };
    let filter = ConversationFilter {
        status: q.status,
        assignee_id,
        team_id: q.team_id,
        channel_id: q.channel_id,
        contact_id: q.contact_id,
        priority: q.priority,
        tag: q.tag,
        query,
    };
    Ok((filter, page))
}

/// Lists conversations, most recent activity first.
pub async fn list_conversations(
    State(state): State<AppState>,
    auth: Auth,
    Query(q): Query<ConversationQuery>,
) -> AppResult<Out<Page<Conversation>>> {
    let (filter, page) = filter_of(q, &auth)?;
    Ok(Out(state.store.list_conversations(auth.workspace_id, &filter, page).await?))
}

/// The caller's inbox: conversations with the contact's name, the latest message and the caller's unread
/// count; the same filters as listing conversations.
pub async fn list_inbox(
    State(state): State<AppState>,
    auth: Auth,
    Query(q): Query<ConversationQuery>,
) -> AppResult<Out<Page<lianluo_store::InboxItem>>> {
    let (filter, page) = filter_of(q, &auth)?;
    Ok(Out(state.store.inbox(auth.workspace_id, auth.user_id, &filter, page).await?))
}

/// Marks the conversation read, up to now, for the caller.
pub async fn mark_conversation_read(
    State(state): State<AppState>,
    auth: Auth,
    Id(id): Id<ConversationId>,
) -> AppResult<StatusCode> {
    state.store.mark_read(auth.workspace_id, id, auth.user_id, Timestamp::now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct CreatedConversation {
    pub conversation: Conversation,
    /// The first message, when one was sent with the conversation.
    pub message: Option<Message>,
}

/// Starts a conversation, optionally with its first message; both are written or neither. Without an
/// assignee it is routed: round-robin among the online agents of its team (the channel's team unless
/// given), skipping agents at their cap; if nobody is available it waits unassigned.
pub async fn create_conversation(
    State(state): State<AppState>,
    auth: Auth,
    Json(mut new): Json<NewConversation>,
) -> AppResult<Created<CreatedConversation>> {
    new.validate()?;
    let sender = match new.message.as_ref() {
        Some(m) => {
            super::uploads::check_attachments(&state, auth.workspace_id, &m.attachments, false).await?;
            super::messages::sender_for(m.kind, &auth)?
        }
        None => None,
    };
    // A channel id of another workspace (or none) is a bad field, as the store would say.
    let channel = match state.store.get_channel(auth.workspace_id, new.channel_id).await {
        Err(lianluo_store::StoreError::NotFound(_)) => {
            return Err(
                lianluo_domain::DomainError::new("channel_id", "no such channel in this workspace").into()
            );
        }
        other => other?,
    };
    let (conversation, message) = state
        .app
        .start_conversation(auth.workspace_id, &channel, new, sender, auth.actor(), Timestamp::now())
        .await?;
    // A customer's first message reaching us through an integration is answered like the widget's.
    if let Some(m) = &message
        && state.app.ai_answers(&channel, &conversation, m)
    {
        crate::bot::turn_queued(&state);
    }
    Ok(Created(CreatedConversation { conversation, message }))
}

pub async fn get_conversation(
    State(state): State<AppState>,
    auth: Auth,
    Id(id): Id<ConversationId>,
) -> AppResult<Out<Conversation>> {
    Ok(Out(state.store.get_conversation(auth.workspace_id, id).await?))
}

/// A conversation's customer satisfaction rating.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct ConversationCsat {
    /// The customer's rating, once they gave one (in the widget, after the conversation was resolved).
    pub csat: Option<lianluo_domain::csat::Csat>,
}

/// The customer's satisfaction rating of a conversation, if they gave one.
pub async fn get_conversation_csat(
    State(state): State<AppState>,
    auth: Auth,
    Id(id): Id<ConversationId>,
) -> AppResult<Out<ConversationCsat>> {
    // A conversation of another workspace is a 404, as everywhere.
    state.store.get_conversation(auth.workspace_id, id).await?;
    Ok(Out(ConversationCsat { csat: state.store.conversation_csat(auth.workspace_id, id).await? }))
}

/// Changes status (resolve, reopen, snooze), assignee, team, priority, tags or subject.
pub async fn update_conversation(
    State(state): State<AppState>,
    auth: Auth,
    Id(id): Id<ConversationId>,
    Json(mut patch): Json<ConversationPatch>,
) -> AppResult<Out<Conversation>> {
    let now = Timestamp::now();
    patch.validate(now)?;
    Ok(Out(state.store.update_conversation(auth.workspace_id, id, &patch, auth.actor(), now).await?))
}

/// Deletes a conversation and its messages (admins only); the audit log keeps a record.
pub async fn delete_conversation(
    State(state): State<AppState>,
    auth: Auth<Admin>,
    Id(id): Id<ConversationId>,
) -> AppResult<StatusCode> {
    state.store.delete_conversation(auth.workspace_id, id, auth.actor(), Timestamp::now()).await?;
    Ok(StatusCode::NO_CONTENT)
}
