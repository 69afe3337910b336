//! The web-chat widget's side of the API, called from visitors' browsers on the brand's own site.
//!
//! A page loads the widget with the channel's public token. `POST /widget/v1/sessions` gives the
//! visitor a token (kept in the browser, so the conversation survives reloads); a site that knows its
//! user can pass `identity: {id, hash}` where `hash` is HMAC-SHA256(channel secret, id) in hex, and the
//! conversation then belongs to that user's contact. An id with a wrong hash is refused. Visitors see
//! their own conversation only, and never internal notes.

use std::collections::HashMap;

use axum::{
    Json as Out,
    extract::{
        FromRequestParts, State,
        ws::{Message, WebSocket, WebSocketUpgrade, rejection::WebSocketUpgradeRejection},
    },
    http::{HeaderMap, StatusCode, header, request::Parts},
    response::{IntoResponse, Response},
};
use hmac::{Hmac, KeyInit, Mac};
use lianluo_domain::{
    ChannelId, ContactId, ConversationId, Timestamp, UserId, WorkspaceId,
    contact::{ContactPatch, Identity, NewContact},
    conversation::{Conversation, Status},
    directory::Channel,
    event::{Actor, EventKind},
    message::{Attachment, Message as ChatMessage, MessageKind, NewMessage, Sender},
    value::{EmailAddress, Name},
};
use lianluo_events::{BusError, Notice};
use lianluo_store::VisitorSession;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::{
    AppState,
    auth::{random_token, token_hash},
    error::{AppError, AppResult},
    extract::{ClientIp, Json, Query},
    realtime::PresenceStatus,
};

/// Prefix of visitor tokens.
pub const VISITOR_TOKEN_PREFIX: &str = "vt_";
/// Messages shown when a visitor (re)opens the widget.
const HISTORY: u32 = 100;

/// Checks a site's signature of its user id: HMAC-SHA256 with the channel secret, hex-encoded.
pub fn identity_hash_ok(secret: &str, user_id: &str, hash: &str) -> bool {
    let Ok(expected) = hex_decode(hash.trim()) else { return false };
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()) else { return false };
    mac.update(user_id.as_bytes());
    mac.verify_slice(&expected).is_ok()
}

/// The signature a site computes for its user id (what `identity_hash_ok` accepts).
pub fn identity_hash(secret: &str, user_id: &str) -> String {
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(user_id.as_bytes());
    mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

fn hex_decode(s: &str) -> Result<Vec<u8>, ()> {
    if !s.len().is_multiple_of(2) || s.len() > 256 {
        return Err(());
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2).ok_or(())?, 16).map_err(|_| ()))
        .collect()
}

/// Refuses requests from pages the channel does not allow, when it lists allowed origins.
fn origin_allowed(channel: &Channel, headers: &HeaderMap) -> Result<(), AppError> {
    let Some(Value::Array(allowed)) = channel.settings.get("allowed_origins") else { return Ok(()) };
    if allowed.is_empty() {
        return Ok(());
    }
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if allowed.iter().filter_map(Value::as_str).any(|a| a.trim_end_matches('/').eq_ignore_ascii_case(origin))
    {
        Ok(())
    } else {
        Err(AppError::CrossOrigin)
    }
}

/// A signed-in site user, as the widget passes it.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SiteIdentity {
    /// The site's own id for its logged-in user (1 to 256 characters).
    pub id: String,
    /// HMAC-SHA256 of `id` keyed with the channel secret, in hex.
    pub hash: String,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StartSession {
    /// The channel's public token (`wc_…`, from the snippet).
    pub channel: String,
    /// The token this browser was given before, to continue its conversation.
    #[serde(default)]
    pub visitor_token: Option<String>,
    #[serde(default)]
    pub identity: Option<SiteIdentity>,
    /// From the optional pre-chat form.
    #[serde(default)]
    pub name: Option<Name>,
    #[serde(default)]
    pub email: Option<EmailAddress>,
}

