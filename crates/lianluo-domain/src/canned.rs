//! Canned responses: saved replies an agent inserts by typing `/shortcut`.

use serde::{Deserialize, Serialize};

use crate::{CannedResponseId, DomainError, Timestamp, UserId, WorkspaceId};

/// Longest reply text.
pub const MAX_CANNED_CHARS: usize = 5_000;

/// Checks a shortcut: 1 to 32 characters of `a-z`, `0-9`, `-` and `_`, stored lower-cased.
pub fn parse_shortcut(raw: &str) -> Result<String, DomainError> {
    let s = raw.trim().trim_start_matches('/').to_lowercase();
    let ok = (1..=32).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok { Ok(s) } else { Err(DomainError::new("shortcut", "1 to 32 characters of a-z, 0-9, '-' and '_'")) }
}

fn check_content(content: &str) -> Result<(), DomainError> {
    let n = content.chars().count();
    if content.trim().is_empty() || n > MAX_CANNED_CHARS {
        return Err(DomainError::new("content", format!("1 to {MAX_CANNED_CHARS} characters")));
    }
    Ok(())
}

/// A saved reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CannedResponse {
    pub id: CannedResponseId,
    pub workspace_id: WorkspaceId,
    /// Typed after `/` in the reply box.
    pub shortcut: String,
    pub content: String,
    pub created_by: UserId,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// Input to save a reply.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCannedResponse {
    pub shortcut: String,
    pub content: String,
}

impl NewCannedResponse {
    pub fn validate(&mut self) -> Result<(), DomainError> {
        self.shortcut = parse_shortcut(&self.shortcut)?;
        check_content(&self.content)
    }
}

/// Changes to a saved reply.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CannedResponsePatch {
    pub shortcut: Option<String>,
    pub content: Option<String>,
}

impl CannedResponsePatch {
    pub fn validate(&mut self) -> Result<(), DomainError> {
        if let Some(s) = &self.shortcut {
            self.shortcut = Some(parse_shortcut(s)?);
        }
        if let Some(c) = &self.content {
            check_content(c)?;
        }
        Ok(())
    }

    pub fn apply(&self, c: &mut CannedResponse, now: Timestamp) {
        if let Some(s) = &self.shortcut {
            c.shortcut = s.clone();
        }
        if let Some(t) = &self.content {
            c.content = t.clone();
        }
        c.updated_at = now;
    }
}
