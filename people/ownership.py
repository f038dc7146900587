"""Who may read or direct what. Everything a thread has (runs, assets, exports) belongs to the
thread's owner; media jobs and other things with an `owner_id` use `can_read` / `can_direct`.

- `admin`: every thread, read and direct.
- `creator`: their own threads; others' threads shared with them (a grant naming them).
- `viewer`: reads what is shared with them, never directs.
- A thread's own client token (`st_…`) or a share grant's token (`sg_…`) reaches that thread
  only: the token as its owner, a grant as `view` or `direct`. They die while the thread's
  owner is disabled, and so does a grant naming a user: a disabled person's threads are read
  by admins only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from psycopg.rows import dict_row

from people.client_tokens import token_hash
from people.identity import Caller
from store.database import Pool

Access = Literal["owner", "direct", "view"]


@dataclass(frozen=True)
class Grant:
    """A grant on one thing for one user (`role`: `view` or `direct`)."""

    user_id: str
    role: Literal["view", "direct"]


def access_to(caller: Caller, owner_id: str | None, grants: Iterable[Grant] = ()) -> Access | None:
    """What an account caller may do to something owned by `owner_id` (None: nothing)."""
    if caller.scoped:
        return None
    if caller.is_admin():
        return "owner"
    if owner_id is not None and owner_id == caller.user_id and caller.role != "viewer":
        return "owner"
    best: Access | None = None
    for grant in grants:
        if grant.user_id != caller.user_id:
            continue
        if grant.role == "direct" and caller.role != "viewer":
            return "direct"
        best = "view"
    if owner_id is not None and owner_id == caller.user_id:
        best = "view"  # a creator demoted to viewer still reads what they made
    return best


def can_read(caller: Caller, owner_id: str | None, grants: Iterable[Grant] = ()) -> bool:
    return access_to(caller, owner_id, grants) is not None


def can_direct(caller: Caller, owner_id: str | None, grants: Iterable[Grant] = ()) -> bool:
    return access_to(caller, owner_id, grants) in ("owner", "direct")


async def _rows(pool: Pool, query: str, params: Any) -> list[dict[str, Any]]:
    async with pool.connection() as conn:
        async with conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(query, params)
            return await cur.fetchall()


LIVE_GRANT = "g.revoked_at IS NULL AND (g.expires_at IS NULL OR g.expires_at > now())"
"""SQL: the grant `g` holds (not revoked, not expired)."""
OWNER_ACTIVE = (
    "NOT EXISTS (SELECT 1 FROM users o WHERE o.user_id = t.owner_id AND o.disabled_at IS NOT NULL)"
)
"""SQL: the thread `t`'s owner is not disabled (their shares stop with them)."""


async def owner_is_active(pool: Pool, thread_id: str) -> bool:
    """Whether the thread's owner may still be reached through it (not disabled): a signed URL
    made before its owner was disabled stops with every other credential."""
    rows = await _rows(
        pool,
        f"SELECT 1 AS ok FROM threads t WHERE t.thread_id = %s AND {OWNER_ACTIVE}",
        [thread_id],
    )
    return bool(rows)


async def user_grants(pool: Pool, thread_id: str, user_id: str) -> list[Grant]:
    """The live grants on this thread naming this user (none while its owner is disabled)."""
    rows = await _rows(
        pool,
        "SELECT g.user_id, g.role FROM thread_grants g JOIN threads t ON t.thread_id = g.thread_id"
        f" WHERE g.thread_id = %s AND g.user_id = %s AND {LIVE_GRANT} AND {OWNER_ACTIVE}",
        [thread_id, user_id],
    )
    return [Grant(row["user_id"], row["role"]) for row in rows]


