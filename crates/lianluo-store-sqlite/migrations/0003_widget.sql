-- Web-widget channels: a public token that identifies the channel in the page snippet, and the secret
-- that signs identities of the site's logged-in users (HMAC-SHA256). The secret must be readable to
-- verify signatures, so it is stored as is and shown only to admins.
ALTER TABLE channels ADD COLUMN public_token TEXT;
ALTER TABLE channels ADD COLUMN widget_secret TEXT;
CREATE UNIQUE INDEX channels_by_public_token ON channels(public_token);

-- A visitor of a widget: the token in the visitor's browser is stored only as its hash.
CREATE TABLE visitor_sessions (
    token_hash TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    channel_id TEXT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    contact_id TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL
);
CREATE INDEX visitor_sessions_by_contact ON visitor_sessions(contact_id);
