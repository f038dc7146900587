"""The per-thread event log: append-only, batched writes to Postgres, live fan-out, replay."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import weakref
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass

import psycopg

from engine.cluster import EVENTS, FORGOTTEN
from store.database import Connection, Pool
from telemetry import metrics

logger = logging.getLogger("studio.eventlog")

_WRITE = """
    WITH counter AS (
        INSERT INTO event_counters AS c (thread_id, last_seq) VALUES (%(thread_id)s, %(n)s::bigint)
        ON CONFLICT (thread_id) DO UPDATE SET last_seq = c.last_seq + %(n)s::bigint
        RETURNING c.last_seq - %(n)s::bigint AS base
    ), written AS (
        INSERT INTO events (thread_id, seq, run_id, channel, event, data)
        SELECT %(thread_id)s, counter.base + e.n, e.head->>0, e.head->>1, e.head->>2, e.data
        FROM counter,
             ROWS FROM (json_array_elements(%(heads)s::json), json_array_elements(%(data)s::json))
             WITH ORDINALITY AS e(head, data, n)
    )
    SELECT base, extract(epoch FROM now())::float8 AS at, pg_notify(%(topic)s, %(payload)s)
    FROM counter
"""
"""A whole batch in one statement: its seqs taken from the thread's counter (whose row lock
orders concurrent writers, in any process), its rows (one per array element, in order) and
its notification. Everything goes as JSON text, not as `text[]` arrays: the events' JSON as
one array, and their `[run_id, channel, event]` as another, written by the C JSON encoder.
psycopg escapes every element of a text array with a regex, which cost a fifth of the
server's CPU for the data and, for those three short columns, still a quarter of a batch's
own CPU (#20 point 7)."""
_SELECT = """
    SELECT seq, run_id, channel, event, data::text AS data,
           extract(epoch FROM created_at)::float8 AS at FROM events
    WHERE thread_id = %(thread_id)s AND seq > %(after)s AND channel = ANY(%(channels)s)
      AND (%(run_id)s::text IS NULL OR run_id = %(run_id)s)
    ORDER BY seq LIMIT %(limit)s
"""

_DELETED = """
    SELECT t.thread_id FROM unnest(%s::text[]) AS t(thread_id)
    WHERE NOT EXISTS (SELECT 1 FROM threads WHERE threads.thread_id = t.thread_id)
"""
"""Which of these threads no longer exist (deleted while notifications were not heard)."""
_LAST = """
    SELECT extract(epoch FROM created_at)::float8 AS at, data::text AS data FROM events
    WHERE thread_id = %(thread_id)s AND channel = 'studio' AND event = %(event)s
    ORDER BY seq DESC LIMIT 1
"""


@dataclass(frozen=True, slots=True)
class Record:
    """One logged event; `data` is its JSON text, sent as is. `seq` is the SSE id."""

    seq: int
    run_id: str | None
    channel: str
    """`studio` (our vocabulary), `run` (LangGraph stream modes) or `control` (run end)."""
    event: str
    data: str
    at: float = 0.0
    """When it was written (Postgres' clock, epoch seconds): the event-log lag metric."""


class _Life:
    """A thread's existence as its followers see it; `over` once it is deleted."""

    __slots__ = ("over", "__weakref__")

    def __init__(self) -> None:
        self.over = False


Pending = tuple[str | None, str, str, str]
"""An appended event not written yet: `(run_id, channel, event, data)`; its seq comes later."""
Then = Callable[[Connection], Awaitable[object]]
"""A statement to commit with a batch, given the batch's connection."""


class EventLog:
    """Appends events to a per-thread sequence; writes them in batches (group commit: at once
    when no write is in flight, after `flush_interval_s` if set, or when a caller flushes at a
    node boundary), and only then shows them
    to followers, so what a client saw is always in the log and a replay never diverges.

    Across processes: a batch is numbered when it is written, by bumping the thread's row in
    `event_counters` in the same statement; the row lock makes writers from several processes
    (an interjection ending a queued run while another process executes the thread) take
    turns, so seqs stay unique and gap-free and no writer has to retry. Each write notifies
    `studio_events`; other processes then drop what they cached of the thread and wake their
    followers, who read from Postgres.
    """

    def __init__(
        self,
        pool: Pool,
        *,
        origin: str = "",
        flush_interval_s: float = 0.0,
        keep: int = 2000,
    ) -> None:
        self.pool = pool
        self.origin = origin
        """This process's id in notifications (`Cluster.origin`)."""
        self.flush_interval_s = flush_interval_s
        self.keep = keep
        self._buffers: dict[str, list[Pending]] = {}
        self._held: dict[str, list[Pending]] = {}
        """Events appended with `hold`: they join the buffer at the thread's next append or
        explicit flush, never on their own (the group commit's timer leaves them)."""
        # per thread, only while in use: a lock or a signal lives while someone holds or
        # waits on it, and a timer leaves when it is done (a server sees millions of threads)
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._timers: dict[str, asyncio.Task[None]] = {}
        self._signals: weakref.WeakValueDictionary[str, asyncio.Event] = (
            weakref.WeakValueDictionary()
        )
        self._recent: OrderedDict[str, list[Record]] = OrderedDict()
        self._lives: weakref.WeakValueDictionary[str, _Life] = weakref.WeakValueDictionary()
        """Thread -> its life so far, while someone follows it: a follower ends when the one
        it started in is over (a deletion replaces it; no follower, no entry)."""
        self._background: set[asyncio.Task[None]] = set()

    async def append(
        self,
        thread_id: str,
        run_id: str | None,
        channel: str,
        event: str,
        data: str,
        *,
        hold: bool = False,
    ) -> None:
        """Queue one event (JSON text `data`); it is written with the next batch. `hold`: no
        write is started for it; it goes with the next one, which the caller makes soon (the
        runner holds a run's last `values` at a gate for the batch that ends the run)."""
        if hold:
            self._held.setdefault(thread_id, []).append((run_id, channel, event, data))
            return
        buffer = self._buffers.setdefault(thread_id, [])
        if thread_id in self._held:  # they came first
            buffer.extend(self._held.pop(thread_id))
        buffer.append((run_id, channel, event, data))
        timer = self._timers.get(thread_id)
        if timer is None or timer.done():
            timer = self._timers[thread_id] = asyncio.create_task(self._flush_later(thread_id))
            timer.add_done_callback(lambda done: self._timer_done(thread_id, done))

    async def flush(self, thread_id: str, *, then: Then | None = None) -> None:
        """Write the thread's buffered events now (in order, one batch), then wake followers.
        `then` runs on the same connection, in the batch's transaction: both commit or neither
        (a run's end events and its final status). It must not read results:
        its statements and the batch go as one pipeline, whose implicit transaction ends at
        the first read (an explicit `transaction()` would cost a round trip per statement)."""
        if thread_id in self._held:  # an explicit flush writes the held events too
            self._buffers.setdefault(thread_id, []).extend(self._held.pop(thread_id))
        await self._flush(thread_id, then=then)

    async def _flush(self, thread_id: str, *, then: Then | None = None) -> None:
        async with self._lock(thread_id):
            pending = self._buffers.pop(thread_id, [])
            if not pending:
                if then is not None:
                    async with self.pool.connection() as conn, conn.pipeline():
                        await then(conn)
                return
            try:
                batch = await self._write(thread_id, pending, then)
            except BaseException:
                # still under the lock: later events stay behind these, order is kept
                self._buffers[thread_id] = pending + self._buffers.get(thread_id, [])
                raise
            self._remember(thread_id, batch)
        self._wake(thread_id)

    def created(self, thread_id: str) -> None:
        """The thread was just created here: it has no events, no need to ask Postgres."""
        self._recent[thread_id] = []
        self._recent.move_to_end(thread_id)
        self._evict()

    def written_elsewhere(self, thread_id: str) -> None:
        """Another process wrote the thread's events: drop what is cached, wake followers."""
        self._recent.pop(thread_id, None)
        self._wake(thread_id)

    def missed(self) -> None:
        """Notifications may have been lost (the listener reconnected): trust no cache, and
        end the followers of threads deleted in the meantime."""
        self._recent.clear()
        followed = list(self._signals)
        for thread_id in followed:
            self._wake(thread_id)
        if followed:
            task = asyncio.create_task(self._end_deleted(followed))
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    async def _end_deleted(self, thread_ids: list[str]) -> None:
        try:
            async with self.pool.connection() as conn:
                cursor = await conn.execute(_DELETED, [thread_ids])
                deleted = [row["thread_id"] for row in await cursor.fetchall()]
        except psycopg.Error as exc:  # the next reconnect checks again
            logger.warning("could not check for deleted threads: %s", exc)
            return
        for thread_id in deleted:
            self.forgotten(thread_id)

    async def _write(
        self, thread_id: str, pending: list[Pending], then: Then | None = None
    ) -> list[Record]:
        params = {
            "thread_id": thread_id,
            "n": len(pending),
            "heads": json.dumps([event[:3] for event in pending]),
            "data": f"[{','.join(event[3] for event in pending)}]",  # each is JSON text already
            "topic": EVENTS,
            "payload": f"{self.origin} {thread_id}",
        }
        async with self.pool.connection() as conn:
            if then is None:
                written = await conn.execute(_WRITE, params)
            else:  # one round trip, one implicit transaction: the batch, then `then`
                async with conn.pipeline():
                    written = await conn.execute(_WRITE, params)
                    await then(conn)
            row = await written.fetchone()
        assert row is not None
        at = row["at"]
        return [Record(row["base"] + 1 + i, *event, at=at) for i, event in enumerate(pending)]

    async def read(
        self,
        thread_id: str,
        after: int,
        *,
        channels: Iterable[str],
        run_id: str | None = None,
        limit: int = 1000,
    ) -> list[Record]:
        """Written events after `after`, oldest first (from memory when it has them)."""
        wanted = tuple(channels)
        newer = self._cached_after(thread_id, after)
        if newer is not None:
            found = (
                r for r in newer if r.channel in wanted and (run_id is None or r.run_id == run_id)
            )
            return list(itertools.islice(found, limit))
        params = {
            "thread_id": thread_id,
            "after": after,
            "channels": list(wanted),
            "run_id": run_id,
            "limit": limit,
        }
        async with self.pool.connection() as conn, conn.cursor() as cur:
            await cur.execute(_SELECT, params)
            return [Record(**row) for row in await cur.fetchall()]

    def _cached_after(self, thread_id: str, after: int) -> list[Record] | None:
        """Every event after `after` from memory, or None when the cache does not reach back."""
        recent = self._recent.get(thread_id)
        if recent is None:
            return None
        first = recent[0].seq if recent else 1  # empty: a new thread (`created`)
        if first > after + 1:
            return None
        return recent[max(0, after + 1 - first) :]  # seqs in the cache are consecutive

    async def follow(
        self,
        thread_id: str,
        after: int,
        *,
        channels: Iterable[str],
        run_id: str | None = None,
    ) -> AsyncIterator[Record]:
        """Every written event after `after`, then each new one as it is written, until the
        thread is deleted (by any process)."""
        wanted = tuple(channels)
        life = self._lives.setdefault(thread_id, _Life())
        live = False  # past the replay: what follows is delivered as it is written
        while True:
            if life.over:
                return
            signal = self._signals.setdefault(thread_id, asyncio.Event())
            batch = await self.read(thread_id, after, channels=wanted, run_id=run_id)
            for record in batch:
                after = record.seq
                if live:
                    metrics.event_delivered(record.at)
                yield record
            if not batch:
                await signal.wait()
                live = True

    async def last(self, thread_id: str, event: str) -> tuple[float, str] | None:
        """When the thread's latest studio `event` was written (epoch seconds), and its data:
        from this process's cache of the thread's newest events when it holds one (a resume
        that follows its gate here asks nothing of Postgres), else from Postgres. A cache that
        starts at the thread's first event holds its whole log: not found there is not
        found (a graph whose gates write no `gate` event asks nothing either)."""
        recent = self._recent.get(thread_id)
        if recent is not None:
            for record in reversed(recent):
                if record.channel == "studio" and record.event == event:
                    return record.at, record.data
            if not recent or recent[0].seq == 1:
                return None
        async with self.pool.connection() as conn:
            row = await (
                await conn.execute(_LAST, {"thread_id": thread_id, "event": event})
            ).fetchone()
        return (row["at"], row["data"]) if row else None

    async def forget(self, thread_id: str, *, then: Then | None = None) -> None:
        """Drop a deleted thread's events and end its followers, in every process. `then`
        (deleting the thread's row) and the notification commit with the delete, so a
        follower's client that reconnects finds no thread."""
        async with self._lock(thread_id):
            self._buffers.pop(thread_id, None)
            self._held.pop(thread_id, None)
            async with self.pool.connection() as conn, conn.transaction():
                await conn.execute("DELETE FROM events WHERE thread_id = %s", [thread_id])
                await conn.execute("DELETE FROM event_counters WHERE thread_id = %s", [thread_id])
                if then is not None:
                    await then(conn)
                note = f"{self.origin} {thread_id}"
                await conn.execute("SELECT pg_notify(%s, %s)", [FORGOTTEN, note])
        self.forgotten(thread_id)

    def forgotten(self, thread_id: str) -> None:
        """The thread was deleted (here or by another process): drop its cache and end its
        followers (a client that reconnects then gets a 404)."""
        self._recent.pop(thread_id, None)
        if (life := self._lives.pop(thread_id, None)) is not None:
            life.over = True
        self._wake(thread_id)

    async def close(self) -> None:
        """Write what is buffered and stop the timers."""
        for timer in [*self._timers.values(), *self._background]:
            timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await timer
        self._timers.clear()
        for thread_id in list({**self._buffers, **self._held}):
            try:
                await self.flush(thread_id)
            except Exception:
                logger.exception("could not write buffered events of thread %s", thread_id)

    async def _flush_later(self, thread_id: str) -> None:
        """Group commit: write what is buffered as soon as no write is in flight; events
        appended during a write go in the next one, so batches grow only under load."""
        delay = self.flush_interval_s
        while True:
            await asyncio.sleep(delay)
            try:
                await self._flush(thread_id)  # held events wait for their explicit flush
            except Exception:
                logger.exception("writing events of thread %s failed; retrying", thread_id)
                delay = min(5.0, max(delay * 4, 0.2))
                continue
            if not self._buffers.get(thread_id):
                return
            delay = self.flush_interval_s

    def _timer_done(self, thread_id: str, timer: asyncio.Task[None]) -> None:
        if self._timers.get(thread_id) is timer:
            del self._timers[thread_id]

    def _lock(self, thread_id: str) -> asyncio.Lock:
        return self._locks.setdefault(thread_id, asyncio.Lock())

    def _wake(self, thread_id: str) -> None:
        signal = self._signals.pop(thread_id, None)
        if signal is not None:
            signal.set()

    def _remember(self, thread_id: str, records: list[Record]) -> None:
        """Cache the batch; the cache is always one unbroken run of seqs ending at the newest
        write this process knows of (anything else starts it over). An empty cache is one that
        `created` started: a new thread, nothing written yet."""
        recent = self._recent.setdefault(thread_id, [])
        self._recent.move_to_end(thread_id)
        if recent and recent[-1].seq + 1 != records[0].seq:
            recent.clear()
        recent.extend(records)
        if len(recent) > self.keep:
            del recent[: len(recent) - self.keep]
        self._evict()

    def _evict(self) -> None:
        """Keep the caches of the 256 threads used last."""
        while len(self._recent) > 256:
            self._recent.popitem(last=False)
