//! Signing in and out, the current caller, and changing one's password.

use axum::{
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use lianluo_domain::{
    Timestamp,
    directory::{Role, User, Workspace, check_password},
    value::EmailAddress,
};
use lianluo_store::Session;
use serde::{Deserialize, Serialize};

use crate::{
    AppState,
    auth::{
        Auth, Credential, SESSION_COOKIE, blocking, cookie, hash_password, random_token, token_hash,
        verify_password,
    },
    error::{AppError, AppResult},
    extract::{ClientIp, Json},
};

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct LoginResponse {
    pub user: User,
    pub workspace: Workspace,
    /// Send this in the `X-CSRF-Token` header with every state-changing request made with the session cookie.
    pub csrf_token: String,
    pub expires_at: Timestamp,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct MeResponse {
    /// The signed-in user, or the user who created the API token.
    pub user: User,
    pub workspace: Workspace,
    /// The role requests are made with (an API token's own role).
    pub role: Role,
    /// `session` or `api_token`.
    pub credential: &'static str,
    /// For sessions: the CSRF token to send back.
    pub csrf_token: Option<String>,
}

/// An argon2 hash of a random password, verified when the email is unknown so that the answer takes
/// as long as for a real account.
static DUMMY_HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();

fn client_key(ip: Option<std::net::IpAddr>) -> String {
    ip.map(|ip| format!("client:{ip}")).unwrap_or_else(|| "client:unknown".into())
}

/// Signs in with email and password; sets the session cookie.
#[tracing::instrument(skip_all)]
pub async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(body): Json<LoginRequest>,
) -> AppResult<Response> {
    let client = client_key(ip);
    state.login_by_client.check(&client)?;
    let email = EmailAddress::parse(&body.email).map_err(|_| AppError::BadCredentials);
    let account = body.email.trim().to_lowercase();
    state.sign_in_guard.check(&account, ip)?;
    let creds = match &email {
        Ok(e) => state.store.credentials_by_email(e).await?,
        Err(_) => None,
    };
    let hash = match &creds {
        Some(c) if c.user.active => c.password_hash.clone(),
        _ => DUMMY_HASH.get_or_init(|| hash_password(&random_token(24)).unwrap_or_default()).clone(),
    };
    let password = body.password;
    let ok = blocking(move || verify_password(&password, &hash)).await?;
    let creds = match creds {
        Some(c) if ok && c.user.active => c,
        _ => {
            tracing::info!("sign-in refused");
            state.login_by_client.fail(&client);
            state.sign_in_guard.fail(&account, ip);
            return Err(AppError::BadCredentials);
        }
    };
    state.sign_in_guard.succeed(&account, ip);
    let secret = random_token(32);
    let now = Timestamp::now();
    let ttl_ms = i64::from(state.config.session_ttl_hours) * 3_600_000;
    let session = Session {
        token_hash: token_hash(&secret),
        user_id: creds.user.id,
        workspace_id: creds.user.workspace_id,
        csrf_token: random_token(32),
        created_at: now,
        expires_at: now.plus_millis(ttl_ms),
    };
    state.store.create_session(&session).await?;
    let workspace = state.store.get_workspace(creds.user.workspace_id).await?;
    tracing::info!(user.id = %creds.user.id, workspace.id = %workspace.id, "signed in");
    let secure = if state.config.secure_cookies { "; Secure" } else { "" };
    let set_cookie = format!(
        "{SESSION_COOKIE}={secret}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
        ttl_ms / 1000
    );
    let body = LoginResponse {
        user: creds.user,
        workspace,
        csrf_token: session.csrf_token,
        expires_at: session.expires_at,
    };
    let mut res = (StatusCode::OK, axum::Json(body)).into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&set_cookie).map_err(|e| AppError::Internal(e.to_string()))?,
    );
    Ok(res)
}

/// Ends the current session and clears the cookie.
pub async fn logout(State(state): State<AppState>, auth: Auth, headers: HeaderMap) -> AppResult<Response> {
    if let (Credential::Session { .. }, Some(secret)) = (&auth.credential, cookie(&headers, SESSION_COOKIE)) {
        state.store.delete_session(&token_hash(secret)).await?;
        let _ = state.revoked.send(auth.workspace_id);
    }
    let mut res = StatusCode::NO_CONTENT.into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("lianluo_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"),
    );
    Ok(res)
}

/// Who is calling, in which workspace, with which role.
pub async fn get_me(State(state): State<AppState>, auth: Auth) -> AppResult<axum::Json<MeResponse>> {
    let user = match auth.user.clone() {
        Some(u) => u,
        None => state.store.get_user(auth.workspace_id, auth.user_id).await?,
    };
    let workspace = state.store.get_workspace(auth.workspace_id).await?;
    let (credential, csrf_token) = match auth.credential {
        Credential::Session { csrf_token } => ("session", Some(csrf_token)),
        Credential::ApiToken { .. } => ("api_token", None),
    };
    Ok(axum::Json(MeResponse { user, workspace, role: auth.role, credential, csrf_token }))
}

/// What a signed-in user may change about themselves.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MePatch {
    /// The name customers and colleagues see on your replies.
    pub name: lianluo_domain::value::Name,
}

/// Renames the signed-in user (their role and status stay an admin's to change).
pub async fn update_me(
    State(state): State<AppState>,
    auth: Auth,
    Json(body): Json<MePatch>,
) -> AppResult<axum::Json<User>> {
    auth.user.as_ref().ok_or(AppError::Forbidden("signed-in user"))?;
    let patch = lianluo_domain::directory::UserPatch { name: Some(body.name), role: None, active: None };
    let user = state
        .store
        .update_user(auth.workspace_id, auth.user_id, &patch, auth.actor(), Timestamp::now())
        .await?;
    Ok(axum::Json(user))
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    pub current_password: String,
    /// 10 to 200 characters.
    pub new_password: String,
}

/// Changes the signed-in user's password; every session of the user ends. Wrong current passwords count
/// as failed sign-ins of the account (the same back-off), so a stolen session cannot guess it freely.
pub async fn change_password(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    auth: Auth,
    Json(body): Json<ChangePassword>,
) -> AppResult<StatusCode> {
    let user = auth.user.as_ref().ok_or(AppError::Forbidden("signed-in user"))?;
    check_password("new_password", &body.new_password)?;
    let account = user.email.as_str().to_lowercase();
    state.sign_in_guard.check(&account, ip)?;
    let creds = state.store.credentials_by_email(&user.email).await?.ok_or(AppError::Unauthenticated)?;
    let (current, hash) = (body.current_password, creds.password_hash);
    // A 422 on the field, not a 401: the session is still good, and clients take a 401 as signed out.
    if !blocking(move || verify_password(&current, &hash)).await? {
        state.sign_in_guard.fail(&account, ip);
        let wrong = lianluo_domain::DomainError::new("current_password", "is not your current password");
        return Err(AppError::Validation(wrong));
    }
    let new = body.new_password;
    let hash = blocking(move || hash_password(&new)).await??;
    state.store.set_password(auth.workspace_id, auth.user_id, &hash, auth.actor(), Timestamp::now()).await?;
    let _ = state.revoked.send(auth.workspace_id);
    Ok(StatusCode::NO_CONTENT)
}
