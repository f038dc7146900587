"""Accounts: users with one role, their passwords, browser sessions, personal access tokens,
one-time sign-in links, and the failed sign-in throttle. All in Postgres, so every studio
process on the database sees the same people.

Secrets are never stored: passwords as argon2id hashes (argon2-cffi), every token (session,
personal, link) as its SHA-256. A disabled user's sessions are ended and their tokens stop
working at once (every lookup checks `disabled_at`).
"""

from __future__ import annotations

import re
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from psycopg.rows import dict_row

from adapters.errors import Conflict, InvalidInput, NotFound, Unauthorized
from people.caller_cache import changed, notify_sql
from people.client_tokens import token_hash
from people.errors import LimitReached
from people.identity import ROLES, Caller, Role
from store.database import Pool

PAT_PREFIX = "spat_"
SESSION_PREFIX = "sss_"
LINK_PREFIX = "sl_"
SESSION_TTL = timedelta(days=14)
"""How long a browser stays signed in without signing in again."""
LINK_TTL = timedelta(hours=24)
"""How long a one-time sign-in link works (once)."""
MAX_FAILURES = 5
"""Failed sign-ins per (name, address) before sign-in waits for the window to pass."""
FAILURE_WINDOW = timedelta(minutes=15)
MIN_PASSWORD = 8
MAX_PASSWORD = 1024
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
TOKEN_NAME_MAX = 100
_LAST_USED_EVERY = timedelta(minutes=1)
"""`last_used_at` is written at most this often per token (not one write per request)."""

_USER_CHANGED = notify_sql("user", "user_id")
"""Every process's cached callers are forgotten when the statement commits (`caller_cache`)."""

_hasher = PasswordHasher()  # argon2id with the library's current parameters
_DUMMY_HASH = _hasher.hash("not a password anyone has: keeps unknown names as slow as known")


async def _rows(pool: Pool, query: str, params: Any = None) -> list[dict[str, Any]]:
    async with pool.connection() as conn:
        async with conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(query, params)
            return await cur.fetchall() if cur.description else []


async def _one(pool: Pool, query: str, params: Any = None) -> dict[str, Any] | None:
    rows = await _rows(pool, query, params)
    return rows[0] if rows else None


# --- users -------------------------------------------------------------------------------


def check_name(name: str) -> str:
    name = name.strip()
    if not NAME_RE.fullmatch(name):
        raise InvalidInput(
            "name: 1-64 characters, letters, digits and . _ @ - (starting with a letter or digit)"
        )
    return name


def check_role(role: str) -> Role:
    for known in ROLES:
        if role == known:
            return known
    raise InvalidInput(f"role: one of {', '.join(ROLES)}")


def check_password(password: str) -> str:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidInput(f"password: {MIN_PASSWORD} to {MAX_PASSWORD} characters")
    return password


def hash_password(password: str) -> str:
    return _hasher.hash(check_password(password))


def password_matches(stored: str | None, password: str) -> bool:
    """Whether `password` is the one `stored` hashes (as slow when there is no hash)."""
    try:
        return _hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def user_json(row: dict[str, Any]) -> dict[str, Any]:
    """A user as listed: never the password hash."""
    return {
        "user_id": row["user_id"],
        "name": row["name"],
        "role": row["role"],
        "created_at": row["created_at"].isoformat(),
        "disabled": row["disabled_at"] is not None,
        "disabled_at": row["disabled_at"].isoformat() if row["disabled_at"] else None,
        "has_password": row["password_hash"] is not None,
        "limits": {
            "rate_per_minute": row["rate_per_minute"],
            "concurrent_runs": row["concurrent_runs"],
            "daily_generations": row["daily_generations"],
        },
    }


def caller_of(row: dict[str, Any], via: str) -> Caller:
    role = check_role(row["role"])
    return Caller(user_id=row["user_id"], name=row["name"], role=role, via=via)


async def add_user(
    pool: Pool, name: str, role: str, *, password: str | None = None
) -> dict[str, Any]:
    """A new user (409 if the name is taken, whatever its case)."""
    name, checked = check_name(name), check_role(role)
    hashed = hash_password(password) if password is not None else None
    row = await _one(
        pool,
        "INSERT INTO users (user_id, name, role, password_hash) VALUES (%s, %s, %s, %s)"
        " ON CONFLICT DO NOTHING RETURNING *",
        [str(uuid.uuid4()), name, checked, hashed],
    )
    if row is None:
        raise Conflict(f"A user named {name} already exists")
    return row


async def list_users(pool: Pool) -> list[dict[str, Any]]:
    return await _rows(pool, "SELECT * FROM users ORDER BY created_at, name")


