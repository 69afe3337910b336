//! Validation errors raised by domain rules.

/// A rule of the domain was broken by an input; says which field and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct DomainError {
    /// The input field at fault, in the API's spelling (`identities[0].value`).
    pub field: String,
    /// A human-readable reason.
    pub message: String,
}

impl DomainError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}
