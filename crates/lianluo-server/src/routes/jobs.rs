//! The workspace's background jobs: what waits, runs, finished or failed, and retrying a failed one.

use axum::{Json as Out, extract::State};
use lianluo_domain::{
    JobId, Timestamp,
    job::{Job, JobState, Lane},
};
use serde::Deserialize;

use super::List;
use crate::{
    AppState,
    auth::{Admin, Auth},
    error::AppResult,
    extract::{Id, Query},
};

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JobQuery {
    /// Only jobs in this state: `pending`, `running`, `done` or `failed`.
    pub state: Option<JobState>,
    /// Only jobs of this lane: `background` (indexing, crawling, mining) or `interactive` (the AI agent's
    /// turns, one per customer message, kept a day).
    pub lane: Option<Lane>,
    /// At most this many, newest first (1 to 200, default 50).
    pub limit: Option<u32>,
}

/// The workspace's jobs, newest first.
pub async fn list_jobs(
    State(state): State<AppState>,
    auth: Auth<Admin>,
    Query(q): Query<JobQuery>,
) -> AppResult<Out<List<Job>>> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(lianluo_domain::DomainError::new("limit", "1 to 200").into());
    }
    Ok(Out(List { items: state.store.list_jobs(auth.workspace_id, q.state, q.lane, limit).await? }))
}

pub async fn get_job(
    State(state): State<AppState>,
    auth: Auth<Admin>,
    Id(id): Id<JobId>,
) -> AppResult<Out<Job>> {
    Ok(Out(state.store.get_job(auth.workspace_id, id).await?))
}

/// Queues a failed job again, with fresh attempts; 409 unless it failed.
pub async fn retry_job(
    State(state): State<AppState>,
    auth: Auth<Admin>,
    Id(id): Id<JobId>,
) -> AppResult<Out<Job>> {
    let job = state.store.retry_job(auth.workspace_id, id, auth.actor(), Timestamp::now()).await?;
    state.jobs_wake.notify(job.spec.lane());
    Ok(Out(job))
}
