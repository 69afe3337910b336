-- The idempotency key of the message that opened a conversation: two simultaneous first messages with the
-- same key (a client's retry racing the original) open one conversation, not two.
ALTER TABLE conversations ADD COLUMN opening_key text;
CREATE UNIQUE INDEX conversations_opening_key ON conversations (workspace_id, contact_id, opening_key)
    WHERE opening_key IS NOT NULL;
