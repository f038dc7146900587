-- Each thread's last event seq: a batch takes its seqs by bumping this row (one statement, the
-- row lock orders writers from every process), so seqs stay unique and gap-free without retries.
CREATE TABLE event_counters (
    thread_id  text PRIMARY KEY,
    last_seq   bigint NOT NULL
);
INSERT INTO event_counters (thread_id, last_seq)
SELECT thread_id, max(seq) FROM events GROUP BY thread_id;