async def user_by_name(pool: Pool, name: str) -> dict[str, Any] | None:
    return await _one(pool, "SELECT * FROM users WHERE lower(name) = lower(%s)", [name.strip()])


async def user_by_id(pool: Pool, user_id: str) -> dict[str, Any] | None:
    return await _one(pool, "SELECT * FROM users WHERE user_id = %s", [user_id])


async def named(pool: Pool, name: str) -> dict[str, Any]:
    """The user called `name` (404 if none)."""
    row = await user_by_name(pool, name)
    if row is None:
        raise NotFound(f"No user named {name.strip()[:64]}")
    return row


async def set_disabled(pool: Pool, user_id: str, disabled: bool) -> dict[str, Any]:
    """Disable (or enable) a user. Disabling ends their sessions at once; their tokens and
    their threads' tokens and grants stop working while they are disabled. Their threads stay,
    readable by admins; runs already going finish (no new ones start)."""
    row = await _one(
        pool,
        "WITH changed AS (UPDATE users"
        " SET disabled_at = CASE WHEN %s THEN coalesce(disabled_at, now()) END"
        f" WHERE user_id = %s RETURNING *) SELECT *, {_USER_CHANGED} FROM changed",
        [disabled, user_id],
    )
    changed()
    if row is None:
        raise NotFound("User not found")
    if disabled:
        await _rows(pool, "DELETE FROM user_sessions WHERE user_id = %s", [user_id])
    return row


async def set_role(pool: Pool, user_id: str, role: str) -> dict[str, Any]:
    row = await _one(
        pool,
        "WITH changed AS (UPDATE users SET role = %s WHERE user_id = %s RETURNING *)"
        f" SELECT *, {_USER_CHANGED} FROM changed",
        [check_role(role), user_id],
    )
    changed()
    if row is None:
        raise NotFound("User not found")
    return row


LIMIT_FIELDS = ("rate_per_minute", "concurrent_runs", "daily_generations")


async def set_limits(pool: Pool, user_id: str, limits: dict[str, int | None]) -> dict[str, Any]:
    """Override some of a user's limits (None: back to the studio's default; 0: no limit)."""
    unknown = set(limits) - set(LIMIT_FIELDS)
    if unknown:
        raise InvalidInput(f"limits: unknown {', '.join(sorted(unknown))}")
    for key, value in limits.items():
        if value is not None and (isinstance(value, bool) or value < 0):
            raise InvalidInput(f"limits.{key}: a whole number, 0 or more (0: no limit)")
    row = await user_by_id(pool, user_id)
    if row is None:
        raise NotFound("User not found")
    merged = {key: limits.get(key, row[key]) for key in LIMIT_FIELDS}
    updated = await _one(
        pool,
        "WITH changed AS (UPDATE users SET rate_per_minute = %(rate_per_minute)s,"
        " concurrent_runs = %(concurrent_runs)s, daily_generations = %(daily_generations)s"
        f" WHERE user_id = %(user_id)s RETURNING *) SELECT *, {_USER_CHANGED} FROM changed",
        {**merged, "user_id": user_id},
    )
    changed()
    assert updated is not None
    return updated


async def set_password(pool: Pool, user_id: str, password: str) -> None:
    hashed = hash_password(password)
    await _rows(pool, "UPDATE users SET password_hash = %s WHERE user_id = %s", [hashed, user_id])


async def reset(pool: Pool, user_id: str) -> str:
    """Forget the user's password, end their sessions, and make a one-time sign-in link
    (returns its code) with which they sign in and choose a new password. Personal access
    tokens are left as they are (the user, or an admin, revokes them)."""
    await _rows(
        pool,
        "WITH changed AS (UPDATE users SET password_hash = NULL WHERE user_id = %s"
        f" RETURNING user_id) SELECT {_USER_CHANGED} FROM changed",
        [user_id],
    )
    changed()
    await _rows(pool, "DELETE FROM user_sessions WHERE user_id = %s", [user_id])
    return await create_link(pool, user_id)


# --- browser sessions --------------------------------------------------------------------


async def create_session(pool: Pool, user_id: str, ttl: timedelta = SESSION_TTL) -> str:
    """A new browser session for the user; returns the cookie's value (shown once)."""
    token = SESSION_PREFIX + secrets.token_urlsafe(32)
    await _rows(
        pool,
        "WITH gone AS (DELETE FROM user_sessions WHERE user_id = %s AND expires_at <= now())"
        " INSERT INTO user_sessions (token_hash, user_id, expires_at) VALUES (%s, %s, %s)",
        [user_id, token_hash(token), user_id, datetime.now(UTC) + ttl],
    )
    return token


