//! Handlers, one file per resource.

pub mod ai;
pub mod api_tokens;
pub mod auth;
pub mod canned;
pub mod channels;
pub mod contacts;
pub mod conversations;
pub mod events;
pub mod health;
pub mod jobs;
pub mod knowledge;
pub mod messages;
pub mod openai;
pub mod realtime;
pub mod teams;
pub mod uploads;
pub mod users;
pub mod widget;
pub mod workspace;

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use lianluo_domain::page::{Cursor, MAX_LIMIT, PageRequest};
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// `limit` and `cursor`, shared by every paginated list.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// Rows per page, 1 to 100 (default 25).
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Checks `limit` and decodes `cursor`.
pub fn page_request(limit: Option<u32>, cursor: Option<&str>) -> Result<PageRequest, AppError> {
    if let Some(l) = limit
        && !(1..=MAX_LIMIT).contains(&l)
    {
        return Err(AppError::InvalidQuery(format!("limit must be 1 to {MAX_LIMIT}")));
    }
    let after = cursor
        .map(|c| Cursor::decode(c).ok_or_else(|| AppError::InvalidQuery("cursor is not valid".into())))
        .transpose()?;
    Ok(PageRequest::new(limit, after))
}

/// A list that is never paginated (teams, channels, tokens).
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[schemars(rename = "{T}List")]
pub struct List<T> {
    pub items: Vec<T>,
}

/// 201 Created with the new resource as the body.
pub struct Created<T>(pub T);

impl<T: Serialize> IntoResponse for Created<T> {
    fn into_response(self) -> Response {
        (StatusCode::CREATED, Json(self.0)).into_response()
    }
}
