"""Threads: create (with a client token), read, patch, delete, search, state and history."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Query, Request, Response
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from adapters.errors import Conflict, InvalidInput, NotFound
from api.http.deps import OwnerDep, Services, ServicesDep, ThreadDep, ViewDep
from api.http.views import new_thread_json, state_json, thread_json
from engine.branches import branch, checkpoint_after_message
from engine.inputs import (
    HistoryQuery,
    ThreadCopy,
    ThreadCreate,
    ThreadPatch,
    ThreadSearch,
    small_metadata,
)
from people.client_tokens import bearer, check_api_key, new_token, owns, require_token, token_hash
from people.home_token import is_home_token
from store.database import Connection
from store.deletion import delete_files, delete_rows, is_deleted_sql

router = APIRouter(prefix="/threads", tags=["threads"])

_INSERT = """
    INSERT INTO threads (thread_id, status, phase, metadata, owner_hash)
    SELECT %(thread_id)s, 'idle', 'created', %(metadata)s,
           CASE WHEN %(trusted)s OR EXISTS (SELECT 1 FROM threads WHERE owner_hash = %(given)s)
                THEN %(given)s ELSE %(fresh)s END
    WHERE NOT {deleted}
    ON CONFLICT (thread_id) DO NOTHING
    RETURNING *
""".format(deleted=is_deleted_sql("%(thread_id)s"))
"""A new thread, owned by the token the caller sent if that token already owns a thread (or
is the home's owner token, `people/home_token.py`), else by a fresh one (one statement: the check
and the insert); never an id deleted once."""
_SEARCH = """
    SELECT * FROM threads
    WHERE owner_hash = %(owner)s
      AND (%(metadata)s::jsonb IS NULL OR metadata @> %(metadata)s::jsonb)
      AND (%(status)s::text IS NULL OR status = %(status)s)
    ORDER BY created_at DESC, thread_id
    LIMIT %(limit)s OFFSET %(offset)s
"""


async def _rows(svc: Services, query: str, params: Any) -> list[dict[str, Any]]:
    async with svc.studio.threads.pool.connection() as conn:
        async with conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(query, params)
            return await cur.fetchall()


def _owned_by(thread: dict[str, Any], owner: str | None) -> bool:
    return owner is not None and owns(thread["owner_hash"], owner)


@router.post("")
async def create_thread(body: ThreadCreate, request: Request, svc: ServicesDep) -> dict[str, Any]:
    """Create a thread. The response's `token` is the client token every later call on the
    thread needs (`Authorization: Bearer`); sending a token you already hold keeps one token
    for all your threads."""
    check_api_key(request, svc.settings.api_key)
    given, fresh = bearer(request), new_token()
    given_hash = token_hash(given) if given is not None else None
    thread_id = body.thread_id or str(uuid.uuid4())
    params = {
        "thread_id": thread_id,
        "metadata": Jsonb(body.metadata),
        "given": given_hash,
        "fresh": token_hash(fresh),
        "trusted": is_home_token(svc.settings.home, given),
    }
    rows = await _rows(svc, _INSERT, params)
    if not rows:
        if await _was_deleted(svc, thread_id):
            raise Conflict(f"Thread {thread_id} was deleted; a deleted id is never used again")
        existing = await svc.studio.threads.get(thread_id)
        if body.if_exists == "do_nothing" and existing and _owned_by(existing, given_hash):
            return {**await thread_json(svc, existing), "token": given}
        raise Conflict(f"Thread {thread_id} already exists")
    svc.log.created(thread_id)
    token = given if given is not None and rows[0]["owner_hash"] == given_hash else fresh
    return {**new_thread_json(rows[0]), "token": token}


@router.post("/search")
async def search_threads(
    body: ThreadSearch, request: Request, svc: ServicesDep
) -> list[dict[str, Any]]:
    """Your threads, newest first (ties by id: pages are stable), filtered by metadata."""
    params = {
        "owner": require_token(request),
        "metadata": None if body.metadata is None else Jsonb(body.metadata),
        "status": body.status,
        "limit": body.limit,
        "offset": body.offset,
    }
    return [await thread_json(svc, row) for row in await _rows(svc, _SEARCH, params)]


@router.get("/{thread_id}")
async def get_thread(thread: ThreadDep, svc: ServicesDep) -> dict[str, Any]:
    return await thread_json(svc, thread)


@router.patch("/{thread_id}")
async def patch_thread(body: ThreadPatch, thread: OwnerDep, svc: ServicesDep) -> dict[str, Any]:
    """Merge `metadata` into the thread's metadata."""
    try:
        small_metadata({**(thread.get("metadata") or {}), **body.metadata})
    except ValueError as exc:
        raise InvalidInput(f"metadata: merged with the thread's, {exc}") from None
    row = await svc.studio.threads.upsert(thread["thread_id"], metadata=body.metadata)
    return await thread_json(svc, row)


