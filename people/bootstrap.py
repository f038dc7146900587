"""The first admin, and the home's owner token as that admin's credential.

A fresh studio has no users. The first `studio serve` (or `studio users add NAME --role admin`)
on a home creates an admin (named after the account on this machine, or NAME) and registers the
home's owner token (`STUDIO_HOME/owner-token`, `people/home_token.py`) as one of the admin's
tokens (`kind = 'home'`): the CLI, and the browser on this machine (`GET /local/owner`), act
as that person without typing anything. Threads made before accounts (no `owner_id`) are given
to the first admin. Another home on the same database registers its token to the first admin
too: whoever can read a home's files runs its studio.
"""

from __future__ import annotations

import getpass
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from psycopg.rows import dict_row

from people.accounts import NAME_RE
from people.client_tokens import token_hash
from people.home_token import home_token
from store.database import Connection, Pool

_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended('studio-bootstrap', 0))"


@dataclass(frozen=True)
class HomeAdmin:
    """The user the home's owner token signs in; `created` on the very first start."""

    user: dict[str, Any]
    created: bool


def local_name() -> str:
    """A user name for the person on this machine (their login, made valid), else `admin`."""
    try:
        login = getpass.getuser()
    except (KeyError, OSError):
        login = ""
    name = re.sub(r"[^A-Za-z0-9._@-]", "", login)[:64].lstrip("._@-")
    return name if name and NAME_RE.fullmatch(name) else "admin"


async def _one(conn: Connection, query: str, params: Any = None) -> dict[str, Any] | None:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query, params)
        return await cur.fetchone() if cur.description else None


async def ensure_home_admin(pool: Pool, home: Path, name: str | None = None) -> HomeAdmin:
    """The admin the home's owner token belongs to, creating the first admin (called `name`,
    or after this machine's login) on a studio without users. Safe to call from several
    processes at once (one transaction under an advisory lock)."""
    hashed = token_hash(home_token(home))
    async with pool.connection() as conn:
        async with conn.transaction():
            await conn.execute(_LOCK)
            known = await _one(
                conn,
                "SELECT u.* FROM access_tokens t JOIN users u ON u.user_id = t.user_id"
                " WHERE t.token_hash = %s",
                [hashed],
            )
            if known is not None:
                return HomeAdmin(known, created=False)
            admin = await _one(
                conn,
                "SELECT * FROM users WHERE role = 'admin' AND disabled_at IS NULL"
                " ORDER BY created_at, user_id LIMIT 1",
            )
            created = admin is None
            if admin is None:
                wanted = name or local_name()
                taken = await _one(
                    conn, "SELECT 1 FROM users WHERE lower(name) = lower(%s)", [wanted]
                )
                if taken is not None:  # a user of that name exists but is no admin
                    wanted = f"{wanted[:58]}-admin"
                admin = await _one(
                    conn,
                    "INSERT INTO users (user_id, name, role) VALUES (%s, %s, 'admin') RETURNING *",
                    [str(uuid.uuid4()), wanted],
                )
                assert admin is not None
            await conn.execute(
                "INSERT INTO access_tokens (token_id, user_id, name, prefix, token_hash, kind)"
                " VALUES (%s, %s, %s, %s, %s, 'home') ON CONFLICT (token_hash) DO NOTHING",
                [str(uuid.uuid4()), admin["user_id"], f"home {home}"[:100], "st_", hashed],
            )
            await adopt_orphans(conn, admin["user_id"])
            return HomeAdmin(admin, created=created)


async def adopt_orphans(conn: Connection, admin_id: str) -> None:
    """Give threads without an owner (made before accounts) to `admin_id`: a thread made
    with a home's owner token goes to that token's user, any other to the first admin."""
    await conn.execute(
        "UPDATE threads t SET owner_id = coalesce("
        " (SELECT a.user_id FROM access_tokens a WHERE a.token_hash = t.owner_hash), %s)"
        " WHERE t.owner_id IS NULL",
        [admin_id],
    )
