//! The HTTP server: routes, authentication, errors and the OpenAPI document.

pub mod assets;
pub mod auth;
pub mod bot;
pub mod error;
pub mod extract;
pub mod jobs;
pub mod knowledge;
pub mod maintenance;
pub mod openapi;
pub mod realtime;
pub mod router;
pub mod routes;
pub mod setup;
mod state;

use std::{future::Future, net::SocketAddr};

pub use router::{operations, router};
pub use state::{AppState, ServerConfig};

/// The largest request body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Serves the application on `listener` until `shutdown` completes, then finishes in-flight requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let upkeep = maintenance::spawn(state.store.clone(), std::time::Duration::from_secs(30));
    let sequencer = state.realtime.start(state.store.clone()).await.map_err(std::io::Error::other)?;
    let worker = jobs::spawn(state.clone());
    let result = axum::serve(listener, router(state).into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await;
    upkeep.abort();
    sequencer.abort();
    worker.abort();
    result
}
