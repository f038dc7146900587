-- A thread's use of another thread's asset: a branch keeps the images it inherited as
-- references, with its own verdict and scores (the maker's stay on the asset row), so
-- approving in a branch leaves the parent's verdicts alone. Deleting the maker hands the row
-- to one referencing thread (api/deletion.py); deleting a referencing thread drops its refs.
CREATE TABLE asset_refs (
    thread_id   text NOT NULL,
    asset_id    uuid NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    verdict     text,
    scores      jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (thread_id, asset_id)
);
CREATE INDEX asset_refs_asset_id_idx ON asset_refs (asset_id);
-- Branches made before this migration: they reference what their parent had made when they
-- were branched (their state points at those rows by id).
INSERT INTO asset_refs (thread_id, asset_id, verdict, scores)
SELECT b.thread_id, a.id, a.verdict, a.scores
FROM threads b
JOIN assets a ON a.thread_id = b.metadata -> 'forked_from' ->> 'thread_id'
WHERE b.metadata ? 'forked_from' AND a.created_at <= b.created_at
ON CONFLICT DO NOTHING;
