"""The studio's checkpointer: LangGraph's Postgres saver with message lists stored as deltas.

`AsyncPostgresSaver` serializes a changed list channel whole on every step, so a thread's
checkpoint storage grows with the square of its message count. `StudioSaver` stores each
message once per thread (content-addressed, in `checkpoint_list_items`) and each version of a
list as the version it extends plus what changed (`checkpoint_lists`); the checkpoint itself
keeps an inline marker where the list was. Reads rebuild every version exactly, so state,
history and resume see what the stock saver shows. Migration `0008_checkpoint_lists.sql`
creates the two tables.

It also drops the stock saver's instance lock when it holds a pool: the lock serializes every
database call of the process even though each call takes its own pooled connection
(langchain-ai/langgraph#7259, fix proposed in #7269).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import OrderedDict, defaultdict
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    get_serializable_checkpoint_metadata,
)
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from psycopg import AsyncCursor
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
_DELETE_THREAD = (
    "DELETE FROM checkpoints WHERE thread_id = %s",
    "DELETE FROM checkpoint_blobs WHERE thread_id = %s",
    "DELETE FROM checkpoint_writes WHERE thread_id = %s",
    "DELETE FROM checkpoint_lists WHERE thread_id = %s",
    "DELETE FROM checkpoint_list_items WHERE thread_id = %s",
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
        self.delta_channels = tuple(delta_channels)
        self._heads: OrderedDict[tuple[str, str, str], _Head] = OrderedDict()

    # -- the lock ----------------------------------------------------------------------------
    @asynccontextmanager
    async def _cursor(self, *, pipeline: bool = False) -> AsyncIterator[AsyncCursor[DictRow]]:
        if not isinstance(self.conn, AsyncConnectionPool):
            # One shared connection: its calls must take turns, as in the stock saver.
            async with super()._cursor(pipeline=pipeline) as cur:
                yield cur
            return
        async with self.conn.connection() as conn:
            if pipeline and self.supports_pipeline:
                # Statements up to the pipeline's sync run as one implicit transaction.
                async with conn.pipeline(), conn.cursor(binary=True, row_factory=dict_row) as cur:
                    yield cur
            elif pipeline:
                async with (
                    conn.transaction(),
                    conn.cursor(binary=True, row_factory=dict_row) as cur,
                ):
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
            return planned, self._dump_blobs(thread_id, ns, blob_values, blob_versions)

        if len(blob_values) + sum(len(value) for _, _, value in lists) <= INLINE_VALUES:
            planned, blobs = serialize()  # a thread hop would cost more than the work
        else:  # many values: off the event loop, in one hop
            planned, blobs = await asyncio.to_thread(serialize)
        async with self._cursor(pipeline=True) as cur:
            # Items, then lists (each after the version it extends), then the checkpoint.
            if items := [row for plan in planned for row in plan.items]:
                await cur.executemany(_INSERT_ITEMS, items)
            for plan in planned:
                await cur.execute(_INSERT_LIST, plan.list_row)
            if blobs:
                await cur.executemany(self.UPSERT_CHECKPOINT_BLOBS_SQL, blobs)
            await cur.execute(
                self.UPSERT_CHECKPOINTS_SQL,
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
            async with self._cursor() as cur:
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
        async with self._cursor(pipeline=True) as cur:
            for statement in _DELETE_THREAD:
                await cur.execute(statement, (str(thread_id),))
        self._forget(str(thread_id))

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
