//! Agents and admins of the workspace.

use axum::{Json as Out, extract::State};
use lianluo_domain::{
    Timestamp, UserId,
    directory::{NewUser, User, UserPatch, check_password},
    page::Page,
};

use super::{Created, PageQuery, page_request};
use crate::{
    AppState,
    auth::{Admin, Auth, blocking, hash_password},
    error::{AppError, AppResult},
    extract::{Id, Json, Query},
};

pub async fn list_users(
    State(state): State<AppState>,
    auth: Auth,
    Query(q): Query<PageQuery>,
) -> AppResult<Out<Page<User>>> {
    let page = page_request(q.limit, q.cursor.as_deref())?;
    Ok(Out(state.store.list_users(auth.workspace_id, page).await?))
}

pub async fn get_user(State(state): State<AppState>, auth: Auth, Id(id): Id<UserId>) -> AppResult<Out<User>> {
    Ok(Out(state.store.get_user(auth.workspace_id, id).await?))
}

/// Adds a user with an initial password (admins only).
pub async fn create_user(
    State(state): State<AppState>,
    auth: Auth<Admin>,
    Json(new): Json<NewUser>,
) -> AppResult<Created<User>> {
    check_password("password", &new.password)?;
    let password = new.password;
    let hash = blocking(move || hash_password(&password)).await??;
    let user = User {
        id: UserId::new(),
        workspace_id: auth.workspace_id,
        name: new.name,
        email: new.email,
        role: new.role,
        active: true,
        created_at: Timestamp::now(),
    };
    state.store.create_user(&user, &hash, auth.actor()).await?;
    Ok(Created(user))
}

/// Renames, changes the role of, or (de)activates a user (admins only). Users are deactivated, never
/// deleted, so the history they wrote keeps its author.
pub async fn update_user(
    State(state): State<AppState>,
    auth: Auth<Admin>,
    Id(id): Id<UserId>,
    Json(patch): Json<UserPatch>,
) -> AppResult<Out<User>> {
    let demotes_self = patch.role.is_some_and(|r| r != lianluo_domain::directory::Role::Admin);
    if id == auth.user_id && (demotes_self || patch.active == Some(false)) {
        return Err(AppError::Conflict("you cannot demote or deactivate yourself; ask another admin".into()));
    }
    let user = state.store.update_user(auth.workspace_id, id, &patch, auth.actor(), Timestamp::now()).await?;
    let _ = state.revoked.send(auth.workspace_id);
    Ok(Out(user))
}
