//! The one error type of the HTTP API: every failure has a stable `code`, a status, and a message
//! that is safe to show. A 5xx says "internal error" and nothing else; the cause goes to the log.

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use lianluo_domain::DomainError;
use lianluo_store::StoreError;
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("the request body is not valid JSON: {0}")]
    MalformedJson(String),
    #[error("{0}")]
    InvalidBody(String),
    #[error("send the body as JSON with Content-Type: application/json")]
    UnsupportedMediaType,
    #[error("this file cannot be attached: {0}")]
    UnsupportedFile(String),
    #[error("the request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    #[error("{0}")]
    Validation(DomainError),
    #[error("{0}")]
    InvalidQuery(String),
    #[error("{0:?} is not a valid id")]
    InvalidId(String),
    #[error("sign in or send a valid API token")]
    Unauthenticated,
    #[error("wrong email or password")]
    BadCredentials,
    #[error("this needs the {0} role")]
    Forbidden(&'static str),
    #[error("missing or wrong X-CSRF-Token header")]
    CsrfFailed,
    #[error("this connection must come from a page this server allows")]
    CrossOrigin,
    #[error("the identity's hash does not match its id")]
    IdentityInvalid,
    #[error("this route is a WebSocket: send an Upgrade request")]
    UpgradeRequired,
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("no such route")]
    RouteNotFound,
    #[error("this route does not accept that method")]
    MethodNotAllowed,
    #[error("{0}")]
    Conflict(String),
    #[error("too many attempts; try again in {0} seconds")]
    RateLimited(u64),
    /// A queue in front of a worker (a model) is full: the caller waits and tries again.
    #[error("busy with other requests; try again in {0} seconds")]
    QueueFull(u64),
    #[error("the server is busy; try again shortly")]
    Busy,
    /// A service the request needs cannot serve it now (its cause is said, for an operator to act on).
    #[error("{0}")]
    Unavailable(String),
    /// A service the request needs failed (the store or a model): the client is told to try again, the
    /// cause goes to the log.
    #[error("the service could not answer; try again shortly")]
    ServiceFailed(String),
    #[error("internal error")]
    Internal(String),
}

impl AppError {
    /// The HTTP status and the stable code clients can match on.
    pub fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            AppError::MalformedJson(_) => (StatusCode::BAD_REQUEST, "malformed_json"),
            AppError::InvalidBody(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"),
            AppError::UnsupportedMediaType => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
            AppError::UnsupportedFile(_) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_file"),
            AppError::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            AppError::Validation(_) => (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            AppError::InvalidQuery(_) => (StatusCode::BAD_REQUEST, "invalid_query"),
            AppError::InvalidId(_) => (StatusCode::BAD_REQUEST, "invalid_id"),
            AppError::Unauthenticated => (StatusCode::UNAUTHORIZED, "unauthenticated"),
            AppError::BadCredentials => (StatusCode::UNAUTHORIZED, "bad_credentials"),
            AppError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            AppError::CsrfFailed => (StatusCode::FORBIDDEN, "csrf_failed"),
            AppError::CrossOrigin => (StatusCode::FORBIDDEN, "cross_origin"),
            AppError::IdentityInvalid => (StatusCode::FORBIDDEN, "identity_invalid"),
            AppError::UpgradeRequired => (StatusCode::UPGRADE_REQUIRED, "upgrade_required"),
            AppError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            AppError::RouteNotFound => (StatusCode::NOT_FOUND, "route_not_found"),
            AppError::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            AppError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            AppError::RateLimited(_) => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            AppError::QueueFull(_) => (StatusCode::TOO_MANY_REQUESTS, "queue_full"),
            AppError::Busy => (StatusCode::SERVICE_UNAVAILABLE, "busy"),
            AppError::Unavailable(_) | AppError::ServiceFailed(_) => {
                (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
            }
            AppError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => AppError::NotFound(what),
            StoreError::Conflict(msg) => AppError::Conflict(msg),
            StoreError::Invalid(d) => AppError::Validation(d),
            StoreError::Busy => AppError::Busy,
            StoreError::Backend(msg) => AppError::Internal(msg),
        }
    }
}

impl From<lianluo_app::Error> for AppError {
    fn from(e: lianluo_app::Error) -> Self {
        match e {
            lianluo_app::Error::Store(e) => e.into(),
            lianluo_app::Error::Invariant(what) => AppError::Internal(what.into()),
            lianluo_app::Error::Knowledge(e) => AppError::Internal(e),
        }
    }
}

impl From<DomainError> for AppError {
    fn from(e: DomainError) -> Self {
        AppError::Validation(e)
    }
}

/// The JSON error body: `{ "error": { "code", "message", "field"? } }`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ErrorDetail {
    /// Stable, snake_case: `validation_failed`, `not_found`, `conflict`, …
    pub code: &'static str,
    pub message: String,
    /// The input field at fault, for validation errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        match &self {
            AppError::Internal(cause) => tracing::error!(error.cause = %cause, "request failed"),
            AppError::ServiceFailed(cause) => {
                tracing::warn!(error.cause = %cause, "a service failed a request")
            }
            _ => {}
        }
        let field = match &self {
            AppError::Validation(d) => Some(d.field.clone()),
            _ => None,
        };
        let body = ErrorBody { error: ErrorDetail { code, message: self.to_string(), field } };
        let mut res = (status, Json(body)).into_response();
        if let AppError::RateLimited(secs) | AppError::QueueFull(secs) = self
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        res
    }
}

pub type AppResult<T> = Result<T, AppError>;
