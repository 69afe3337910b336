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

/// A workspace's AI settings as shown, with what the strength check found for its chat model.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct SettingsView {
    #[serde(flatten)]
    pub settings: AiSettingsView,
    /// Whether the chat model is strong enough to write answers (the `auto` mode writes answers only
    /// then): present once the check has started for the workspace's chat model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_check: Option<ModelCheck>,
}

#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct ModelCheck {
    /// The check is still running; answers are quoted until it passes.
    pub running: bool,
    #[serde(flatten)]
    pub result: Option<lianluo_knowledge::strength::Strength>,
}

async fn view(
    state: &AppState,
    ws: lianluo_domain::WorkspaceId,
    settings: &AiSettings,
) -> AppResult<SettingsView> {
    let model_check = match &state.knowledge {
        Some(kb) => kb
            .strength(ws)
            .await
            .map_err(crate::error::AppError::Internal)?
            .map(|result| ModelCheck { running: result.is_none(), result }),
        None => None,
    };
    Ok(SettingsView { settings: settings.view(), model_check })
}

pub async fn get_settings(State(state): State<AppState>, auth: Auth<Admin>) -> AppResult<Out<SettingsView>> {
    let settings = state.store.ai_settings(auth.workspace_id).await?;
    Ok(Out(view(&state, auth.workspace_id, &settings).await?))
}

/// Replaces the settings; a provider given without `api_key` keeps the saved key when its address is
/// unchanged. The next answer uses them; a new embedding model embeds the workspace's sources again.
pub async fn put_settings(
    State(state): State<AppState>,
    auth: Auth<Admin>,
    Json(mut settings): Json<AiSettings>,
) -> AppResult<Out<SettingsView>> {
    settings.validate()?;
    if let Some(kb) = &state.knowledge {
        for (field, provider) in [("chat", &settings.chat), ("embeddings", &settings.embeddings)] {
            if let Some(p) = provider {
                kb.check_provider(field, p).await?;
            }
        }
    }
    let saved = state.store.ai_settings(auth.workspace_id).await?;
    settings.keep_key_from(&saved);
    state.store.set_ai_settings(auth.workspace_id, &settings, auth.actor(), Timestamp::now()).await?;
    if let Some(kb) = &state.knowledge {
        let new_embedder = !ModelProvider::same_model(&saved.embeddings, &settings.embeddings);
        kb.settings_changed(auth.workspace_id, new_embedder)
            .await
            .map_err(crate::error::AppError::Internal)?;
    }
    Ok(Out(view(&state, auth.workspace_id, &settings).await?))
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
