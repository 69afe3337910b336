//! The caller's workspace.

use axum::{Json, extract::State};
use lianluo_domain::directory::Workspace;

use crate::{AppState, auth::Auth, error::AppResult};

/// The workspace the caller belongs to.
pub async fn get_workspace(State(state): State<AppState>, auth: Auth) -> AppResult<Json<Workspace>> {
    Ok(Json(state.store.get_workspace(auth.workspace_id).await?))
}
