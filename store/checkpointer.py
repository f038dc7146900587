"""The studio's checkpointer: LangGraph's Postgres saver with message lists stored as deltas.

`AsyncPostgresSaver` serializes a changed list channel whole on every step, so a thread's
checkpoint storage grows with the square of its message count. `StudioSaver` stores each
message once per thread (content-addressed, in `checkpoint_list_items`) and each version of a
list as the version it extends plus what changed (`checkpoint_lists`); the checkpoint itself
keeps an inline marker where the list was. Reads rebuild every version exactly, so state,
history and resume see what the stock saver shows. Migration `0008_checkpoint_lists.sql`
creates the two tables.

It relies only on the stock saver's public surface: its tables (created by its `setup()`), its
public `serde`, `conn`, `pipe` and `lock` attributes and its public read methods; it writes
checkpoints with its own SQL, and a task's writes with the stock saver's public statements
(`UPSERT_CHECKPOINT_WRITES_SQL`, `INSERT_CHECKPOINT_WRITES_SQL`). On a pool, `lock` is
replaced by one that never waits: the stock lock serializes every database call of the
process although each call takes its own pooled connection (langchain-ai/langgraph#7259, fix
proposed in #7269). It also copies threads (all of one, or a branch: a checkpoint and its
ancestors) and deletes a run's checkpoints, and passes LangGraph's checkpointer conformance
suite (`tests/test_checkpointer_conformance.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections import OrderedDict, defaultdict
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import Any, cast

import psycopg
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    WRITES_IDX_MAP,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    get_serializable_checkpoint_metadata,
)
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.checkpoint.serde.types import INTERRUPT, RESUME
from psycopg import AsyncConnection, AsyncCursor
from psycopg.rows import DictRow, dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

logger = logging.getLogger("studio.checkpointer")

DELTA_MARKER = "__studio_delta_list__"
"""Inline value of a delta-stored channel in `checkpoints.checkpoint->'channel_values'`."""
DELTA_CHANNELS = ("messages", "contributions")
"""The studio state's append-mostly lists that grow with the discussion (graph/state.py)."""
INLINE_VALUES = 8
"""A checkpoint with at most this many values to serialize (blobs and list items) is
serialized on the event loop; more go to a worker thread, as the stock saver sends all."""
HEADS_CACHED = 1024
"""Threads whose latest list the saver remembers, to write the next version as a delta."""

