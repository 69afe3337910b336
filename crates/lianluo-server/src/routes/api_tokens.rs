//! API tokens for integrations (admins only). The secret is shown once, at creation.

use axum::{Json as Out, extract::State, http::StatusCode};
use lianluo_domain::{
    ApiTokenId, Timestamp,
    directory::{ApiToken, NewApiToken},
};
use serde::Serialize;

use super::{Created, List};
use crate::{
    AppState,
    auth::{Admin, Auth, TOKEN_PREFIX, random_token, token_hash},
    error::AppResult,
    extract::{Id, Json},
};

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct CreatedToken {
    pub token: ApiToken,
    /// The bearer secret. It is not stored and cannot be shown again.
    pub secret: String,
}

pub async fn list_api_tokens(
    State(state): State<AppState>,
    auth: Auth<Admin>,
) -> AppResult<Out<List<ApiToken>>> {
    Ok(Out(List { items: state.store.list_api_tokens(auth.workspace_id).await? }))
}

pub async fn create_api_token(
    State(state): State<AppState>,
    auth: Auth<Admin>,
    Json(new): Json<NewApiToken>,
) -> AppResult<Created<CreatedToken>> {
    let secret = format!("{TOKEN_PREFIX}{}", random_token(32));
    let token = ApiToken {
        id: ApiTokenId::new(),
        workspace_id: auth.workspace_id,
        name: new.name,
        role: new.role,
        created_by: auth.user_id,
        created_at: Timestamp::now(),
        revoked_at: None,
        prefix: secret.chars().take(TOKEN_PREFIX.len() + 6).collect(),
    };
    state.store.create_api_token(&token, &token_hash(&secret), auth.actor()).await?;
    Ok(Created(CreatedToken { token, secret }))
}

/// Revokes a token at once; requests made with it fail from then on.
pub async fn revoke_api_token(
    State(state): State<AppState>,
    auth: Auth<Admin>,
    Id(id): Id<ApiTokenId>,
) -> AppResult<StatusCode> {
    state.store.revoke_api_token(auth.workspace_id, id, auth.actor(), Timestamp::now()).await?;
    let _ = state.revoked.send(auth.workspace_id);
    Ok(StatusCode::NO_CONTENT)
}
