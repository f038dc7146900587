-- The per-thread event log: ordered events (seq) that SSE clients replay after Last-Event-ID.
CREATE TABLE events (
    thread_id   text NOT NULL,
    seq         bigint NOT NULL,
    run_id      text,
    event       text NOT NULL,
    data        jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (thread_id, seq)
);
