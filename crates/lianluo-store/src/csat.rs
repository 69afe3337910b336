//! Customer satisfaction ratings: what a backend keeps ([`CsatRows`]) and the use cases ([`Ratings`]),
//! written once over both SQL backends. A customer rates their own conversation once it is resolved;
//! rating again replaces the rating. Each rating keeps the agent and team that held the conversation
//! then, and is written with its `conversation.rated` event in one transaction.

pub mod conformance;

use std::future::Future;

use async_trait::async_trait;
use lianluo_domain::{
    ContactId, ConversationId, TeamId, Timestamp, UserId, WorkspaceId,
    conversation::Status,
    csat::{Csat, NewCsat},
    event::{Actor, EventKind, NewEvent},
};
use serde_json::json;

use crate::{
    Result, SqlStore, StoreError,
    columns::Columns,
    tx::{Backend, Tx, tx_fn},
};

/// Row primitives of the ratings, in one transaction (part of every backend's [`Tx`]).
pub trait CsatRows: Send {
    /// Stores a conversation's rating, replacing the one it had.
    fn save_csat(&mut self, c: &Csat) -> impl Future<Output = Result<()>> + Send;
    fn csat(
        &mut self,
        ws: WorkspaceId,
        conversation: ConversationId,
    ) -> impl Future<Output = Result<Option<Csat>>> + Send;
}

/// The rating use cases.
#[async_trait]
pub trait Ratings: Send + Sync + 'static {
    /// The customer `contact` rates their conversation. `NotFound` unless the conversation is theirs;
    /// `Conflict` unless it is resolved.
    async fn rate_conversation(
        &self,
        ws: WorkspaceId,
        conversation: ConversationId,
        contact: ContactId,
        rating: &NewCsat,
        now: Timestamp,
    ) -> Result<Csat>;
    /// A conversation's rating, if it has one.
    async fn conversation_csat(&self, ws: WorkspaceId, conversation: ConversationId) -> Result<Option<Csat>>;
}

#[async_trait]
impl<B: Backend> Ratings for SqlStore<B> {
    async fn rate_conversation(
        &self,
        ws: WorkspaceId,
        conversation: ConversationId,
        contact: ContactId,
        rating: &NewCsat,
        now: Timestamp,
    ) -> Result<Csat> {
        let rating = rating.clone();
        write!(self, |tx| {
            let conv = match tx.conversation(ws, conversation, true).await? {
                Some(c) if c.contact_id == contact => c,
                _ => return Err(StoreError::NotFound("conversation")),
            };
            if conv.status != Status::Resolved {
                return Err(StoreError::Conflict("only a resolved conversation is rated".to_string()));
            }
            let before = tx.csat(ws, conversation).await?;
            let csat = Csat {
                workspace_id: ws,
                conversation_id: conversation,
                contact_id: contact,
                rating: rating.rating,
                comment: rating.comment,
                assignee_id: conv.assignee_id,
                team_id: conv.team_id,
                created_at: before.map_or(now, |b| b.created_at),
                updated_at: now,
            };
            tx.save_csat(&csat).await?;
            let data = json!({ "rating": csat.rating, "comment": csat.comment });
            let event = NewEvent::new(
                Actor::Contact { id: contact },
                EventKind::ConversationRated,
                conversation,
                data,
            );
            tx.insert_event(ws, &event, now).await?;
            Ok(csat)
        })
    }

    async fn conversation_csat(&self, ws: WorkspaceId, conversation: ConversationId) -> Result<Option<Csat>> {
        read!(self, |tx| tx.csat(ws, conversation).await)
    }
}

/// The stored columns of a rating, in [`csat_row`]'s order.
pub const SELECT_CSAT: &str = "SELECT workspace_id, conversation_id, contact_id, rating, comment, assignee_id, \
    team_id, created_at, updated_at FROM csat_ratings";

/// The statement both backends run ([`CsatRows::save_csat`]), given their placeholder for the n-th
/// value, in [`SELECT_CSAT`]'s order.
pub fn save_csat_sql(placeholder: fn(usize) -> String) -> String {
    let values: Vec<String> = (1..=9).map(placeholder).collect();
    format!(
        "INSERT INTO csat_ratings (workspace_id, conversation_id, contact_id, rating, comment, assignee_id, \
         team_id, created_at, updated_at) VALUES ({}) ON CONFLICT (conversation_id) DO UPDATE SET \
         rating = excluded.rating, comment = excluded.comment, assignee_id = excluded.assignee_id, \
         team_id = excluded.team_id, updated_at = excluded.updated_at",
        values.join(", ")
    )
}

/// A rating from the columns of [`SELECT_CSAT`].
pub fn csat_row<R: Columns>(r: &R) -> Result<Csat> {
    Ok(Csat {
        workspace_id: WorkspaceId(r.uuid(0)?),
        conversation_id: ConversationId(r.uuid(1)?),
        contact_id: ContactId(r.uuid(2)?),
        rating: i16::try_from(r.int(3)?).map_err(|_| crate::columns::corrupt("rating"))?,
        comment: r.opt_text(4)?,
        assignee_id: r.opt_uuid(5)?.map(UserId),
        team_id: r.opt_uuid(6)?.map(TeamId),
        created_at: r.time(7)?,
        updated_at: r.time(8)?,
    })
}
