-- Per-user request counts in one-minute windows, shared by every studio process on this
-- database (one upsert per counted request; old windows are pruned as new ones open).
CREATE TABLE request_windows (
    user_id      text NOT NULL,
    window_start timestamptz NOT NULL,
    requests     integer NOT NULL,
    PRIMARY KEY (user_id, window_start)
);
