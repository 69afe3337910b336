//! The worker that runs the durable job queue (`lianluo_store::jobs`): it claims the next due job of any
//! workspace, renews its lease while it runs, and records the outcome. Work queued here survives a
//! restart: a job whose worker stopped is taken over once its lease passes.
//!
//! Each lane has its own workers, so that a customer waiting for the AI agent never waits behind a long
//! indexing queue: `lianluo serve` runs `ServerConfig::job_workers` background workers and
//! `ServerConfig::ai_workers` interactive ones per node ([`spawn`]). In each lane a workspace may run a
//! share of the workers at a time, and the workspace running the fewest is served first, so one
//! workspace's long queue never holds back another's. Tests call [`run_until_idle`] to run what is
//! queued, deterministically, instead of waiting for it.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use lianluo_domain::{
    Timestamp, WorkspaceId,
    event::Actor,
    job::{Job, JobSpec, Lane},
};
use lianluo_knowledge::lang::Lang;
use lianluo_store::{Store, StoreError};
use serde_json::{Value, json};
use tokio::sync::Notify;

use crate::AppState;

/// How often an idle worker looks for due jobs (retries whose back-off passed, leases that ran out)
/// when nothing woke it.
const IDLE_POLL: Duration = Duration::from_secs(5);

/// The number of cores, from 1 to 4.
pub fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 4)
}

/// Wakes a lane's idle workers on this node when a job is queued.
#[derive(Debug, Default)]
pub struct Wake {
    interactive: Notify,
    background: Notify,
}

impl Wake {
    fn of(&self, lane: Lane) -> &Notify {
        match lane {
            Lane::Interactive => &self.interactive,
            Lane::Background => &self.background,
        }
    }

    /// Wakes one idle worker of the lane (or the next to go idle).
    pub fn notify(&self, lane: Lane) {
        self.of(lane).notify_one();
    }
}

/// How many workers a lane has on this node (0: another node runs that lane).
fn workers(state: &AppState, lane: Lane) -> usize {
    match lane {
        Lane::Interactive => state.config.ai_workers,
        Lane::Background => state.config.job_workers,
    }
}

/// How many jobs of a lane one workspace may run at once (across nodes): background, one fewer than the
/// workers (at least one); interactive, three quarters of them, so that a burst of customers in one
/// workspace leaves room for others'.
fn per_workspace(state: &AppState, lane: Lane) -> i64 {
    let n = workers(state, lane).max(1);
    match lane {
        Lane::Interactive => (n - n / 4).max(1) as i64,
        Lane::Background => n.saturating_sub(1).max(1) as i64,
    }
}

/// Queues a job and wakes a worker of its lane. A job with an active key already waiting or running
/// comes back instead (`false`).
pub async fn enqueue(
    store: &dyn Store,
    wake: &Wake,
    ws: WorkspaceId,
    spec: JobSpec,
    actor: Actor,
) -> Result<(Job, bool), StoreError> {
    let lane = spec.lane();
    let queued = store.enqueue_job(ws, spec, actor, Timestamp::now()).await?;
    wake.notify(lane);
    Ok(queued)
}

/// Runs queued jobs of both lanes until none is due; returns how many ran.
pub async fn run_until_idle(state: &AppState) -> Result<usize, StoreError> {
    let mut ran = 0;
    loop {
        let before = ran;
        for lane in [Lane::Interactive, Lane::Background] {
            while run_next(state, lane).await? {
                ran += 1;
            }
        }
        if ran == before {
            return Ok(ran);
        }
    }
}

/// Claims the next due job of a lane and runs it to its end; `false` when none was due.
pub async fn run_next(state: &AppState, lane: Lane) -> Result<bool, StoreError> {
    let lease_ms = state.config.job_lease_secs.max(1) as i64 * 1000;
    let share = per_workspace(state, lane);
    let Some(job) = state.store.claim_job(Timestamp::now(), lease_ms, share, lane).await? else {
        return Ok(false);
    };
    // More may be due: another idle worker looks while this one runs.
    state.jobs_wake.notify(lane);
    log(lane, &job, "job started");
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
        Ok(()) => log(lane, &job, "job ended"),
        // Taken over by another worker while this one was too slow to renew: the newer attempt counts.
        Err(StoreError::Conflict(_)) => {
            tracing::warn!(job = %job.id, "the job's lease passed to another worker; this attempt's outcome is dropped")
        }
        Err(e) => return Err(e),
    }
    Ok(true)
}

