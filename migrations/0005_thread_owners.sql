-- Thread ownership: the SHA-256 of the client token that created the thread (never the token).
ALTER TABLE threads ADD COLUMN owner_hash text;
CREATE INDEX threads_owner_created_idx ON threads (owner_hash, created_at DESC, thread_id);
