-- Credentials of a user; of every secret only its SHA-256 is stored.
-- Browser sessions (cookie `studio_session`), expiring.
CREATE TABLE user_sessions (
    token_hash   text PRIMARY KEY,
    user_id      text NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX user_sessions_user_idx ON user_sessions (user_id);
-- Personal access tokens (`spat_…`, `Authorization: Bearer`), listed by name and prefix,
-- revocable. `kind = 'home'` is a home's owner token (STUDIO_HOME/owner-token): the CLI's.
CREATE TABLE access_tokens (
    token_id     text PRIMARY KEY,
    user_id      text NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    name         text NOT NULL,
    prefix       text NOT NULL,
    token_hash   text NOT NULL UNIQUE,
    kind         text NOT NULL DEFAULT 'personal' CHECK (kind IN ('personal', 'home')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    expires_at   timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX access_tokens_user_idx ON access_tokens (user_id, created_at);
-- One-time sign-in links (`/auth/link?code=…`): printed by `studio serve` and `studio users
-- add|reset`, good once, for a short while.
CREATE TABLE signin_links (
    token_hash   text PRIMARY KEY,
    user_id      text NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    used_at      timestamptz
);
-- Failed sign-ins per (name, address) in the current window: past a few, sign-in waits.
CREATE TABLE signin_failures (
    name         text NOT NULL,
    address      text NOT NULL,
    failures     integer NOT NULL,
    window_start timestamptz NOT NULL,
    PRIMARY KEY (name, address)
);
