"""The event log on a real Postgres: batches, numbering across processes, cache vs table."""

from __future__ import annotations

import asyncio
import json

import psycopg
import pytest

from engine.eventlog import EventLog, Record
from store.database import Pool

pytestmark = pytest.mark.anyio

CHANNELS = ("run", "studio", "control")


async def append_many(log: EventLog, thread_id: str, n: int, *, tag: str) -> None:
    for i in range(n):
        channel = CHANNELS[i % len(CHANNELS)]
        run_id = f"run-{i % 2}"
        await log.append(thread_id, run_id, channel, "tick", json.dumps({"tag": tag, "i": i}))


def rows(records: list[Record]) -> list[tuple[int, str | None, str, str, dict[str, object]]]:
    return [(r.seq, r.run_id, r.channel, r.event, json.loads(r.data)) for r in records]


async def test_a_batch_is_written_in_order_and_read_back_from_the_table(pool: Pool) -> None:
    log = EventLog(pool)
    await append_many(log, "t1", 50, tag="a")
    await log.flush("t1")
    fresh = EventLog(pool)  # another process: nothing cached, reads Postgres
    stored = await fresh.read("t1", 0, channels=CHANNELS)
    assert [r.seq for r in stored] == list(range(1, 51))
    assert [json.loads(r.data)["i"] for r in stored] == list(range(50))
    assert [r.channel for r in stored[:4]] == ["run", "studio", "control", "run"]


async def test_reads_from_the_cache_match_reads_from_the_table(pool: Pool) -> None:
    log = EventLog(pool, keep=40)  # the cache holds the newest 40 of 60
    for _ in range(3):
        await append_many(log, "t2", 20, tag="b")
        await log.flush("t2")
    fresh = EventLog(pool)
    for after in (0, 1, 19, 20, 21, 39, 45, 59, 60, 80):
        for channels, run_id in ((CHANNELS, None), (("studio",), None), (("run",), "run-1")):
            for limit in (1000, 3):
                cached = await log.read("t2", after, channels=channels, run_id=run_id, limit=limit)
                stored = await fresh.read(
                    "t2", after, channels=channels, run_id=run_id, limit=limit
                )
                assert rows(cached) == rows(stored), (after, channels, run_id, limit)


async def test_a_replay_from_the_table_sends_the_bytes_the_live_stream_sent(pool: Pool) -> None:
    texts = [
        '{"z": 1, "a": [1, 2.50, {"y": null, "b": "x"}]}',  # key order and spacing kept
        '{"a":1,"a":2}',  # a duplicate key, as written
        '{"text": "néon \\u00e9 \\"quoted\\"  two  spaces"}',
        "[]",
    ]
    log = EventLog(pool)
    for text in texts:
        await log.append("t4", "run-1", "run", "values", text)
    await log.flush("t4")
    live = await log.read("t4", 0, channels=CHANNELS)  # what followers were sent
    replayed = await EventLog(pool).read("t4", 0, channels=CHANNELS)
    assert [r.data for r in live] == texts
    assert [r.data for r in replayed] == texts


async def test_processes_writing_one_thread_at_once_keep_seqs_unique_and_gap_free(
    pool: Pool,
) -> None:
    logs = [EventLog(pool) for _ in range(3)]  # three "processes", no notifications between

    async def writer(n: int, log: EventLog) -> None:
        for batch in range(15):
            await append_many(log, "t3", 1 + (batch + n) % 4, tag=f"w{n}")
            await log.flush("t3")

    await asyncio.gather(*(writer(n, log) for n, log in enumerate(logs)))
    stored = await EventLog(pool).read("t3", 0, channels=CHANNELS)
    expected = sum(1 + (b + n) % 4 for n in range(3) for b in range(15))
    assert [r.seq for r in stored] == list(range(1, expected + 1))
    for n in range(3):  # each writer's events in the order it appended them
        mine = [json.loads(r.data)["i"] for r in stored if json.loads(r.data)["tag"] == f"w{n}"]
        assert mine == [i for b in range(15) for i in range(1 + (b + n) % 4)]


