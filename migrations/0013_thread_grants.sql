-- Share grants: a token scoped to ONE thread, with a role (`view`: read; `direct`: also runs,
-- gate answers, interjections), revocable and optionally expiring. Only the token's SHA-256
-- is stored. Deleting the thread deletes its grants.
CREATE TABLE thread_grants (
    grant_id    text PRIMARY KEY,
    thread_id   text NOT NULL REFERENCES threads (thread_id) ON DELETE CASCADE,
    token_hash  text NOT NULL UNIQUE,
    role        text NOT NULL CHECK (role IN ('view', 'direct')),
    label       text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz,
    revoked_at  timestamptz
);
CREATE INDEX thread_grants_thread_idx ON thread_grants (thread_id);
