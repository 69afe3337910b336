//! Creating a workspace with its first admin: what `lianluo admin create` and the demo do.

use lianluo_domain::{
    Timestamp, UserId, WorkspaceId,
    directory::{Role, User, Workspace, check_password, parse_slug},
    event::Actor,
    value::{EmailAddress, Name},
};
use lianluo_store::{Store, StoreError};

use crate::{
    auth::{blocking, hash_password},
    error::AppError,
};

/// What is needed to set up a workspace.
#[derive(Debug, Clone)]
pub struct NewWorkspace {
    pub workspace_name: String,
    pub slug: String,
    pub admin_name: String,
    pub admin_email: String,
    pub admin_password: String,
}

/// Creates the workspace if its slug is free, then its first admin. Fails with `Conflict` if the slug
/// or the email is taken.
pub async fn create_workspace(store: &dyn Store, new: NewWorkspace) -> Result<(Workspace, User), AppError> {
    let name = Name::parse(&new.workspace_name)
        .map_err(|m| lianluo_domain::DomainError::new("workspace_name", m))?;
    let slug = parse_slug(&new.slug)?;
    let admin_name =
        Name::parse(&new.admin_name).map_err(|m| lianluo_domain::DomainError::new("admin_name", m))?;
    let email = EmailAddress::parse(&new.admin_email)
        .map_err(|m| lianluo_domain::DomainError::new("admin_email", m))?;
    check_password("admin_password", &new.admin_password)?;
    if store.credentials_by_email(&email).await?.is_some() {
        return Err(AppError::Conflict(format!("a user with email {email} exists")));
    }
    let now = Timestamp::now();
    let ws = Workspace { id: WorkspaceId::new(), name, slug, created_at: now };
    store.create_workspace(&ws).await?;
    let user = add_user(store, ws.id, admin_name, email, Role::Admin, new.admin_password, now).await?;
    Ok((ws, user))
}

/// Adds a user with a password (hashed here) as the system.
pub async fn add_user(
    store: &dyn Store,
    ws: WorkspaceId,
    name: Name,
    email: EmailAddress,
    role: Role,
    password: String,
    now: Timestamp,
) -> Result<User, AppError> {
    check_password("password", &password)?;
    let hash = blocking(move || hash_password(&password)).await??;
    let user = User { id: UserId::new(), workspace_id: ws, name, email, role, active: true, created_at: now };
    match store.create_user(&user, &hash, Actor::System).await {
        Ok(()) => Ok(user),
        Err(StoreError::Conflict(m)) => Err(AppError::Conflict(m)),
        Err(e) => Err(e.into()),
    }
}
