//! Messages in a conversation.

use axum::{
    Json as Out,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use lianluo_domain::{
    ConversationId, Timestamp,
    message::{Message, MessageKind, NewMessage, Sender, check_idempotency_key},
    page::Page,
};

use super::page_request;
use crate::{
    AppState,
    auth::Auth,
    error::{AppError, AppResult},
    extract::{Id, Json, Query},
};

/// Header that makes a message post safe to retry.
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";

/// The `Idempotency-Key` header, checked, if the request has one.
pub fn idempotency_header(headers: &HeaderMap) -> AppResult<Option<String>> {
    let Some(h) = headers.get(IDEMPOTENCY_HEADER) else { return Ok(None) };
    let key = h.to_str().map_err(|_| AppError::InvalidBody("Idempotency-Key must be ASCII".into()))?;
    check_idempotency_key(key)?;
    Ok(Some(key.to_string()))
}

/// Which end of a thread a page starts from.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Order {
    /// Oldest first.
    #[default]
    Asc,
    /// Newest first.
    Desc,
}

/// `limit`, `cursor` and `order` of a conversation's messages.
#[derive(Debug, Default, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MessagesQuery {
    /// Rows per page, 1 to 100 (default 25).
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page (read in the same order).
    pub cursor: Option<String>,
    /// `asc` (default): oldest first. `desc`: newest first.
    #[serde(default)]
    pub order: Order,
}

/// Lists a conversation's messages, oldest first unless `order=desc`.
pub async fn list_messages(
    State(state): State<AppState>,
    auth: Auth,
    Id(id): Id<ConversationId>,
    Query(q): Query<MessagesQuery>,
) -> AppResult<Out<Page<Message>>> {
    let page = page_request(q.limit, q.cursor.as_deref())?;
    let store = &state.store;
    Ok(Out(match q.order {
        Order::Asc => store.list_messages(auth.workspace_id, id, page).await?,
        Order::Desc => store.recent_messages(auth.workspace_id, id, page).await?,
    }))
}

/// Who a message of this kind is from, when the caller writes it (`None`: the conversation's contact,
/// filled in by the store). Only Lianluo writes as the AI agent or the system: a customer must never see
/// an agent's or an integration's words presented as the AI's or the system's.
pub fn sender_for(kind: MessageKind, auth: &Auth) -> AppResult<Option<Sender>> {
    match kind {
        MessageKind::Incoming => Ok(None),
        MessageKind::Bot | MessageKind::System => Err(lianluo_domain::DomainError::new(
            "kind",
            "bot and system messages are written by Lianluo; post incoming, outgoing or note",
        )
        .into()),
        MessageKind::Outgoing | MessageKind::Note => Ok(Some(auth.sender())),
    }
}

/// Posts a message. With an `Idempotency-Key` (header or body) a retried post returns the stored
/// message with 200 instead of storing it twice; reusing a key for a different message is a 409.
pub async fn create_message(
    State(state): State<AppState>,
    auth: Auth,
    Id(id): Id<ConversationId>,
    headers: HeaderMap,
    Json(mut new): Json<NewMessage>,
) -> AppResult<Response> {
    if let Some(key) = idempotency_header(&headers)? {
        match &new.idempotency_key {
            Some(k) if *k != key => {
                return Err(AppError::InvalidBody("the Idempotency-Key header and body field differ".into()));
            }
            _ => new.idempotency_key = Some(key),
        }
    }
    new.validate()?;
    let sender = sender_for(new.kind, &auth)?;
    super::uploads::check_attachments(&state, auth.workspace_id, &new.attachments, false).await?;
    // A customer's message reaching us through an integration is answered by the AI agent too.
    let appended =
        state.app.post_message(auth.workspace_id, id, new, sender, auth.actor(), Timestamp::now()).await?;
    if appended.created && appended.message.kind == MessageKind::Incoming {
        crate::bot::turn_queued(&state);
    }
    let status = if appended.created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Out(appended.message)).into_response())
}
