//! Contacts: the customers.

use axum::{Json as Out, extract::State, http::StatusCode};
use lianluo_domain::{
    ContactId, Timestamp,
    contact::{Contact, ContactPatch, NewContact},
    page::Page,
    value::Tag,
};
use lianluo_store::ContactFilter;
use serde::Deserialize;

use super::{Created, page_request};
use crate::{
    AppState,
    auth::{Admin, Auth},
    error::{AppError, AppResult},
    extract::{Id, Json, Query},
};

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactQuery {
    /// Text found in the name, email, phone or an external id (case-insensitive).
    pub q: Option<String>,
    /// Only contacts with this tag.
    pub tag: Option<Tag>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

pub async fn list_contacts(
    State(state): State<AppState>,
    auth: Auth,
    Query(q): Query<ContactQuery>,
) -> AppResult<Out<Page<Contact>>> {
    let page = page_request(q.limit, q.cursor.as_deref())?;
    let query = q.q.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    if query.as_ref().is_some_and(|s| s.chars().count() > 200) {
        return Err(AppError::InvalidQuery("q may be at most 200 characters".into()));
    }
    let filter = ContactFilter { query, tag: q.tag };
    Ok(Out(state.store.list_contacts(auth.workspace_id, &filter, page).await?))
}

pub async fn get_contact(
    State(state): State<AppState>,
    auth: Auth,
    Id(id): Id<ContactId>,
) -> AppResult<Out<Contact>> {
    Ok(Out(state.store.get_contact(auth.workspace_id, id).await?))
}

pub async fn create_contact(
    State(state): State<AppState>,
    auth: Auth,
    Json(mut new): Json<NewContact>,
) -> AppResult<Created<Contact>> {
    new.validate()?;
    Ok(Created(state.store.create_contact(auth.workspace_id, &new, auth.actor(), Timestamp::now()).await?))
}

pub async fn update_contact(
    State(state): State<AppState>,
    auth: Auth,
    Id(id): Id<ContactId>,
    Json(mut patch): Json<ContactPatch>,
) -> AppResult<Out<Contact>> {
    patch.validate()?;
    Ok(Out(state.store.update_contact(auth.workspace_id, id, &patch, auth.actor(), Timestamp::now()).await?))
}

/// Deletes a contact without conversations (admins only; 409 while conversations remain).
pub async fn delete_contact(
    State(state): State<AppState>,
    auth: Auth<Admin>,
    Id(id): Id<ContactId>,
) -> AppResult<StatusCode> {
    state.store.delete_contact(auth.workspace_id, id, auth.actor(), Timestamp::now()).await?;
    Ok(StatusCode::NO_CONTENT)
}
