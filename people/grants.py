"""Share grants and signed URLs: who may do what to ONE thread, without the owner's token.

A *grant* (`POST /threads/{id}/grants`) is a token of its own (`sg_…`, only its SHA-256 is
stored, `thread_grants`) for one thread and one role: `view` reads the thread (state, outputs,
timeline, stream, export), `direct` also acts on it (runs, gate answers, interjections,
settings). Neither deletes, copies or lists threads, or manages grants: that is the owner's.
The owner revokes a grant at any time; it may expire.

A *signed URL* is how a browser reaches media and the event stream, which `<img>`, `<video>`
and `EventSource` fetch without headers: `?t=THREAD&exp=UNIX&g=GRANT&sig=HMAC` over (thread,
grant, expiry), keyed by a per-home secret (`STUDIO_HOME/url-key`, mode 0600). It reads that
thread's media and stream for a few minutes and no more; a grant's signature dies with the
grant. No bearer token ever goes in a URL (`?access_token=` is not accepted).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from psycopg.rows import dict_row

from people.client_tokens import token_hash
from people.home_token import home_secret
from people.ownership import LIVE_GRANT, OWNER_ACTIVE
from store.database import Pool

Role = Literal["view", "direct"]
GRANT_PREFIX = "sg_"
KEY_FILE = "url-key"
LINK_TTL_S = 300
"""How long a signed URL lives: the UI asks for a fresh one before it runs out."""


@dataclass(frozen=True)
class Access:
    """How the caller reaches a thread: its owner, or a grant (with its id)."""

    role: Literal["owner", "view", "direct"]
    grant_id: str | None = None


def new_grant_token() -> str:
    return GRANT_PREFIX + secrets.token_urlsafe(32)


def grant_json(row: dict[str, Any]) -> dict[str, Any]:
    """A grant as listed: never its token or hash."""
    return {
        "grant_id": row["grant_id"],
        "thread_id": row["thread_id"],
        "role": row["role"],
        "label": row["label"],
        "user_id": row.get("user_id"),
        "created_at": row["created_at"].isoformat(),
        "expires_at": row["expires_at"].isoformat() if row["expires_at"] else None,
        "revoked_at": row["revoked_at"].isoformat() if row["revoked_at"] else None,
    }


async def _rows(pool: Pool, query: str, params: Any) -> list[dict[str, Any]]:
    async with pool.connection() as conn:
        async with conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(query, params)
            return await cur.fetchall() if cur.description else []


async def create_grant(
    pool: Pool,
    thread_id: str,
    role: Role,
    expires_in: int | None,
    label: str | None,
    user_id: str | None = None,
) -> tuple[dict[str, Any], str]:
    """A new grant's row and its token (shown once). With `user_id` the grant is also that
    user's: signed in as themself they find and open the thread (`people/ownership.py`)."""
    token = new_grant_token()
    expires = datetime.now(UTC) + timedelta(seconds=expires_in) if expires_in else None
    rows = await _rows(
        pool,
        "INSERT INTO thread_grants"
        " (grant_id, thread_id, token_hash, role, label, expires_at, user_id)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING *",
        [str(uuid.uuid4()), thread_id, token_hash(token), role, label, expires, user_id],
    )
    return rows[0], token


async def list_grants(pool: Pool, thread_id: str) -> list[dict[str, Any]]:
    return await _rows(
        pool,
        "SELECT * FROM thread_grants WHERE thread_id = %s ORDER BY created_at, grant_id",
        [thread_id],
    )


async def revoke_grant(pool: Pool, thread_id: str, grant_id: str) -> dict[str, Any] | None:
    rows = await _rows(
        pool,
        "UPDATE thread_grants SET revoked_at = coalesce(revoked_at, now())"
        " WHERE thread_id = %s AND grant_id = %s RETURNING *",
        [thread_id, grant_id],
    )
    return rows[0] if rows else None


_LIVE = "revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())"


async def grant_for(pool: Pool, thread_id: str, caller_hash: str) -> dict[str, Any] | None:
    """The live grant this token hash holds on this thread, if any."""
    rows = await _rows(
        pool,
        f"SELECT * FROM thread_grants WHERE thread_id = %s AND token_hash = %s AND {_LIVE}",
        [thread_id, caller_hash],
    )
    return rows[0] if rows else None


async def grant_is_live(pool: Pool, thread_id: str, grant_id: str) -> bool:
    """Whether the grant still holds: not revoked, not expired, its thread's owner not
    disabled (a signed URL made for a share link dies with it)."""
    rows = await _rows(
        pool,
        "SELECT 1 AS ok FROM thread_grants g JOIN threads t ON t.thread_id = g.thread_id"
        f" WHERE g.thread_id = %s AND g.grant_id = %s AND {LIVE_GRANT} AND {OWNER_ACTIVE}",
        [thread_id, grant_id],
    )
    return bool(rows)


def url_key(home: Path) -> bytes:
    """The home's URL-signing key (made on first use, readable by its user only)."""
    return home_secret(home / KEY_FILE, lambda: secrets.token_urlsafe(32)).encode()


def _mac(key: bytes, thread_id: str, grant_id: str, exp: int) -> str:
    message = f"studio-url\n{thread_id}\n{grant_id}\n{exp}".encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def sign(home: Path, thread_id: str, access: Access, ttl_s: int = LINK_TTL_S) -> dict[str, str]:
    """The query parameters of a signed URL for this thread's media and stream."""
    exp = int(time.time()) + ttl_s
    grant_id = access.grant_id or ""
    params = {"t": thread_id, "exp": str(exp), "sig": _mac(url_key(home), thread_id, grant_id, exp)}
    if grant_id:
        params["g"] = grant_id
    return params


def verified(home: Path, query: Any) -> tuple[str, str | None] | None:
    """`(thread_id, grant_id)` when `query` carries a valid, unexpired signature, else None."""
    thread_id, exp, sig = query.get("t"), query.get("exp"), query.get("sig")
    grant_id = query.get("g") or ""
    if not (thread_id and exp and sig) or not exp.isdigit() or int(exp) < time.time():
        return None
    if not hmac.compare_digest(_mac(url_key(home), thread_id, grant_id, int(exp)), sig):
        return None
    return thread_id, grant_id or None


def has_signature(query: Any) -> bool:
    return "sig" in query


async def grant_by_token(pool: Pool, caller_hash: str) -> dict[str, Any] | None:
    """The live grant a token hash is, on whichever thread."""
    rows = await _rows(
        pool, f"SELECT * FROM thread_grants WHERE token_hash = %s AND {_LIVE}", [caller_hash]
    )
    return rows[0] if rows else None
