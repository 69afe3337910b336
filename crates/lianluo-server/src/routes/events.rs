//! The audit log (admins only).

use axum::{Json as Out, extract::State};
use lianluo_domain::event::Event;
use serde::Deserialize;

use super::List;
use crate::{
    AppState,
    auth::{Admin, Auth},
    error::{AppError, AppResult},
    extract::Query,
};

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EventQuery {
    /// Only events with a greater id (the last id you saw); 0 or absent for the oldest.
    pub after: Option<i64>,
    /// 1 to 1000 (default 100).
    pub limit: Option<u32>,
}

/// Events oldest first; page by passing the last id as `after`.
pub async fn list_events(
    State(state): State<AppState>,
    auth: Auth<Admin>,
    Query(q): Query<EventQuery>,
) -> AppResult<Out<List<Event>>> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(AppError::InvalidQuery("limit must be 1 to 1000".into()));
    }
    let items = state.store.list_events(auth.workspace_id, q.after.unwrap_or(0).max(0), limit).await?;
    Ok(Out(List { items }))
}
