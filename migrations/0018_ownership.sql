-- Ownership by user: a thread belongs to a user (its runs, assets and exports with it); a run
-- records who started it (concurrent-run limits); a grant may name the user it is for (a
-- viewer then reads the thread signed in as themself). `threads.owner_hash` stays: the
-- thread's own client token, a credential scoped to that one thread. Existing threads are
-- given to the first admin when the studio first starts with accounts (people/bootstrap.py).
ALTER TABLE threads ADD COLUMN owner_id text REFERENCES users (user_id);
CREATE INDEX threads_owner_id_created_idx ON threads (owner_id, created_at DESC, thread_id);
ALTER TABLE runs ADD COLUMN user_id text;
CREATE INDEX runs_user_unfinished_idx ON runs (user_id) WHERE status IN ('pending', 'running');
ALTER TABLE thread_grants ADD COLUMN user_id text REFERENCES users (user_id) ON DELETE CASCADE;
CREATE INDEX thread_grants_user_idx ON thread_grants (user_id) WHERE user_id IS NOT NULL;
