-- Knowledge sources the AI agent answers from, and the passages they are cut into (with their vectors).
CREATE TABLE kb_sources (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    content TEXT NOT NULL,
    url TEXT,
    status TEXT NOT NULL,
    error TEXT,
    chunk_count INTEGER NOT NULL DEFAULT 0,
    created_by TEXT REFERENCES users(id),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX kb_sources_by_workspace ON kb_sources (workspace_id, id);

CREATE TABLE kb_chunks (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    source_id TEXT NOT NULL REFERENCES kb_sources(id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    heading TEXT NOT NULL,
    text TEXT NOT NULL,
    model TEXT NOT NULL,
    -- a question and its answer written by a person (FAQ row, correction, gap answer): preferred when it fits
    curated INTEGER NOT NULL DEFAULT 0,
    -- little-endian f32 values
    embedding BLOB NOT NULL
);
CREATE INDEX kb_chunks_by_source ON kb_chunks (source_id, ordinal);
