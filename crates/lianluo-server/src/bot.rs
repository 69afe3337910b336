//! The AI agent's turns (`lianluo_app::agent`) run as durable jobs after a request has answered: for a
//! customer's message, and for the follow-up to an answer rated not helpful.

use lianluo_domain::job::Lane;

use crate::AppState;

/// Wakes a worker of the interactive lane (`crate::jobs`) for the AI agent's turn, which the store queued
/// as a job in the transaction of the customer's message or rating: it survives a restart and any node
/// may run it.
pub fn turn_queued(state: &AppState) {
    state.jobs_wake.notify(Lane::Interactive);
}
