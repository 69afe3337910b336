//! The durable job queue: what a backend keeps ([`JobRows`]) and what workers and the API do with it
//! ([`JobQueue`]), written once over both SQL backends.
//!
//! A worker claims the next due job with a lease, fairly: from the workspace with the fewest jobs running,
//! and never from one already running its share (so one workspace's long queue never holds back another's;
//! claims from several nodes take turns, each in a few milliseconds), renews the lease while it runs, and reports the
//! outcome for the attempt it claimed: a worker whose lease ran out and whose job was taken over cannot
//! overwrite the newer attempt. A failed attempt waits longer before each retry ([`Job::backoff_ms`]);
//! after the last one the job stays failed until an admin retries it.

pub mod conformance;

use std::future::Future;

use async_trait::async_trait;
use lianluo_domain::{
    JobId, Timestamp, WorkspaceId,
    event::{Actor, EventKind, NewEvent},
    job::{Job, JobKind, JobSpec, JobState, Lane},
};
use serde_json::{Value, json};

use crate::{
    Result, SqlStore, StoreError,
    tx::{Backend, Tx, tx_fn},
};

/// How long a claimed job is held before another worker may take it over, unless renewed.
pub const DEFAULT_LEASE_MS: i64 = 60_000;

/// Row primitives of the job queue, in one transaction (part of every backend's [`Tx`]).
pub trait JobRows: Send {
    /// Stores a new job; `active_key` is set while a job with a [`JobSpec::active_key`] waits or runs (a
    /// second one with the same key in the workspace is a `Conflict`).
    fn insert_job(&mut self, job: &Job, active_key: Option<&str>) -> impl Future<Output = Result<()>> + Send;
    fn job(
        &mut self,
        ws: WorkspaceId,
        id: JobId,
        lock: bool,
    ) -> impl Future<Output = Result<Option<Job>>> + Send;
    /// The job waiting or running in a workspace under an active key, if any.
    fn active_job(&mut self, ws: WorkspaceId, key: &str) -> impl Future<Output = Result<Option<Job>>> + Send;
    /// The newest job of a kind in a workspace.
    fn latest_job(
        &mut self,
        ws: WorkspaceId,
        kind: JobKind,
    ) -> impl Future<Output = Result<Option<Job>>> + Send;
    /// A workspace's jobs, newest first, optionally in one state and one lane.
    fn jobs(
        &mut self,
        ws: WorkspaceId,
        state: Option<JobState>,
        lane: Option<Lane>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<Job>>> + Send;
    /// Claims the next due job of a lane (pending with `run_after` passed, or running with its lease run
    /// out) of a workspace with fewer than `per_workspace` jobs of the lane running under a live lease,
    /// taking the workspaces with the fewest running first, then the longest due: it becomes running, its
    /// attempts grow by one and it is leased until `lease_until`.
    fn claim_job(
        &mut self,
        now: Timestamp,
        lease_until: Timestamp,
        per_workspace: i64,
        lane: Lane,
    ) -> impl Future<Output = Result<Option<Job>>> + Send;
    /// Writes a job's state back (everything but its id, workspace, spec and creation time) with its
    /// active key (see [`JobRows::insert_job`]).
    fn save_job(&mut self, job: &Job, active_key: Option<&str>) -> impl Future<Output = Result<()>> + Send;
    /// Jobs of every workspace waiting or running. Never exposed to a workspace.
    fn unfinished_jobs(&mut self) -> impl Future<Output = Result<i64>> + Send;
    /// Deletes the jobs of a lane, in every workspace, that finished (done or failed) before `before`.
    fn delete_finished_jobs(
        &mut self,
        before: Timestamp,
        lane: Lane,
    ) -> impl Future<Output = Result<u64>> + Send;
}

/// How long finished background jobs stay listed before maintenance deletes them: 30 days.
pub const FINISHED_JOBS_KEPT_MS: i64 = 30 * 24 * 3600 * 1000;

/// How long the AI agent's finished turns stay (one per customer message; the answers themselves are
/// messages): a day.
pub const FINISHED_TURNS_KEPT_MS: i64 = 24 * 3600 * 1000;

/// A lane's kinds as an SQL list (`'a', 'b'`): this crate's own fixed names, never input.
pub fn lane_kinds_sql(lane: Lane) -> String {
    lane.kinds().iter().map(|k| format!("'{}'", k.as_str())).collect::<Vec<_>>().join(", ")
}

/// The condition ` AND kind IN (…)` that keeps a statement on `jobs` to a lane; empty for every lane.
pub fn in_lane_sql(lane: Option<Lane>) -> String {
    lane.map(|l| format!(" AND kind IN ({})", lane_kinds_sql(l))).unwrap_or_default()
}

/// The job queue's use cases.
#[async_trait]
pub trait JobQueue: Send + Sync + 'static {
    /// Queues a job. A job with an active key already waiting or running is returned instead (`false`:
    /// nothing new was queued); one waiting out its back-off after a failed attempt is made due now.
    async fn enqueue_job(
        &self,
        ws: WorkspaceId,
        spec: JobSpec,
        actor: Actor,
        now: Timestamp,
    ) -> Result<(Job, bool)>;
    /// Claims the next due job of a lane for `lease_ms`, from a workspace running fewer than
    /// `per_workspace` of the lane (see [`JobRows::claim_job`]). Never exposed to a workspace.
    async fn claim_job(
        &self,
        now: Timestamp,
        lease_ms: i64,
        per_workspace: i64,
        lane: Lane,
    ) -> Result<Option<Job>>;
    /// Renews the lease of the attempt a worker claimed and records its progress. `Conflict` when the
    /// attempt lost its lease to another worker.
    async fn renew_job(&self, claimed: &Job, progress: Value, now: Timestamp, lease_ms: i64) -> Result<Job>;
    /// Marks the claimed attempt done with its final progress and its result.
    async fn finish_job(&self, claimed: &Job, progress: Value, result: Value, now: Timestamp) -> Result<Job>;
    /// Marks the claimed attempt failed with a readable reason: pending again after the back-off, or
    /// failed for good after the last attempt.
    async fn fail_job(&self, claimed: &Job, error: &str, now: Timestamp) -> Result<Job>;
    async fn get_job(&self, ws: WorkspaceId, id: JobId) -> Result<Job>;
    async fn latest_job(&self, ws: WorkspaceId, kind: JobKind) -> Result<Option<Job>>;
    async fn list_jobs(
        &self,
        ws: WorkspaceId,
        state: Option<JobState>,
        lane: Option<Lane>,
        limit: u32,
    ) -> Result<Vec<Job>>;
    /// Queues a failed job again with fresh attempts, or runs a job waiting out the back-off after a
    /// failed attempt now (its attempts count on). `Conflict` for any other job.
    async fn retry_job(&self, ws: WorkspaceId, id: JobId, actor: Actor, now: Timestamp) -> Result<Job>;
    /// Jobs of every workspace waiting or running. Never exposed to a workspace.
    async fn unfinished_jobs(&self) -> Result<i64>;
    /// Deletes background jobs that finished more than [`FINISHED_JOBS_KEPT_MS`] before `now`, and the AI
    /// agent's turns after [`FINISHED_TURNS_KEPT_MS`]; returns how many.
    async fn delete_old_jobs(&self, now: Timestamp) -> Result<u64>;
}

