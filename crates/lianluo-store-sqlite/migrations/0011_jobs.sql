-- The durable job queue: background work that survives a restart and can move between nodes. A worker claims
-- a pending job whose run_after has come (or a running one whose lease ran out) and holds a lease it renews.
CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    run_after INTEGER NOT NULL,
    lease_until INTEGER,
    progress TEXT NOT NULL,
    result TEXT NOT NULL,
    error TEXT,
    -- set while a job that runs one at a time per workspace waits or runs (its kind), else null
    active_key TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    finished_at INTEGER
);
CREATE UNIQUE INDEX jobs_one_active ON jobs (workspace_id, active_key) WHERE active_key IS NOT NULL;
CREATE INDEX jobs_due ON jobs (state, run_after) WHERE state IN ('pending', 'running');
CREATE INDEX jobs_by_workspace ON jobs (workspace_id, created_at);
