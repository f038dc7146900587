-- Runs of the HTTP API: one row per run, the queue a restarted server resumes from.
CREATE TABLE runs (
    run_id              text PRIMARY KEY,
    thread_id           text NOT NULL,
    assistant_id        text NOT NULL,
    -- pending | running | success | error | timeout | interrupted
    status              text NOT NULL,
    kwargs              jsonb NOT NULL DEFAULT '{}',
    metadata            jsonb NOT NULL DEFAULT '{}',
    multitask_strategy  text NOT NULL DEFAULT 'enqueue',
    -- A retried create with the same Idempotency-Key finds this run instead of starting one.
    idempotency_key     text,
    attempt             integer NOT NULL DEFAULT 0,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (thread_id, idempotency_key)
);
CREATE INDEX runs_thread_created_idx ON runs (thread_id, created_at, run_id);
CREATE INDEX runs_unfinished_idx ON runs (status) WHERE status IN ('pending', 'running');

-- The event log serves two audiences: `studio` (our vocabulary, the thread stream) and `run`
-- (LangGraph stream modes for one run); `control` rows mark a run's end.
ALTER TABLE events ADD COLUMN channel text NOT NULL DEFAULT 'studio';
CREATE INDEX events_run_idx ON events (run_id, seq);