fn active_key(job: &Job) -> Option<String> {
    let waiting = matches!(job.state, JobState::Pending | JobState::Running);
    job.spec.active_key().filter(|_| waiting)
}

/// Queues a job in a transaction (with the change that asks for it, or alone): a job with an active key
/// already waiting or running is returned instead (`false`: nothing new was queued).
pub(crate) async fn queue<T: Tx>(
    tx: &mut T,
    ws: WorkspaceId,
    spec: JobSpec,
    actor: Actor,
    now: Timestamp,
) -> Result<(Job, bool)> {
    if let Some(key) = spec.active_key()
        && let Some(active) = tx.active_job(ws, &key).await?
    {
        // Asked again while it waits out the back-off after a failed attempt: it runs now.
        if active.state == JobState::Pending
            && active.run_after > now
            && let Some(locked) = tx.job(ws, active.id, true).await?
            && let Some(due) = run_waiting_now(tx, locked, now).await?
        {
            return Ok((due, false));
        }
        return Ok((active, false));
    }
    let job = Job::new(ws, spec, now);
    tx.insert_job(&job, active_key(&job).as_deref()).await?;
    record(tx, actor, EventKind::JobQueued, &job, now).await?;
    Ok((job, true))
}

/// Makes a job that waits out its back-off after a failed attempt due now (its attempts count on) and
/// returns it; `None` for any other job. `job` is read and locked in this transaction.
async fn run_waiting_now<T: Tx>(tx: &mut T, mut job: Job, now: Timestamp) -> Result<Option<Job>> {
    if job.state != JobState::Pending || job.attempts == 0 || job.error.is_none() {
        return Ok(None);
    }
    job.run_after = job.run_after.min(now);
    job.updated_at = now;
    tx.save_job(&job, active_key(&job).as_deref()).await?;
    Ok(Some(job))
}

/// The attempt `claimed` still holds its job, read and locked in this transaction.
async fn held<T: Tx>(tx: &mut T, claimed: &Job) -> Result<Job> {
    match tx.job(claimed.workspace_id, claimed.id, true).await? {
        Some(j) if j.state == JobState::Running && j.attempts == claimed.attempts => Ok(j),
        Some(_) => Err(StoreError::Conflict("the job's lease passed to another worker".into())),
        None => Err(StoreError::NotFound("job")),
    }
}

