-- Threads the studio knows about: one row per creative session, for listing and resuming.
CREATE TABLE threads (
    thread_id   text PRIMARY KEY,
    title       text,
    status      text,
    phase       text,
    metadata    jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX threads_updated_at_idx ON threads (updated_at DESC);
