-- The durable job queue: background work that survives a restart and can move between nodes. A worker claims
-- a pending job whose run_after has come (or a running one whose lease ran out) and holds a lease it renews.
CREATE TABLE jobs (
    id uuid PRIMARY KEY,
    workspace_id uuid NOT NULL REFERENCES workspaces(id),
    kind text NOT NULL,
    payload jsonb NOT NULL,
    state text NOT NULL,
    attempts bigint NOT NULL DEFAULT 0,
    max_attempts bigint NOT NULL,
    run_after bigint NOT NULL,
    lease_until bigint,
    progress jsonb NOT NULL,
    result jsonb NOT NULL,
    error text,
    -- set while a job that runs one at a time per workspace waits or runs (its kind), else null
    active_key text,
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL,
    finished_at bigint
);
CREATE UNIQUE INDEX jobs_one_active ON jobs (workspace_id, active_key) WHERE active_key IS NOT NULL;
CREATE INDEX jobs_due ON jobs (state, run_after) WHERE state IN ('pending', 'running');
CREATE INDEX jobs_by_workspace ON jobs (workspace_id, created_at);
