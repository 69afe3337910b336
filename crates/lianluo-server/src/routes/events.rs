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
    /// Only events with a greater id (the last id you saw), oldest first; 0 or absent for the oldest.
    pub after: Option<i64>,
    /// Newest first instead: only events with a smaller id (the last id you saw; absent for the newest).
    pub before: Option<i64>,
    /// Newest first, of one area: `people` (users, teams, API tokens), `channels`, `contacts`,
    /// `conversations`, `messages`, `knowledge`, `saved_replies` or `jobs`.
    pub area: Option<String>,
    /// 1 to 1000 (default 100).
    pub limit: Option<u32>,
}

/// The kinds of event an area holds, as prefixes of their names.
fn area_kinds(area: &str) -> Option<&'static [&'static str]> {
    Some(match area {
        "people" => &["workspace.", "user.", "team.", "api_token."],
        "channels" => &["channel."],
        "contacts" => &["contact."],
        "conversations" => &["conversation."],
        "messages" => &["message."],
        "knowledge" => &["kb_", "ai_settings."],
        "saved_replies" => &["canned_response."],
        "jobs" => &["job."],
        _ => return None,
    })
}

/// Events oldest first (page with `after`), or newest first (page with `before`, optionally of one
/// `area`), as the audit log screen reads them.
pub async fn list_events(
    State(state): State<AppState>,
    auth: Auth<Admin>,
    Query(q): Query<EventQuery>,
) -> AppResult<Out<List<Event>>> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(AppError::InvalidQuery("limit must be 1 to 1000".into()));
    }
    if q.after.is_some() && (q.before.is_some() || q.area.is_some()) {
        return Err(AppError::InvalidQuery("after reads oldest first; before and area newest first".into()));
    }
    let items = if q.before.is_some() || q.area.is_some() {
        let kinds = match q.area.as_deref() {
            None => Vec::new(),
            Some(a) => area_kinds(a)
                .ok_or_else(|| AppError::InvalidQuery(format!("area {a:?} is not one of the areas")))?
                .iter()
                .map(|k| k.to_string())
                .collect(),
        };
        let before = q.before.unwrap_or(i64::MAX);
        state.store.list_events_before(auth.workspace_id, before, &kinds, limit).await?
    } else {
        state.store.list_events(auth.workspace_id, q.after.unwrap_or(0).max(0), limit).await?
    };
    Ok(Out(List { items }))
}
