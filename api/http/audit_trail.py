"""The audit trail from the HTTP routes: one `audited` block per mutating call, with the
request's caller (as the dependencies found it) and request id (`api/http/request_ids.py`)."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any

from fastapi import Request

from people.audit import Pending, audited
from people.identity import Caller


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
