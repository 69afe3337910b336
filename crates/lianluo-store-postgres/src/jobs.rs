//! The job queue's rows in PostgreSQL: claims take turns under a transaction-level advisory lock, so each
//! sees what the others claimed (the per-workspace share holds exactly), and skip rows another transaction
//! holds locked (a job being retried or failed) instead of waiting for them.

use lianluo_domain::{
    JobId, Timestamp, WorkspaceId,
    job::{Job, JobKind, JobState, Lane},
};
use lianluo_store::{
    Result,
    jobs::{JobRows, SELECT_JOB, claim_job_sql, in_lane_sql, job_row, list_jobs_sql},
};
use tokio_postgres::types::Json;

use crate::rows::{PgRow, PgTx, lock};

/// The advisory lock that serialises claims (any fixed number; migrations use another).
const CLAIM_LOCK: i64 = 7_275_737_402;

fn result_json(job: &Job) -> Json<&serde_json::Value> {
    static NULL: serde_json::Value = serde_json::Value::Null;
    Json(job.result.as_ref().unwrap_or(&NULL))
}

impl JobRows for PgTx {
    async fn insert_job(&mut self, j: &Job, active_key: Option<&str>) -> Result<()> {
        self.exec(
            "INSERT INTO jobs (id, workspace_id, kind, payload, state, attempts, max_attempts, run_after, lease_until, \
             progress, result, error, active_key, created_at, updated_at, finished_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
            &[
                &j.id.0,
                &j.workspace_id.0,
                &j.spec.kind().as_str(),
                &Json(j.spec.payload()),
                &j.state.as_str(),
                &j.attempts,
                &j.max_attempts,
                &j.run_after.0,
                &j.lease_until.map(|t| t.0),
                &Json(&j.progress),
                &result_json(j),
                &j.error,
                &active_key,
                &j.created_at.0,
                &j.updated_at.0,
                &j.finished_at.map(|t| t.0),
            ],
        )
        .await
        .map(drop)
    }

    async fn job(&mut self, ws: WorkspaceId, id: JobId, l: bool) -> Result<Option<Job>> {
        let sql = lock(format!("{SELECT_JOB} WHERE workspace_id = $1 AND id = $2"), l);
        self.one(&sql, &[&ws.0, &id.0]).await?.as_ref().map(|r| job_row(&PgRow(r))).transpose()
    }

    async fn active_job(&mut self, ws: WorkspaceId, key: &str) -> Result<Option<Job>> {
        let sql = format!("{SELECT_JOB} WHERE workspace_id = $1 AND active_key = $2");
        self.one(&sql, &[&ws.0, &key]).await?.as_ref().map(|r| job_row(&PgRow(r))).transpose()
    }

    async fn latest_job(&mut self, ws: WorkspaceId, kind: JobKind) -> Result<Option<Job>> {
        let sql = format!(
            "{SELECT_JOB} WHERE workspace_id = $1 AND kind = $2 ORDER BY created_at DESC, id DESC LIMIT 1"
        );
        self.one(&sql, &[&ws.0, &kind.as_str()]).await?.as_ref().map(|r| job_row(&PgRow(r))).transpose()
    }

    async fn jobs(
        &mut self,
        ws: WorkspaceId,
        state: Option<JobState>,
        lane: Option<Lane>,
        limit: u32,
    ) -> Result<Vec<Job>> {
        let sql = list_jobs_sql("$1", "$2::text", "$3", lane);
        let rows = self.all(&sql, &[&ws.0, &state.map(JobState::as_str), &i64::from(limit)]).await?;
        rows.iter().map(|r| job_row(&PgRow(r))).collect()
    }

    async fn claim_job(
        &mut self,
        now: Timestamp,
        lease_until: Timestamp,
        per_workspace: i64,
        lane: Lane,
    ) -> Result<Option<Job>> {
        // Claims from every worker of every node take turns (a few milliseconds each), so that each sees
        // the jobs the others claimed and no workspace runs more than its share.
        self.exec("SELECT pg_advisory_xact_lock($1)", &[&CLAIM_LOCK]).await?;
        let sql = claim_job_sql("$1", "$2", "$3", " FOR UPDATE SKIP LOCKED", lane);
        self.one(&sql, &[&now.0, &lease_until.0, &per_workspace])
            .await?
            .as_ref()
            .map(|r| job_row(&PgRow(r)))
            .transpose()
    }

    async fn save_job(&mut self, j: &Job, active_key: Option<&str>) -> Result<()> {
        self.exec(
            "UPDATE jobs SET state = $3, attempts = $4, run_after = $5, lease_until = $6, progress = $7, result = $8, \
             error = $9, active_key = $10, updated_at = $11, finished_at = $12 WHERE workspace_id = $1 AND id = $2",
            &[
                &j.workspace_id.0,
                &j.id.0,
                &j.state.as_str(),
                &j.attempts,
                &j.run_after.0,
                &j.lease_until.map(|t| t.0),
                &Json(&j.progress),
                &result_json(j),
                &j.error,
                &active_key,
                &j.updated_at.0,
                &j.finished_at.map(|t| t.0),
            ],
        )
        .await
        .map(drop)
    }

    async fn unfinished_jobs(&mut self) -> Result<i64> {
        let row = self.one("SELECT count(*) FROM jobs WHERE state IN ('pending', 'running')", &[]).await?;
        Ok(row.map(|r| r.get::<_, i64>(0)).unwrap_or(0))
    }

    async fn delete_finished_jobs(&mut self, before: Timestamp, lane: Lane) -> Result<u64> {
        let sql = format!(
            "DELETE FROM jobs WHERE state IN ('done', 'failed') AND finished_at < $1{}",
            in_lane_sql(Some(lane))
        );
        self.exec(&sql, &[&before.0]).await
    }
}