async def _was_deleted(svc: Services, thread_id: str) -> bool:
    found = await _rows(svc, f"SELECT {is_deleted_sql('%s')} AS deleted", [thread_id])
    return bool(found and found[0]["deleted"])


@router.delete("/{thread_id}", status_code=204)
async def delete_thread(thread: OwnerDep, svc: ServicesDep) -> Response:
    """Stop its runs and delete the thread for good: its checkpoints, runs, events, outputs
    and their image files (unless another thread made the same image). The id is never used
    again, so nothing the thread left can reach anyone who creates a thread later."""
    thread_id = thread["thread_id"]
    for run in await svc.runs.unfinished(thread_id):
        await svc.manager.cancel(thread_id, run["run_id"], action="interrupt", wait=True)
    await svc.studio.graph.checkpointer.adelete_thread(thread_id)  # type: ignore[union-attr]
    files: list[str] = []

    async def delete_everything(conn: Connection) -> None:
        files.extend(await delete_rows(conn, thread_id))

    # the rows, the tombstone and the followers' notification commit together
    await svc.log.forget(thread_id, then=delete_everything)
    assets = svc.studio.context.assets
    await delete_files(svc.studio.threads.pool, assets.root, files)
    return Response(status_code=204)


@router.post("/{thread_id}/copy")
async def copy_thread(
    thread: OwnerDep, svc: ServicesDep, body: ThreadCopy | None = None
) -> dict[str, Any]:
    """A new thread with this thread's checkpoints, owned by the same token (LangGraph
    Server's copy). `checkpoint_id`, or `message_id` (the first checkpoint holding that
    message), makes it a branch at that point: the branch's latest state is the thread's
    there. The thread itself is untouched."""
    body = body or ThreadCopy()
    at = body.checkpoint_id
    if body.message_id is not None:
        at = await checkpoint_after_message(svc.studio, thread["thread_id"], body.message_id)
    row = await branch(
        svc.studio,
        thread,
        thread_id=str(uuid.uuid4()),
        owner_hash=thread.get("owner_hash"),
        checkpoint_id=at,
        metadata=body.metadata,
    )
    svc.log.created(row["thread_id"])
    return await thread_json(svc, row)


@router.get("/{thread_id}/state")
async def get_state(thread: ThreadDep, svc: ServicesDep) -> dict[str, Any]:
    """The current checkpoint: values, next, tasks, interrupts (with ids) and checkpoint ids."""
    snapshot = await svc.studio.graph.aget_state(svc.studio.config(thread["thread_id"]))
    return state_json(snapshot)


@router.get("/{thread_id}/state/{checkpoint_id}")
async def get_state_at(checkpoint_id: str, thread: ThreadDep, svc: ServicesDep) -> dict[str, Any]:
    config = _config(thread["thread_id"], checkpoint_id)
    if not await _has_checkpoint(svc, config):
        raise NotFound("Checkpoint not found")
    return state_json(await svc.studio.graph.aget_state(config))


async def _has_checkpoint(svc: Services, config: RunnableConfig) -> bool:
    saver = svc.studio.graph.checkpointer
    return isinstance(saver, BaseCheckpointSaver) and await saver.aget_tuple(config) is not None


def _config(thread_id: str, checkpoint_id: str | None = None) -> RunnableConfig:
    configurable: dict[str, Any] = {"thread_id": thread_id, "checkpoint_ns": ""}
    if checkpoint_id:
        configurable["checkpoint_id"] = checkpoint_id
    return {"configurable": configurable}


async def _history(svc: Services, thread_id: str, query: HistoryQuery) -> list[dict[str, Any]]:
    given = before = query.before or None  # "" is no `before`
    if isinstance(before, dict):
        inner = before.get("configurable")
        before = before.get("checkpoint_id") or (
            inner.get("checkpoint_id") if isinstance(inner, dict) else None
        )
    if given is not None and not (
        isinstance(before, str) and await _has_checkpoint(svc, _config(thread_id, before))
    ):
        raise InvalidInput("before: not a checkpoint of this thread (a `checkpoint_id` it listed)")
    states = svc.studio.graph.aget_state_history(
        _config(thread_id),
        limit=query.limit,
        before=_config(thread_id, before) if isinstance(before, str) else None,
        filter=query.metadata,
    )
    return [state_json(snapshot) async for snapshot in states]


@router.get("/{thread_id}/history")
async def get_history(
    thread: ThreadDep,
    svc: ServicesDep,
    limit: int = Query(10, ge=1, le=1000),
    before: str | None = None,
) -> list[dict[str, Any]]:
    """Checkpoints, newest first."""
    return await _history(svc, thread["thread_id"], HistoryQuery(limit=limit, before=before))


@router.post("/{thread_id}/history")
async def post_history(
    body: HistoryQuery, thread: ViewDep, svc: ServicesDep
) -> list[dict[str, Any]]:
    return await _history(svc, thread["thread_id"], body)
