//! Canned responses: saved replies agents insert with `/shortcut`; admins maintain them.

use axum::{Json as Out, extract::State, http::StatusCode};
use lianluo_domain::{
    CannedResponseId, Timestamp,
    canned::{CannedResponse, CannedResponsePatch, NewCannedResponse},
};
use serde::Deserialize;

use super::{Created, List};
use crate::{
    AppState,
    auth::{Admin, Auth},
    error::AppResult,
    extract::{Id, Json, Query},
};

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CannedQuery {
    /// Only shortcuts starting with this (what the agent typed after `/`).
    pub prefix: Option<String>,
}

pub async fn list_canned_responses(
    State(state): State<AppState>,
    auth: Auth,
    Query(q): Query<CannedQuery>,
) -> AppResult<Out<List<CannedResponse>>> {
    Ok(Out(List { items: state.store.list_canned(auth.workspace_id, q.prefix.as_deref()).await? }))
}

pub async fn create_canned_response(
    State(state): State<AppState>,
    auth: Auth<Admin>,
    Json(mut new): Json<NewCannedResponse>,
) -> AppResult<Created<CannedResponse>> {
    new.validate()?;
    Ok(Created(state.store.create_canned(auth.workspace_id, &new, auth.user_id, Timestamp::now()).await?))
}

pub async fn update_canned_response(
    State(state): State<AppState>,
    auth: Auth<Admin>,
    Id(id): Id<CannedResponseId>,
    Json(mut patch): Json<CannedResponsePatch>,
) -> AppResult<Out<CannedResponse>> {
    patch.validate()?;
    Ok(Out(state.store.update_canned(auth.workspace_id, id, &patch, auth.actor(), Timestamp::now()).await?))
}

pub async fn delete_canned_response(
    State(state): State<AppState>,
    auth: Auth<Admin>,
    Id(id): Id<CannedResponseId>,
) -> AppResult<StatusCode> {
    state.store.delete_canned(auth.workspace_id, id, auth.actor(), Timestamp::now()).await?;
    Ok(StatusCode::NO_CONTENT)
}
