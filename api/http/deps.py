"""Request dependencies: the process's services, the caller (`caller`, `require_role`) and the
threads the caller reaches."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request

from adapters.errors import NotFound, Unauthorized
from api.http import callers
from engine.eventlog import EventLog
from engine.manager import RunManager
from engine.settings import Settings
from engine.store import RunStore
from engine.studio import Studio
from people.client_tokens import bearer
from people.errors import Forbidden
from people.grants import Access, grant_is_live, has_signature, verified
from people.identity import Caller, Role
from people.ownership import owner_is_active, thread_with_access
from people.ownership import thread_access as access_of


@dataclass(frozen=True)
class Services:
    """Everything routes use, built once by the app's lifespan."""

    settings: Settings
    studio: Studio
    log: EventLog
    runs: RunStore
    manager: RunManager


async def services(request: Request) -> Services:
    """The process's services. A coroutine on purpose: FastAPI runs a plain function
    dependency in a worker thread, a thread hop on every request that uses it."""
    found: Services = request.app.state.services
    return found


ServicesDep = Annotated[Services, Depends(services)]


async def caller(request: Request) -> Caller:
    """The signed-in caller (`people.identity.Caller`); 401 when the request has no
    credential, or one that is not valid (revoked, expired, its user disabled)."""
    return await callers.require(request)


CallerDep = Annotated[Caller, Depends(caller)]


def require_role(*roles: Role) -> Callable[[Request], Awaitable[Caller]]:
    """A dependency: the caller, when their account has one of `roles` (403 otherwise; a
    thread's token or a share link has no account role: 403 too)."""

    async def check(request: Request) -> Caller:
        found = await callers.require(request)
        if found.scoped or found.role not in roles:
            raise Forbidden(f"This needs the {' or '.join(roles)} role")
        return found

    return check


_READS = frozenset({"GET", "HEAD"})


async def thread_access(
    thread_id: str, request: Request, svc: Services
) -> tuple[dict[str, Any], Access]:
    """The thread's registry row and how the caller reaches it (`people.ownership`): its
    owner, an admin, a user it is shared with, its own client token, a live grant's token, or
    (for `GET …/stream` only) a signed URL. 401 without any credential, 404 for a thread that
    does not exist or that the caller does not reach (others' threads are invisible)."""
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
        if not await owner_is_active(svc.studio.threads.pool, thread_id):
            raise NotFound("Thread not found")
        return row, Access("view", grant_id)
    who = await callers.require(request)
    row, access = await thread_with_access(svc.studio.threads.pool, who, thread_id)
    if row is None or access is None:
        raise NotFound("Thread not found")
    return row, Access(access, who.grant_id)


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
    """Whether the caller may fetch this asset: whoever reaches the thread that made it, or a
    signed URL or scoped credential for a branch of the same owner whose state holds the image
    (its inherited images). 401 without any credential."""
    query = request.query_params
    pool = svc.studio.threads.pool
    origin = await svc.studio.threads.get(asset_thread_id)
    if bearer(request) is None and has_signature(query):
        found = verified(svc.settings.home, query)
        if found is None:
            raise Unauthorized("This signed URL is expired, altered or not for this call")
        reader, grant_id = found
        if grant_id and not await grant_is_live(pool, reader, grant_id):
            return False
        if not await owner_is_active(pool, reader):
            return False
    else:
        who = await callers.require(request)
        if origin is not None and await access_of(pool, who, origin) is not None:
            return True
        if not who.scoped or who.thread_id is None:
            return False
        reader = who.thread_id
    if reader == asset_thread_id:
        return True
    thread = await svc.studio.threads.get(reader)
    if thread is None or origin is None or thread.get("owner_id") != origin.get("owner_id"):
        return False
    values = (await svc.studio.graph.aget_state(svc.studio.config(reader))).values or {}
    return any(str(g.get("asset_id")) == asset_id for g in values.get("generations", []))
