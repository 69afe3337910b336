-- Websites are crawled up to a page limit; a passage keeps the address of the page it came from.
ALTER TABLE kb_sources ADD COLUMN page_limit bigint;
ALTER TABLE kb_chunks ADD COLUMN url text;

-- Question/answer pairs mined from resolved conversations, waiting for an admin to approve or reject them.
CREATE TABLE kb_candidates (
    id uuid PRIMARY KEY,
    workspace_id uuid NOT NULL REFERENCES workspaces(id),
    conversation_id uuid NOT NULL,
    -- the agent's reply the answer was taken from: a reply is mined once
    message_id uuid NOT NULL,
    question text NOT NULL,
    answer text NOT NULL,
    language text NOT NULL,
    status text NOT NULL,
    source_id uuid,
    decided_by uuid,
    -- how many mined replies answered the same question; the others point here
    asked bigint NOT NULL DEFAULT 1,
    duplicate_of uuid,
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL
);
CREATE UNIQUE INDEX kb_candidates_by_message ON kb_candidates (workspace_id, message_id);
CREATE INDEX kb_candidates_by_status ON kb_candidates (workspace_id, status, id);
