-- When each agent last read each conversation: unread counts are the customer's messages after it.
CREATE TABLE conversation_reads (
    conversation_id uuid NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    user_id uuid NOT NULL REFERENCES users(id),
    workspace_id uuid NOT NULL REFERENCES workspaces(id),
    read_at bigint NOT NULL,
    PRIMARY KEY (conversation_id, user_id)
);

-- Saved replies an agent inserts by typing /shortcut.
CREATE TABLE canned_responses (
    id uuid PRIMARY KEY,
    workspace_id uuid NOT NULL REFERENCES workspaces(id),
    shortcut text NOT NULL,
    content text NOT NULL,
    created_by uuid NOT NULL REFERENCES users(id),
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL,
    UNIQUE (workspace_id, shortcut)
);
