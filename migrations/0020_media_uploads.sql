-- Media Lab uploads: one row per upload (who sent what), the file itself content-addressed
-- (sha256) under the asset store's root and never overwritten; identical files share it.
CREATE TABLE media_uploads (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    owner       text NOT NULL,
    sha256      text NOT NULL,
    -- Relative to the asset store's root, so the store can move.
    path        text NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('image', 'video')),
    mime        text NOT NULL,
    -- The name the person gave the file: shown, never used to find it.
    filename    text NOT NULL DEFAULT '',
    width       integer NOT NULL,
    height      integer NOT NULL,
    fps         double precision,
    frames      integer,
    duration_s  double precision,
    has_audio   boolean NOT NULL DEFAULT false,
    bytes       bigint NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX media_uploads_owner_created_idx ON media_uploads (owner, created_at DESC, id);
CREATE INDEX media_uploads_sha256_idx ON media_uploads (sha256);
