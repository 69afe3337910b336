//! Files served as they are, embedded in the binary: nothing is fetched from a CDN.

use axum::{
    extract::State,
    http::{HeaderValue, header},
    response::{Html, IntoResponse, Response},
};

use crate::{AppState, error::AppError};

/// The chat widget a site embeds with `<script src=".../widget.js" data-channel="wc_…">`.
pub const WIDGET_JS: &str = include_str!("../assets/widget.js");

pub async fn widget_js() -> Response {
    let mut res = WIDGET_JS.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/javascript; charset=utf-8"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    res
}

/// A pretend shop page with the demo's widget on it, served only by `lianluo demo`: open it in one tab to
/// chat as a customer while an agent answers in another.
pub async fn demo_shop(State(state): State<AppState>) -> Result<Html<String>, AppError> {
    let token = state.config.demo_shop_channel.as_deref().ok_or(AppError::RouteNotFound)?;
    if !token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(AppError::RouteNotFound);
    }
    Ok(Html(include_str!("../assets/demo-shop.html").replace("{{CHANNEL}}", token)))
}
