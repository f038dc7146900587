-- The audit trail: who did what, when, to what, under which request, and how it ended. One row
-- per mutating action (people/audit.py writes them), appended and never changed: a trigger
-- refuses UPDATE, DELETE and TRUNCATE, whoever sends them.
--
-- One exception, for "deleted means gone": deleting a thread erases what the person wrote that
-- the trail kept (a gate answer's feedback, an interjection's text, a title) by replacing the
-- `detail` of that thread's rows with {"scrubbed": true}. Nothing else may change: not who, not
-- when, not what, not the outcome; and only inside the transaction that deletes the thread,
-- which names it in the transaction-local setting `studio.audit_scrub`. The rows themselves
-- stay: that the thread existed and was deleted, by whom, is the trail's to keep.
--
-- The trigger guards against the application (a bug, a stray statement) and anyone using the
-- studio's credentials through it; a Postgres superuser can still drop it, as with any table.
CREATE TABLE audit_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    -- the person (user id and name at the time) and how they came: none for the system or an
    -- unknown caller (a failed sign-in names what was tried in `detail`)
    actor_id    text,
    actor_name  text,
    actor_role  text,
    via         text,
    action      text NOT NULL CHECK (action ~ '^[a-z][a-z_]*(\.[a-z][a-z_]*)*$'),
    target      text,
    thread_id   text,
    request_id  text,
    outcome     text NOT NULL CHECK (outcome IN ('ok', 'refused', 'failed')),
    detail      jsonb NOT NULL DEFAULT '{}'
);
-- Newest first by id (the stable order of the query and its cursor), narrowed by the filters.
CREATE INDEX audit_log_at_idx ON audit_log (at);
CREATE INDEX audit_log_thread_idx ON audit_log (thread_id, id) WHERE thread_id IS NOT NULL;
CREATE INDEX audit_log_actor_id_idx ON audit_log (actor_id, id);
CREATE INDEX audit_log_actor_name_idx ON audit_log (actor_name, id);
CREATE INDEX audit_log_action_idx ON audit_log (action, id);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF OLD.thread_id IS NOT NULL
           AND OLD.thread_id = current_setting('studio.audit_scrub', true)
           AND NEW.detail = '{"scrubbed": true}'::jsonb
           AND (NEW.id, NEW.at, NEW.actor_id, NEW.actor_name, NEW.actor_role, NEW.via,
                NEW.action, NEW.target, NEW.thread_id, NEW.request_id, NEW.outcome)
               IS NOT DISTINCT FROM
               (OLD.id, OLD.at, OLD.actor_id, OLD.actor_name, OLD.actor_role, OLD.via,
                OLD.action, OLD.target, OLD.thread_id, OLD.request_id, OLD.outcome)
        THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Only a thread''s deletion may scrub its rows'' detail.';
END
$$;

CREATE FUNCTION audit_log_no_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: TRUNCATE refused'
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_no_truncate();