/// A message as a visitor sees it.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct VisitorMessage {
    pub id: lianluo_domain::MessageId,
    /// `incoming` (the visitor's own), `outgoing` (an agent's) or `bot`.
    pub kind: MessageKind,
    pub content: String,
    pub attachments: Vec<Attachment>,
    /// The agent's display name on their replies.
    pub author: Option<String>,
    /// The key the visitor's browser sent with its own message, so it can match its pending bubble.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct VisitorConversation {
    pub id: ConversationId,
    pub status: Status,
    pub created_at: Timestamp,
    /// The visitor's satisfaction rating (1 to 5) of the resolved conversation, once given.
    pub rating: Option<i16>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct WidgetSession {
    /// Keep this in the browser and send it as `Authorization: Bearer …`.
    pub visitor_token: String,
    pub contact_id: ContactId,
    pub channel_name: String,
    /// Whether an agent of the channel's team is online now (otherwise show the offline form).
    pub agents_online: bool,
    /// Whether the AI agent answers first on this channel.
    pub bot: bool,
    /// Questions the visitor can ask with one tap, where the AI agent answers first (the channel's
    /// `settings.bot.suggestions`).
    pub suggestions: Vec<String>,
    pub conversation: Option<VisitorConversation>,
    pub messages: Vec<VisitorMessage>,
}

/// The visitor behind a request: from `Authorization: Bearer vt_…` (or `?token=` on the WebSocket).
#[derive(Debug, Clone)]
pub struct Visitor {
    pub workspace_id: WorkspaceId,
    pub channel_id: ChannelId,
    pub contact_id: ContactId,
}

async fn visitor_from_token(state: &AppState, token: &str) -> Result<Visitor, AppError> {
    if !token.starts_with(VISITOR_TOKEN_PREFIX) {
        return Err(AppError::Unauthenticated);
    }
    let hash = token_hash(token);
    let s = state.store.visitor_session(&hash).await?.ok_or(AppError::Unauthenticated)?;
    let now = Timestamp::now();
    // A session the visitor has not come back to for 30 days has ended (maintenance deletes it).
    if now.0 - s.last_seen_at.0 >= lianluo_store::VISITOR_IDLE_MS {
        return Err(AppError::Unauthenticated);
    }
    // Coming back keeps it; recorded at most once an hour, so that reading is not a write.
    if now.0 - s.last_seen_at.0 >= 3_600_000 {
        state.store.touch_visitor_session(&hash, now).await?;
    }
    Ok(Visitor { workspace_id: s.workspace_id, channel_id: s.channel_id, contact_id: s.contact_id })
}

impl FromRequestParts<AppState> for Visitor {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let v = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or_default();
        let token = v.strip_prefix("Bearer ").ok_or(AppError::Unauthenticated)?;
        let visitor = visitor_from_token(state, token.trim()).await?;
        // Every visitor request a browser makes from a page comes from a page the channel allows, not
        // only the session's start: a token copied off an allowed site does not work from another one.
        // (Browsers always name the page's origin on cross-site requests; a same-site read may not.)
        if parts.headers.contains_key(header::ORIGIN) {
            let channel = state.store.get_channel(visitor.workspace_id, visitor.channel_id).await?;
            origin_allowed(&channel, &parts.headers)?;
        }
        Ok(visitor)
    }
}

fn visible(m: &ChatMessage) -> bool {
    matches!(m.kind, MessageKind::Incoming | MessageKind::Outgoing | MessageKind::Bot)
}

async fn for_visitor(
    state: &AppState,
    ws: WorkspaceId,
    m: &ChatMessage,
    names: &mut HashMap<UserId, String>,
) -> VisitorMessage {
    let author = match m.sender {
        Sender::User { id } => {
            if let std::collections::hash_map::Entry::Vacant(slot) = names.entry(id) {
                slot.insert(
                    state.store.get_user(ws, id).await.map(|u| u.name.to_string()).unwrap_or_default(),
                );
            }
            names.get(&id).cloned()
        }
        _ => None,
    };
    VisitorMessage {
        id: m.id,
        kind: m.kind,
        content: m.content.clone(),
        attachments: m.attachments.clone(),
        author,
        idempotency_key: if m.kind == MessageKind::Incoming { m.idempotency_key.clone() } else { None },
        created_at: m.created_at,
    }
}

