-- People: one row per account, with one role. Passwords are argon2id hashes (never the
-- password); a user without one signs in with a one-time link until they set one. The limit
-- columns override the studio's defaults for this user (NULL: the default).
CREATE TABLE users (
    user_id                 text PRIMARY KEY,
    name                    text NOT NULL,
    role                    text NOT NULL CHECK (role IN ('admin', 'creator', 'viewer')),
    password_hash           text,
    created_at              timestamptz NOT NULL DEFAULT now(),
    disabled_at             timestamptz,
    rate_per_minute         integer CHECK (rate_per_minute >= 0),
    concurrent_runs         integer CHECK (concurrent_runs >= 0),
    daily_generations       integer CHECK (daily_generations >= 0)
);
CREATE UNIQUE INDEX users_name_idx ON users (lower(name));
