"""Accounts, credentials, ownership and limits against the real Postgres (no HTTP)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from adapters.errors import Conflict, InvalidInput, Unauthorized
from people import accounts, limits
from people.bootstrap import ensure_home_admin
from people.client_tokens import new_token, token_hash
from people.errors import LimitReached
from people.home_token import home_token
from people.identity import Caller
from people.ownership import Grant, can_direct, can_read, scoped_caller, thread_access
from store.database import Database, Pool

pytestmark = pytest.mark.anyio


async def _thread(pool: Pool, owner_id: str | None, owner_hash: str | None = None) -> str:
    thread_id = str(uuid.uuid4())
    await _exec(
        pool,
        "INSERT INTO threads (thread_id, owner_id, owner_hash) VALUES (%s, %s, %s)",
        [thread_id, owner_id, owner_hash],
    )
    return thread_id


async def _exec(pool: Pool, query: str, params: list[object]) -> None:
    async with pool.connection() as conn:
        await conn.execute(query, params)


async def test_users_have_unique_names_and_one_known_role(pool: Pool) -> None:
    ada = await accounts.add_user(pool, "ada", "creator")
    assert ada["role"] == "creator" and ada["password_hash"] is None
    with pytest.raises(Conflict):
        await accounts.add_user(pool, "ADA", "viewer")
    with pytest.raises(InvalidInput, match="role"):
        await accounts.add_user(pool, "bob", "owner")
    for bad in ("", " ", "-x", "a b", "x" * 65, "ada/../root"):
        with pytest.raises(InvalidInput, match="name"):
            await accounts.add_user(pool, bad, "viewer")
    assert [u["name"] for u in await accounts.list_users(pool)] == ["ada"]
    assert "password_hash" not in accounts.user_json(ada)


async def test_passwords_are_argon2id_and_sign_in_is_throttled(pool: Pool) -> None:
    ada = await accounts.add_user(pool, "ada", "creator", password="correct horse")
    assert ada["password_hash"].startswith("$argon2id$")
    assert "correct horse" not in ada["password_hash"]
    signed = await accounts.sign_in(pool, "Ada", "correct horse", "10.0.0.1")
    assert signed["user_id"] == ada["user_id"]
    with pytest.raises(InvalidInput, match="password"):
        await accounts.set_password(pool, ada["user_id"], "short")
    for _ in range(accounts.MAX_FAILURES):
        with pytest.raises(Unauthorized, match="Wrong name or password"):
            await accounts.sign_in(pool, "ada", "wrong", "10.0.0.1")
    with pytest.raises(LimitReached) as throttled:
        await accounts.sign_in(pool, "ada", "correct horse", "10.0.0.1")
    assert throttled.value.retry_after > 0 and throttled.value.retryable
    # another address is not held back by this one's failures
    assert (await accounts.sign_in(pool, "ada", "correct horse", "10.0.0.2"))["name"] == "ada"
    # an unknown name fails the same way (and is throttled the same way)
    with pytest.raises(Unauthorized, match="Wrong name or password"):
        await accounts.sign_in(pool, "nobody", "whatever1", "10.0.0.3")
    # a user without a password (made by `studio users add`) cannot sign in with one
    await accounts.add_user(pool, "nopass", "viewer")
    with pytest.raises(Unauthorized):
        await accounts.sign_in(pool, "nopass", "", "10.0.0.4")


async def test_sessions_tokens_and_links_die_with_revocation_and_disabling(pool: Pool) -> None:
    ada = await accounts.add_user(pool, "ada", "creator")
    session = await accounts.create_session(pool, ada["user_id"])
    caller = await accounts.session_caller(pool, session)
    assert caller == Caller(ada["user_id"], "ada", "creator", "session")
    row, pat = await accounts.create_token(pool, ada["user_id"], "ci")
    assert pat.startswith("spat_") and row["prefix"] == pat[:9]
    listed = accounts.token_json((await accounts.list_tokens(pool, ada["user_id"]))[0])
    assert pat not in str(listed) and token_hash(pat) not in str(listed)
    assert (await accounts.token_caller(pool, pat)) == Caller(
        ada["user_id"], "ada", "creator", "token"
    )
    used = await accounts.list_tokens(pool, ada["user_id"])
    assert used[0]["last_used_at"] is not None

    await accounts.set_disabled(pool, ada["user_id"], True)
    assert await accounts.session_caller(pool, session) is None
    assert await accounts.token_caller(pool, pat) is None
    code = await accounts.create_link(pool, ada["user_id"])
    with pytest.raises(Unauthorized):
        await accounts.use_link(pool, code)
    await accounts.set_disabled(pool, ada["user_id"], False)
    assert await accounts.session_caller(pool, session) is None, "disabling ended the session"
    assert await accounts.token_caller(pool, pat) is not None, "tokens work again once enabled"

    assert await accounts.revoke_token(pool, ada["user_id"], row["token_id"]) is not None
    assert await accounts.token_caller(pool, pat) is None
    bob = await accounts.add_user(pool, "bob", "creator")
    assert await accounts.revoke_token(pool, bob["user_id"], row["token_id"]) is None

    _, short = await accounts.create_token(
        pool, ada["user_id"], "short", expires_in=timedelta(seconds=1)
    )
    await _exec(pool, "UPDATE access_tokens SET expires_at = now() - interval '1 s'", [])
    assert await accounts.token_caller(pool, short) is None

    code = await accounts.create_link(pool, ada["user_id"])
    assert (await accounts.use_link(pool, code))["user_id"] == ada["user_id"]
    with pytest.raises(Unauthorized, match="used already"):
        await accounts.use_link(pool, code)


async def test_spent_sessions_and_links_are_cleared_as_new_ones_are_made(pool: Pool) -> None:
    ada = await accounts.add_user(pool, "ada", "creator")
    old = await accounts.create_session(pool, ada["user_id"], ttl=timedelta(seconds=-1))
    code = await accounts.create_link(pool, ada["user_id"])
    await accounts.use_link(pool, code)
    assert await accounts.session_caller(pool, old) is None
    await accounts.create_session(pool, ada["user_id"])
    await accounts.create_link(pool, ada["user_id"])
    async with pool.connection() as conn:
        sessions = await (await conn.execute("SELECT count(*) AS n FROM user_sessions")).fetchone()
        links = await (await conn.execute("SELECT count(*) AS n FROM signin_links")).fetchone()
    assert sessions is not None and sessions["n"] == 1
    assert links is not None and links["n"] == 1


async def test_reset_forgets_the_password_and_ends_sessions(pool: Pool) -> None:
    ada = await accounts.add_user(pool, "ada", "creator", password="first password")
    session = await accounts.create_session(pool, ada["user_id"])
    code = await accounts.reset(pool, ada["user_id"])
    assert await accounts.session_caller(pool, session) is None
    with pytest.raises(Unauthorized):
        await accounts.sign_in(pool, "ada", "first password", "::1")
    assert (await accounts.use_link(pool, code))["name"] == "ada"


async def test_the_first_start_makes_the_home_token_an_admin_and_adopts_threads(
    pool: Pool, tmp_path: Path
) -> None:
    legacy_token = new_token()
    old = await _thread(pool, None, token_hash(legacy_token))
    first = await ensure_home_admin(pool, tmp_path / "home", name="ada")
    assert first.created and first.user["role"] == "admin" and first.user["name"] == "ada"
    again = await ensure_home_admin(pool, tmp_path / "home")
    assert not again.created and again.user["user_id"] == first.user["user_id"]
    other_home = await ensure_home_admin(pool, tmp_path / "other")
    assert not other_home.created and other_home.user["user_id"] == first.user["user_id"]

    caller = await accounts.token_caller(pool, home_token(tmp_path / "home"))
    assert caller is not None and caller.via == "local" and caller.is_admin()
    async with pool.connection() as conn:
        row = await (
            await conn.execute("SELECT owner_id FROM threads WHERE thread_id = %s", [old])
        ).fetchone()
    assert row is not None and row["owner_id"] == first.user["user_id"]
    # the thread's own token from before accounts still reaches it, and only it
    scoped = await scoped_caller(pool, legacy_token)
    assert scoped is not None and scoped.via == "thread_token" and not scoped.is_admin()
    assert (
        await thread_access(
            pool, scoped, {"thread_id": old, "owner_hash": token_hash(legacy_token)}
        )
        == "owner"
    )
    other = await _thread(pool, first.user["user_id"])
    assert await thread_access(pool, scoped, {"thread_id": other, "owner_hash": None}) is None


def test_who_may_read_and_direct() -> None:
    admin = Caller("a", "admin", "admin", "session")
    ada = Caller("u1", "ada", "creator", "token")
    bob = Caller("u2", "bob", "creator", "session")
    vic = Caller("u3", "vic", "viewer", "session")
    grant = Caller("u1", "ada", "creator", "grant", thread_id="t", access="direct", grant_id="g")
    assert can_direct(admin, "u1") and can_direct(ada, "u1")
    assert not can_read(bob, "u1") and not can_read(vic, "u1")
    assert can_read(bob, "u1", [Grant("u2", "view")]) and not can_direct(
        bob, "u1", [Grant("u2", "view")]
    )
    assert can_direct(bob, "u1", [Grant("u2", "direct")])
    assert can_read(vic, "u1", [Grant("u3", "direct")]), "a viewer reads what is shared"
    assert not can_direct(vic, "u1", [Grant("u3", "direct")]), "a viewer never directs"
    assert not can_read(vic, "u1", [Grant("u2", "view")]), "someone else's grant"
    assert not can_read(grant, "u1"), "a thread-scoped credential reaches no owned things"
    assert not can_read(ada, None)


async def test_grants_and_thread_tokens_die_while_the_owner_is_disabled(pool: Pool) -> None:
    ada = await accounts.add_user(pool, "ada", "creator")
    token = new_token()
    tid = await _thread(pool, ada["user_id"], token_hash(token))
    grant_token = "sg_" + uuid.uuid4().hex
    await _exec(
        pool,
        "INSERT INTO thread_grants (grant_id, thread_id, token_hash, role)"
        " VALUES (%s, %s, %s, 'view')",
        ["g1", tid, token_hash(grant_token)],
    )
    viewer = await scoped_caller(pool, grant_token)
    assert viewer is not None and viewer.access == "view" and viewer.thread_id == tid
    assert (await scoped_caller(pool, token)) is not None
    await accounts.set_disabled(pool, ada["user_id"], True)
    assert await scoped_caller(pool, grant_token) is None
    assert await scoped_caller(pool, token) is None
    assert await scoped_caller(pool, "st_guessed") is None


async def test_user_grants_reach_a_signed_in_viewer(pool: Pool) -> None:
    ada = await accounts.add_user(pool, "ada", "creator")
    vic = await accounts.add_user(pool, "vic", "viewer")
    tid = await _thread(pool, ada["user_id"])
    row = {"thread_id": tid, "owner_id": ada["user_id"], "owner_hash": None}
    vic_caller = accounts.caller_of(vic, "session")
    assert await thread_access(pool, vic_caller, row) is None
    await _exec(
        pool,
        "INSERT INTO thread_grants (grant_id, thread_id, token_hash, role, user_id)"
        " VALUES ('g2', %s, 'h', 'direct', %s)",
        [tid, vic["user_id"]],
    )
    assert await thread_access(pool, vic_caller, row) == "view"
    await _exec(pool, "UPDATE thread_grants SET revoked_at = now()", [])
    assert await thread_access(pool, vic_caller, row) is None


async def test_the_request_rate_is_one_limit_across_processes(
    database: Database, database_url: str, tmp_path: Path
) -> None:
    async with Database(database_url, tmp_path / "second") as second:
        counted = [
            await limits.spend_request(pool, "u1", 5)
            for pool in (database.pool, second.pool, database.pool, second.pool, database.pool)
        ]
        assert counted == [1, 2, 3, 4, 5]
        with pytest.raises(LimitReached) as refused:
            await limits.spend_request(second.pool, "u1", 5)
        assert 1 <= refused.value.retry_after <= 60 and refused.value.limit == "rate_per_minute"
        assert await limits.spend_request(second.pool, "u2", 5) == 1, "per user"
        assert await limits.spend_request(database.pool, "u1", 0) == 0, "0 is no limit"


async def test_concurrent_runs_and_daily_generations(pool: Pool) -> None:
    ada = await accounts.add_user(pool, "ada", "creator")
    uid = ada["user_id"]
    tid = await _thread(pool, uid)
    for status in ("pending", "running", "success"):
        await _exec(
            pool,
            "INSERT INTO runs (run_id, thread_id, assistant_id, status, user_id)"
            " VALUES (%s, %s, 'studio', %s, %s)",
            [str(uuid.uuid4()), tid, status, uid],
        )
    await limits.check_runs(pool, uid, 3)
    with pytest.raises(LimitReached, match="2 runs at once"):
        await limits.check_runs(pool, uid, 2)
    await limits.check_runs(pool, uid, 0)
    for n in range(3):
        await _exec(
            pool,
            "INSERT INTO assets (thread_id, job_id, sha256, path, content_type, width, height,"
            " bytes, deliverable, iteration, attempt, seed, generator)"
            " VALUES (%s, %s, 'x', 'p', 'image/png', 1, 1, 1, 'd', 1, 1, 1, 'g')",
            [tid, f"job-{n}"],
        )
    await limits.check_generations(pool, uid, 4)
    with pytest.raises(LimitReached) as daily:
        await limits.check_generations(pool, uid, 3)
    assert daily.value.retry_after <= 24 * 3600
    spent = await limits.usage(pool, uid, limits.UserLimits().for_user({"concurrent_runs": 9}))
    assert spent["concurrent_runs"] == {"used": 2, "limit": 9}
    assert spent["daily_generations"]["used"] == 3
    assert spent["rate_per_minute"]["limit"] == limits.DEFAULT_RATE_PER_MINUTE
    updated = await accounts.set_limits(pool, uid, {"daily_generations": 0})
    assert limits.UserLimits().for_user(updated).daily_generations == 0
    with pytest.raises(InvalidInput):
        await accounts.set_limits(pool, uid, {"daily_generations": -1})
