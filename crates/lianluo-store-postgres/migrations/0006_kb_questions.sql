-- Questions the AI agent handled and how they turned out (answered, unanswered, rated): the gaps list.
CREATE TABLE kb_questions (
    id uuid PRIMARY KEY,
    workspace_id uuid NOT NULL REFERENCES workspaces(id),
    conversation_id uuid,
    answer_message_id uuid,
    question text NOT NULL,
    language text NOT NULL,
    outcome text NOT NULL,
    source_id uuid,
    resolved_by uuid,
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL
);
CREATE INDEX kb_questions_by_workspace ON kb_questions (workspace_id, outcome, id);
CREATE INDEX kb_questions_by_answer ON kb_questions (answer_message_id);