_SESSION = """
    WITH found AS (
        SELECT u.* FROM user_sessions s JOIN users u ON u.user_id = s.user_id
        WHERE s.token_hash = %(hash)s AND s.expires_at > now() AND u.disabled_at IS NULL
    ), seen AS (
        UPDATE user_sessions SET last_seen_at = now()
        WHERE token_hash = %(hash)s AND last_seen_at < now() - %(every)s
          AND EXISTS (SELECT 1 FROM found)
    )
    SELECT * FROM found
"""
"""A live session's user; its `last_seen_at` written at most once a minute, not per request."""


async def session_caller(pool: Pool, token: str) -> Caller | None:
    row = await _one(pool, _SESSION, {"hash": token_hash(token), "every": _LAST_USED_EVERY})
    return caller_of(row, "session") if row else None


async def end_session(pool: Pool, token: str) -> None:
    await _rows(pool, "DELETE FROM user_sessions WHERE token_hash = %s", [token_hash(token)])


# --- personal access tokens --------------------------------------------------------------


def token_json(row: dict[str, Any]) -> dict[str, Any]:
    """A token as listed: its name and first characters, never the token or its hash."""
    return {
        "token_id": row["token_id"],
        "name": row["name"],
        "prefix": row["prefix"],
        "kind": row["kind"],
        "created_at": row["created_at"].isoformat(),
        "last_used_at": row["last_used_at"].isoformat() if row["last_used_at"] else None,
        "expires_at": row["expires_at"].isoformat() if row["expires_at"] else None,
        "revoked_at": row["revoked_at"].isoformat() if row["revoked_at"] else None,
    }


async def create_token(
    pool: Pool,
    user_id: str,
    name: str,
    *,
    expires_in: timedelta | None = None,
    kind: str = "personal",
    token: str | None = None,
) -> tuple[dict[str, Any], str]:
    """A personal access token for the user: its row and the token itself (shown once).
    `token` registers an existing secret instead (the home's owner token, `kind="home"`)."""
    name = name.strip()
    if not 1 <= len(name) <= TOKEN_NAME_MAX:
        raise InvalidInput(f"name: 1 to {TOKEN_NAME_MAX} characters")
    secret = token or PAT_PREFIX + secrets.token_urlsafe(32)
    expires = datetime.now(UTC) + expires_in if expires_in else None
    row = await _one(
        pool,
        "INSERT INTO access_tokens (token_id, user_id, name, prefix, token_hash, kind, expires_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING *",
        [str(uuid.uuid4()), user_id, name, secret[:9], token_hash(secret), kind, expires],
    )
    assert row is not None
    return row, secret


async def list_tokens(pool: Pool, user_id: str) -> list[dict[str, Any]]:
    return await _rows(
        pool,
        "SELECT * FROM access_tokens WHERE user_id = %s ORDER BY created_at, token_id",
        [user_id],
    )


async def revoke_token(pool: Pool, user_id: str, token_id: str) -> dict[str, Any] | None:
    """Revoke one of the user's tokens (None when they have no such token)."""
    row = await _one(
        pool,
        "WITH changed AS (UPDATE access_tokens SET revoked_at = coalesce(revoked_at, now())"
        " WHERE user_id = %s AND token_id = %s RETURNING *)"
        f" SELECT *, {notify_sql('token', 'token_id')} FROM changed",
        [user_id, token_id],
    )
    changed()
    return row


async def token_caller(pool: Pool, token: str) -> Caller | None:
    """The user a personal access token (or a home's owner token) belongs to, if it is live
    and the user is not disabled."""
    row = await token_row(pool, token_hash(token))
    if row is None:
        return None
    await touch_token(pool, row["token_id"], row["last_used_at"])
    return token_row_caller(row)


async def token_row(pool: Pool, hashed: str) -> dict[str, Any] | None:
    """The user row of a live token (its SHA-256 `hashed`) whose user is not disabled, with
    the token's `token_id`, `kind`, `expires_at` and `last_used_at`; None otherwise."""
    return await _one(
        pool,
        "SELECT u.*, t.token_id, t.kind, t.expires_at AS token_expires_at, t.last_used_at"
        " FROM access_tokens t JOIN users u ON u.user_id = t.user_id"
        " WHERE t.token_hash = %s AND t.revoked_at IS NULL"
        " AND (t.expires_at IS NULL OR t.expires_at > now()) AND u.disabled_at IS NULL",
        [hashed],
    )


def token_row_caller(row: dict[str, Any]) -> Caller:
    return caller_of(row, "local" if row["kind"] == "home" else "token")


