-- Finding snoozed conversations that are due, and expired sessions, without scanning.
CREATE INDEX conversations_snoozed ON conversations(snoozed_until) WHERE status = 'snoozed';
CREATE INDEX sessions_by_expiry ON sessions(expires_at);
