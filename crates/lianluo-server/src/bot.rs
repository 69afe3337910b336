//! Runs the AI agent's turn (`lianluo_app::agent`) after a request has answered: as a durable job for a
//! customer's message, in the background for the follow-up to a rating.

use lianluo_domain::{ConversationId, WorkspaceId, event::Actor, job::JobSpec, message::Message};
use lianluo_knowledge::lang::Lang;

use crate::AppState;

/// Queues the AI agent's turn for a customer's message as a job in the interactive lane (`crate::jobs`),
/// so that it survives a restart and any node may run it.
pub async fn queue(state: &AppState, ws: WorkspaceId, conversation: ConversationId, message: &Message) {
    if !state.app.ai_available() {
        return;
    }
    let spec = JobSpec::AnswerCustomer { conversation, message: message.id };
    if let Err(e) =
        crate::jobs::enqueue(state.store.as_ref(), &state.jobs_wake, ws, spec, Actor::System).await
    {
        // The message is stored; the conversation waits for a person as it would without the AI agent.
        tracing::warn!(conversation = %conversation, error = %e, "the AI agent's turn could not be queued");
    }
}

/// After the customer rates an answer not helpful: ask to rephrase the first time, hand over after that.
pub fn spawn_after_not_helpful(state: &AppState, ws: WorkspaceId, id: ConversationId, language: Lang) {
    let app = state.app.clone();
    tokio::spawn(async move {
        if let Err(e) = app.ai_after_not_helpful(ws, id, language).await {
            tracing::warn!(conversation = %id, error = %e, "the AI agent could not follow up a rating");
        }
    });
}
