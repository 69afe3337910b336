//! The worker that runs the durable job queue (`lianluo_store::jobs`): it claims the next due job of any
//! workspace, renews its lease while it runs, and records the outcome. Work queued here survives a
//! restart: a job whose worker stopped is taken over once its lease passes.
//!
//! `lianluo serve` runs one worker per node ([`spawn`]); tests call [`run_until_idle`] to run what is
//! queued, deterministically, instead of waiting for it.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use lianluo_domain::{
    Timestamp, WorkspaceId,
    event::Actor,
    job::{Job, JobSpec},
};
use lianluo_store::StoreError;
use serde_json::{Value, json};

use crate::AppState;

/// How often an idle worker looks for due jobs (retries whose back-off passed, leases that ran out)
/// when nothing woke it.
const IDLE_POLL: Duration = Duration::from_secs(5);

/// Queues a job and wakes this node's worker. A kind that runs one at a time per workspace returns the
/// job already waiting or running (`false`).
pub async fn enqueue(
    state: &AppState,
    ws: WorkspaceId,
    spec: JobSpec,
    actor: Actor,
) -> Result<(Job, bool), StoreError> {
    let queued = state.store.enqueue_job(ws, spec, actor, Timestamp::now()).await?;
    state.jobs_wake.notify_one();
    Ok(queued)
}

/// Runs queued jobs until none is due; returns how many ran.
pub async fn run_until_idle(state: &AppState) -> Result<usize, StoreError> {
    let mut ran = 0;
    while run_next(state).await? {
        ran += 1;
    }
    Ok(ran)
}

/// Claims the next due job and runs it to its end; `false` when none was due.
pub async fn run_next(state: &AppState) -> Result<bool, StoreError> {
    let lease_ms = state.config.job_lease_secs.max(1) as i64 * 1000;
    let Some(job) = state.store.claim_job(Timestamp::now(), lease_ms).await? else {
        return Ok(false);
    };
    tracing::info!(job = %job.id, kind = job.spec.kind().as_str(), attempt = job.attempts, "job started");
    if job.attempts > job.max_attempts {
        // Its worker stopped during every attempt (a crash, or a job that brings the node down).
        state.store.fail_job(&job, "the job was interrupted on every attempt", Timestamp::now()).await?;
        return Ok(true);
    }
    let progress = Arc::new(Mutex::new(Value::Null));
    let renewer = renew_while_running(state.clone(), job.clone(), progress.clone(), lease_ms);
    let outcome = run(state, &job, &progress).await;
    renewer.abort();
    let now = Timestamp::now();
    let recorded = match outcome {
        Ok(result) => {
            let last = progress.lock().unwrap_or_else(|p| p.into_inner()).clone();
            state.store.finish_job(&job, last, result, now).await.map(drop)
        }
        Err(reason) => {
            tracing::warn!(job = %job.id, kind = job.spec.kind().as_str(), reason, "job attempt failed");
            state.store.fail_job(&job, &reason, now).await.map(drop)
        }
    };
    match recorded {
        Ok(()) => tracing::info!(job = %job.id, kind = job.spec.kind().as_str(), "job ended"),
        // Taken over by another worker while this one was too slow to renew: the newer attempt counts.
        Err(StoreError::Conflict(_)) => {
            tracing::warn!(job = %job.id, "the job's lease passed to another worker; this attempt's outcome is dropped")
        }
        Err(e) => return Err(e),
    }
    Ok(true)
}

/// Renews the job's lease (with its latest progress) every third of the lease until aborted.
fn renew_while_running(
    state: AppState,
    job: Job,
    progress: Arc<Mutex<Value>>,
    lease_ms: i64,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let every = Duration::from_millis((lease_ms / 3).max(100) as u64);
        loop {
            tokio::time::sleep(every).await;
            let now_progress = progress.lock().unwrap_or_else(|p| p.into_inner()).clone();
            if let Err(e) = state.store.renew_job(&job, now_progress, Timestamp::now(), lease_ms).await {
                tracing::warn!(job = %job.id, error = %e, "renewing a job's lease failed");
            }
        }
    })
}

/// One attempt at a job: its result, or a reason a person can read (causes go to the log).
async fn run(state: &AppState, job: &Job, progress: &Arc<Mutex<Value>>) -> Result<Value, String> {
    match &job.spec {
        JobSpec::MineConversations { conversations } => {
            let kb = state.knowledge.as_ref().ok_or("the knowledge models are not loaded on this server")?;
            let read = |n: usize| {
                *progress.lock().unwrap_or_else(|p| p.into_inner()) = json!({ "conversations_read": n })
            };
            match kb.mine_conversations(job.workspace_id, *conversations as usize, Actor::System, &read).await
            {
                Ok(report) => Ok(serde_json::to_value(report).unwrap_or(Value::Null)),
                Err(e) => {
                    tracing::warn!(job = %job.id, error = %e, "mining conversations failed");
                    Err("mining failed; it is tried again, and the server log says why".into())
                }
            }
        }
    }
}

/// Runs this node's worker until the task is aborted: a job at a time, woken by [`enqueue`] or every few
/// seconds for retries and jobs whose worker stopped.
pub fn spawn(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match run_next(&state).await {
                Ok(true) => continue,
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "the job queue could not be read"),
            }
            let _ = tokio::time::timeout(IDLE_POLL, state.jobs_wake.notified()).await;
        }
    })
}