/// Records a job's change in the workspace's event log. The AI agent's turns (one per customer message)
/// are recorded only when one fails for good: their answers are events already, and a queued and a done
/// event per message would double the log.
async fn record<T: Tx>(tx: &mut T, actor: Actor, kind: EventKind, job: &Job, now: Timestamp) -> Result<()> {
    if job.spec.lane() == Lane::Interactive && kind != EventKind::JobFailed {
        return Ok(());
    }
    let data =
        json!({ "kind": job.spec.kind().as_str(), "state": job.state.as_str(), "attempts": job.attempts });
    tx.insert_event(job.workspace_id, &NewEvent::new(actor, kind, job.id, data), now).await
}

#[async_trait]
impl<B: Backend> JobQueue for SqlStore<B> {
    async fn enqueue_job(
        &self,
        ws: WorkspaceId,
        spec: JobSpec,
        actor: Actor,
        now: Timestamp,
    ) -> Result<(Job, bool)> {
        let key = spec.active_key();
        let outcome = write!(self, |tx| queue(tx, ws, spec, actor, now).await);
        match (outcome, key) {
            // Another request queued the same job at the same moment: that one is the job.
            (Err(StoreError::Conflict(_)), Some(key)) => {
                let active = read!(self, |tx| tx.active_job(ws, &key).await)?;
                Ok((active.ok_or(StoreError::Busy)?, false))
            }
            (other, _) => other,
        }
    }

    async fn claim_job(
        &self,
        now: Timestamp,
        lease_ms: i64,
        per_workspace: i64,
        lane: Lane,
    ) -> Result<Option<Job>> {
        write!(self, |tx| tx.claim_job(now, Timestamp(now.0 + lease_ms), per_workspace.max(1), lane).await)
    }

    async fn renew_job(&self, claimed: &Job, progress: Value, now: Timestamp, lease_ms: i64) -> Result<Job> {
        let claimed = claimed.clone();
        write!(self, |tx| {
            let mut job = held(tx, &claimed).await?;
            job.progress = progress;
            job.lease_until = Some(Timestamp(now.0 + lease_ms));
            job.updated_at = now;
            tx.save_job(&job, active_key(&job).as_deref()).await?;
            Ok(job)
        })
    }

    async fn finish_job(&self, claimed: &Job, progress: Value, result: Value, now: Timestamp) -> Result<Job> {
        let claimed = claimed.clone();
        write!(self, |tx| {
            let mut job = held(tx, &claimed).await?;
            job.state = JobState::Done;
            job.progress = progress;
            job.result = Some(result);
            job.error = None;
            job.lease_until = None;
            job.updated_at = now;
            job.finished_at = Some(now);
            tx.save_job(&job, active_key(&job).as_deref()).await?;
            record(tx, Actor::System, EventKind::JobDone, &job, now).await?;
            Ok(job)
        })
    }

    async fn fail_job(&self, claimed: &Job, error: &str, now: Timestamp) -> Result<Job> {
        let (claimed, error) = (claimed.clone(), error.to_string());
        write!(self, |tx| {
            let mut job = held(tx, &claimed).await?;
            job.error = Some(error);
            job.lease_until = None;
            job.updated_at = now;
            if job.attempts >= job.max_attempts {
                job.state = JobState::Failed;
                job.finished_at = Some(now);
            } else {
                job.state = JobState::Pending;
                job.run_after = Timestamp(now.0 + Job::backoff_ms(job.attempts));
            }
            tx.save_job(&job, active_key(&job).as_deref()).await?;
            if job.state == JobState::Failed {
                record(tx, Actor::System, EventKind::JobFailed, &job, now).await?;
            }
            Ok(job)
        })
    }

    async fn get_job(&self, ws: WorkspaceId, id: JobId) -> Result<Job> {
        read!(self, |tx| tx.job(ws, id, false).await)?.ok_or(StoreError::NotFound("job"))
    }

    async fn latest_job(&self, ws: WorkspaceId, kind: JobKind) -> Result<Option<Job>> {
        read!(self, |tx| tx.latest_job(ws, kind).await)
    }

    async fn list_jobs(
        &self,
        ws: WorkspaceId,
        state: Option<JobState>,
        lane: Option<Lane>,
        limit: u32,
    ) -> Result<Vec<Job>> {
        read!(self, |tx| tx.jobs(ws, state, lane, limit.clamp(1, 200)).await)
    }

