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
