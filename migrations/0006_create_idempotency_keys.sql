-- Idempotency keys of mutating POSTs: the first response, replayed to retries with the same key.
CREATE TABLE idempotency_keys (
    scope         text NOT NULL,
    key           text NOT NULL,
    -- NULL while the first request is still being answered.
    status_code   integer,
    headers       jsonb NOT NULL DEFAULT '{}',
    body          bytea,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);
