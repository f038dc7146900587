"""Who is calling: the request's credential turned into a `Caller` (once per request), the
per-user request rate spent, and the session cookie.

In order: `Authorization: Bearer` (a personal access token or a home's owner token: the user;
a thread's client token or a share grant's token: that thread only; anything else: 401, never
a fall back to the cookie), then the browser's session cookie, then, only when
`STUDIO_TRUSTED_USER_HEADER` is set, the user a trusted reverse proxy names (made a `creator`
on first sight). A request with a cookie that changes something must come from the studio's own
page (`Origin`, `Sec-Fetch-Site`): another site's page cannot act with the visitor's cookie.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable, Collection
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from fastapi import Request, Response

from adapters.errors import Conflict, Unauthorized
from api.http.guards import host_name
from people import accounts
from people.caller_cache import CallerCache, Entry
from people.client_tokens import bearer, token_hash
from people.errors import Forbidden, LimitReached
from people.identity import Caller
from people.limits import check_generations, check_runs, lock_user, spend_request
from people.ownership import scoped_caller
from store.database import Connection
from telemetry import context

if TYPE_CHECKING:
    from api.http.deps import Services

COOKIE = "studio_session"
_READS = frozenset({"GET", "HEAD", "OPTIONS"})


def _services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


async def _proxy_caller(svc: Services, name: str) -> Caller:
    pool = svc.studio.threads.pool
    row = await accounts.user_by_name(pool, name)
    if row is None:
        try:
            row = await accounts.add_user(pool, name, "creator")
        except Conflict:  # another process made them at the same moment
            row = await accounts.user_by_name(pool, name)
    if row is None or row["disabled_at"] is not None:
        raise Unauthorized(f"The user {name[:64]} is disabled; ask an admin")
    return accounts.caller_of(row, "proxy")


def _same_site(request: Request, trusted: Collection[str] = ()) -> bool:
    """Whether a cookie-carrying request comes from the studio's own pages, or from a
    frontend the operator listed in `STUDIO_CORS_ORIGINS` (`trusted`; never `*`)."""
    origin = request.headers.get("origin")
    if origin is not None and origin in trusted and origin != "*":
        return True
    if origin is not None:
        host = request.headers.get("host", "")
        return origin != "null" and host_name(origin.split("://", 1)[-1]) == host_name(host)
    return request.headers.get("sec-fetch-site", "same-origin") in ("same-origin", "none")


async def resolve(request: Request) -> Caller | None:
    """The request's caller (None: no credential at all); 401 for a credential that is not
    (or no longer) valid. Cached on the request; a call that changes something spends one unit
    of the caller's request rate (`LimitReached` past it)."""
    if hasattr(request.state, "caller"):
        found: Caller | None = request.state.caller
        return found
    svc = _services(request)
    _users.set({})
    caller = await _identify(request, svc)
    request.state.caller = caller
    if caller is not None:
        context.user.set(caller.user_id)  # the request's log lines (access line too) name them
    if caller is not None and request.method not in _READS:
        try:
            await spend(svc, caller)
        except LimitReached as over:
            if _CANCEL.search(request.url.path):
                return caller  # a stop is never refused
            if not _RUNS.search(request.url.path):
                raise
            request.state.over_rate = over  # the run route refuses it unless it is a stop
    return caller


_CANCEL = re.compile(r"/(?:runs|jobs)/[^/]+/cancel$")
"""Routes that stop work (a run, a Media Lab job): never refused by the request rate."""
_RUNS = re.compile(r"/threads/[^/]+/runs(?:/stream|/wait)?$")
"""Routes that create a run, which may be a stop (`stop_requested`, a gate's `stop`)."""


def over_rate(request: Request) -> LimitReached | None:
    """The request rate this request went past, when its route deferred the refusal to see
    whether it is a stop (`resolve`)."""
    found: LimitReached | None = getattr(request.state, "over_rate", None)
    return found


def _cache(request: Request) -> CallerCache | None:
    found: CallerCache | None = getattr(request.app.state, "caller_cache", None)
    return found


_users: ContextVar[dict[str, dict[str, Any]] | None] = ContextVar("studio_users", default=None)
"""The user rows this request has looked up (set afresh by `resolve`, once a request)."""


def _keep_user(user: dict[str, Any]) -> None:
    known = _users.get()
    if known is not None:
        known[user["user_id"]] = user


