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

fn asset(body: &'static str, content_type: &'static str) -> Response {
    let mut res = body.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    res
}

/// The agent workspace's page. Scripts and styles come only from this server, and it cannot be framed.
pub async fn app_index() -> Response {
    let mut res = asset(include_str!("../assets/app/index.html"), "text/html; charset=utf-8");
    res.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; \
             frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        ),
    );
    res
}

pub async fn app_js() -> Response {
    asset(include_str!("../assets/app/app.js"), "application/javascript; charset=utf-8")
}

pub async fn app_css() -> Response {
    asset(include_str!("../assets/app/app.css"), "text/css; charset=utf-8")
}
