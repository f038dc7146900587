"""The audit trail from the HTTP routes: one `audited` block per mutating call, with the
request's caller (as the dependencies found it) and request id (`api/http/request_ids.py`);
and `RefusedAttempts`, for the changes refused before a route could record them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any

import psycopg
from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engine.store import Then
from people.audit import Pending, audited, record, run_action, watching
from people.identity import Caller
from store.database import Connection, Pool

MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
REFUSALS = frozenset({403, 404, 409, 422})
"""Answers that refuse a change: not allowed, not yours (or not there), a conflict, bad input."""


def actor_of(request: Request) -> Caller | None:
    """Who is calling, as `api.http.callers` resolved it for this request (None: a signed
    URL, or no credential)."""
    found: Caller | None = getattr(request.state, "caller", None)
    return found


def audit(
    request: Request,
    action: str,
    *,
    target: str | None = None,
    thread_id: str | None = None,
    detail: Mapping[str, Any] | None = None,
) -> AbstractAsyncContextManager[Pending]:
    """Record `action` when the block ends: `ok`, or `refused` / `failed` with the error."""
    svc = request.app.state.services
    return audited(
        svc.studio.threads.pool,
        actor=actor_of(request),
        action=action,
        target=target,
        thread_id=thread_id,
        detail=detail,
    )


async def audited_run(
    request: Request,
    thread_id: str,
    *,
    input: Mapping[str, Any] | None,
    command: Mapping[str, Any] | None,
    strategy: str,
    busy: Callable[[], Awaitable[bool]],
    submit: Callable[[Then], Awaitable[dict[str, Any]]],
) -> dict[str, Any]:
    """Create a run (`submit`, handed the hook that the run's submit transaction calls once
    the run is queued) and record it as what it is for the person (`run_action`: a run, an
    interjection, a gate answer, a stop). A queued run's entry is written in the transaction
    that queues it, knowing whether the thread was busy from that transaction: no statement of
    its own. Refused before it was queued (or a known Idempotency-Key's run), it is recorded
    as before, with `busy()` asked then."""

    def describe(entry: Pending, was_busy: bool) -> None:
        entry.action, detail = run_action(input=input, command=command, busy=was_busy)
        entry.detail = {**detail, "strategy": strategy}

    async def ask_busy() -> bool:
        try:
            return await busy()
        except psycopg.Error:  # the entry still goes (or goes to the error log)
            return False

    target = f"thread/{thread_id}"
    async with audit(request, "run.created", target=target, thread_id=thread_id) as entry:

        async def then(conn: Connection, run: dict[str, Any], was_busy: bool) -> None:
            describe(entry, was_busy)
            entry.target = f"{target}/run/{run['run_id']}"
            await entry.write(conn)

        try:
            run = await submit(then)
        except Exception:
            if not entry.written:
                describe(entry, await ask_busy())
            raise
        if not entry.written:
            describe(entry, await ask_busy())
        entry.target = f"{target}/run/{run['run_id']}"
    return run


class RefusedAttempts:
    """Pure ASGI middleware, inside the others: a change (POST, PUT, PATCH, DELETE) that a
    known caller was refused before its route recorded anything (a dependency's 403 or 404:
    someone else's thread, a viewer acting; a body the schema refuses: 422) is audited as
    `request.refused`, naming the route, not the URL. Callers without a credential are left
    out: the sign-in throttle and the request rate deal with them, and they would flood it."""

    def __init__(self, app: ASGIApp, pool: Callable[[], Pool]) -> None:
        self.app = app
        self.pool = pool

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in MUTATING:
            await self.app(scope, receive, send)
            return
        status = 0

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        with watching() as recorded:
            await self.app(scope, receive, watch)
        state = scope.get("state") or {}
        # a signed-in browser's cross-site attempt names its caller though it was refused
        caller = state.get("caller") or state.get("refused_caller")
        if status not in REFUSALS or not isinstance(caller, Caller) or recorded:
            return
        route = getattr(scope.get("route"), "path", None) or "(no route)"
        thread_id = (scope.get("path_params") or {}).get("thread_id")
        await record(
            self.pool(),
            actor=caller,
            action="request.refused",
            target=f"{scope['method']} {route}",
            thread_id=thread_id if isinstance(thread_id, str) else None,
            outcome="refused",
            detail={"method": scope["method"], "route": route, "status": status},
        )
