"""Time travel: a thread's branch, a new thread holding its checkpoints up to one of them.

The branch gets the parent's checkpoints (the chosen one and its ancestors), so its state,
history and pending gate are the parent's at that point, and its runs go on from there; its
registry row names its parent (`metadata.forked_from`) and its owner. The images it inherited
stay the parent's asset rows (its copied state refers to them by id): the branch references
them (`asset_refs`), with verdicts and scores of its own, so its gallery and export show them
with their lineage, approving there leaves the parent's verdicts alone, and deleting the
parent leaves them to the branch. The parent is not touched.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from langchain_core.runnables import RunnableConfig
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from adapters.errors import Conflict, InvalidInput, NotFound
from engine.runner import thread_status
from engine.studio import Studio
from store.checkpointer import StudioSaver
from store.deletion import is_deleted_sql

_INSERT = """
    INSERT INTO threads (thread_id, title, status, phase, metadata, owner_hash, owner_id)
    SELECT %(thread_id)s, %(title)s, %(status)s, %(phase)s, %(metadata)s, %(owner)s,
           coalesce(%(owner_id)s, (SELECT p.owner_id FROM threads p WHERE p.thread_id = %(source)s))
    WHERE NOT {deleted}
    ON CONFLICT (thread_id) DO NOTHING
    RETURNING *
""".format(deleted=is_deleted_sql("%(thread_id)s"))


def _config(thread_id: str, checkpoint_id: str | None = None) -> RunnableConfig:
    configurable: dict[str, Any] = {"thread_id": thread_id, "checkpoint_ns": ""}
    if checkpoint_id:
        configurable["checkpoint_id"] = checkpoint_id
    return {"configurable": configurable}


def _saver(studio: Studio) -> StudioSaver:
    saver = studio.graph.checkpointer
    if not isinstance(saver, StudioSaver):
        raise TypeError("branches need the studio's checkpointer (StudioSaver)")
    return saver


def no_checkpoint(thread_id: str, checkpoint_id: str | None) -> NotFound:
    """The 404 for a checkpoint that is not there: which one, on which thread, and where the
    thread's checkpoint ids are listed (or, with none asked for, that nothing has run yet)."""
    if checkpoint_id:
        return NotFound(
            f"no checkpoint {checkpoint_id!r} in thread {thread_id}; its checkpoint ids are "
            f"listed by GET /threads/{thread_id}/history (or `studio history {thread_id}`)"
        )
    return NotFound(
        f"thread {thread_id} has no checkpoint yet: nothing has run on it; "
        f"start a run on it first (POST /threads/{thread_id}/runs)"
    )


async def checkpoint_of(studio: Studio, thread_id: str, checkpoint_id: str | None) -> str:
    """The thread's checkpoint `checkpoint_id` (its latest when None); 404 when it has none."""
    found = await _saver(studio).aget_tuple(_config(thread_id, checkpoint_id))
    if found is None:
        raise no_checkpoint(thread_id, checkpoint_id)
    return str(found.config["configurable"]["checkpoint_id"])


async def checkpoint_after_message(studio: Studio, thread_id: str, message_id: str) -> str:
    """The first checkpoint that holds the message: branching there keeps it and everything
    before it, and nothing that came after."""
    found = None
    async for snapshot in studio.graph.aget_state_history(_config(thread_id)):
        ids = {getattr(m, "id", None) for m in (snapshot.values or {}).get("messages", [])}
        if message_id not in ids:
            if found is not None:
                break
            continue
        found = snapshot.config["configurable"]["checkpoint_id"]
    if found is None:
        raise InvalidInput(f"message_id: no message {message_id!r} in this thread")
    return str(found)


async def branch(
    studio: Studio,
    parent: dict[str, Any],
    *,
    thread_id: str,
    owner_hash: str | None,
    owner_id: str | None = None,
    checkpoint_id: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Make `thread_id` a branch of `parent` (a registry row) at `checkpoint_id` (its latest
    checkpoint when None); returns the branch's registry row. It belongs to `owner_id` (the
    parent's owner when None)."""
    source = str(parent["thread_id"])
    at = await checkpoint_of(studio, source, checkpoint_id)
    snapshot = await studio.graph.aget_state(_config(source, at))
    phase = str((snapshot.values or {}).get("phase", "created"))
    lineage = {"thread_id": source, "checkpoint_id": at}
    merged = {**(parent.get("metadata") or {}), **(metadata or {}), "forked_from": lineage}
    params = {
        "thread_id": thread_id,
        "title": parent.get("title"),
        "status": thread_status(busy=False, interrupted=bool(snapshot.interrupts), failed=False),
        "phase": phase,
        "metadata": Jsonb(merged),
        "owner": owner_hash,
        "owner_id": owner_id,
        "source": source,
    }
    async with studio.threads.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(_INSERT, params)
        row = await cur.fetchone()
    if row is None:
        raise Conflict(f"Thread {thread_id} already exists (or was deleted)")
    await _saver(studio).acopy_thread(source, thread_id, at=at)
    made = datetime.fromisoformat(snapshot.created_at) if snapshot.created_at else None
    await studio.context.assets.share(
        source, thread_id, asset_ids=sorted(_asset_ids(snapshot.values)), until=made
    )
    return row


def _asset_ids(value: Any) -> set[str]:
    """Every asset id a state names (`asset_id` keys, at any depth)."""
    if isinstance(value, dict):
        found = {str(value["asset_id"])} if isinstance(value.get("asset_id"), str) else set()
        return found.union(*(_asset_ids(v) for v in value.values()))
    if isinstance(value, list | tuple):
        return set().union(*(_asset_ids(v) for v in value))
    return set()
