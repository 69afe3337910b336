-- A workspace's AI settings (answer mode, its own chat provider; JSON text) and the tokens it used.
CREATE TABLE workspace_ai (
    workspace_id TEXT PRIMARY KEY REFERENCES workspaces(id),
    settings TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE ai_usage (
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    -- days since 1970-01-01 (UTC)
    day INTEGER NOT NULL,
    model TEXT NOT NULL,
    requests INTEGER NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, day, model)
);
