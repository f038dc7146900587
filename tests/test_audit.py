"""The audit trail on a real Postgres: append-only in the database, filters, pages, scrubbing."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from adapters.errors import Conflict, InvalidInput, ServiceUnavailable
from people import audit
from people.audit import (
    ACTIONS,
    AuditQuery,
    audited,
    query,
    record,
    run_action,
    scrub_thread,
)
from people.identity import Caller
from store.database import Pool
from telemetry.context import accept_request_id, request_id

pytestmark = pytest.mark.anyio

ADA = Caller(user_id="u-ada", name="ada", role="admin", via="session")
BEN = Caller(user_id="u-ben", name="ben", role="creator", via="token")


async def _all(pool: Pool, filters: AuditQuery | None = None, limit: int = 1000) -> list[dict]:
    return (await query(pool, filters or AuditQuery(), limit=limit)).items


async def test_an_entry_keeps_actor_action_target_request_and_outcome(pool: Pool) -> None:
    token = request_id.set("req-1")
    try:
        await record(
            pool,
            actor=BEN,
            action="gate.answered",
            target="thread/t1",
            thread_id="t1",
            outcome="ok",
            detail={"answer": {"action": "approve"}},
        )
    finally:
        request_id.reset(token)
    [entry] = await _all(pool)
    assert entry["actor"] == {"id": "u-ben", "name": "ben", "role": "creator", "via": "token"}
    assert (entry["action"], entry["target"], entry["thread_id"]) == (
        "gate.answered",
        "thread/t1",
        "t1",
    )
    assert (entry["request_id"], entry["outcome"]) == ("req-1", "ok")
    assert entry["detail"] == {"answer": {"action": "approve"}}
    assert datetime.fromisoformat(entry["at"]).tzinfo is not None


async def test_the_table_refuses_update_delete_and_truncate(pool: Pool) -> None:
    await record(pool, actor=ADA, action="thread.created", target="thread/t1", outcome="ok")
    async with pool.connection() as conn:
        for statement in (
            "UPDATE audit_log SET outcome = 'refused'",
            "UPDATE audit_log SET detail = '{\"scrubbed\": true}'",  # no deletion named
            "DELETE FROM audit_log",
            "TRUNCATE audit_log",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
                await conn.execute(statement)
    [entry] = await _all(pool)
    assert entry["outcome"] == "ok" and entry["detail"] == {}


async def test_scrubbing_erases_only_the_deleted_threads_detail(pool: Pool) -> None:
    for thread in ("t1", "t2"):
        await record(
            pool,
            actor=BEN,
            action="run.interjected",
            target=f"thread/{thread}",
            thread_id=thread,
            outcome="ok",
            detail={"message": "make the sky green"},
        )
    async with pool.connection() as conn, conn.transaction():
        assert await scrub_thread(conn, "t1") == 1
        # the scrub setting names t1 only: t2's rows and any other column stay refused
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            async with conn.transaction():
                await conn.execute("UPDATE audit_log SET outcome = 'failed' WHERE thread_id = 't1'")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            async with conn.transaction():
                await conn.execute(
                    "UPDATE audit_log SET detail = '{\"scrubbed\": true}' WHERE thread_id = 't2'"
                )
    by_thread = {e["thread_id"]: e for e in await _all(pool)}
    assert by_thread["t1"]["detail"] == {"scrubbed": True}
    assert by_thread["t1"]["actor"]["name"] == "ben", "who and what stay"
    assert by_thread["t2"]["detail"] == {"message": "make the sky green"}
    async with pool.connection() as conn:  # outside that transaction the setting is gone
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            await conn.execute("UPDATE audit_log SET detail = '{}' WHERE thread_id = 't1'")


async def test_filters_by_thread_actor_action_family_and_time(pool: Pool) -> None:
    await record(
        pool, actor=ADA, action="thread.created", target="thread/a", thread_id="a", outcome="ok"
    )
    await record(
        pool, actor=BEN, action="run.created", target="thread/b", thread_id="b", outcome="ok"
    )
    await record(
        pool, actor=BEN, action="run.cancelled", target="thread/b", thread_id="b", outcome="ok"
    )
    await record(pool, actor=None, action="user.signed_in", target="user/zed", outcome="refused")

    def actions(entries: list[dict]) -> list[str]:
        return [e["action"] for e in entries]

    assert actions(await _all(pool, AuditQuery(thread="b"))) == ["run.cancelled", "run.created"]
    assert actions(await _all(pool, AuditQuery(actor="ada"))) == ["thread.created"]
    assert actions(await _all(pool, AuditQuery(actor="u-ben"))) == ["run.cancelled", "run.created"]
    assert actions(await _all(pool, AuditQuery(action="run"))) == ["run.cancelled", "run.created"]
    assert actions(await _all(pool, AuditQuery(action="run.created"))) == ["run.created"]
    assert actions(await _all(pool, AuditQuery(action="user"))) == ["user.signed_in"]
    for typo in ("ru", "gate.answerd", "signin"):  # D4: a typo read as "nothing happened"
        with pytest.raises(InvalidInput, match="action: no such action or family"):
            AuditQuery(action=typo)
    everything = await _all(pool)
    assert everything[0]["actor"] is None and everything[0]["outcome"] == "refused"
    cut = datetime.fromisoformat(everything[1]["at"])  # the run.cancelled entry
    assert actions(await _all(pool, AuditQuery(since=cut))) == ["user.signed_in", "run.cancelled"]
    assert actions(await _all(pool, AuditQuery(until=cut))) == ["run.created", "thread.created"]
    later = datetime.now(UTC) + timedelta(days=1)
    assert await _all(pool, AuditQuery(since=later)) == []


async def test_pages_cover_everything_once_even_while_entries_are_appended(pool: Pool) -> None:
    for n in range(23):
        await record(pool, actor=BEN, action="run.created", target=f"r{n}", outcome="ok")
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = await query(pool, AuditQuery(), cursor=cursor, limit=5)
        seen += [e["target"] for e in page.items]
        pages += 1
        # newer entries arrive meanwhile: they are above the cursor, never inside the pages
        await record(pool, actor=ADA, action="thread.created", target="new", outcome="ok")
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == [f"r{n}" for n in reversed(range(23))]
    assert pages == 5


async def test_a_bad_cursor_is_an_input_error_naming_cursor(pool: Pool) -> None:
    for bad in ("nope", "bm9wZQ", audit.encode_cursor(5)[:-2] + "!!"):
        with pytest.raises(InvalidInput, match="^cursor"):
            await query(pool, AuditQuery(), cursor=bad)


async def test_audited_records_ok_refused_and_failed(pool: Pool) -> None:
    async with audited(pool, actor=BEN, action="run.created", thread_id="t") as entry:
        entry.detail["run_id"] = "r1"
    with pytest.raises(Conflict):
        async with audited(pool, actor=BEN, action="gate.answered", thread_id="t"):
            raise Conflict("no gate is waiting")
    with pytest.raises(ServiceUnavailable):
        async with audited(pool, actor=BEN, action="export.downloaded", thread_id="t"):
            raise ServiceUnavailable("database away")
    entries = await _all(pool, AuditQuery(thread="t"))
    assert [(e["action"], e["outcome"]) for e in entries] == [
        ("export.downloaded", "failed"),
        ("gate.answered", "refused"),
        ("run.created", "ok"),
    ]
    assert entries[1]["detail"]["error"] == {"code": "conflict", "message": "no gate is waiting"}
    assert entries[2]["detail"] == {"run_id": "r1"}


async def test_long_text_in_detail_is_clipped(pool: Pool) -> None:
    await record(
        pool,
        actor=BEN,
        action="run.interjected",
        target=None,
        outcome="ok",
        detail={"m": "x" * 9000},
    )
    [entry] = await _all(pool)
    assert entry["detail"]["m"].endswith("(clipped)") and len(entry["detail"]["m"]) < 2100


def test_run_action_names_what_a_run_is() -> None:
    gate = run_action(input=None, command={"resume": {"action": "approve"}}, busy=False)
    assert gate == ("gate.answered", {"answer": {"action": "approve"}})
    keyed = {"resume": {"4c54d1391d8fd60f9c22c22082e16c3f": {"action": "approve"}}}
    assert run_action(input=None, command=keyed, busy=False) == (
        "gate.answered",
        {"answer": {"action": "approve"}, "interrupt_id": "4c54d1391d8fd60f9c22c22082e16c3f"},
    )
    stop = run_action(input={"messages": [], "stop_requested": True}, command=None, busy=True)
    assert stop[0] == "run.cancelled"
    said = {"messages": [{"role": "user", "content": "greener"}]}
    assert run_action(input=said, command=None, busy=True) == (
        "run.interjected",
        {"message": "greener"},
    )
    assert run_action(input=said, command=None, busy=False)[0] == "run.created"
    assert run_action(input=None, command=None, busy=False) == ("run.created", {"retry": True})


def test_request_ids_from_outside_are_kept_only_when_sane() -> None:
    assert accept_request_id("abc-123.X:y_z") == "abc-123.X:y_z"
    for bad in (None, "", "has space", 'quote"', "x" * 200, "é"):
        fresh = accept_request_id(bad)
        assert fresh != bad and len(fresh) == 32


async def test_a_family_also_gathers_underscored_actions(pool: Pool) -> None:
    for action in ("token_created", "token_revoked", "tokenish", "token.listed"):
        await record(pool, actor=ADA, action=action, target=None, outcome="ok")
    found = [e["action"] for e in await _all(pool, AuditQuery(action="token"))]
    assert found == ["token.listed", "token_revoked", "token_created"]


async def test_a_cursor_beyond_bigint_is_an_input_error(pool: Pool) -> None:
    import base64

    huge = base64.urlsafe_b64encode(b"audit:" + b"9" * 30).decode()
    with pytest.raises(InvalidInput, match="^cursor"):
        await query(pool, AuditQuery(), cursor=huge)


def test_time_bounds_take_dates_and_times_and_name_the_field() -> None:
    from people.audit import time_bound

    assert time_bound("2026-12-06", "since") == datetime(2026, 12, 6, tzinfo=UTC)
    assert time_bound("2026-12-06", "until", end=True) == datetime(2026, 12, 7, tzinfo=UTC)
    assert time_bound("2026-12-06T05:00:00", "since") == datetime(2026, 12, 6, 5, tzinfo=UTC)
    assert time_bound("9999-12-31", "until", end=True) is None
    assert time_bound("", "since") is None
    for bad in ("yesterday", "2026-13-01", "2026-12-06T25:00"):
        with pytest.raises(InvalidInput, match="^until"):
            time_bound(bad, "until", end=True)


async def test_a_malformed_entry_is_a_bug_and_raises(pool: Pool) -> None:
    with pytest.raises(psycopg.errors.CheckViolation):
        await record(pool, actor=ADA, action="thread.created", target=None, outcome="fine")
    with pytest.raises(psycopg.errors.CheckViolation):
        await record(pool, actor=ADA, action="Thread Created!", target=None, outcome="ok")
    assert await _all(pool) == []


async def test_an_entry_the_database_cannot_take_goes_to_the_error_log(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    from psycopg_pool import AsyncConnectionPool

    closed: AsyncConnectionPool = AsyncConnectionPool(database_url, open=False)
    with caplog.at_level("ERROR", logger="studio.audit"):
        await record(closed, actor=BEN, action="run.created", target="thread/t", outcome="ok")
    [line] = [r.getMessage() for r in caplog.records if r.name == "studio.audit"]
    assert "audit entry not written" in line and '"action": "run.created"' in line


def test_the_action_list_is_what_the_code_records() -> None:
    """`people.audit.ACTIONS` (what `--action` accepts) names every action a route, the CLI or
    the engine writes, and nothing else."""
    literal = re.compile(
        r'"((?:thread|run|gate|settings|grant|link|export|user|token|media|request)\.[a-z_.]+)"'
    )
    root = Path(__file__).resolve().parent.parent
    written: set[str] = set()
    for package in ("api", "people", "engine", "services", "graph"):
        for path in (root / package).rglob("*.py"):
            text = path.read_text()
            if path.name == "audit.py" and path.parent.name == "people":
                text = text.replace(text[text.index("ACTIONS = (") : text.index('"""Every')], "")
            written |= set(literal.findall(text))
    assert written == set(ACTIONS)


def test_the_audit_pages_families_are_the_trails() -> None:
    """The Audit page's action filter offers every family `GET /audit` accepts, and no other."""
    page = (Path(__file__).resolve().parent.parent / "api/http/ui/audit.js").read_text()
    listed = re.search(r"const FAMILIES = \[([^\]]*)\]", page)
    assert listed is not None
    offered = set(re.findall(r'"([a-z_.]+)"', listed.group(1)))
    assert offered == {f for f in audit.FAMILIES if "." not in f}