fn visitor_conversation(c: &Conversation) -> VisitorConversation {
    VisitorConversation { id: c.id, status: c.status, created_at: c.created_at, rating: None }
}

/// The visitor's latest conversation on this channel, if any.
async fn latest_conversation(state: &AppState, v: &Visitor) -> AppResult<Option<Conversation>> {
    Ok(state.app.thread_for(v.workspace_id, v.channel_id, v.contact_id).await?)
}

async fn history(
    state: &AppState,
    v: &Visitor,
) -> AppResult<(Option<VisitorConversation>, Vec<VisitorMessage>)> {
    let Some(conv) = latest_conversation(state, v).await? else { return Ok((None, Vec::new())) };
    let thread = state.store.thread_end(v.workspace_id, conv.id, HISTORY).await?;
    let mut names = HashMap::new();
    let mut out = Vec::new();
    for m in thread.iter().filter(|m| visible(m)) {
        out.push(for_visitor(state, v.workspace_id, m, &mut names).await);
    }
    let mut shown = visitor_conversation(&conv);
    if conv.status == Status::Resolved {
        shown.rating = state.store.conversation_csat(v.workspace_id, conv.id).await?.map(|c| c.rating);
    }
    Ok((Some(shown), out))
}

async fn agents_online(state: &AppState, channel: &Channel) -> bool {
    let presence = &state.realtime.presence;
    match channel.team_id {
        Some(team) => match state.store.get_team(channel.workspace_id, team).await {
            Ok(t) => t
                .member_ids
                .iter()
                .any(|u| presence.status(channel.workspace_id, *u) == PresenceStatus::Online),
            Err(_) => false,
        },
        None => presence.list(channel.workspace_id).iter().any(|(_, s)| *s == PresenceStatus::Online),
    }
}

/// Starts or resumes a visitor's session on a widget channel.
pub async fn start_session(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Json(body): Json<StartSession>,
) -> AppResult<Response> {
    let (channel, secret) =
        state.store.widget_channel(&body.channel).await?.ok_or(AppError::NotFound("widget channel"))?;
    origin_allowed(&channel, &headers)?;
    let ws = channel.workspace_id;
    let now = Timestamp::now();
    let client = format!("visitor:{}", ip.map(|ip| ip.to_string()).unwrap_or_default());

    // Who is this? A verified site user, a returning browser, or someone new.
    let returning = match &body.visitor_token {
        Some(t) => visitor_from_token(&state, t).await.ok().filter(|v| v.channel_id == channel.id),
        None => None,
    };
    let contact_id = if let Some(identity) = &body.identity {
        let id = identity.id.trim();
        if id.is_empty() || id.chars().count() > 256 || !identity_hash_ok(&secret, id, &identity.hash) {
            return Err(AppError::IdentityInvalid);
        }
        let ext = Identity::External { channel_id: channel.id, value: format!("user:{id}") };
        match state.store.find_contact(ws, &ext).await? {
            Some(c) => c.id,
            None => {
                state.visitor_starts.hit(&client)?;
                new_contact(&state, ws, ext, &body, now).await?
            }
        }
    } else if let Some(v) = &returning {
        v.contact_id
    } else {
        state.visitor_starts.hit(&client)?;
        let ext =
            Identity::External { channel_id: channel.id, value: format!("visitor:{}", random_token(12)) };
        new_contact(&state, ws, ext, &body, now).await?
    };
    // The pre-chat form fills in what the contact does not have yet.
    if body.name.is_some() || body.email.is_some() {
        fill_in(&state, ws, contact_id, &body, now).await?;
    }
    let visitor_token = match (&returning, &body.visitor_token) {
        (Some(v), Some(t)) if v.contact_id == contact_id => t.clone(),
        _ => {
            let token = format!("{VISITOR_TOKEN_PREFIX}{}", random_token(32));
            let session = VisitorSession {
                token_hash: token_hash(&token),
                workspace_id: ws,
                channel_id: channel.id,
                contact_id,
                created_at: now,
                last_seen_at: now,
            };
            state.store.create_visitor_session(&session).await?;
            token
        }
    };
    let visitor = Visitor { workspace_id: ws, channel_id: channel.id, contact_id };
    let (conversation, messages) = history(&state, &visitor).await?;
    let bot = state.app.ai_takes_new_conversations(&channel);
    let body = WidgetSession {
        visitor_token,
        contact_id,
        channel_name: channel.name.to_string(),
        agents_online: agents_online(&state, &channel).await,
        bot,
        suggestions: if bot { lianluo_app::BotSettings::of(&channel).suggestions } else { Vec::new() },
        conversation,
        messages,
    };
    Ok((StatusCode::OK, Out(body)).into_response())
}