    async fn retry_job(&self, ws: WorkspaceId, id: JobId, actor: Actor, now: Timestamp) -> Result<Job> {
        write!(self, |tx| {
            let mut job = tx.job(ws, id, true).await?.ok_or(StoreError::NotFound("job"))?;
            if let Some(due) = run_waiting_now(tx, job.clone(), now).await? {
                return Ok(due);
            }
            if job.state != JobState::Failed {
                return Err(StoreError::Conflict(format!(
                    "the job is {}; only a failed job, or one waiting to be tried again, is retried",
                    job.state.as_str()
                )));
            }
            job.state = JobState::Pending;
            job.attempts = 0;
            job.run_after = now;
            job.finished_at = None;
            job.updated_at = now;
            if let Some(key) = job.spec.active_key()
                && tx.active_job(ws, &key).await?.is_some()
            {
                return Err(StoreError::Conflict("the same job is already waiting or running".into()));
            }
            tx.save_job(&job, active_key(&job).as_deref()).await?;
            record(tx, actor, EventKind::JobQueued, &job, now).await?;
            Ok(job)
        })
    }

    async fn unfinished_jobs(&self) -> Result<i64> {
        read!(self, |tx| tx.unfinished_jobs().await)
    }

    async fn delete_old_jobs(&self, now: Timestamp) -> Result<u64> {
        write!(self, |tx| {
            let jobs =
                tx.delete_finished_jobs(Timestamp(now.0 - FINISHED_JOBS_KEPT_MS), Lane::Background).await?;
            let turns =
                tx.delete_finished_jobs(Timestamp(now.0 - FINISHED_TURNS_KEPT_MS), Lane::Interactive).await?;
            Ok(jobs + turns)
        })
    }
}

/// The listing both backends run ([`JobRows::jobs`]): a workspace's jobs, newest first, given their
/// placeholders for the workspace, the state (null for any; typed where the backend needs it) and the
/// limit.
pub fn list_jobs_sql(ws: &str, state: &str, limit: &str, lane: Option<Lane>) -> String {
    format!(
        "{SELECT_JOB} WHERE workspace_id = {ws} AND ({state} IS NULL OR state = {state}){} \
         ORDER BY created_at DESC, id DESC LIMIT {limit}",
        in_lane_sql(lane)
    )
}

/// The claim both backends run ([`JobRows::claim_job`]) for a lane, given their placeholders for the time,
/// the new lease's end and the per-workspace limit, and the row lock PostgreSQL adds to skip rows another worker
/// holds. The jobs a workspace has running are counted in the same statement; claims must not overlap for
/// the count to hold (SQLite has one writer at a time; PostgreSQL's claims take an advisory lock first).
pub fn claim_job_sql(now: &str, lease_until: &str, per_workspace: &str, lock: &str, lane: Lane) -> String {
    let columns = SELECT_JOB.trim_start_matches("SELECT ").trim_end_matches(" FROM jobs");
    let kinds = lane_kinds_sql(lane);
    let running = format!(
        "(SELECT count(*) FROM jobs r WHERE r.workspace_id = j.workspace_id AND r.state = 'running' \
         AND r.lease_until > {now} AND r.kind IN ({kinds}))"
    );
    format!(
        "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_until = {lease_until}, updated_at = {now} \
         WHERE id = (SELECT j.id FROM jobs j WHERE ((j.state = 'pending' AND j.run_after <= {now}) \
         OR (j.state = 'running' AND j.lease_until <= {now})) AND j.kind IN ({kinds}) AND {running} < {per_workspace} \
         ORDER BY {running}, j.run_after, j.id LIMIT 1{lock}) RETURNING {columns}"
    )
}

/// The stored columns of a job, in [`SELECT_JOB`]'s order.
pub const SELECT_JOB: &str = "SELECT id, workspace_id, kind, payload, state, attempts, max_attempts, run_after, \
    lease_until, progress, result, error, created_at, updated_at, finished_at FROM jobs";

/// A job from the columns of [`SELECT_JOB`].
pub fn job_row<R: crate::columns::Columns>(r: &R) -> Result<Job> {
    use crate::columns::{corrupt, parse_stored};
    let kind = r.text(2)?;
    Ok(Job {
        id: JobId(r.uuid(0)?),
        workspace_id: WorkspaceId(r.uuid(1)?),
        spec: JobSpec::from_parts(&kind, r.json(3)?).ok_or_else(|| corrupt("job kind or payload"))?,
        state: parse_stored("job state", JobState::parse(&r.text(4)?))?,
        attempts: r.int(5)?,
        max_attempts: r.int(6)?,
        run_after: r.time(7)?,
        lease_until: r.opt_time(8)?,
        progress: r.json(9)?,
        result: Some(r.json(10)?).filter(|v| !v.is_null()),
        error: r.opt_text(11)?,
        created_at: r.time(12)?,
        updated_at: r.time(13)?,
        finished_at: r.opt_time(14)?,
    })
}
