//! The agents' WebSocket: live events of the workspace, catch-up after a reconnect, typing and presence.
//!
//! Server frames (JSON text): `{"type":"event", "id", "kind", "subject_id", "conversation_id", "data"}`
//! (typing and presence events have no `id`), `{"type":"ready", "last_event_id"}` once caught up,
//! `{"type":"reset"}` when too much was missed to replay (reload through the API), `{"type":"pong"}`,
//! `{"type":"error", "code", "message"}`. Client frames: `{"type":"ping"}`,
//! `{"type":"typing", "conversation_id", "typing": true|false}`, `{"type":"presence", "status": "online"|"away"}`.

use std::{collections::HashSet, time::Duration};

use axum::{
    Json as Out,
    extract::{
        State,
        ws::{Message, WebSocket, WebSocketUpgrade, rejection::WebSocketUpgradeRejection},
    },
    http::{HeaderMap, header},
    response::Response,
};
use lianluo_domain::{ConversationId, UserId, WorkspaceId};
use lianluo_events::{BusError, Notice};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::List;
use crate::{
    AppState,
    auth::{Auth, Credential},
    error::{AppError, AppResult},
    extract::Query,
    realtime::{PresenceStatus, enrich},
};

/// Most events replayed to a reconnecting client; beyond that it is told to reload.
const MAX_CATCH_UP: usize = 5_000;
/// Largest frame a client may send.
const MAX_FRAME_BYTES: usize = 64 * 1024;
/// How often an idle socket is pinged, so dead connections are noticed.
const HEARTBEAT: Duration = Duration::from_secs(30);

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RealtimeQuery {
    /// The last event id this client saw; the events after it are sent before live ones.
    pub after: Option<i64>,
}

/// Cookie-authenticated sockets must come from a page of this server: browsers send cookies with
/// WebSocket requests from any site, so without this check another site could listen in.
fn same_origin(headers: &HeaderMap) -> Result<(), AppError> {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else { return Ok(()) };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let authority = origin.split_once("://").map(|(_, a)| a).unwrap_or(origin);
    if !host.is_empty() && authority.eq_ignore_ascii_case(host) { Ok(()) } else { Err(AppError::CrossOrigin) }
}

