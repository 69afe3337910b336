//! Liveness and readiness probes.

use axum::{Json, extract::State, http::StatusCode};
use serde_json::{Value, json};

use crate::AppState;

/// The process is up.
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// The process can serve: its database answers. Without its models the knowledge base (and the AI agent)
/// is off while the inbox works: the answer says `"knowledge": "unavailable"` and `"status": "degraded"`.
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let (status, knowledge) =
        if state.knowledge.is_some() { ("ready", "ready") } else { ("degraded", "unavailable") };
    match state.store.ping().await {
        Ok(()) => (
            StatusCode::OK,
            Json(json!({ "status": status, "storage": state.store.backend(), "knowledge": knowledge })),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(
                    json!({ "status": "unavailable", "storage": state.store.backend(), "knowledge": knowledge }),
                ),
            )
        }
    }
}
