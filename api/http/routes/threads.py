"""Threads: create (with a client token), read, patch, delete, search, state and history."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from adapters.errors import Conflict, InvalidInput
from api.http.audit_trail import actor_of, audit
from api.http.deps import (
    CallerDep,
    OwnerDep,
    Services,
    ServicesDep,
    ThreadDep,
    ViewDep,
    require_role,
)
from api.http.views import new_thread_json, state_json, thread_json
from engine.branches import branch, checkpoint_after_message, no_checkpoint
from engine.inputs import (
    HistoryQuery,
    ThreadCopy,
    ThreadCreate,
    ThreadPatch,
    ThreadSearch,
    small_metadata,
)
from people.audit import record, scrub_thread
from people.client_tokens import check_api_key, new_token, token_hash
from people.identity import Caller
from people.ownership import thread_access, visible_threads_sql
from store.database import Connection
from store.deletion import delete_files, delete_rows, is_deleted_sql

router = APIRouter(prefix="/threads", tags=["threads"])
CreatorDep = Annotated[Caller, Depends(require_role("admin", "creator"))]

_INSERT = """
    INSERT INTO threads (thread_id, title, status, phase, metadata, owner_hash, owner_id)
    SELECT %(thread_id)s, %(title)s, 'idle', 'created', %(metadata)s, %(token_hash)s, %(owner_id)s
    WHERE NOT {deleted}
    ON CONFLICT (thread_id) DO NOTHING
    RETURNING *
""".format(deleted=is_deleted_sql("%(thread_id)s"))
"""A new thread, owned by the caller's account, with a fresh client token of its own (a
credential for this thread only); never an id deleted once. Its title (what `studio threads`,
the export and the library name it by) is `metadata.title`, never a part of its brief."""


def _title(metadata: dict[str, Any]) -> str | None:
    """The thread's title from its metadata: `title` when it is a non-blank string."""
    title = metadata.get("title")
    return (title.strip()[:200] or None) if isinstance(title, str) else None


_SEARCH = """
    SELECT t.* FROM threads t
    WHERE {visible}
      AND (%(metadata)s::jsonb IS NULL OR t.metadata @> %(metadata)s::jsonb)
      AND (%(status)s::text IS NULL OR t.status = %(status)s)
      -- Media Lab jobs' threads only when asked for by graph id (`/media/jobs` lists them)
      AND (NOT t.metadata @> '{{"graph_id": "media"}}' OR %(metadata)s::jsonb ? 'graph_id')
    ORDER BY t.created_at DESC, t.thread_id
    LIMIT %(limit)s OFFSET %(offset)s
"""


async def _rows(svc: Services, query: str, params: Any) -> list[dict[str, Any]]:
    async with svc.studio.threads.pool.connection() as conn:
        async with conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(query, params)
            return await cur.fetchall()


@router.post("")
async def create_thread(
    body: ThreadCreate, request: Request, svc: ServicesDep, who: CreatorDep
) -> dict[str, Any]:
    """Create a thread, owned by you (a creator or an admin). The response's `token` is the
    thread's own client token (shown once): a credential for this thread only, for clients
    that keep one token per thread; your own token or session works on it as well."""
    check_api_key(request, svc.settings.api_key)
    fresh = new_token()
    thread_id = body.thread_id or str(uuid.uuid4())
    params = {
        "thread_id": thread_id,
        "metadata": Jsonb(body.metadata),
        "title": _title(body.metadata),
        "token_hash": token_hash(fresh),
        "owner_id": who.user_id,
    }
    target = f"thread/{thread_id}"
    async with audit(request, "thread.created", target=target, thread_id=thread_id) as entry:
        entry.detail["metadata"] = body.metadata
        # the thread and its audit entry in one statement: no thread made, no entry
        logged, logged_params = entry.insert_from("made")
        made = f"WITH made AS ({_INSERT}), logged AS ({logged}) SELECT * FROM made"
        rows = await _rows(svc, made, {**params, **logged_params})
        entry.wrote(bool(rows))
        if not rows:
            if await _was_deleted(svc, thread_id):
                raise Conflict(f"Thread {thread_id} was deleted; a deleted id is never used again")
            existing = await svc.studio.threads.get(thread_id)
            pool = svc.studio.threads.pool
            if (
                body.if_exists == "do_nothing"
                and existing
                and await thread_access(pool, who, existing) == "owner"
            ):
                entry.detail["existed"] = True
                return await thread_json(svc, existing)
            raise Conflict(f"Thread {thread_id} already exists")
    svc.log.created(thread_id)
    return {**new_thread_json(rows[0]), "token": fresh}


