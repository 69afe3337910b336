//! Channels: the inboxes conversations arrive in.

use axum::{Json as Out, extract::State, http::StatusCode};
use lianluo_domain::{
    ChannelId, Timestamp,
    directory::{Channel, ChannelPatch, NewChannel},
};

use super::{Created, List};
use crate::{
    AppState,
    auth::{Admin, Auth},
    error::AppResult,
    extract::{Id, Json},
};

pub async fn list_channels(State(state): State<AppState>, auth: Auth) -> AppResult<Out<List<Channel>>> {
    Ok(Out(List { items: state.store.list_channels(auth.workspace_id).await? }))
}

pub async fn get_channel(
    State(state): State<AppState>,
    auth: Auth,
    Id(id): Id<ChannelId>,
) -> AppResult<Out<Channel>> {
    Ok(Out(state.store.get_channel(auth.workspace_id, id).await?))
}

pub async fn create_channel(
    State(state): State<AppState>,
    auth: Auth<Admin>,
    Json(new): Json<NewChannel>,
) -> AppResult<Created<Channel>> {
    new.validate()?;
    Ok(Created(state.store.create_channel(auth.workspace_id, &new, auth.actor(), Timestamp::now()).await?))
}

pub async fn update_channel(
    State(state): State<AppState>,
    auth: Auth<Admin>,
    Id(id): Id<ChannelId>,
    Json(patch): Json<ChannelPatch>,
) -> AppResult<Out<Channel>> {
    patch.validate()?;
    Ok(Out(state.store.update_channel(auth.workspace_id, id, &patch, auth.actor(), Timestamp::now()).await?))
}

/// Deletes a channel that has no conversations (409 otherwise).
pub async fn delete_channel(
    State(state): State<AppState>,
    auth: Auth<Admin>,
    Id(id): Id<ChannelId>,
) -> AppResult<StatusCode> {
    state.store.delete_channel(auth.workspace_id, id, auth.actor(), Timestamp::now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What an admin needs to install a web widget.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct WidgetSetup {
    pub public_token: String,
    /// Signs site user ids for identity verification (HMAC-SHA256). Keep it on the site's server.
    pub secret: String,
    /// The tag to paste into the site's pages.
    pub snippet: String,
}

fn snippet(state: &AppState, headers: &axum::http::HeaderMap, token: &str) -> String {
    let base = match &state.config.public_url {
        Some(u) => u.trim_end_matches('/').to_string(),
        None => {
            let host =
                headers.get(axum::http::header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
            format!("http://{host}")
        }
    };
    format!(r#"<script src="{base}/widget.js" data-channel="{token}" async></script>"#)
}

async fn widget_setup(
    state: &AppState,
    headers: &axum::http::HeaderMap,
    ch: &Channel,
    secret: String,
) -> AppResult<Out<WidgetSetup>> {
    let token = ch.public_token.clone().ok_or(crate::error::AppError::NotFound("widget channel"))?;
    Ok(Out(WidgetSetup { snippet: snippet(state, headers, &token), public_token: token, secret }))
}

/// A web-widget channel's snippet, public token and secret (admins only).
pub async fn get_widget_setup(
    State(state): State<AppState>,
    auth: Auth<Admin>,
    Id(id): Id<ChannelId>,
    headers: axum::http::HeaderMap,
) -> AppResult<Out<WidgetSetup>> {
    let ch = state.store.get_channel(auth.workspace_id, id).await?;
    let secret = state.store.widget_secret(auth.workspace_id, id).await?;
    widget_setup(&state, &headers, &ch, secret).await
}

/// Replaces a web-widget channel's secret; identities signed with the old one are refused from now on.
pub async fn rotate_widget_secret(
    State(state): State<AppState>,
    auth: Auth<Admin>,
    Id(id): Id<ChannelId>,
    headers: axum::http::HeaderMap,
) -> AppResult<Out<WidgetSetup>> {
    let ch = state.store.get_channel(auth.workspace_id, id).await?;
    let secret =
        state.store.rotate_widget_secret(auth.workspace_id, id, auth.actor(), Timestamp::now()).await?;
    widget_setup(&state, &headers, &ch, secret).await
}
