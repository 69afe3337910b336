//! A workspace's AI settings (answer mode, its own OpenAI-compatible chat and embedding providers) and the
//! tokens its answers used. Admins only; the providers' keys are write-only.

use axum::{Json as Out, extract::State};
use lianluo_domain::{
    Timestamp,
    ai::{AiSettings, AiSettingsView, AiUsage, DAY_MS, ModelProvider},
};
use serde::Deserialize;

use super::List;
use crate::{
    AppState,
    auth::{Admin, Auth},
    error::AppResult,
    extract::{Json, Query},
};

pub async fn get_settings(
    State(state): State<AppState>,
    auth: Auth<Admin>,
) -> AppResult<Out<AiSettingsView>> {
    Ok(Out(state.store.ai_settings(auth.workspace_id).await?.view()))
}

/// Replaces the settings; a provider given without `api_key` keeps the saved key when its address is
/// unchanged. The next answer uses them; a new embedding model embeds the workspace's sources again.
pub async fn put_settings(
    State(state): State<AppState>,
    auth: Auth<Admin>,
    Json(mut settings): Json<AiSettings>,
) -> AppResult<Out<AiSettingsView>> {
    settings.validate()?;
    let saved = state.store.ai_settings(auth.workspace_id).await?;
    settings.keep_key_from(&saved);
    state.store.set_ai_settings(auth.workspace_id, &settings, auth.actor(), Timestamp::now()).await?;
    if let Some(kb) = &state.knowledge {
        let new_embedder = !ModelProvider::same_model(&saved.embeddings, &settings.embeddings);
        kb.settings_changed(auth.workspace_id, new_embedder)
            .await
            .map_err(crate::error::AppError::Internal)?;
    }
    Ok(Out(settings.view()))
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UsageQuery {
    /// Days back from today, 1 to 366 (default 30).
    pub days: Option<i64>,
}

/// Tokens the workspace's answers used, per day and model.
pub async fn usage(
    State(state): State<AppState>,
    auth: Auth<Admin>,
    Query(q): Query<UsageQuery>,
) -> AppResult<Out<List<AiUsage>>> {
    let days = q.days.unwrap_or(30);
    if !(1..=366).contains(&days) {
        return Err(lianluo_domain::DomainError::new("days", "1 to 366").into());
    }
    let since = Timestamp(Timestamp::now().0 - (days - 1) * DAY_MS);
    Ok(Out(List { items: state.store.list_ai_usage(auth.workspace_id, since).await? }))
}
