-- Deleted thread ids, kept forever: a deleted id is never created again, so nothing a deleted
-- thread left behind (or a straggling write of its last run) can reach a new owner.
CREATE TABLE deleted_threads (
    thread_id   text PRIMARY KEY,
    deleted_at  timestamptz NOT NULL DEFAULT now()
);