async def thread_access(pool: Pool, caller: Caller, thread: dict[str, Any]) -> Access | None:
    """What `caller` may do to this thread (its registry row), or None."""
    if caller.scoped:
        if caller.via == "thread_token":
            return "owner" if thread.get("owner_hash") == caller.scope_hash else None
        return caller.access if caller.thread_id == thread["thread_id"] else None
    owner = thread.get("owner_id")
    if caller.is_admin() or owner == caller.user_id:
        return access_to(caller, owner)
    return access_to(caller, owner, await user_grants(pool, thread["thread_id"], caller.user_id))


async def thread_with_access(
    pool: Pool, caller: Caller, thread_id: str
) -> tuple[dict[str, Any] | None, Access | None]:
    """The thread's registry row (None: no such thread) and what `caller` may do to it
    (`thread_access`), in one statement: the caller's live grants on it come with the row."""
    if caller.scoped or caller.is_admin():
        rows = await _rows(pool, "SELECT * FROM threads WHERE thread_id = %s", [thread_id])
        return (rows[0], await thread_access(pool, caller, rows[0])) if rows else (None, None)
    rows = await _rows(
        pool,
        "SELECT t.*, ARRAY(SELECT g.role FROM thread_grants g WHERE g.thread_id = t.thread_id"
        f" AND g.user_id = %s AND {LIVE_GRANT} AND {OWNER_ACTIVE}) AS caller_grant_roles"
        " FROM threads t WHERE t.thread_id = %s",
        [caller.user_id, thread_id],
    )
    if not rows:
        return None, None
    row = rows[0]
    grants = [Grant(caller.user_id, role) for role in row.pop("caller_grant_roles")]
    return row, access_to(caller, row.get("owner_id"), grants)


async def scoped_caller(pool: Pool, token: str) -> Caller | None:
    """The caller a thread's client token or a share grant's token is, when it is live and the
    thread's owner is not disabled."""
    hashed = token_hash(token)
    grants = await _rows(
        pool,
        "SELECT g.grant_id, g.thread_id, g.role, g.label, t.owner_id FROM thread_grants g"
        f" JOIN threads t ON t.thread_id = g.thread_id WHERE g.token_hash = %s AND {LIVE_GRANT}"
        f" AND {OWNER_ACTIVE}",
        [hashed],
    )
    if grants:
        grant = grants[0]
        return Caller(
            user_id=f"grant:{grant['grant_id']}",
            name=grant["label"] or "share link",
            role="creator" if grant["role"] == "direct" else "viewer",
            via="grant",
            thread_id=grant["thread_id"],
            access=grant["role"],
            grant_id=grant["grant_id"],
        )
    owned = await _rows(
        pool,
        "SELECT t.thread_id, t.owner_id, u.name FROM threads t"
        " LEFT JOIN users u ON u.user_id = t.owner_id"
        f" WHERE t.owner_hash = %s AND {OWNER_ACTIVE} LIMIT 2",
        [hashed],
    )
    if not owned:
        return None
    first = owned[0]
    return Caller(
        user_id=first["owner_id"] or f"token:{hashed[:16]}",
        name=first["name"] or "thread token",
        role="creator",
        via="thread_token",
        # a token made before accounts may have created several threads: it reaches them all
        thread_id=first["thread_id"] if len(owned) == 1 else None,
        access="owner",
        scope_hash=hashed,
    )


def visible_threads_sql(caller: Caller) -> tuple[str, dict[str, Any]]:
    """A WHERE clause (on `threads t`) for the threads `caller` may list, and its params."""
    if caller.is_admin():
        return "TRUE", {}
    if caller.via == "thread_token":
        return "t.owner_hash = %(scope)s", {"scope": caller.scope_hash}
    if caller.scoped:
        return "t.thread_id = %(scope)s", {"scope": caller.thread_id}
    return (
        "(t.owner_id = %(me)s OR EXISTS (SELECT 1 FROM thread_grants g WHERE"
        f" g.thread_id = t.thread_id AND g.user_id = %(me)s AND {LIVE_GRANT} AND {OWNER_ACTIVE}))",
        {"me": caller.user_id},
    )
