-- The daily_generations ledger: what each user generated per UTC day, counted as it is made and
-- never given back. One row per user and day, bumped by triggers, so every path that stores a
-- thread's image or records a Media Lab job counts, in every process, and `GET /me` shows the
-- very number the limit checks. Deleting a thread (its assets go) or a job leaves it as it is:
-- a script that generates, deletes and generates again meets the limit all the same.
CREATE TABLE generation_ledger (
    user_id     text NOT NULL,
    day         date NOT NULL,
    used        integer NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, day)
);

CREATE FUNCTION generation_ledger_count(who text, made timestamptz) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO generation_ledger (user_id, day, used)
    VALUES (who, (made AT TIME ZONE 'UTC')::date, 1)
    ON CONFLICT (user_id, day) DO UPDATE SET used = generation_ledger.used + 1
$$;

-- A thread's stored image (or video piece) counts for the thread's owner; the result a Media Lab
-- job adds to a studio thread (job id `<media job>:result`) was counted with its job.
CREATE FUNCTION generation_ledger_asset() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    who text;
BEGIN
    IF right(NEW.job_id, 7) = ':result' AND EXISTS (
        SELECT 1 FROM media_jobs m WHERE m.job_id = left(NEW.job_id, length(NEW.job_id) - 7)
    ) THEN
        RETURN NULL;
    END IF;
    SELECT owner_id INTO who FROM threads WHERE thread_id = NEW.thread_id;
    IF who IS NOT NULL THEN
        PERFORM generation_ledger_count(who, NEW.created_at);
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION generation_ledger_job() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM generation_ledger_count(NEW.owner, NEW.created_at);
    RETURN NULL;
END
$$;

CREATE TRIGGER generation_ledger_asset AFTER INSERT ON assets
    FOR EACH ROW EXECUTE FUNCTION generation_ledger_asset();
CREATE TRIGGER generation_ledger_job AFTER INSERT ON media_jobs
    FOR EACH ROW EXECUTE FUNCTION generation_ledger_job();

-- What was made before this migration and is still there (deleted threads' images are gone).
INSERT INTO generation_ledger (user_id, day, used)
SELECT who, day, count(*)::int FROM (
    SELECT t.owner_id AS who, (a.created_at AT TIME ZONE 'UTC')::date AS day
    FROM assets a JOIN threads t ON t.thread_id = a.thread_id
    WHERE t.owner_id IS NOT NULL
      AND NOT (right(a.job_id, 7) = ':result' AND EXISTS (
          SELECT 1 FROM media_jobs m WHERE m.job_id = left(a.job_id, length(a.job_id) - 7)))
    UNION ALL
    SELECT m.owner, (m.created_at AT TIME ZONE 'UTC')::date FROM media_jobs m
) made
GROUP BY who, day;