def token_due(last_used_at: datetime | None) -> bool:
    """Whether a token's `last_used_at` is old enough to be written again."""
    return last_used_at is None or datetime.now(UTC) - last_used_at > _LAST_USED_EVERY


async def touch_token(pool: Pool, token_id: str, last_used_at: datetime | None) -> bool:
    """Write the token's `last_used_at` when it is due (at most once a minute a token);
    returns whether it wrote."""
    if not token_due(last_used_at):
        return False
    await _rows(
        pool, "UPDATE access_tokens SET last_used_at = now() WHERE token_id = %s", [token_id]
    )
    return True


# --- one-time sign-in links --------------------------------------------------------------


async def create_link(pool: Pool, user_id: str, ttl: timedelta = LINK_TTL) -> str:
    """A one-time sign-in code for `/auth/link?code=…` (shown once)."""
    code = LINK_PREFIX + secrets.token_urlsafe(32)
    await _rows(
        pool,
        "WITH gone AS (DELETE FROM signin_links WHERE user_id = %s"
        " AND (used_at IS NOT NULL OR expires_at <= now()))"
        " INSERT INTO signin_links (token_hash, user_id, expires_at) VALUES (%s, %s, %s)",
        [user_id, token_hash(code), user_id, datetime.now(UTC) + ttl],
    )
    return code


def link_url(base: str, code: str) -> str:
    """The address of a one-time sign-in code under the studio's address `base`."""
    return f"{base.rstrip('/')}/auth/link?{urlencode({'code': code})}"


async def use_link(pool: Pool, code: str) -> dict[str, Any]:
    """The user a one-time code signs in (the code is spent); 401 when it is unknown, used,
    expired, or its user is disabled."""
    row = await _one(
        pool,
        "UPDATE signin_links l SET used_at = now() FROM users u"
        " WHERE l.token_hash = %s AND l.user_id = u.user_id AND l.used_at IS NULL"
        " AND l.expires_at > now() AND u.disabled_at IS NULL RETURNING u.*",
        [token_hash(code)],
    )
    if row is None:
        raise Unauthorized("This sign-in link was used already, has expired, or is not valid")
    return row


# --- sign-in with a password, throttled ---------------------------------------------------


async def _throttled_for(pool: Pool, name: str, address: str) -> int:
    """Seconds until this (name, address) may try again (0: now)."""
    row = await _one(
        pool,
        "SELECT failures, extract(epoch FROM window_start + %s - now())::int AS left_s"
        " FROM signin_failures WHERE name = %s AND address = %s",
        [FAILURE_WINDOW, name, address],
    )
    if row is None or row["failures"] < MAX_FAILURES or row["left_s"] <= 0:
        return 0
    return int(row["left_s"])


async def _failed(pool: Pool, name: str, address: str) -> None:
    await _rows(
        pool,
        "WITH gone AS (DELETE FROM signin_failures WHERE window_start + %(window)s * 2 < now())"
        " INSERT INTO signin_failures (name, address, failures, window_start)"
        " VALUES (%(name)s, %(address)s, 1, now())"
        " ON CONFLICT (name, address) DO UPDATE SET"
        " failures = CASE WHEN signin_failures.window_start + %(window)s > now()"
        "   THEN signin_failures.failures + 1 ELSE 1 END,"
        " window_start = CASE WHEN signin_failures.window_start + %(window)s > now()"
        "   THEN signin_failures.window_start ELSE now() END",
        {"name": name, "address": address, "window": FAILURE_WINDOW},
    )


async def sign_in(pool: Pool, name: str, password: str, address: str) -> dict[str, Any]:
    """The user whose name and password these are. 401 for a wrong name or password (the
    same answer for both, as slow for both), a disabled user or one without a password; 429
    after `MAX_FAILURES` failures for this name from this address in `FAILURE_WINDOW`."""
    key = name.strip().lower()[:64]
    wait = await _throttled_for(pool, key, address)
    if wait:
        raise LimitReached(
            f"Too many failed sign-ins for {key}; try again in {wait} s",
            retry_after=wait,
            limit="sign_in",
        )
    row = await user_by_name(pool, key) if NAME_RE.fullmatch(key) else None
    stored = row["password_hash"] if row else None
    ok = password_matches(stored, password[:MAX_PASSWORD])
    if row is None or not ok or row["disabled_at"] is not None:
        await _failed(pool, key, address)
        raise Unauthorized("Wrong name or password")
    await _rows(
        pool, "DELETE FROM signin_failures WHERE name = %s AND address = %s", [key, address]
    )
    return row