/// A job's start and end: `info` in the background lane; `debug` for the AI agent's turns, one per
/// customer message, whose answers the request log already shows.
fn log(lane: Lane, job: &Job, what: &'static str) {
    let kind = job.spec.kind().as_str();
    match lane {
        Lane::Background => tracing::info!(job = %job.id, kind, attempt = job.attempts, "{what}"),
        Lane::Interactive => tracing::debug!(job = %job.id, kind, attempt = job.attempts, "{what}"),
    }
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
            let now_progress = match (&job.spec, &state.knowledge) {
                // Indexing reports its progress on the source; the job shows the same.
                (JobSpec::IndexSource { source }, Some(kb)) => {
                    kb.progress(*source).and_then(|p| serde_json::to_value(p).ok()).unwrap_or(Value::Null)
                }
                _ => progress.lock().unwrap_or_else(|p| p.into_inner()).clone(),
            };
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
        JobSpec::IndexSource { source } => index(state, job, *source).await,
        JobSpec::AnswerCustomer { conversation, message } => {
            let message = match state.store.get_message(job.workspace_id, *message).await {
                Ok(m) => m,
                Err(StoreError::NotFound(_)) => return Ok(json!({ "status": "deleted" })),
                Err(e) => {
                    tracing::warn!(job = %job.id, error = %e, "reading a customer's message failed");
                    return Err("the message could not be read from the database; it is tried again".into());
                }
            };
            // A later attempt first checks that the earlier one did not answer before it stopped.
            let resumed = job.attempts > 1;
            match state.app.ai_turn(job.workspace_id, *conversation, &message, resumed).await {
                Ok(()) => Ok(Value::Null),
                Err(e) => {
                    tracing::warn!(conversation = %conversation, error = %e, "the AI agent could not answer");
                    Err("the AI agent could not answer; the server log says why".into())
                }
            }
        }
        JobSpec::FollowUpRating { conversation, answer, language } => {
            let language = if language == "zh" { Lang::Zh } else { Lang::En };
            let resumed = job.attempts > 1;
            match state
                .app
                .ai_after_not_helpful(job.workspace_id, *conversation, *answer, language, resumed)
                .await
            {
                Ok(()) => Ok(Value::Null),
                Err(e) => {
                    tracing::warn!(conversation = %conversation, error = %e, "the AI agent could not follow up a rating");
                    Err("the AI agent could not follow up the rating; the server log says why".into())
                }
            }
        }
    }
}

/// Indexes a source until the version read is the one stored: a source edited during the run is read
/// again by the same job (asking to index it meanwhile returned this job).
async fn index(state: &AppState, job: &Job, source: lianluo_domain::KbSourceId) -> Result<Value, String> {
    use crate::knowledge::Indexed;
    let kb = state.knowledge.as_ref().ok_or("the knowledge models are not loaded on this server")?;
    let retried = job.attempts < job.max_attempts;
    loop {
        match kb.index_source(job.workspace_id, source, retried).await {
            Ok(Indexed::Stored { passages }) => {
                return Ok(json!({ "status": "indexed", "passages": passages }));
            }
            // A website or a model provider that did not answer may answer later: the job backs off and
            // tries again (the source says so meanwhile).
            Ok(Indexed::Failed { reason, transient: true }) => return Err(reason),
            // The reason is on the source, where the admin reads it; trying again would not help.
            Ok(Indexed::Failed { reason, transient: false }) => {
                return Ok(json!({ "status": "failed", "reason": reason }));
            }
            Ok(Indexed::Superseded) => continue,
            Ok(Indexed::Deleted) => return Ok(json!({ "status": "deleted" })),
            Err(e) => {
                tracing::warn!(job = %job.id, source = %source, error = %e, "indexing a knowledge source failed");
                return Err(
                    "indexing stopped on a storage error; it is tried again, and the server log says why"
                        .into(),
                );
            }
        }
    }
}

/// Runs this node's workers of both lanes until the task is aborted.
pub fn spawn(state: AppState) -> tokio::task::JoinHandle<()> {
    spawn_lanes(state, &[Lane::Interactive, Lane::Background])
}

/// Runs this node's workers of the given lanes until the task is aborted: each runs a job at a time,
/// woken by [`enqueue`] or every few seconds for retries and jobs whose worker stopped.
pub fn spawn_lanes(state: AppState, lanes: &[Lane]) -> tokio::task::JoinHandle<()> {
    let lanes = lanes.to_vec();
    tokio::spawn(async move {
        let workers: Vec<_> = lanes
            .iter()
            .flat_map(|&lane| (0..workers(&state, lane)).map(move |_| lane))
            .map(|lane| tokio::spawn(work(state.clone(), lane)))
            .collect();
        // Aborting this task ends the workers with it.
        let _stop = AbortOnDrop(workers);
        std::future::pending::<()>().await;
    })
}

struct AbortOnDrop(Vec<tokio::task::JoinHandle<()>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.iter().for_each(tokio::task::JoinHandle::abort);
    }
}

async fn work(state: AppState, lane: Lane) {
    loop {
        match run_next(&state, lane).await {
            Ok(true) => continue,
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "the job queue could not be read"),
        }
        let _ = tokio::time::timeout(IDLE_POLL, state.jobs_wake.of(lane).notified()).await;
    }
}