/// Opens the agents' live connection (WebSocket upgrade).
pub async fn connect_realtime(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    Query(q): Query<RealtimeQuery>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> AppResult<Response> {
    if matches!(auth.credential, Credential::Session { .. }) {
        same_origin(&headers)?;
    }
    let upgrade = upgrade.map_err(|_| AppError::UpgradeRequired)?;
    let who = Who { ws: auth.workspace_id, user: auth.user_id };
    let held = crate::auth::Held::of(&headers).ok_or(AppError::Unauthenticated)?;
    let upgrade = small_buffers(upgrade.max_message_size(MAX_FRAME_BYTES));
    Ok(upgrade.on_upgrade(move |socket| agent_socket(state, who, held, q.after, socket)))
}

/// Idle sockets are most of a contact center's connections: keep each one small. Frames are a few KiB;
/// a client that stops reading can queue at most 1 MiB before its socket fails.
pub(crate) fn small_buffers(upgrade: WebSocketUpgrade) -> WebSocketUpgrade {
    upgrade.read_buffer_size(4 * 1024).write_buffer_size(0).max_write_buffer_size(1024 * 1024)
}

#[derive(Clone, Copy)]
struct Who {
    ws: WorkspaceId,
    user: UserId,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum ClientFrame {
    Ping,
    Typing { conversation_id: ConversationId, typing: bool },
    Presence { status: SetStatus },
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum SetStatus {
    Online,
    Away,
}

fn event_frame(n: &Notice) -> Value {
    json!({ "type": "event", "id": n.id, "kind": n.kind, "subject_id": n.subject_id,
        "conversation_id": n.conversation_id, "data": n.data })
}

async fn send(socket: &mut WebSocket, frame: Value) -> Result<(), axum::Error> {
    socket.send(Message::Text(frame.to_string().into())).await
}

/// Sends the workspace's events in `(after, upto]` from the log; returns the id the client is now at,
/// or `None` when the socket failed.
async fn catch_up(
    state: &AppState,
    socket: &mut WebSocket,
    ws: WorkspaceId,
    after: i64,
    upto: i64,
) -> Option<i64> {
    let mut cursor = after;
    let mut sent = 0;
    while cursor < upto {
        let events = match state.store.list_events(ws, cursor, 500).await {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(error = %e, "catch-up failed");
                send(socket, json!({ "type": "reset" })).await.ok()?;
                return Some(upto);
            }
        };
        if events.is_empty() {
            break;
        }
        for e in events {
            if e.id > upto {
                return Some(upto);
            }
            sent += 1;
            if sent > MAX_CATCH_UP {
                send(socket, json!({ "type": "reset" })).await.ok()?;
                return Some(upto);
            }
            let notice = enrich(state.store.as_ref(), &e).await;
            send(socket, event_frame(&notice)).await.ok()?;
            cursor = e.id;
        }
    }
    Some(upto.max(after))
}

async fn publish_presence(state: &AppState, who: Who, status: Option<PresenceStatus>) {
    if let Some(status) = status {
        let notice = Notice {
            workspace_id: who.ws,
            id: None,
            kind: lianluo_domain::event::EventKind::Presence,
            subject_id: Some(who.user.0),
            conversation_id: None,
            data: json!({ "user_id": who.user, "status": status }),
        };
        let _ = state.realtime.bus.publish(notice).await;
    }
}

async fn agent_socket(
    state: AppState,
    who: Who,
    held: crate::auth::Held,
    after: Option<i64>,
    mut socket: WebSocket,
) {
    let rt = state.realtime.clone();
    let mut revoked = state.revoked.subscribe();
    let Ok(mut sub) = rt.bus.subscribe(who.ws).await else { return };
    // Subscribed first, then read the watermark: nothing published in between can be missed.
    let mut last = rt.watermark();
    if let Some(after) = after {
        let Some(at) = catch_up(&state, &mut socket, who.ws, after.max(0), last).await else { return };
        last = at;
    }
    if send(&mut socket, json!({ "type": "ready", "last_event_id": last })).await.is_err() {
        return;
    }
    publish_presence(&state, who, rt.presence.connect(who.ws, who.user)).await;
    let mut known: HashSet<ConversationId> = HashSet::new();
    let mut heartbeat = tokio::time::interval(HEARTBEAT);
    heartbeat.tick().await;
    loop {
        tokio::select! {
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    if handle_frame(&state, who, &text, &mut socket, &mut known).await.is_err() {
                        break;
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
            notice = sub.next() => match notice {
                Ok(n) => {
                    if let Some(id) = n.id {
                        if id <= last {
                            continue;
                        }
                        last = id;
                    } else if n.subject_id == Some(who.user.0) {
                        // One's own typing and presence are not echoed back.
                        continue;
                    }
                    if send(&mut socket, event_frame(&n)).await.is_err() {
                        break;
                    }
                }
                Err(BusError::Lagged(_)) => {
                    let Some(at) = catch_up(&state, &mut socket, who.ws, last, rt.watermark()).await else { break };
                    last = at;
                }
                Err(BusError::Closed) => break,
            },
            // A credential of the workspace may have ended (on this node): check this one at once.
            signal = revoked.recv() => {
                let concerns_us = match signal {
                    Ok(ws) => ws == who.ws,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => true,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => false,
                };
                if concerns_us && !held.still_valid(&state).await {
                    signed_out(&mut socket).await;
                    break;
                }
            }
            // And on every heartbeat, for credentials ended on another node.
            _ = heartbeat.tick() => {
                if !held.still_valid(&state).await {
                    signed_out(&mut socket).await;
                    break;
                }
                if socket.send(Message::Ping(Vec::new().into())).await.is_err() {
                    break;
                }
            }
        }
    }
    publish_presence(&state, who, rt.presence.disconnect(who.ws, who.user)).await;
}

/// Tells the client its credential ended, then closes the connection (policy violation).
async fn signed_out(socket: &mut WebSocket) {
    let _ =
        send(socket, json!({ "type": "error", "code": "unauthenticated", "message": "signed out" })).await;
    let close = axum::extract::ws::CloseFrame { code: 1008, reason: "signed out".into() };
    let _ = socket.send(Message::Close(Some(close))).await;
}

async fn handle_frame(
    state: &AppState,
    who: Who,
    text: &str,
    socket: &mut WebSocket,
    known: &mut HashSet<ConversationId>,
) -> Result<(), axum::Error> {
    let frame = match serde_json::from_str::<ClientFrame>(text) {
        Ok(f) => f,
        Err(e) => {
            return send(
                socket,
                json!({ "type": "error", "code": "invalid_frame", "message": e.to_string() }),
            )
            .await;
        }
    };
    match frame {
        ClientFrame::Ping => send(socket, json!({ "type": "pong" })).await,
        ClientFrame::Presence { status } => {
            let changed =
                state.realtime.presence.set_away(who.ws, who.user, matches!(status, SetStatus::Away));
            publish_presence(state, who, changed).await;
            Ok(())
        }
        ClientFrame::Typing { conversation_id, typing } => {
            if !known.contains(&conversation_id) {
                if state.store.get_conversation(who.ws, conversation_id).await.is_err() {
                    let msg = "no such conversation in this workspace";
                    return send(socket, json!({ "type": "error", "code": "not_found", "message": msg }))
                        .await;
                }
                if known.len() >= 256 {
                    known.clear();
                }
                known.insert(conversation_id);
            }
            let notice = Notice {
                workspace_id: who.ws,
                id: None,
                kind: lianluo_domain::event::EventKind::Typing,
                subject_id: Some(who.user.0),
                conversation_id: Some(conversation_id.0),
                data: json!({ "user_id": who.user, "conversation_id": conversation_id, "typing": typing }),
            };
            let _ = state.realtime.bus.publish(notice).await;
            Ok(())
        }
    }
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct AgentPresence {
    pub user_id: UserId,
    pub status: PresenceStatus,
}

/// Agents connected now, online or away.
pub async fn list_presence(State(state): State<AppState>, auth: Auth) -> AppResult<Out<List<AgentPresence>>> {
    let items = state
        .realtime
        .presence
        .list(auth.workspace_id)
        .into_iter()
        .map(|(user_id, status)| AgentPresence { user_id, status })
        .collect();
    Ok(Out(List { items }))
}
