-- Questions the AI agent handled and how they turned out (answered, unanswered, rated): the gaps list.
CREATE TABLE kb_questions (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    conversation_id TEXT,
    answer_message_id TEXT,
    question TEXT NOT NULL,
    language TEXT NOT NULL,
    outcome TEXT NOT NULL,
    source_id TEXT,
    resolved_by TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX kb_questions_by_workspace ON kb_questions (workspace_id, outcome, id);
CREATE INDEX kb_questions_by_answer ON kb_questions (answer_message_id);
