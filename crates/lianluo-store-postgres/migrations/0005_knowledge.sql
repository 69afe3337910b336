-- Knowledge sources the AI agent answers from, and the passages they are cut into (with their vectors).
CREATE TABLE kb_sources (
    id uuid PRIMARY KEY,
    workspace_id uuid NOT NULL REFERENCES workspaces(id),
    kind text NOT NULL,
    title text NOT NULL,
    content text NOT NULL,
    url text,
    status text NOT NULL,
    error text,
    chunk_count bigint NOT NULL DEFAULT 0,
    created_by uuid REFERENCES users(id),
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL
);
CREATE INDEX kb_sources_by_workspace ON kb_sources (workspace_id, id);

CREATE TABLE kb_chunks (
    id uuid PRIMARY KEY,
    workspace_id uuid NOT NULL REFERENCES workspaces(id),
    source_id uuid NOT NULL REFERENCES kb_sources(id) ON DELETE CASCADE,
    ordinal bigint NOT NULL,
    heading text NOT NULL,
    text text NOT NULL,
    model text NOT NULL,
    -- a question and its answer written by a person (FAQ row, correction, gap answer): preferred when it fits
    curated boolean NOT NULL DEFAULT false,
    -- little-endian f32 values
    embedding bytea NOT NULL
);
CREATE INDEX kb_chunks_by_source ON kb_chunks (source_id, ordinal);
