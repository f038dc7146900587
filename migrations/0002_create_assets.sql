-- Assets a thread produced: one row per stored image (content-addressed file) with its lineage.
CREATE TABLE assets (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    thread_id     text NOT NULL,
    -- Exactly-once key (thread/deliverable/iteration/attempt): a re-run never stores twice.
    job_id        text NOT NULL UNIQUE,
    sha256        text NOT NULL,
    -- Relative to the asset store's root, so the store can move.
    path          text NOT NULL,
    content_type  text NOT NULL,
    width         integer NOT NULL,
    height        integer NOT NULL,
    bytes         bigint NOT NULL,
    deliverable   text NOT NULL,
    iteration     integer NOT NULL,
    attempt       integer NOT NULL,
    seed          bigint NOT NULL,
    generator     text NOT NULL,
    spec          jsonb NOT NULL DEFAULT '{}',
    recipe        jsonb NOT NULL DEFAULT '{}',
    scores        jsonb NOT NULL DEFAULT '{}',
    verdict       text,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX assets_thread_id_idx ON assets (thread_id);
CREATE INDEX assets_thread_deliverable_iteration_idx ON assets (thread_id, deliverable, iteration);
