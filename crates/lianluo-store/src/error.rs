//! What a store can fail with; the server maps each variant to an HTTP status.

use lianluo_domain::DomainError;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No such row in this workspace (rows of other workspaces are reported the same way).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The change would break a uniqueness rule or a reference still in use.
    #[error("{0}")]
    Conflict(String),
    /// An input referred to something that does not exist or broke a domain rule.
    #[error(transparent)]
    Invalid(#[from] DomainError),
    /// The store is overloaded or shutting down; try again later.
    #[error("storage is busy")]
    Busy,
    /// The database failed; the text is for the log, never for the client.
    #[error("database error: {0}")]
    Backend(String),
}
