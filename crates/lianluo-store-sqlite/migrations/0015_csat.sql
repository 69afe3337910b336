-- Customer satisfaction: one rating (1 to 5, with an optional comment) per resolved conversation, kept
-- with the agent and team that held the conversation when it was rated.
CREATE TABLE csat_ratings (
    conversation_id TEXT PRIMARY KEY REFERENCES conversations(id) ON DELETE CASCADE,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    contact_id TEXT NOT NULL,
    rating INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
    comment TEXT,
    assignee_id TEXT,
    team_id TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX csat_ratings_by_workspace ON csat_ratings(workspace_id, updated_at);