_INSERT_ITEMS = """
    INSERT INTO checkpoint_list_items (thread_id, checkpoint_ns, key, type, blob)
    VALUES (%s, %s, %s, %s, %s)
    ON CONFLICT (thread_id, checkpoint_ns, key) DO NOTHING
"""
_INSERT_LIST = """
    INSERT INTO checkpoint_lists (thread_id, checkpoint_ns, channel, version, base, keep, keys)
    VALUES (%s, %s, %s, %s, %s, %s, %s)
    ON CONFLICT (thread_id, checkpoint_ns, channel, version) DO NOTHING
"""
# Every list version reachable from the requested ones (UNION: each once), then their items.
_SELECT_LISTS = """
    WITH RECURSIVE chain AS (
        SELECT version, base, keep, keys FROM checkpoint_lists
        WHERE thread_id = %(t)s AND checkpoint_ns = %(ns)s AND channel = %(ch)s
            AND version = ANY(%(versions)s)
        UNION
        SELECT l.version, l.base, l.keep, l.keys FROM chain c
        JOIN checkpoint_lists l ON l.thread_id = %(t)s AND l.checkpoint_ns = %(ns)s
            AND l.channel = %(ch)s AND l.version = c.base
    )
    SELECT 'list' AS kind, version AS id, base, keep, keys, NULL::text AS type, NULL::bytea AS blob
    FROM chain
    UNION ALL
    SELECT 'item', i.key, NULL, NULL, NULL, i.type, i.blob FROM checkpoint_list_items i
    WHERE i.thread_id = %(t)s AND i.checkpoint_ns = %(ns)s
        AND i.key = ANY(ARRAY(SELECT DISTINCT unnest(keys) FROM chain))
"""
_PENDING_WRITES = """
    SELECT task_id, channel, type, blob FROM checkpoint_writes
    WHERE thread_id = %(t)s AND checkpoint_ns = %(ns)s AND checkpoint_id = (
        SELECT checkpoint_id FROM checkpoints WHERE thread_id = %(t)s AND checkpoint_ns = %(ns)s
        ORDER BY checkpoint_id DESC LIMIT 1
    )
    ORDER BY task_path, task_id, idx
"""
"""The latest checkpoint's pending writes (as the stock `aget_tuple` picks and orders them)."""
NULL_TASK_ID = "00000000-0000-0000-0000-000000000000"
"""The task id of a superstep's input writes (LangGraph's `NULL_TASK_ID`): no task's status."""
CONTROL_WRITES = frozenset({"__error__", "__error_source_node__", INTERRUPT, RESUME})
"""Writes that say what happened to a task, not what it produced (LangGraph's
`CONTROL_WRITES`): a task that recorded any other write has finished."""
_DELETE_THREAD = (
    "DELETE FROM checkpoints WHERE thread_id = %s",
    "DELETE FROM checkpoint_blobs WHERE thread_id = %s",
    "DELETE FROM checkpoint_writes WHERE thread_id = %s",
    "DELETE FROM checkpoint_lists WHERE thread_id = %s",
    "DELETE FROM checkpoint_list_items WHERE thread_id = %s",
)
_UPSERT_BLOBS = """
    INSERT INTO checkpoint_blobs (thread_id, checkpoint_ns, channel, version, type, blob)
    VALUES (%s, %s, %s, %s, %s, %s)
    ON CONFLICT (thread_id, checkpoint_ns, channel, version) DO NOTHING
"""
_UPSERT_CHECKPOINT = """
    INSERT INTO checkpoints
        (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, checkpoint, metadata)
    VALUES (%s, %s, %s, %s, %s, %s)
    ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id)
    DO UPDATE SET checkpoint = EXCLUDED.checkpoint, metadata = EXCLUDED.metadata
"""
_COPIED = """
    WITH RECURSIVE chain AS (
        SELECT checkpoint_id, parent_checkpoint_id FROM checkpoints
        WHERE thread_id = %(source)s AND checkpoint_ns = '' AND checkpoint_id = %(at)s
        UNION ALL
        SELECT c.checkpoint_id, c.parent_checkpoint_id FROM chain
        JOIN checkpoints c ON c.thread_id = %(source)s AND c.checkpoint_ns = ''
            AND c.checkpoint_id = chain.parent_checkpoint_id
    ), copied AS (
        SELECT checkpoint_ns, checkpoint_id FROM checkpoints
        WHERE thread_id = %(source)s AND (%(at)s::text IS NULL OR checkpoint_id IN (
            SELECT checkpoint_id FROM chain
        ) OR (checkpoint_ns <> '' AND checkpoint_id <= %(at)s))
    )
"""
"""The checkpoints a copy takes: all of the thread's, or the branch at `at` (the checkpoint and
its ancestors; a subgraph's checkpoints up to it: their ids are time-ordered)."""
_COPY = (
    _COPIED
    + """INSERT INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id,
                                checkpoint, metadata)
       SELECT %(target)s, c.checkpoint_ns, c.checkpoint_id, c.parent_checkpoint_id,
              c.checkpoint, c.metadata
       FROM checkpoints c JOIN copied USING (checkpoint_ns, checkpoint_id)
       WHERE c.thread_id = %(source)s
       ON CONFLICT DO NOTHING""",
    _COPIED
    + """INSERT INTO checkpoint_writes (thread_id, checkpoint_ns, checkpoint_id, task_id,
                                      task_path, idx, channel, type, blob)
       SELECT %(target)s, w.checkpoint_ns, w.checkpoint_id, w.task_id, w.task_path, w.idx,
              w.channel, w.type, w.blob
       FROM checkpoint_writes w JOIN copied USING (checkpoint_ns, checkpoint_id)
       WHERE w.thread_id = %(source)s AND (
           %(at)s::text IS NULL OR w.checkpoint_id <> %(at)s OR w.channel = '__interrupt__'
           OR %(at)s = (SELECT max(checkpoint_id) FROM checkpoints
                        WHERE thread_id = %(source)s AND checkpoint_ns = '')
       )
       ON CONFLICT DO NOTHING""",
    """INSERT INTO checkpoint_blobs (thread_id, checkpoint_ns, channel, version, type, blob)
       SELECT %(target)s, checkpoint_ns, channel, version, type, blob
       FROM checkpoint_blobs WHERE thread_id = %(source)s
       ON CONFLICT DO NOTHING""",
    """INSERT INTO checkpoint_list_items (thread_id, checkpoint_ns, key, type, blob)
       SELECT %(target)s, checkpoint_ns, key, type, blob
       FROM checkpoint_list_items WHERE thread_id = %(source)s
       ON CONFLICT DO NOTHING""",
    """INSERT INTO checkpoint_lists (thread_id, checkpoint_ns, channel, version, base, keep, keys)
       SELECT %(target)s, checkpoint_ns, channel, version, base, keep, keys
       FROM checkpoint_lists WHERE thread_id = %(source)s
       ON CONFLICT DO NOTHING""",
)
"""A copy, in one transaction: the checkpoints `_COPIED` names and their writes, and every blob
and list version of the thread (a version the copied checkpoints do not name is never read).
A branch at a past checkpoint keeps only its pending interrupts: the writes that took the
source on from there (a gate's answer, finished tasks) would take the branch the same way."""
_DELETE_FOR_RUNS = (
    """DELETE FROM checkpoint_writes w USING checkpoints c
       WHERE c.metadata->>'run_id' = ANY(%(runs)s) AND w.thread_id = c.thread_id
         AND w.checkpoint_ns = c.checkpoint_ns AND w.checkpoint_id = c.checkpoint_id""",
    "DELETE FROM checkpoints WHERE metadata->>'run_id' = ANY(%(runs)s)",
)


