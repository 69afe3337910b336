-- Customer satisfaction: one rating (1 to 5, with an optional comment) per resolved conversation, kept
-- with the agent and team that held the conversation when it was rated.
CREATE TABLE csat_ratings (
    conversation_id uuid PRIMARY KEY REFERENCES conversations(id) ON DELETE CASCADE,
    workspace_id uuid NOT NULL REFERENCES workspaces(id),
    contact_id uuid NOT NULL,
    rating bigint NOT NULL CHECK (rating BETWEEN 1 AND 5),
    comment text,
    assignee_id uuid,
    team_id uuid,
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL
);
CREATE INDEX csat_ratings_by_workspace ON csat_ratings(workspace_id, updated_at);
