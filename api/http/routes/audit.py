"""`GET /audit`: the audit trail for admins, newest first, filtered, paged by cursor."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from api.http.deps import ServicesDep, require_role
from people.audit import AuditQuery, query, time_bound
from people.identity import Caller

router = APIRouter(tags=["audit"])

AdminDep = Annotated[Caller, Depends(require_role("admin"))]


@router.get("/audit")
async def audit_trail(
    admin: AdminDep,
    svc: ServicesDep,
    thread: Annotated[str | None, Query(max_length=200)] = None,
    actor: Annotated[str | None, Query(max_length=200, description="A user id or name")] = None,
    action: Annotated[
        str | None,
        Query(
            max_length=100,
            pattern=r"^[a-z][a-z_]*(\.[a-z][a-z_]*)*$",
            description="An action (`gate.answered`) or its family (`run`)",
        ),
    ] = None,
    since: Annotated[str | None, Query(max_length=40)] = None,
    until: Annotated[str | None, Query(max_length=40)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """Who did what, when, to what, under which request id, and how it ended (`ok`,
    `refused`, `failed`), newest first. Admins only. Pass `next_cursor` back as `cursor` for
    the next page; filters combine."""
    filters = AuditQuery(
        thread=thread or None,
        actor=actor or None,
        action=action or None,
        since=time_bound(since, "since"),
        until=time_bound(until, "until", end=True),
    )
    page = await query(svc.studio.threads.pool, filters, cursor=cursor or None, limit=limit)
    return {"items": page.items, "next_cursor": page.next_cursor}