async def test_a_statement_given_with_a_batch_commits_with_it(
    pool: Pool,
) -> None:
    async with pool.connection() as conn:
        await conn.execute("CREATE TABLE marks (n int)")
    a, b = EventLog(pool), EventLog(pool)
    await append_many(a, "t4", 3, tag="a")
    await a.flush("t4")
    await append_many(b, "t4", 3, tag="b")
    await b.flush("t4")
    await append_many(a, "t4", 2, tag="a")
    await a.flush("t4", then=lambda conn: conn.execute("INSERT INTO marks VALUES (1)"))
    stored = await EventLog(pool).read("t4", 0, channels=CHANNELS)
    assert [r.seq for r in stored] == list(range(1, 9))
    async with pool.connection() as conn:
        marks = await (await conn.execute("SELECT count(*) AS n FROM marks")).fetchone()
    assert marks == {"n": 1}, "the statement ran once, with the batch"
    failing = EventLog(pool, flush_interval_s=60)  # only explicit flushes write
    await failing.append("t4", None, "studio", "tick", json.dumps({"tag": "c", "i": 0}))
    with pytest.raises(psycopg.errors.UndefinedTable):
        await failing.flush("t4", then=lambda conn: conn.execute("INSERT INTO nowhere VALUES (1)"))
    assert len(await EventLog(pool).read("t4", 0, channels=CHANNELS)) == 8, "neither committed"
    await failing.flush("t4")
    kept = await EventLog(pool).read("t4", 0, channels=CHANNELS)
    assert [(r.seq, json.loads(r.data)["tag"]) for r in kept[-1:]] == [(9, "c")], "nor lost"
    await failing.close()


async def test_followers_of_a_thread_deleted_unheard_end_after_a_reconnect(pool: Pool) -> None:
    """A deletion whose notification this process missed (its listener was reconnecting) is
    found when it re-reads after the reconnect: that thread's followers end, others go on."""
    async with pool.connection() as conn:
        for tid in ("kept", "gone"):
            await conn.execute("INSERT INTO threads (thread_id) VALUES (%s)", [tid])
    log = EventLog(pool)

    async def follow(thread_id: str) -> list[int]:
        return [r.seq async for r in log.follow(thread_id, 0, channels=CHANNELS)]

    kept, gone = asyncio.create_task(follow("kept")), asyncio.create_task(follow("gone"))
    await asyncio.sleep(0.2)  # both wait for events
    async with pool.connection() as conn:  # another process deletes it; nobody hears of it
        await conn.execute("DELETE FROM threads WHERE thread_id = 'gone'")
    log.missed()
    assert await asyncio.wait_for(gone, timeout=30) == []
    await asyncio.sleep(0.2)
    assert not kept.done(), "a thread that still exists is still followed"
    kept.cancel()
    await log.close()


async def test_a_follower_ends_however_many_deletions_come_before_it_wakes(pool: Pool) -> None:
    """Deletions of other threads, heard before a follower of a deleted thread wakes (a burst
    of notifications), never make it miss its own."""
    log = EventLog(pool)
    followers = [
        asyncio.create_task(anext(log.follow("t7", 0, channels=CHANNELS), None)) for _ in range(2)
    ]
    await asyncio.sleep(0.2)  # both wait for events
    log.forgotten("t7")
    for i in range(5000):  # no await in between: the followers have not woken yet
        log.forgotten(f"other-{i}")
    assert await asyncio.wait_for(asyncio.gather(*followers), timeout=30) == [None, None]
    assert len(log._lives) == 0, "a thread nobody follows costs nothing"
    await log.close()


async def test_a_held_event_waits_for_the_next_write_and_goes_in_its_batch(pool: Pool) -> None:
    """`hold=True` starts no write, and the group commit's write of an earlier event leaves
    it (the runner's values at a gate wait for the batch that ends the run)."""
    log = EventLog(pool)
    await log.append("t9", "r", "studio", "gate", "{}")  # its write starts on the next turn
    await log.append("t9", "r", "run", "values", json.dumps({"phase": "gate"}), hold=True)
    await asyncio.sleep(0.05)
    assert [r.event for r in await EventLog(pool).read("t9", 0, channels=CHANNELS)] == ["gate"]
    await log.append("t9", "r", "control", "end", json.dumps({"status": "success"}))
    await log.flush("t9")
    stored = await EventLog(pool).read("t9", 0, channels=CHANNELS)
    assert [(r.seq, r.event) for r in stored] == [(1, "gate"), (2, "values"), (3, "end")]
    assert stored[1].at == stored[2].at != stored[0].at, "one statement wrote the last two"
    await log.close()


async def test_the_last_event_of_a_kind_comes_from_a_whole_cache_without_a_query(
    pool: Pool,
) -> None:
    """A cache that starts at the thread's first event holds its whole log: `last` answers
    from it, found or not, and only a log without it asks Postgres."""
    log = EventLog(pool)
    log.created("t10")
    await log.append("t10", "r", "studio", "gate", json.dumps({"n": 1}))
    await log.append("t10", "r", "studio", "token", json.dumps({"n": 2}))
    await log.flush("t10")
    log.pool = None  # type: ignore[assignment]  # from here a query would fail
    found = await log.last("t10", "gate")
    assert found is not None and json.loads(found[1]) == {"n": 1}
    assert await log.last("t10", "done") is None
    fresh = EventLog(pool)  # another process: nothing cached, asks Postgres
    again = await fresh.last("t10", "gate")
    assert again is not None and again == found
    assert await fresh.last("t10", "done") is None
