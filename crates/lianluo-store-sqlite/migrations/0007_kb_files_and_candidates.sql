-- Websites are crawled up to a page limit; a passage keeps the address of the page it came from.
ALTER TABLE kb_sources ADD COLUMN page_limit INTEGER;
ALTER TABLE kb_chunks ADD COLUMN url TEXT;

-- Question/answer pairs mined from resolved conversations, waiting for an admin to approve or reject them.
CREATE TABLE kb_candidates (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    conversation_id TEXT NOT NULL,
    -- the agent's reply the answer was taken from: a reply is mined once
    message_id TEXT NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    language TEXT NOT NULL,
    status TEXT NOT NULL,
    source_id TEXT,
    decided_by TEXT,
    -- how many mined replies answered the same question; the others point here
    asked INTEGER NOT NULL DEFAULT 1,
    duplicate_of TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX kb_candidates_by_message ON kb_candidates (workspace_id, message_id);
CREATE INDEX kb_candidates_by_status ON kb_candidates (workspace_id, status, id);
