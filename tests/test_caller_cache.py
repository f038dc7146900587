"""The bearer-token cache (`people.caller_cache`): a cached caller costs no statement, and a
revoked token, a disabled user or a changed role takes effect at once in every process (two
real `studio serve` processes on one Postgres); the cache fails closed without its listener."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from people import accounts, caller_cache
from people.caller_cache import CallerCache, Entry
from people.identity import Caller
from store.database import Database, Pool
from tests.api_helpers import ServerProcess, serve

pytestmark = pytest.mark.anyio
PATIENCE = 300
"""Polls of 0.05 s for the listener (a shared machine)."""


def entry(expires_at: datetime | None = None) -> Entry:
    ada = Caller(user_id="u1", name="ada", role="creator", via="token")
    return Entry(ada, {"user_id": "u1"}, "t1", expires_at, None, time.monotonic())


async def until(check: Any) -> None:
    for _ in range(PATIENCE):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the cache's listener never got there")


async def test_the_cache_keeps_callers_only_while_it_listens(pool: Pool, database_url: str) -> None:
    cache = CallerCache(pool)
    cache.put("h", entry(), cache.generation)
    assert cache.get("h") is None, "not listening yet: nothing is kept"
    await cache.start()
    try:
        assert cache.listening
        cache.put("h", entry(), cache.generation)
        assert cache.get("h") is not None

        before = cache.generation  # a lookup that began before a change keeps nothing
        caller_cache.changed()
        assert cache.get("h") is None
        cache.put("h", entry(), before)
        assert cache.get("h") is None

        cache.put("h", entry(), cache.generation)  # another process's change: its NOTIFY
        seen = cache.generation
        async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
            await conn.execute("SELECT pg_notify('studio_people', 'user u1')")
        await until(lambda: cache.generation != seen)
        assert cache.get("h") is None

        gone = datetime.now(UTC) - timedelta(seconds=1)  # never past the token's expiry
        cache.put("h", entry(gone), cache.generation)
        assert cache.get("h") is None

        cache.put("h", entry(), cache.generation)  # the listener's connection is lost
        async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
            await conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name LIKE 'studio people pid=%%'"
                " AND datname = current_database()"
            )
        await until(lambda: not cache.listening)
        assert cache.get("h") is None
        await until(lambda: cache.listening)  # it reconnects, empty
        assert cache.get("h") is None
    finally:
        await cache.close()
    assert not cache.listening


async def test_entries_live_at_most_their_ttl(pool: Pool) -> None:
    cache = CallerCache(pool, ttl_s=0.0)
    await cache.start()
    try:
        cache.put("h", entry(), cache.generation)
        assert cache.get("h") is None
    finally:
        await cache.close()


class Counted:
    """The statements psycopg sends in this process while counting."""

    def __init__(self) -> None:
        self.sent: list[str] = []


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counted]:
    seen = Counted()
    original = psycopg.AsyncCursor.execute

    async def execute(self: Any, query: Any, params: Any = None, **kwargs: Any) -> Any:
        seen.sent.append(str(query))
        return await original(self, query, params, **kwargs)

    monkeypatch.setattr(psycopg.AsyncCursor, "execute", execute)
    yield seen


async def test_a_known_token_costs_no_statement_and_a_revoked_one_stops_at_once(
    database: Any, tmp_path: Path, counted: Counted
) -> None:
    async with serve(database, tmp_path) as served:
        pool: Pool = served.studio.threads.pool
        ada = await accounts.add_user(pool, "ada", "creator")
        row, token = await accounts.create_token(pool, ada["user_id"], "tests")
        async with served.http(token) as client:
            assert (await client.get("/me")).status_code == 200
            counted.sent.clear()
            made = await client.post("/threads", json={})
            assert made.status_code == 200, made.text
            who = [q for q in counted.sent if "access_tokens" in q or "FROM users" in q]
            assert who == [], f"a cached caller asks Postgres nothing about them: {who}"

            revoked = await client.delete(f"/me/tokens/{row['token_id']}")
            assert revoked.status_code == 204
            assert (await client.get("/me")).status_code == 401


async def test_a_change_on_one_process_applies_on_the_other_at_once(
    tmp_path: Path, database_url: str
) -> None:
    servers = [ServerProcess(tmp_path, database_url, name=name) for name in ("a", "b")]
    try:
        for server in servers:
            await server.start()
        a, b = servers
        async with Database(database_url, tmp_path / "tests") as database:
            pool = database.pool
            await accounts.add_user(pool, "ada", "creator")
            ada = await accounts.named(pool, "ada")
            _, kept = await accounts.create_token(pool, ada["user_id"], "kept")
            lost, token = await accounts.create_token(pool, ada["user_id"], "lost")
        async with b.http(token) as on_b, a.http(token) as on_a:
            for _ in range(3):  # B knows the token now
                assert (await on_b.get("/me")).status_code == 200
            assert (await on_a.delete(f"/me/tokens/{lost['token_id']}")).status_code == 204
            assert (await on_b.get("/me")).status_code == 401, "revoked on A: refused on B"

        async with b.http(kept) as on_b, a.http(a.admin_token) as admin:
            for _ in range(3):
                me = await on_b.get("/me")
                assert me.status_code == 200 and me.json()["role"] == "creator"
            changed = await admin.patch(f"/users/{ada['user_id']}", json={"role": "viewer"})
            assert changed.status_code == 200, changed.text
            assert (await on_b.get("/me")).json()["role"] == "viewer", "the new role, at once"
            refused = await on_b.post("/threads", json={})
            assert refused.status_code == 403, "a viewer makes no threads"

            disabled = await admin.patch(f"/users/{ada['user_id']}", json={"disabled": True})
            assert disabled.status_code == 200, disabled.text
            assert (await on_b.get("/me")).status_code == 401, "disabled on A: refused on B"
    finally:
        for server in servers:
            server.stop()
