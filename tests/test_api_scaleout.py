"""Two real `studio serve` processes on one Postgres: runs execute once, streams work anywhere."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.api_helpers import NEON, ServerProcess, Sse, read_sse

pytestmark = pytest.mark.anyio
PATIENCE = 600
"""Polls of 0.1 s: generous, these machines are shared."""

_EXECUTOR = """
    SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
    WHERE l.locktype = 'advisory' AND l.objsubid = 2 AND l.granted
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND l.classid = 21332 AND l.objid = hashtext(%s)::oid
"""


@pytest.fixture
async def pair(tmp_path: Path, database_url: str) -> AsyncIterator[list[ServerProcess]]:
    """Processes A and B, sharing the database and the asset store (two workers of one
    `studio serve --workers 2`, below, start at once on a new database instead)."""
    servers = [ServerProcess(tmp_path, database_url, name=name) for name in ("a", "b")]
    try:
        for server in servers:
            await server.start()
        yield servers
    finally:
        for server in servers:
            server.stop()


def say(text: str, **settings: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"messages": [{"role": "user", "content": text}]}
    return {**body, "settings": settings} if settings else body


async def rows(database_url: str, query: str, *params: Any) -> list[tuple[Any, ...]]:
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        cursor = await conn.execute(query, params)
        return await cursor.fetchall()


async def executor(database_url: str, pair: list[ServerProcess], tid: str) -> ServerProcess:
    """The process holding the thread's claim (it is executing the thread's run)."""
    for _ in range(PATIENCE):
        for (name,) in await rows(database_url, _EXECUTOR, tid):
            pid = int(re.findall(r"pid=(\d+)", name)[0])
            return next(server for server in pair if server.pid == pid)
        await asyncio.sleep(0.1)
    raise AssertionError(f"no process claimed thread {tid}")


async def wait_status(server: ServerProcess, token: str, tid: str, rid: str, *statuses: str) -> Any:
    async with server.http(token) as client:
        for _ in range(PATIENCE):
            response = await client.get(f"/threads/{tid}/runs/{rid}")
            if response.status_code == 200 and response.json()["status"] in statuses:
                return response.json()
            await asyncio.sleep(0.1)
    raise AssertionError(f"run {rid} never reached {statuses}")


async def new_thread(server: ServerProcess) -> tuple[str, str]:
    async with server.http(server.admin_token) as client:  # the home's admin makes threads
        made = (await client.post("/threads", json={})).json()
        return made["thread_id"], made["token"]


async def post_run(server: ServerProcess, token: str, tid: str, body: dict[str, Any]) -> Any:
    async with server.http(token) as client:
        response = await client.post(f"/threads/{tid}/runs", json=body)
        assert response.status_code == 200, response.text
        return response.json()


async def follow(server: ServerProcess, token: str, tid: str, until: str, after: int = 0) -> Any:
    async with server.http(token, timeout=120) as client:
        headers = {"Last-Event-ID": str(after)}
        return await read_sse(client, "GET", f"/threads/{tid}/stream", until=until, headers=headers)


async def test_runs_submitted_through_both_processes_execute_exactly_once(
    pair: list[ServerProcess], database_url: str
) -> None:
    a, b = pair
    runs: list[tuple[ServerProcess, str, str, str]] = []
    for via, other in ((a, b), (b, a), (a, b), (b, a)):
        tid, token = await new_thread(via)
        await post_run(via, token, tid, {"input": say(NEON)})  # stops at the plan gate
        approve = {"command": {"resume": {"action": "approve"}}, "multitask_strategy": "enqueue"}
        second = await post_run(other, token, tid, approve)
        runs.append((other, token, tid, second["run_id"]))
    for server, token, tid, rid in runs:
        assert (await wait_status(server, token, tid, rid, "success", "error"))["status"] == (
            "success"
        )

    executed = await rows(database_url, "SELECT status, attempt FROM runs")
    assert executed == [("success", 1)] * 8, "every run claimed once and finished"
    for _, _, tid, _ in runs:
        seqs = await rows(database_url, "SELECT seq FROM events WHERE thread_id = %s", tid)
        assert sorted(s for (s,) in seqs) == list(range(1, len(seqs) + 1)), "gap-free seqs"
    ends = await rows(
        database_url,
        """SELECT run_id, count(*) FILTER (WHERE channel = 'control'),
                  count(*) FILTER (WHERE event = 'done')
           FROM events GROUP BY run_id""",
    )
    assert sorted(count for _, *count in ends) == [[1, 1]] * 8, "one end, one done per run"


async def test_serve_with_two_workers_executes_each_run_once(
    tmp_path: Path, database_url: str
) -> None:
    server = ServerProcess(tmp_path, database_url, name="workers", args=("--workers", "2"))
    try:
        await server.start()
        listeners: list[tuple[Any, ...]] = []
        for _ in range(PATIENCE):  # each worker opens its studio (and its listener) on its own
            listeners = await rows(
                database_url,
                "SELECT application_name FROM pg_stat_activity"
                " WHERE application_name LIKE 'studio listener pid=%%'",
            )
            if len(listeners) == 2:
                break
            await asyncio.sleep(0.1)
        assert len({name for (name,) in listeners}) == 2, "two worker processes, one listener each"
        runs = []
        for _ in range(4):
            tid, token = await new_thread(server)
            await post_run(server, token, tid, {"input": say(NEON)})
            approve = {"command": {"resume": {"action": "approve"}}}
            approve["multitask_strategy"] = "enqueue"
            enqueued = await post_run(server, token, tid, approve)
            runs.append((token, tid, enqueued["run_id"]))
        for token, tid, rid in runs:
            assert (await wait_status(server, token, tid, rid, "success", "error"))["status"] == (
                "success"
            )
        assert await rows(database_url, "SELECT status, attempt FROM runs") == [("success", 1)] * 8
        ends = await rows(
            database_url, "SELECT count(*) FROM events WHERE channel = 'control' GROUP BY run_id"
        )
        assert ends == [(1,)] * 8, "one end per run"
    finally:
        server.stop()
    assert server.process is not None and server.process.returncode == 0, server.log.read_text()


async def test_stream_on_one_process_sees_every_event_of_a_run_on_the_other(
    pair: list[ServerProcess], database_url: str
) -> None:
    a, b = pair
    tid, token = await new_thread(a)
    followers = [asyncio.create_task(follow(server, token, tid, "done")) for server in pair]
    await asyncio.sleep(0.5)  # both followers are listening
    run = await post_run(a, token, tid, {"input": say(NEON), "stream_resumable": True})
    ran_on = await executor(database_url, pair, tid)
    remote = b if ran_on is a else a
    async with remote.http(token, timeout=120) as client:
        joined = await read_sse(client, "GET", f"/threads/{tid}/runs/{run['run_id']}/stream")
    seen = await asyncio.gather(*followers)

    async with remote.http(token) as client:
        replay = await read_sse(client, "GET", f"/threads/{tid}/stream", until="done")
        stored = await read_sse(client, "GET", f"/threads/{tid}/runs/{run['run_id']}/stream")
    for events in seen:
        assert [(e.id, e.event, e.data) for e in events] == [
            (e.id, e.event, e.data) for e in replay
        ], "exactly once, in order, on either process"
    assert {"token", "message", "phase", "gate", "done"} <= {e.event for e in replay}
    assert joined[0].event == "metadata" and len(joined) > 2
    assert [(e.id, e.data) for e in joined] == [(e.id, e.data) for e in stored]
    assert joined[-1].event == "end" and joined[-1].id is None
    ids = [int(e.id) for e in joined[1:-1] if e.id]
    assert ids == sorted(set(ids)) and len(ids) == len(joined) - 2


async def test_deleting_a_thread_ends_its_streams_on_every_process(
    pair: list[ServerProcess], database_url: str
) -> None:
    a, b = pair
    tid, token = await new_thread(a)
    await post_run(a, token, tid, {"input": say(NEON)})
    for server in pair:  # both processes have read (and cached) its events up to the gate
        await follow(server, token, tid, "gate")
    followers = [asyncio.create_task(follow(server, token, tid, "never")) for server in pair]
    await asyncio.sleep(0.5)  # both are waiting for new events
    async with a.http(token) as client:
        assert (await client.delete(f"/threads/{tid}")).status_code == 204
    ended = await asyncio.wait_for(asyncio.gather(*followers), timeout=PATIENCE / 10)
    assert all("gate" in {e.event for e in events} for events in ended), "both streams closed"
    async with b.http(b.admin_token) as client:
        assert (await client.get(f"/threads/{tid}/stream")).status_code == 404
    async with b.http(token) as client:  # the thread's own token died with it
        assert (await client.get(f"/threads/{tid}/stream")).status_code == 401

    async with b.http(b.admin_token) as client:  # the same id again: a deleted id stays deleted
        again = await client.post("/threads", json={"thread_id": tid})
    assert again.status_code == 409
    for table in ("events", "runs", "checkpoints", "threads"):
        left = await rows(database_url, f"SELECT 1 FROM {table} WHERE thread_id = %s", tid)
        assert left == [], f"{table} still holds the deleted thread"


async def test_interjection_and_cancel_reach_the_executing_process(
    pair: list[ServerProcess], database_url: str
) -> None:
    a, b = pair
    tid, token = await new_thread(a)
    first = await post_run(a, token, tid, {"input": say(NEON, auto_approve=True)})
    await follow(a, token, tid, "message")  # someone finished speaking
    ran_on = await executor(database_url, pair, tid)
    elsewhere = b if ran_on is a else a
    queued = await post_run(ran_on, token, tid, {"input": say("a queued thought")})
    async with elsewhere.http(token, timeout=120) as client:
        joining = asyncio.create_task(client.get(f"/threads/{tid}/runs/{queued['run_id']}/join"))

        interject = {"input": say("More rainy and melancholic"), "multitask_strategy": "interrupt"}
        second = await post_run(elsewhere, token, tid, interject)
        stopped = await wait_status(elsewhere, token, tid, first["run_id"], "interrupted")
        assert stopped["status"] == "interrupted", "the interjection stopped the run over there"
        assert (await joining).status_code == 200, "the dropped run's end reached its joiner"
    dropped = await wait_status(ran_on, token, tid, queued["run_id"], "interrupted")
    assert dropped["status"] == "interrupted"
    progress = await follow(elsewhere, token, tid, "progress")  # the new run is generating
    generating_on = await executor(database_url, pair, tid)
    remote = b if generating_on is a else a
    async with remote.http(token) as client:
        cancel = await client.post(f"/threads/{tid}/runs/{second['run_id']}/cancel?wait=true")
        assert cancel.status_code == 202
        assert (await client.get(f"/threads/{tid}/runs/{second['run_id']}")).json()[
            "status"
        ] == "interrupted", "cancel waited for the other process to stop it"
        values = (await client.get(f"/threads/{tid}/state")).json()["values"]
    assert [d["text"] for d in values["directions"] if d["source"] == "interjection"] == [
        "More rainy and melancholic"
    ]
    assert progress[-1].event == "progress"
    seqs = await rows(database_url, "SELECT seq FROM events WHERE thread_id = %s", tid)
    assert sorted(s for (s,) in seqs) == list(range(1, len(seqs) + 1)), "both wrote, no gap"


async def test_a_run_of_a_killed_process_is_finished_by_the_other(
    pair: list[ServerProcess], database_url: str
) -> None:
    a, _ = pair
    tid, token = await new_thread(a)
    run = await post_run(a, token, tid, {"input": say(NEON, auto_approve=True)})
    before = await follow(a, token, tid, "message")
    victim = await executor(database_url, pair, tid)
    survivor = next(server for server in pair if server is not victim)
    victim.kill()

    finished = await wait_status(survivor, token, tid, run["run_id"], "success", "error")
    assert finished["status"] == "success"
    after: list[Sse] = await follow(survivor, token, tid, "done", after=int(before[-1].id or 0))
    replay = await follow(survivor, token, tid, "done")
    assert [e.id for e in before + after] == [e.id for e in replay], "no gap, no repeat"
    notices = [e.data["code"] for e in replay if e.event == "notice"]
    assert "resumed" in notices, "the watchers were told"
    assert await rows(database_url, "SELECT attempt FROM runs") == [(2,)]


async def test_an_interjection_ends_the_run_of_a_killed_process(
    pair: list[ServerProcess], database_url: str
) -> None:
    a, _ = pair
    tid, token = await new_thread(a)
    first = await post_run(a, token, tid, {"input": say(NEON, auto_approve=True)})
    await follow(a, token, tid, "message")
    victim = await executor(database_url, pair, tid)
    survivor = next(server for server in pair if server is not victim)
    victim.kill()

    interject = {"input": say("More rainy and melancholic"), "multitask_strategy": "interrupt"}
    second = await post_run(survivor, token, tid, interject)
    stopped = await wait_status(survivor, token, tid, first["run_id"], "interrupted", "success")
    assert stopped["status"] == "interrupted", "not resumed: the person asked to interrupt it"
    done = await wait_status(survivor, token, tid, second["run_id"], "success", "error")
    assert done["status"] == "success"
    async with survivor.http(token) as client:
        values = (await client.get(f"/threads/{tid}/state")).json()["values"]
    assert [d["text"] for d in values["directions"] if d["source"] == "interjection"] == [
        "More rainy and melancholic"
    ]
    seqs = await rows(database_url, "SELECT seq FROM events WHERE thread_id = %s", tid)
    assert sorted(s for (s,) in seqs) == list(range(1, len(seqs) + 1))


async def test_a_follower_misses_nothing_when_its_listener_reconnects(
    pair: list[ServerProcess], database_url: str
) -> None:
    a, _ = pair
    tid, token = await new_thread(a)
    run = await post_run(a, token, tid, {"input": say(NEON)})
    ran_on = await executor(database_url, pair, tid)
    remote = next(server for server in pair if server is not ran_on)
    first = await follow(remote, token, tid, "message")
    following = asyncio.create_task(follow(remote, token, tid, "done", after=int(first[-1].id)))
    await asyncio.sleep(0.3)
    cut = await rows(
        database_url,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
        f"studio listener pid={remote.pid}",
    )
    assert cut == [(True,)], "the remote process's listener was cut mid-run"
    rest = await following
    await wait_status(remote, token, tid, run["run_id"], "success")
    replay = await follow(remote, token, tid, "done")
    assert [(e.id, e.data) for e in first + rest] == [(e.id, e.data) for e in replay]
