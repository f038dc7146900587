-- Events keep the JSON text they were written with (`json`, not `jsonb`): nothing queries
-- inside it, a replay then sends the very bytes the live stream sent, and Postgres only
-- checks the syntax instead of building a binary tree of every value (the event log's
-- writes were most of the database's CPU in a studio session).
ALTER TABLE events ALTER COLUMN data DROP DEFAULT;
ALTER TABLE events ALTER COLUMN data TYPE json USING data::json;
ALTER TABLE events ALTER COLUMN data SET DEFAULT '{}';