async fn new_contact(
    state: &AppState,
    ws: WorkspaceId,
    ext: Identity,
    body: &StartSession,
    now: Timestamp,
) -> AppResult<ContactId> {
    let mut new = NewContact { name: body.name.clone(), identities: vec![ext], ..Default::default() };
    new.validate()?;
    Ok(state.store.create_contact(ws, &new, Actor::System, now).await?.id)
}

async fn fill_in(
    state: &AppState,
    ws: WorkspaceId,
    id: ContactId,
    body: &StartSession,
    now: Timestamp,
) -> AppResult<()> {
    let contact = state.store.get_contact(ws, id).await?;
    let mut patch = ContactPatch::default();
    if contact.name.is_none() && body.name.is_some() {
        patch.name = Some(body.name.clone());
    }
    if let Some(email) = &body.email {
        let identity = Identity::Email { value: email.clone() };
        // An address another contact already has is left alone rather than moved.
        if !contact.identities.contains(&identity) && state.store.find_contact(ws, &identity).await?.is_none()
        {
            let mut ids = contact.identities.clone();
            ids.push(identity);
            patch.identities = Some(ids);
        }
    }
    if patch.name.is_some() || patch.identities.is_some() {
        patch.validate()?;
        state.store.update_contact(ws, id, &patch, Actor::Contact { id }, now).await?;
    }
    Ok(())
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct VisitorHistory {
    pub conversation: Option<VisitorConversation>,
    pub messages: Vec<VisitorMessage>,
}

/// The visitor's conversation and its messages.
pub async fn get_visitor_messages(
    State(state): State<AppState>,
    v: Visitor,
) -> AppResult<Out<VisitorHistory>> {
    let (conversation, messages) = history(&state, &v).await?;
    Ok(Out(VisitorHistory { conversation, messages }))
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VisitorPost {
    #[serde(default)]
    pub content: String,
    #[serde(default)]
    pub attachments: Vec<Attachment>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct VisitorPosted {
    pub conversation: VisitorConversation,
    pub message: VisitorMessage,
}

/// Sends the visitor's message: into their latest conversation, or a new one routed to an agent.
pub async fn post_visitor_message(
    State(state): State<AppState>,
    v: Visitor,
    headers: HeaderMap,
    Json(body): Json<VisitorPost>,
) -> AppResult<Response> {
    state.visitor_messages.hit(&v.contact_id.to_string())?;
    let key = super::messages::idempotency_header(&headers)?;
    let mut new = NewMessage {
        kind: MessageKind::Incoming,
        content: body.content,
        attachments: body.attachments,
        idempotency_key: key,
        ai_answers: false,
    };
    new.validate()?;
    super::uploads::check_attachments(&state, v.workspace_id, &new.attachments, true).await?;
    let channel = state.store.get_channel(v.workspace_id, v.channel_id).await?;
    let lianluo_app::Received { conversation, message, created, ai_answers } = state
        .app
        .receive_customer_message(lianluo_app::CustomerMessage {
            workspace_id: v.workspace_id,
            channel: &channel,
            contact_id: v.contact_id,
            message: new,
            at: Timestamp::now(),
        })
        .await?;
    // A retried post (same idempotency key) is not answered twice.
    if ai_answers {
        crate::bot::turn_queued(&state);
    }
    let mut names = HashMap::new();
    let body = VisitorPosted {
        conversation: visitor_conversation(&conversation),
        message: for_visitor(&state, v.workspace_id, &message, &mut names).await,
    };
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Out(body)).into_response())
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VisitorSocketQuery {
    /// The visitor token (browsers cannot set headers on WebSockets).
    pub token: Option<String>,
}

/// The visitor's live connection: agents' replies, status changes and typing in their conversation.
/// Frames: `{"type":"message", "message"}`, `{"type":"status", "conversation_id", "status"}`,
/// `{"type":"typing", "typing"}`; the visitor may send `{"type":"typing", "typing": bool}` and `{"type":"ping"}`.
pub async fn connect_visitor(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<VisitorSocketQuery>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> AppResult<Response> {
    let v = visitor_from_token(&state, q.token.as_deref().ok_or(AppError::Unauthenticated)?).await?;
    let channel = state.store.get_channel(v.workspace_id, v.channel_id).await?;
    origin_allowed(&channel, &headers)?;
    let upgrade = upgrade.map_err(|_| AppError::UpgradeRequired)?;
    let slot = state
        .visitor_sockets
        .take(&v.contact_id.to_string(), state.config.max_sockets_per_visitor)
        .ok_or(AppError::RateLimited(5))?;
    let upgrade = super::realtime::small_buffers(upgrade.max_message_size(16 * 1024));
    Ok(upgrade.on_upgrade(move |socket| async move {
        visitor_socket(state, v, socket).await;
        drop(slot);
    }))
}

/// Whether an event concerns this visitor's conversation, judged from the conversation it carries.
fn concerns(n: &Notice, v: &Visitor) -> bool {
    let c = &n.data["conversation"];
    c["contact_id"].as_str() == Some(&v.contact_id.to_string())
        && c["channel_id"].as_str() == Some(&v.channel_id.to_string())
}

async fn visitor_socket(state: AppState, v: Visitor, mut socket: WebSocket) {
    let Ok(mut sub) = state.realtime.bus.subscribe(v.workspace_id).await else { return };
    let mut mine: Option<uuid::Uuid> = latest_conversation(&state, &v).await.ok().flatten().map(|c| c.id.0);
    let mut names = HashMap::new();
    if socket.send(Message::Text(json!({ "type": "ready" }).to_string().into())).await.is_err() {
        return;
    }
    loop {
        tokio::select! {
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(t))) => {
                    let frame: Value = serde_json::from_str(&t).unwrap_or(Value::Null);
                    match frame["type"].as_str() {
                        Some("ping")
                            if socket.send(Message::Text(json!({ "type": "pong" }).to_string().into())).await.is_err() =>
                        {
                            break;
                        }
                        Some("typing") => {
                            if let Some(conv) = mine {
                                let notice = Notice {
                                    workspace_id: v.workspace_id,
                                    id: None,
                                    kind: EventKind::Typing,
                                    subject_id: Some(v.contact_id.0),
                                    conversation_id: Some(conv),
                                    data: json!({ "contact_id": v.contact_id, "conversation_id": conv,
                                        "typing": frame["typing"].as_bool().unwrap_or(false) }),
                                };
                                let _ = state.realtime.bus.publish(notice).await;
                            }
                        }
                        _ => {}
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
            notice = sub.next() => {
                let n = match notice {
                    Ok(n) => n,
                    Err(BusError::Lagged(_)) => continue,
                    Err(BusError::Closed) => break,
                };
                let frame = match n.kind {
                    EventKind::MessageCreated | EventKind::ConversationCreated | EventKind::ConversationUpdated if concerns(&n, &v) => {
                        mine = n.conversation_id.or(mine);
                        if n.kind == EventKind::MessageCreated {
                            let Ok(m) = serde_json::from_value::<ChatMessage>(n.data["message"].clone()) else { continue };
                            if !visible(&m) {
                                continue;
                            }
                            json!({ "type": "message", "message": for_visitor(&state, v.workspace_id, &m, &mut names).await })
                        } else {
                            json!({ "type": "status", "conversation_id": n.conversation_id,
                                "status": n.data["conversation"]["status"] })
                        }
                    }
                    // The AI agent's answer while it is being written.
                    EventKind::BotDelta if concerns(&n, &v) => json!({ "type": "bot_delta", "conversation_id": n.conversation_id, "text": n.data["text"] }),
                    // The AI agent writing: it names the conversation's contact, since the socket may not
                    // know a conversation started by this very message yet.
                    EventKind::Typing if n.data["bot"] == true && concerns(&n, &v) => {
                        json!({ "type": "typing", "typing": n.data["typing"], "bot": true })
                    }
                    EventKind::Typing if n.conversation_id.is_some() && n.conversation_id == mine && n.subject_id != Some(v.contact_id.0) => {
                        json!({ "type": "typing", "typing": n.data["typing"], "bot": false })
                    }
                    _ => continue,
                };
                if socket.send(Message::Text(frame.to_string().into())).await.is_err() {
                    break;
                }
            }
        }
    }
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Feedback {
    pub helpful: bool,
}

/// The visitor rates one of the AI agent's answers in their own conversation. "Not helpful" counts
/// toward handing the conversation to a person and puts the question on the knowledge-gaps list.
pub async fn rate_answer(
    State(state): State<AppState>,
    v: Visitor,
    crate::extract::Id(id): crate::extract::Id<lianluo_domain::MessageId>,
    Json(f): Json<Feedback>,
) -> AppResult<StatusCode> {
    state.visitor_messages.hit(&v.contact_id.to_string())?;
    let message = state.store.get_message(v.workspace_id, id).await?;
    let conversation = state.store.get_conversation(v.workspace_id, message.conversation_id).await?;
    if conversation.contact_id != v.contact_id
        || conversation.channel_id != v.channel_id
        || message.kind != MessageKind::Bot
    {
        return Err(AppError::NotFound("answer"));
    }
    let q = state
        .store
        .rate_kb_answer(v.workspace_id, id, f.helpful, Actor::Contact { id: v.contact_id }, Timestamp::now())
        .await?;
    // The AI agent's follow-up, when one was queued with the rating.
    if !f.helpful && q.conversation_id.is_some() {
        crate::bot::turn_queued(&state);
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The visitor rates their own conversation on this channel once it is resolved: 1 (very dissatisfied)
/// to 5 (very satisfied), with an optional comment. Rating again replaces the rating; the agents see it
/// at once (`conversation.rated`).
pub async fn rate_conversation(
    State(state): State<AppState>,
    v: Visitor,
    crate::extract::Id(id): crate::extract::Id<ConversationId>,
    Json(mut rating): Json<lianluo_domain::csat::NewCsat>,
) -> AppResult<Out<lianluo_domain::csat::Csat>> {
    state.visitor_messages.hit(&v.contact_id.to_string())?;
    rating.validate()?;
    let conversation = state.store.get_conversation(v.workspace_id, id).await?;
    if conversation.contact_id != v.contact_id || conversation.channel_id != v.channel_id {
        return Err(AppError::NotFound("conversation"));
    }
    let csat =
        state.store.rate_conversation(v.workspace_id, id, v.contact_id, &rating, Timestamp::now()).await?;
    Ok(Out(csat))
}
