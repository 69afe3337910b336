CREATE TABLE workspaces (
    id uuid PRIMARY KEY,
    name text NOT NULL,
    slug text NOT NULL UNIQUE,
    created_at bigint NOT NULL
);

CREATE TABLE users (
    id uuid PRIMARY KEY,
    workspace_id uuid NOT NULL REFERENCES workspaces(id),
    name text NOT NULL,
    email text NOT NULL UNIQUE,
    role text NOT NULL CHECK (role IN ('admin', 'agent')),
    active boolean NOT NULL,
    password_hash text NOT NULL,
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL
);
CREATE INDEX users_by_workspace ON users(workspace_id, created_at, id);

CREATE TABLE sessions (
    token_hash text PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    workspace_id uuid NOT NULL REFERENCES workspaces(id),
    csrf_token text NOT NULL,
    created_at bigint NOT NULL,
    expires_at bigint NOT NULL
);
CREATE INDEX sessions_by_user ON sessions(user_id);

CREATE TABLE api_tokens (
    id uuid PRIMARY KEY,
    workspace_id uuid NOT NULL REFERENCES workspaces(id),
    name text NOT NULL,
    role text NOT NULL CHECK (role IN ('admin', 'agent')),
    created_by uuid NOT NULL REFERENCES users(id),
    token_hash text NOT NULL UNIQUE,
    prefix text NOT NULL,
    created_at bigint NOT NULL,
    revoked_at bigint
);
CREATE INDEX api_tokens_by_workspace ON api_tokens(workspace_id, created_at);

CREATE TABLE teams (
    id uuid PRIMARY KEY,
    workspace_id uuid NOT NULL REFERENCES workspaces(id),
    name text NOT NULL,
    description text NOT NULL,
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL,
    UNIQUE (workspace_id, name)
);

CREATE TABLE team_members (
    team_id uuid NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    user_id uuid NOT NULL REFERENCES users(id),
    workspace_id uuid NOT NULL REFERENCES workspaces(id),
    position integer NOT NULL,
    PRIMARY KEY (team_id, user_id)
);

CREATE TABLE channels (
    id uuid PRIMARY KEY,
    workspace_id uuid NOT NULL REFERENCES workspaces(id),
    kind text NOT NULL,
    name text NOT NULL,
    team_id uuid REFERENCES teams(id) ON DELETE SET NULL,
    settings jsonb NOT NULL,
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL
);
CREATE INDEX channels_by_workspace ON channels(workspace_id, created_at);

CREATE TABLE contacts (
    id uuid PRIMARY KEY,
    workspace_id uuid NOT NULL REFERENCES workspaces(id),
    name text,
    attributes jsonb NOT NULL,
    tags jsonb NOT NULL,
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL
);
CREATE INDEX contacts_by_workspace ON contacts(workspace_id, created_at DESC, id DESC);

-- channel_id is '' for identities that belong to no channel (email, phone).
CREATE TABLE contact_identities (
    workspace_id uuid NOT NULL REFERENCES workspaces(id),
    contact_id uuid NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    kind text NOT NULL,
    channel_id text NOT NULL,
    value text NOT NULL,
    position integer NOT NULL,
    PRIMARY KEY (workspace_id, kind, channel_id, value)
);
CREATE INDEX contact_identities_by_contact ON contact_identities(contact_id, position);

CREATE TABLE conversations (
    id uuid PRIMARY KEY,
    workspace_id uuid NOT NULL REFERENCES workspaces(id),
    channel_id uuid NOT NULL REFERENCES channels(id),
    contact_id uuid NOT NULL REFERENCES contacts(id),
    subject text,
    status text NOT NULL,
    priority text NOT NULL,
    assignee_id uuid REFERENCES users(id),
    team_id uuid REFERENCES teams(id) ON DELETE SET NULL,
    tags jsonb NOT NULL,
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL,
    last_activity_at bigint NOT NULL,
    first_response_at bigint,
    resolved_at bigint,
    snoozed_until bigint,
    message_count bigint NOT NULL
);
CREATE INDEX conversations_by_activity ON conversations(workspace_id, last_activity_at DESC, id DESC);
CREATE INDEX conversations_by_status ON conversations(workspace_id, status, last_activity_at DESC);
CREATE INDEX conversations_by_assignee ON conversations(workspace_id, assignee_id, last_activity_at DESC);
CREATE INDEX conversations_by_contact ON conversations(contact_id);
CREATE INDEX conversations_by_channel ON conversations(channel_id);

CREATE TABLE messages (
    id uuid PRIMARY KEY,
    workspace_id uuid NOT NULL REFERENCES workspaces(id),
    conversation_id uuid NOT NULL REFERENCES conversations(id),
    kind text NOT NULL,
    sender_type text NOT NULL,
    sender_id uuid,
    content text NOT NULL,
    attachments jsonb NOT NULL,
    idempotency_key text,
    created_at bigint NOT NULL
);
CREATE INDEX messages_by_conversation ON messages(conversation_id, created_at, id);
CREATE UNIQUE INDEX messages_idempotency ON messages(conversation_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;

CREATE TABLE events (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id uuid NOT NULL REFERENCES workspaces(id),
    actor_type text NOT NULL,
    actor_id uuid,
    kind text NOT NULL,
    subject_id uuid NOT NULL,
    data jsonb NOT NULL,
    created_at bigint NOT NULL
);
CREATE INDEX events_by_workspace ON events(workspace_id, id);
