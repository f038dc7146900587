-- Idempotency keys are scoped to the caller, bound to the request they first came with, and
-- expire. The replays stored so far held thread tokens in plain text: they go (a replay
-- cache, nothing else refers to it).
DELETE FROM idempotency_keys;
ALTER TABLE idempotency_keys ADD COLUMN request_hash text;
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
-- A run created with a key remembers the request's hash: the same key with another body is
-- refused instead of answered with this run.
ALTER TABLE runs ADD COLUMN idempotency_hash text;