@router.post("/search")
async def search_threads(
    body: ThreadSearch, who: CallerDep, svc: ServicesDep
) -> list[dict[str, Any]]:
    """The threads you reach, newest first (ties by id: pages are stable), filtered by
    metadata: your own and those shared with you (an admin: every thread; a thread's token:
    its thread; a share link: none)."""
    if who.via == "grant":
        return []  # a share link opens its thread; it never lists threads
    visible, scope = visible_threads_sql(who)
    params = {
        **scope,
        "metadata": None if body.metadata is None else Jsonb(body.metadata),
        "status": body.status,
        "limit": body.limit,
        "offset": body.offset,
    }
    query = _SEARCH.format(visible=visible)
    return [await thread_json(svc, row) for row in await _rows(svc, query, params)]


@router.get("/{thread_id}")
async def get_thread(thread: ThreadDep, svc: ServicesDep) -> dict[str, Any]:
    return await thread_json(svc, thread)


@router.patch("/{thread_id}")
async def patch_thread(
    body: ThreadPatch, thread: OwnerDep, svc: ServicesDep, request: Request
) -> dict[str, Any]:
    """Merge `metadata` into the thread's metadata."""
    tid = thread["thread_id"]
    detail = {"metadata": body.metadata}
    async with audit(
        request, "thread.updated", target=f"thread/{tid}", thread_id=tid, detail=detail
    ):
        try:
            small_metadata({**(thread.get("metadata") or {}), **body.metadata})
        except ValueError as exc:
            raise InvalidInput(f"metadata: merged with the thread's, {exc}") from None
        title = _title(body.metadata)
        row = await svc.studio.threads.upsert(tid, title=title, metadata=body.metadata)
    return await thread_json(svc, row)


async def _was_deleted(svc: Services, thread_id: str) -> bool:
    found = await _rows(svc, f"SELECT {is_deleted_sql('%s')} AS deleted", [thread_id])
    return bool(found and found[0]["deleted"])


@router.delete("/{thread_id}", status_code=204)
async def delete_thread(thread: OwnerDep, svc: ServicesDep, request: Request) -> Response:
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
        await scrub_thread(conn, thread_id)  # the trail keeps who and what, not the words
        await record(
            conn,
            actor=actor_of(request),
            action="thread.deleted",
            target=f"thread/{thread_id}",
            thread_id=thread_id,
            outcome="ok",
            detail={"files": len(files)},
        )

    # the rows, the tombstone and the followers' notification commit together
    await svc.log.forget(thread_id, then=delete_everything)
    assets = svc.studio.context.assets
    await delete_files(svc.studio.threads.pool, assets.root, files)
    return Response(status_code=204)


@router.post("/{thread_id}/copy")
async def copy_thread(
    thread: OwnerDep,
    who: CallerDep,
    svc: ServicesDep,
    request: Request,
    body: ThreadCopy | None = None,
) -> dict[str, Any]:
    """A new thread with this thread's checkpoints (LangGraph Server's copy), owned by you
    (with a thread's token: by the thread's owner, and reached by the same token).
    `checkpoint_id`, or `message_id` (the first checkpoint holding that message), makes it a
    branch at that point: the branch's latest state is the thread's there. The thread itself
    is untouched."""
    body = body or ThreadCopy()
    new_id = str(uuid.uuid4())
    source = thread["thread_id"]
    async with audit(
        request, "thread.created", target=f"thread/{new_id}", thread_id=new_id
    ) as entry:
        entry.detail["copied_from"] = {"thread_id": source, **body.model_dump(exclude_none=True)}
        at = body.checkpoint_id
        if body.message_id is not None:
            at = await checkpoint_after_message(svc.studio, source, body.message_id)
        row = await branch(
            svc.studio,
            thread,
            thread_id=new_id,
            owner_hash=thread.get("owner_hash"),
            owner_id=thread.get("owner_id") if who.scoped else who.user_id,
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
        raise no_checkpoint(thread["thread_id"], checkpoint_id)
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
