"""Request dependencies: the process's services and the caller's own thread."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request

from adapters.errors import NotFound, Unauthorized
from engine.eventlog import EventLog
from engine.manager import RunManager
from engine.settings import Settings
from engine.store import RunStore
from engine.studio import Studio
from people.client_tokens import bearer, owns, require_token
from people.grants import (
    Access,
    grant_by_token,
    grant_for,
    grant_is_live,
    has_signature,
    verified,
)


@dataclass(frozen=True)
class Services:
    """Everything routes use, built once by the app's lifespan."""

    settings: Settings
    studio: Studio
    log: EventLog
    runs: RunStore
    manager: RunManager


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


ServicesDep = Annotated[Services, Depends(services)]


_READS = frozenset({"GET", "HEAD"})


async def thread_access(
    thread_id: str, request: Request, svc: Services
) -> tuple[dict[str, Any], Access]:
    """The thread's registry row and how the caller reaches it: its owner's token, a live
    grant's token for this thread, or (for `GET …/stream` only) a signed URL. 401 without any
    credential, 404 for a thread that does not exist or that the credential does not reach
    (others' threads are invisible)."""
    if thread_id == "search":  # `/threads/search` with a method it does not take
        raise HTTPException(405, "Method Not Allowed", headers={"Allow": "POST"})
    query = request.query_params
    if bearer(request) is None and has_signature(query):
        found = verified(svc.settings.home, query)
        if request.method != "GET" or not request.url.path.endswith("/stream") or not found:
            raise Unauthorized("This signed URL is expired, altered or not for this call")
        signed_thread, grant_id = found
        row = await svc.studio.threads.get(thread_id)
        if row is None or signed_thread != thread_id:
            raise NotFound("Thread not found")
        if grant_id and not await grant_is_live(svc.studio.threads.pool, thread_id, grant_id):
            raise NotFound("Thread not found")
        return row, Access("view", grant_id)
    caller = require_token(request)
    row = await svc.studio.threads.get(thread_id)
    if row is None:
        raise NotFound("Thread not found")
    if owns(row.get("owner_hash"), caller):
        return row, Access("owner")
    grant = await grant_for(svc.studio.threads.pool, thread_id, caller)
    if grant is None:
        raise NotFound("Thread not found")
    return row, Access(grant["role"], grant["grant_id"])


def _forbidden(what: str) -> HTTPException:
    return HTTPException(403, f"This share link {what}; ask the thread's owner")


async def owned_thread(thread_id: str, request: Request, svc: ServicesDep) -> dict[str, Any]:
    """The thread, for its owner or a grant whose role allows this call: a `view` grant
    reads (GET), a `direct` grant also acts (runs, gate answers, settings)."""
    row, access = await thread_access(thread_id, request, svc)
    if access.role == "view" and request.method not in _READS:
        raise _forbidden("can only view the thread")
    request.state.access = access
    return row


async def viewed_thread(thread_id: str, request: Request, svc: ServicesDep) -> dict[str, Any]:
    """The thread, for any credential that reaches it (reads sent as POST: history, links)."""
    row, access = await thread_access(thread_id, request, svc)
    request.state.access = access
    return row


async def owners_thread(thread_id: str, request: Request, svc: ServicesDep) -> dict[str, Any]:
    """The thread, for its owner only: deleting, copying, renaming, sharing."""
    row, access = await thread_access(thread_id, request, svc)
    if access.role != "owner":
        raise _forbidden("cannot do this; only the thread's owner can")
    request.state.access = access
    return row


ThreadDep = Annotated[dict[str, Any], Depends(owned_thread)]
"""Owner, or a grant whose role allows the call (view: GET; direct: also acting)."""
ViewDep = Annotated[dict[str, Any], Depends(viewed_thread)]
OwnerDep = Annotated[dict[str, Any], Depends(owners_thread)]


async def may_read_asset(
    asset_thread_id: str, asset_id: str, request: Request, svc: Services
) -> bool:
    """Whether the caller may fetch this asset: the owner of the thread that made it (bearer),
    or a signed URL or grant for that thread, or for a branch of the same owner whose state
    holds the image (its inherited images). 401 without any credential."""
    query = request.query_params
    if bearer(request) is None and has_signature(query):
        found = verified(svc.settings.home, query)
        if found is None:
            raise Unauthorized("This signed URL is expired, altered or not for this call")
        reader, grant_id = found
        if grant_id and not await grant_is_live(svc.studio.threads.pool, reader, grant_id):
            return False
    else:
        caller = require_token(request)
        origin = await svc.studio.threads.get(asset_thread_id)
        if origin is not None and owns(origin.get("owner_hash"), caller):
            return True
        grant = await grant_by_token(svc.studio.threads.pool, caller)
        if grant is None:
            return False
        reader = grant["thread_id"]
    if reader == asset_thread_id:
        return True
    thread, origin = (
        await svc.studio.threads.get(reader),
        await svc.studio.threads.get(asset_thread_id),
    )
    if thread is None or origin is None or thread.get("owner_hash") != origin.get("owner_hash"):
        return False
    values = (await svc.studio.graph.aget_state(svc.studio.config(reader))).values or {}
    return any(str(g.get("asset_id")) == asset_id for g in values.get("generations", []))
