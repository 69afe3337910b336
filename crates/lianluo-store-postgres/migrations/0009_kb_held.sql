-- A passage that reads like instructions to an assistant, or holds a secret, is held (with the reason) until an
-- admin approves it; a held passage is never searched, quoted or given to a model.
ALTER TABLE kb_chunks ADD COLUMN held text;
CREATE INDEX kb_chunks_held ON kb_chunks (workspace_id) WHERE held IS NOT NULL;
