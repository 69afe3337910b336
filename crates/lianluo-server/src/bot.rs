//! Runs the AI agent's turn (`lianluo_app::agent`) in the background, after a request has answered.

use lianluo_domain::{ConversationId, WorkspaceId, message::Message};
use lianluo_knowledge::lang::Lang;

use crate::AppState;

/// Runs the AI agent for a customer's message, in the background.
pub fn spawn(state: &AppState, ws: WorkspaceId, conversation: ConversationId, message: &Message) {
    if !state.app.ai_available() {
        return;
    }
    let (app, message) = (state.app.clone(), message.clone());
    tokio::spawn(async move {
        if let Err(e) = app.ai_turn(ws, conversation, &message).await {
            tracing::warn!(conversation = %conversation, error = %e, "the AI agent could not answer");
        }
    });
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
