"""Share grants (`/threads/{id}/grants`) and signed URLs for media and streams (`/links`)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from adapters.errors import InvalidInput, NotFound
from api.http.audit_trail import actor_of, audit
from api.http.deps import OwnerDep, ServicesDep, ViewDep
from people.accounts import user_by_name
from people.audit import record
from people.grants import (
    LINK_TTL_S,
    Access,
    Role,
    create_grant,
    grant_json,
    list_grants,
    revoke_grant,
)
from people.grants import sign as sign_url

router = APIRouter(prefix="/threads/{thread_id}", tags=["sharing"])


class GrantCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role = "view"
    """`view`: read the thread; `direct`: also run it, answer its gates, interject."""
    expires_in: int | None = Field(None, ge=60, le=365 * 24 * 3600)
    """Seconds until the grant stops working; none: until revoked."""
    label: str | None = Field(None, max_length=200)
    user: str | None = Field(None, min_length=1, max_length=64)
    """A user's name: the grant is also theirs, so signed in they see and open the thread (a
    viewer only ever reads)."""


@router.post("/grants", status_code=201)
async def share(
    body: GrantCreate, thread: OwnerDep, svc: ServicesDep, request: Request
) -> dict[str, Any]:
    """A share grant for this thread only (owner only). The response's `token` (shown once)
    is the bearer token the person you share with uses; it never lists, copies or deletes
    threads, and `view` cannot act."""
    pool = svc.studio.threads.pool
    tid = thread["thread_id"]
    detail = body.model_dump(exclude_none=True)
    async with audit(request, "grant.created", target=f"thread/{tid}", thread_id=tid) as entry:
        entry.detail.update(detail)
        user_id = None
        if body.user is not None:
            found = await user_by_name(pool, body.user)
            if found is None or found["disabled_at"] is not None:
                raise InvalidInput(f"user: no active user named {body.user[:64]}")
            user_id = found["user_id"]
        row, token = await create_grant(pool, tid, body.role, body.expires_in, body.label, user_id)
        entry.target = f"thread/{tid}/grant/{row['grant_id']}"
    return {**grant_json(row), "token": token}


@router.get("/grants")
async def shares(thread: OwnerDep, svc: ServicesDep) -> list[dict[str, Any]]:
    """The thread's grants, revoked and expired ones included, without their tokens."""
    return [
        grant_json(row) for row in await list_grants(svc.studio.threads.pool, thread["thread_id"])
    ]


@router.delete("/grants/{grant_id}", status_code=204)
async def unshare(grant_id: str, thread: OwnerDep, svc: ServicesDep, request: Request) -> Response:
    """Revoke a grant: its token, and the signed URLs made with it, stop working at once."""
    tid = thread["thread_id"]
    async with audit(
        request, "grant.revoked", target=f"thread/{tid}/grant/{grant_id[:64]}", thread_id=tid
    ):
        if await revoke_grant(svc.studio.threads.pool, tid, grant_id) is None:
            raise NotFound("Grant not found")
    return Response(status_code=204)


@router.post("/links")
async def links(thread: ViewDep, request: Request, svc: ServicesDep) -> dict[str, Any]:
    """Signed URLs for what a browser fetches without headers: `query` goes on
    `/assets/{id}?…` (this thread's media) and `stream` is the thread's event stream. They
    last `expires_in` seconds; ask again for fresh ones. No token is in them. `access` is how
    the caller reaches the thread (`owner`, `direct`, `view`): a page offers what it allows."""
    access: Access = request.state.access
    tid = thread["thread_id"]
    query = urlencode(sign_url(svc.settings.home, tid, access))
    detail = {"access": access.role, "grant_id": access.grant_id, "expires_in": LINK_TTL_S}
    await record(
        svc.studio.threads.pool,
        actor=actor_of(request),
        action="link.signed",
        target=f"thread/{tid}",
        thread_id=tid,
        outcome="ok",
        detail=detail,
    )
    return {
        "query": query,
        "stream": f"/threads/{tid}/stream?{query}",
        "expires_in": LINK_TTL_S,
        "access": access.role,
    }