class MissingListError(LookupError):
    """A checkpoint names a list version that is not stored (its rows were deleted)."""


@dataclass(frozen=True, slots=True)
class _Head:
    version: str
    keys: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Plan:
    head_key: tuple[str, str, str]
    items: list[tuple[str, str, str, str, bytes]]
    list_row: tuple[str, str, str, str, str | None, int, list[str]]
    head: _Head


@dataclass(frozen=True, slots=True)
class _ListRow:
    base: str | None
    keep: int
    keys: list[str]


class _Unlocked:
    """An async context manager that never waits: the stock saver's `lock` for a pool."""

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None


class StudioSaver(AsyncPostgresSaver):
    """`AsyncPostgresSaver` storing `delta_channels` (list channels) as deltas, lock-free on a pool.

    Args:
        conn: a pool (the studio's) or a single connection, as for `AsyncPostgresSaver`.
        delta_channels: list channels to store as deltas; other channels are stored as stock.
    """

    def __init__(
        self, conn: Any, *, delta_channels: Iterable[str] = DELTA_CHANNELS, **kwargs: Any
    ) -> None:
        super().__init__(conn, **kwargs)
        if isinstance(conn, AsyncConnectionPool):
            # each call takes its own pooled connection: nothing to serialize (#7259)
            self.lock = cast(asyncio.Lock, _Unlocked())
        self.delta_channels = tuple(delta_channels)
        self._heads: OrderedDict[tuple[str, str, str], _Head] = OrderedDict()

    # -- our own connection handling (the stock saver's is private) --------------------------
    @asynccontextmanager
    async def _session(self, *, atomic: bool = False) -> AsyncIterator[AsyncCursor[DictRow]]:
        """A cursor on a pooled connection, or on the one shared connection (its calls take
        turns). `atomic`: the statements commit together (a pipeline's implicit transaction,
        or an explicit one)."""
        if isinstance(self.conn, AsyncConnectionPool):
            async with self.conn.connection() as conn:
                async with self._cursor_on(conn, atomic=atomic) as cur:
                    yield cur
            return
        async with self.lock:
            conn = self.conn
            if self.pipe is not None:
                try:
                    async with conn.transaction() if atomic else contextlib.nullcontext():
                        async with conn.cursor(binary=True, row_factory=dict_row) as cur:
                            yield cur
                finally:
                    await self.pipe.sync()
                return
            async with self._cursor_on(conn, atomic=atomic) as cur:
                yield cur

    @asynccontextmanager
    async def _cursor_on(
        self, conn: AsyncConnection[DictRow], *, atomic: bool
    ) -> AsyncIterator[AsyncCursor[DictRow]]:
        if atomic and self.supports_pipeline:
            # statements up to the pipeline's sync run as one implicit transaction
            async with conn.pipeline(), conn.cursor(binary=True, row_factory=dict_row) as cur:
                yield cur
        elif atomic:
            async with conn.transaction(), conn.cursor(binary=True, row_factory=dict_row) as cur:
                yield cur
        else:
            async with conn.cursor(binary=True, row_factory=dict_row) as cur:
                yield cur

    # -- writes ------------------------------------------------------------------------------
    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """Save a checkpoint; delta channels go to the list tables, the rest as stock."""
        try:
            return await self._aput(config, checkpoint, metadata, new_versions)
        except psycopg.errors.ForeignKeyViolation:
            # The version a delta extends is gone (its thread was deleted by another process):
            # forget what this process remembered of the thread and store whole lists.
            thread_id = str(config["configurable"]["thread_id"])
            logger.info("thread %s lost its stored lists; storing them whole", thread_id)
            self._forget(thread_id)
            return await self._aput(config, checkpoint, metadata, new_versions)

    async def _aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        configurable = config["configurable"]
        thread_id, ns = str(configurable["thread_id"]), str(configurable["checkpoint_ns"])
        copy = checkpoint.copy()
        values = copy["channel_values"] = dict(checkpoint["channel_values"])
        lists: list[tuple[str, str, list[Any]]] = []
        for channel in self.delta_channels:
            value = values.get(channel)
            if not isinstance(value, list):
                continue  # empty or not a list: stored as stock
            values[channel] = DELTA_MARKER
            version = str(checkpoint["channel_versions"][channel])
            head = self._heads.get((thread_id, ns, channel))
            if channel in new_versions or head is None or head.version != version:
                lists.append((channel, version, value))
        blob_values = {
            k: values.pop(k)
            for k, v in list(values.items())
            if not (v is None or isinstance(v, str | int | float | bool))
        }
        blob_versions = {k: v for k, v in new_versions.items() if k in blob_values}
        heads = {channel: self._heads.get((thread_id, ns, channel)) for channel, _, _ in lists}

        def serialize() -> tuple[list[_Plan], list[Any]]:
            planned = self._plan(thread_id, ns, lists, heads)
            return planned, self._blob_rows(thread_id, ns, blob_values, blob_versions)

        if len(blob_values) + sum(len(value) for _, _, value in lists) <= INLINE_VALUES:
            planned, blobs = serialize()  # a thread hop would cost more than the work
        else:  # many values: off the event loop, in one hop
            planned, blobs = await asyncio.to_thread(serialize)
        async with self._session(atomic=True) as cur:
            # Items, then lists (each after the version it extends), then the checkpoint.
            if items := [row for plan in planned for row in plan.items]:
                await cur.executemany(_INSERT_ITEMS, items)
            for plan in planned:
                await cur.execute(_INSERT_LIST, plan.list_row)
            if blobs:
                await cur.executemany(_UPSERT_BLOBS, blobs)
            await cur.execute(
                _UPSERT_CHECKPOINT,
                (
                    thread_id,
                    ns,
                    checkpoint["id"],
                    configurable.get("checkpoint_id"),
                    Jsonb(copy),
                    Jsonb(get_serializable_checkpoint_metadata(config, metadata)),
                ),
            )
        for plan in planned:
            self._remember(plan.head_key, plan.head)
        return {
            "configurable": {
                "thread_id": thread_id,
                "checkpoint_ns": ns,
                "checkpoint_id": checkpoint["id"],
            }
        }

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        """Store a task's writes, as the stock saver does (same rows, same statement), but a
        few values are serialized on the event loop: the stock saver sends every call to a
        worker thread, and a node's handful of writes costs less than the hop (#20 point 7)."""
        configurable = config["configurable"]
        thread_id, ns = str(configurable["thread_id"]), str(configurable["checkpoint_ns"])
        checkpoint_id = str(configurable["checkpoint_id"])

        def rows() -> list[tuple[str, str, str, str, str, int, str, str, bytes]]:
            return [
                (
                    thread_id,
                    ns,
                    checkpoint_id,
                    task_id,
                    task_path,
                    WRITES_IDX_MAP.get(channel, index),
                    channel,
                    *self.serde.dumps_typed(value),
                )
                for index, (channel, value) in enumerate(writes)
            ]

        params = rows() if len(writes) <= INLINE_VALUES else await asyncio.to_thread(rows)
        special = all(channel in WRITES_IDX_MAP for channel, _ in writes)
        query = self.UPSERT_CHECKPOINT_WRITES_SQL if special else self.INSERT_CHECKPOINT_WRITES_SQL
        async with self._session(atomic=True) as cur:
            await cur.executemany(query, params)

    def _blob_rows(
        self, thread_id: str, ns: str, values: dict[str, Any], versions: ChannelVersions
    ) -> list[tuple[str, str, str, str, str, bytes | None]]:
        """`checkpoint_blobs` rows: each new version of a channel stored outside the checkpoint
        (a channel emptied in this step is stored as `empty`)."""
        rows: list[tuple[str, str, str, str, str, bytes | None]] = []
        for channel, version in versions.items():
            type_, blob = (
                self.serde.dumps_typed(values[channel]) if channel in values else ("empty", None)
            )
            rows.append((thread_id, ns, channel, str(version), type_, blob))
        return rows

    def _plan(
        self,
        thread_id: str,
        ns: str,
        lists: list[tuple[str, str, list[Any]]],
        heads: dict[str, _Head | None],
    ) -> list[_Plan]:
        """Serialize each list and diff it against the last version this process knows."""
        planned = []
        for channel, version, value in lists:
            head = heads[channel]
            dumped = [self.serde.dumps_typed(item) for item in value]
            keys = [_digest(type_, blob) for type_, blob in dumped]
            base, keep, known = None, 0, frozenset[str]()
            if head is not None and head.version != version:
                known = frozenset(head.keys)
                keep = _common_prefix(head.keys, keys)
                base = head.version if keep else None
            items: list[tuple[str, str, str, str, bytes]] = []
            seen = set(known)
            for key, (type_, blob) in zip(keys, dumped, strict=True):
                if key not in seen:
                    seen.add(key)
                    items.append((thread_id, ns, key, type_, blob))
            list_row = (thread_id, ns, channel, version, base, keep, keys[keep:])
            planned.append(
                _Plan((thread_id, ns, channel), items, list_row, _Head(version, tuple(keys)))
            )
        return planned

    # -- reads -------------------------------------------------------------------------------
    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """Get a checkpoint tuple (the latest, or `checkpoint_id`'s) with its lists rebuilt."""
        found = await super().aget_tuple(config)
        if found is not None:
            await self._rebuild([found], remember=True)
        return found

    async def apending_interrupts(self, thread_id: str, checkpoint_ns: str = "") -> list[Any]:
        """The interrupts waiting for an answer at the thread's latest checkpoint: what
        `graph.aget_state(...).interrupts` lists, read from the checkpoint's pending writes
        alone (one query; only the interrupts are deserialized) instead of building the
        whole snapshot. LangGraph's rule (`langgraph.pregel._task_status`): a task's latest
        `__interrupt__` write waits while the task has not finished, and a task has finished
        once it recorded a write other than a control write."""
        async with self._session() as cur:
            await cur.execute(_PENDING_WRITES, {"t": str(thread_id), "ns": checkpoint_ns})
            rows = await cur.fetchall()
        finished = {
            r["task_id"]
            for r in rows
            if r["channel"] not in CONTROL_WRITES and r["task_id"] != NULL_TASK_ID
        }
        found: list[Any] = []
        for r in rows:
            if r["channel"] != INTERRUPT or r["task_id"] in finished:
                continue
            if r["task_id"] == NULL_TASK_ID:
                continue
            value = self.serde.loads_typed((r["type"], r["blob"]))
            found.extend(value if isinstance(value, Sequence) else [value])
        return found

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        """List checkpoints, newest first, each with its lists as they were at that step."""
        # Collected first: the stock generator holds its connection while the caller iterates.
        found = [t async for t in super().alist(config, filter=filter, before=before, limit=limit)]
        await self._rebuild(found, remember=False)
        for checkpoint_tuple in found:
            yield checkpoint_tuple

    async def _rebuild(self, tuples: Sequence[CheckpointTuple], *, remember: bool) -> None:
        wanted: defaultdict[tuple[str, str, str], set[str]] = defaultdict(set)
        for t in tuples:
            values = t.checkpoint["channel_values"]
            for channel in self.delta_channels:
                if values.get(channel) == DELTA_MARKER:
                    version = str(t.checkpoint["channel_versions"][channel])
                    wanted[_where(t) + (channel,)].add(version)
        if not wanted:
            return
        resolved: dict[tuple[str, str, str, str], list[tuple[str, bytes]]] = {}
        for (thread_id, ns, channel), versions in wanted.items():
            async with self._session() as cur:
                params = {"t": thread_id, "ns": ns, "ch": channel, "versions": sorted(versions)}
                await cur.execute(_SELECT_LISTS, params)
                rows = await cur.fetchall()
            lists = {
                r["id"]: _ListRow(r["base"], r["keep"], r["keys"])
                for r in rows
                if r["kind"] == "list"
            }
            items = {r["id"]: (r["type"], r["blob"]) for r in rows if r["kind"] == "item"}
            for version, keys in _assemble(lists, sorted(versions)).items():
                try:
                    resolved[thread_id, ns, channel, version] = [items[k] for k in keys]
                except KeyError as exc:
                    raise MissingListError(f"item {exc} of {channel}@{version} is missing") from exc
                if remember:
                    self._remember((thread_id, ns, channel), _Head(version, keys))
        for t in tuples:
            values = t.checkpoint["channel_values"]
            for channel in self.delta_channels:
                if values.get(channel) == DELTA_MARKER:
                    version = str(t.checkpoint["channel_versions"][channel])
                    values[channel] = self._loads_list(resolved[_where(t) + (channel, version)])

    def _loads_list(self, dumped: list[tuple[str, bytes]]) -> list[Any]:
        if all(type_ == "msgpack" for type_, _ in dumped):
            # A msgpack array is its header then its items' encodings: this is the very blob
            # the stock saver would have stored for the list, decoded in one call as it would.
            blob = _msgpack_array_header(len(dumped)) + b"".join(blob for _, blob in dumped)
            return list(self.serde.loads_typed(("msgpack", blob)))
        return [self.serde.loads_typed(d) for d in dumped]

    # -- deletion ----------------------------------------------------------------------------
    async def adelete_thread(self, thread_id: str) -> None:
        """Delete a thread's checkpoints, writes, blobs and lists."""
        async with self._session(atomic=True) as cur:
            for statement in _DELETE_THREAD:
                await cur.execute(statement, (str(thread_id),))
        self._forget(str(thread_id))

    async def acopy_thread(
        self, source_thread_id: str, target_thread_id: str, *, at: str | None = None
    ) -> None:
        """Copy a thread's checkpoints, writes and lists to another thread id, in one
        transaction; the source is untouched. `at`: only that checkpoint (of the root
        namespace) and its ancestors, so the copy's latest checkpoint is `at` (a branch that
        waits at `at`'s gate, if one was pending there, and goes on from there)."""
        params = {"source": str(source_thread_id), "target": str(target_thread_id), "at": at}
        async with self._session(atomic=True) as cur:
            for statement in _COPY:
                await cur.execute(statement, params)

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        """Delete the checkpoints (and their writes) that runs wrote (`metadata.run_id`): a
        rolled-back run. The list versions stay: later versions may extend them."""
        if not run_ids:
            return
        async with self._session(atomic=True) as cur:
            for statement in _DELETE_FOR_RUNS:
                await cur.execute(statement, {"runs": [str(r) for r in run_ids]})

    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        """Prune as the stock saver; `delete` removes the threads' lists too.

        `keep_latest` leaves the lists alone: the kept checkpoint's list may extend versions
        whose checkpoints are pruned.
        """
        await super().aprune(thread_ids, strategy=strategy)
        if strategy == "delete" and not isinstance(thread_ids, str):
            for thread_id in thread_ids:
                await self.adelete_thread(str(thread_id))

    # -- the heads cache ---------------------------------------------------------------------
    def _remember(self, key: tuple[str, str, str], head: _Head) -> None:
        self._heads[key] = head
        self._heads.move_to_end(key)
        while len(self._heads) > HEADS_CACHED:
            self._heads.popitem(last=False)

    def _forget(self, thread_id: str) -> None:
        for key in [k for k in self._heads if k[0] == thread_id]:
            del self._heads[key]


