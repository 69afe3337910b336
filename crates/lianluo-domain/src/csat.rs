//! Customer satisfaction (CSAT): the rating, from 1 to 5, and the optional comment a customer gives a
//! conversation once it is resolved. It is kept with who held the conversation then (agent and team),
//! so that a later reassignment does not move the rating to someone else.

use serde::{Deserialize, Serialize};

use crate::{ContactId, ConversationId, DomainError, TeamId, Timestamp, UserId, WorkspaceId};

/// Longest comment, in characters.
pub const MAX_COMMENT_CHARS: usize = 1_000;

/// A customer's rating of a resolved conversation; one per conversation (rating again replaces it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Csat {
    pub workspace_id: WorkspaceId,
    pub conversation_id: ConversationId,
    pub contact_id: ContactId,
    /// 1 (very dissatisfied) to 5 (very satisfied).
    pub rating: i16,
    pub comment: Option<String>,
    /// The agent the conversation was assigned to when it was rated.
    pub assignee_id: Option<UserId>,
    /// The team the conversation was with when it was rated.
    pub team_id: Option<TeamId>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// What the customer sends.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCsat {
    /// 1 (very dissatisfied) to 5 (very satisfied).
    pub rating: i16,
    /// Optional, at most 1,000 characters.
    #[serde(default)]
    pub comment: Option<String>,
}

impl NewCsat {
    /// Checks the rating and the comment; a blank comment is none.
    pub fn validate(&mut self) -> Result<(), DomainError> {
        if !(1..=5).contains(&self.rating) {
            return Err(DomainError::new("rating", "a whole number from 1 to 5"));
        }
        self.comment = self.comment.take().map(|c| c.trim().to_string()).filter(|c| !c.is_empty());
        if let Some(c) = &self.comment {
            let control = c.chars().any(|ch| ch.is_control() && ch != '\n');
            if c.chars().count() > MAX_COMMENT_CHARS || control {
                return Err(DomainError::new(
                    "comment",
                    format!("at most {MAX_COMMENT_CHARS} characters, without control characters"),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(rating: i16, comment: Option<&str>) -> Result<NewCsat, DomainError> {
        let mut n = NewCsat { rating, comment: comment.map(str::to_string) };
        n.validate().map(|()| n)
    }

    #[test]
    fn ratings_are_one_to_five_with_a_short_comment() {
        assert_eq!(check(5, Some("  很快就解决了  ")).unwrap().comment.as_deref(), Some("很快就解决了"));
        assert_eq!(check(1, Some("   ")).unwrap().comment, None, "a blank comment is none");
        assert_eq!(check(0, None).unwrap_err().field, "rating");
        assert_eq!(check(6, None).unwrap_err().field, "rating");
        assert_eq!(check(3, Some(&"好".repeat(1_001))).unwrap_err().field, "comment");
        assert_eq!(check(3, Some("bell\u{7}")).unwrap_err().field, "comment");
        assert!(check(3, Some("line one\nline two")).is_ok());
    }
}
