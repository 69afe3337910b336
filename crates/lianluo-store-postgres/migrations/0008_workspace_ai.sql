-- A workspace's AI settings (answer mode, its own chat provider; JSON text) and the tokens it used.
CREATE TABLE workspace_ai (
    workspace_id uuid PRIMARY KEY REFERENCES workspaces(id),
    settings text NOT NULL,
    updated_at bigint NOT NULL
);

CREATE TABLE ai_usage (
    workspace_id uuid NOT NULL REFERENCES workspaces(id),
    -- days since 1970-01-01 (UTC)
    day bigint NOT NULL,
    model text NOT NULL,
    requests bigint NOT NULL,
    prompt_tokens bigint NOT NULL,
    completion_tokens bigint NOT NULL,
    PRIMARY KEY (workspace_id, day, model)
);