def _where(t: CheckpointTuple) -> tuple[str, str]:
    configurable = t.config["configurable"]
    return str(configurable["thread_id"]), str(configurable.get("checkpoint_ns", ""))


def _digest(type_: str, blob: bytes) -> str:
    return hashlib.blake2b(type_.encode() + b"\0" + blob, digest_size=16).hexdigest()


def _msgpack_array_header(n: int) -> bytes:
    if n < 16:
        return bytes([0x90 | n])
    if n < 1 << 16:
        return b"\xdc" + n.to_bytes(2, "big")
    return b"\xdd" + n.to_bytes(4, "big")


def _common_prefix(a: Sequence[str], b: Sequence[str]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _assemble(lists: dict[str, _ListRow], versions: list[str]) -> dict[str, tuple[str, ...]]:
    """The keys of each of `versions` (ascending, so ancestors are built first and reused)."""
    built: dict[str, tuple[str, ...]] = {}
    for version in versions:
        chain: list[tuple[str, _ListRow]] = []
        at: str | None = version
        while at is not None and at not in built:
            row = lists.get(at)
            if row is None:
                raise MissingListError(f"list version {at} is missing")
            chain.append((at, row))
            at = row.base
        keys = list(built[at]) if at is not None else []
        for _, row in reversed(chain):
            del keys[row.keep :]
            keys.extend(row.keys)
        built[version] = tuple(keys)
    return built
