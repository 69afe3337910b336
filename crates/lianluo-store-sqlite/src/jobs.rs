//! The job queue's rows in SQLite. Writes are serialised, so a claim (one `UPDATE … RETURNING`) never
//! hands a job to two workers.

use lianluo_domain::{
    JobId, Timestamp, WorkspaceId,
    job::{Job, JobKind, JobState, Lane},
};
use lianluo_store::{
    Result,
    columns::Columns,
    jobs::{JobRows, SELECT_JOB, claim_job_sql, in_lane_sql, job_row, list_jobs_sql},
};
use rusqlite::params;

use crate::rows::{SqliteTx, collect, exec, first, s, to_json};

fn result_json(job: &Job) -> String {
    to_json(job.result.as_ref().unwrap_or(&serde_json::Value::Null))
}

impl JobRows for SqliteTx {
    async fn insert_job(&mut self, j: &Job, active_key: Option<&str>) -> Result<()> {
        exec(
            &self.conn,
            "INSERT INTO jobs (id, workspace_id, kind, payload, state, attempts, max_attempts, run_after, lease_until, \
             progress, result, error, active_key, created_at, updated_at, finished_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
            params![
                s(j.id),
                s(j.workspace_id),
                j.spec.kind().as_str(),
                to_json(&j.spec.payload()),
                j.state.as_str(),
                j.attempts,
                j.max_attempts,
                j.run_after.0,
                j.lease_until.map(|t| t.0),
                to_json(&j.progress),
                result_json(j),
                j.error,
                active_key,
                j.created_at.0,
                j.updated_at.0,
                j.finished_at.map(|t| t.0),
            ],
        )
        .map(drop)
    }

    async fn job(&mut self, ws: WorkspaceId, id: JobId, _lock: bool) -> Result<Option<Job>> {
        first(&self.conn, &format!("{SELECT_JOB} WHERE workspace_id = ?1 AND id = ?2"), [s(ws), s(id)], |r| {
            job_row(r)
        })
    }

    async fn active_job(&mut self, ws: WorkspaceId, key: &str) -> Result<Option<Job>> {
        let sql = format!("{SELECT_JOB} WHERE workspace_id = ?1 AND active_key = ?2");
        first(&self.conn, &sql, params![s(ws), key], |r| job_row(r))
    }

    async fn latest_job(&mut self, ws: WorkspaceId, kind: JobKind) -> Result<Option<Job>> {
        first(
            &self.conn,
            &format!(
                "{SELECT_JOB} WHERE workspace_id = ?1 AND kind = ?2 ORDER BY created_at DESC, id DESC LIMIT 1"
            ),
            params![s(ws), kind.as_str()],
            |r| job_row(r),
        )
    }

    async fn jobs(
        &mut self,
        ws: WorkspaceId,
        state: Option<JobState>,
        lane: Option<Lane>,
        limit: u32,
    ) -> Result<Vec<Job>> {
        collect(
            &self.conn,
            &list_jobs_sql("?1", "?2", "?3", lane),
            params![s(ws), state.map(JobState::as_str), limit],
            |r| job_row(r),
        )
    }

    async fn claim_job(
        &mut self,
        now: Timestamp,
        lease_until: Timestamp,
        per_workspace: i64,
        lane: Lane,
    ) -> Result<Option<Job>> {
        first(
            &self.conn,
            &claim_job_sql("?1", "?2", "?3", "", lane),
            [now.0, lease_until.0, per_workspace],
            |r| job_row(r),
        )
    }

    async fn save_job(&mut self, j: &Job, active_key: Option<&str>) -> Result<()> {
        exec(
            &self.conn,
            "UPDATE jobs SET state = ?3, attempts = ?4, run_after = ?5, lease_until = ?6, progress = ?7, result = ?8, \
             error = ?9, active_key = ?10, updated_at = ?11, finished_at = ?12 WHERE workspace_id = ?1 AND id = ?2",
            params![
                s(j.workspace_id),
                s(j.id),
                j.state.as_str(),
                j.attempts,
                j.run_after.0,
                j.lease_until.map(|t| t.0),
                to_json(&j.progress),
                result_json(j),
                j.error,
                active_key,
                j.updated_at.0,
                j.finished_at.map(|t| t.0),
            ],
        )
        .map(drop)
    }

    async fn unfinished_jobs(&mut self) -> Result<i64> {
        first(&self.conn, "SELECT count(*) FROM jobs WHERE state IN ('pending', 'running')", [], |r| r.int(0))
            .map(|n| n.unwrap_or(0))
    }

    async fn delete_finished_jobs(&mut self, before: Timestamp, lane: Lane) -> Result<u64> {
        let sql = format!(
            "DELETE FROM jobs WHERE state IN ('done', 'failed') AND finished_at < ?1{}",
            in_lane_sql(Some(lane))
        );
        exec(&self.conn, &sql, [before.0]).map(|n| n as u64)
    }
}