async def user_row(svc: Services, user_id: str) -> dict[str, Any] | None:
    """The user's row, at least their limits (`users` columns): looked up at most once a
    request, and not at all for the caller of a cached token (`people.caller_cache`)."""
    known = _users.get()
    if known is not None and user_id in known:
        return known[user_id]
    row = await accounts.user_by_id(svc.studio.threads.pool, user_id)
    if row is not None:
        _keep_user(row)
    return row


async def _token_caller(request: Request, svc: Services, token: str) -> Caller | None:
    """A personal access token's (or the home's owner token's) caller: from this process's
    cache when it holds the token, else one statement (its `last_used_at` written at most once
    a minute)."""
    pool = svc.studio.threads.pool
    hashed = token_hash(token)
    cache = _cache(request)
    entry = cache.get(hashed) if cache is not None else None
    if entry is not None:
        if accounts.token_due(entry.last_used_at):
            entry.last_used_at = datetime.now(UTC)
            await accounts.touch_token(pool, entry.token_id, None)
        _keep_user(entry.user)
        return entry.caller
    generation = cache.generation if cache is not None else 0
    row = await accounts.token_row(pool, hashed)
    if row is None:
        return None
    last_used = row["last_used_at"]
    if await accounts.touch_token(pool, row["token_id"], last_used):
        last_used = datetime.now(UTC)
    caller = accounts.token_row_caller(row)
    user = {key: row[key] for key in ("user_id", *accounts.LIMIT_FIELDS)}
    _keep_user(user)
    if cache is not None:
        found = Entry(
            caller, user, row["token_id"], row["token_expires_at"], last_used, time.monotonic()
        )
        cache.put(hashed, found, generation)
    return caller


async def _identify(request: Request, svc: Services) -> Caller | None:
    pool = svc.studio.threads.pool
    token = bearer(request)
    if token is not None:
        caller = await _token_caller(request, svc, token) or await scoped_caller(pool, token)
        if caller is None:
            raise Unauthorized(
                "This token is not valid: revoked, expired, never issued, or its user is disabled"
            )
        return caller
    session = request.cookies.get(COOKIE)
    if session:
        caller = await accounts.session_caller(pool, session)
        if caller is not None:
            trusted = svc.settings.cors_origin_list
            if request.method not in _READS and not _same_site(request, trusted):
                request.state.refused_caller = caller  # audited as request.refused (D5)
                raise Forbidden("A signed-in browser acts only from the studio's own pages")
            return caller
    header = svc.settings.trusted_user_header
    if header:
        name = request.headers.get(header, "").strip()
        if name:
            return await _proxy_caller(svc, accounts.check_name(name))
    return None


async def spend(svc: Services, caller: Caller) -> None:
    """One unit of the caller's request rate (their own limit, else the default)."""
    limits = svc.settings.user_limits
    pool = svc.studio.threads.pool
    if not caller.scoped or caller.via == "thread_token":
        limits = limits.for_user(await user_row(svc, caller.user_id))
    await spend_request(pool, caller.limit_key, limits.rate_per_minute)


async def require(request: Request) -> Caller:
    """The caller; 401 without a credential."""
    caller = await resolve(request)
    if caller is None:
        raise Unauthorized(
            "Sign in first: a session (the studio's page), or `Authorization: Bearer` with a"
            " personal access token"
        )
    return caller


async def run_limits(
    svc: Services, thread: dict[str, Any], *, new_work: bool
) -> Callable[[Connection], Awaitable[None]] | None:
    """The thread owner's limits on a new run: past their daily generations (for a run with
    new input) it is refused here; the returned gate refuses it past their concurrent runs,
    inside the transaction that queues it (one limit across processes)."""
    owner = thread.get("owner_id")
    if owner is None:
        return None
    pool = svc.studio.threads.pool
    mine = svc.settings.user_limits.for_user(await user_row(svc, owner))
    if new_work:
        await check_generations(pool, owner, mine.daily_generations)
    if mine.concurrent_runs <= 0:
        return None

    async def gate(conn: Connection) -> None:
        await lock_user(conn, owner)
        await check_runs(conn, owner, mine.concurrent_runs)

    return gate


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(accounts.SESSION_TTL.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


def clear_session_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(
        COOKIE, path="/", httponly=True, samesite="lax", secure=request.url.scheme == "https"
    )


def client_address(request: Request) -> str:
    return request.client.host if request.client else "-"


def caller_json(caller: Caller) -> dict[str, Any]:
    return {
        "user_id": caller.user_id,
        "name": caller.name,
        "role": caller.role,
        "via": caller.via,
        "thread_id": caller.thread_id,
    }
