"""Runs outlive requests: queueing, interjection, rollback, and one event log many can watch."""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path
from typing import Any

import pytest

from tests.api_helpers import NEON, Served, read_sse, serve

pytestmark = pytest.mark.anyio


def say(text: str, **settings: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"messages": [{"role": "user", "content": text}]}
    if settings:
        body["settings"] = settings
    return body


async def wait_status(client: Any, tid: str, run_id: str, *statuses: str) -> dict[str, Any]:
    for _ in range(600):
        run = (await client.get(f"/threads/{tid}/runs/{run_id}")).json()
        if run["status"] in statuses:
            return run
        await asyncio.sleep(0.05)
    raise AssertionError(f"run {run_id} never reached {statuses}: {run}")


async def first_event(served: Served, token: str, tid: str, kind: str, after: int = 0) -> Any:
    async with served.http(token) as client:
        headers = {"Last-Event-ID": str(after)}
        events = await read_sse(
            client, "GET", f"/threads/{tid}/stream", until=kind, headers=headers
        )
        return events[-1]


async def test_reject_conflicts_and_enqueue_runs_in_order(database, tmp_path: Path) -> None:
    async with serve(database, tmp_path, token_delay_s=0.002) as served:
        tid, token = await served.new_thread()
        async with served.http(token) as client:
            first = (await client.post(f"/threads/{tid}/runs", json={"input": say(NEON)})).json()
            rejected = await client.post(
                f"/threads/{tid}/runs",
                json={"input": say("more rain"), "multitask_strategy": "reject"},
            )
            assert rejected.status_code == 409
            assert rejected.json()["error"]["code"] == "conflict"
            queued = await client.post(
                f"/threads/{tid}/runs",
                json={
                    "command": {"resume": {"action": "approve"}},
                    "multitask_strategy": "enqueue",
                },
            )
            assert queued.status_code == 200
            second = queued.json()
            done = await wait_status(client, tid, second["run_id"], "success", "error")
            assert done["status"] == "success"
            assert (await client.get(f"/threads/{tid}/runs/{first['run_id']}")).json()[
                "status"
            ] == "success"
            runs = (await client.get(f"/threads/{tid}/runs")).json()
            assert [r["run_id"] for r in runs] == [second["run_id"], first["run_id"]]
            state = (await client.get(f"/threads/{tid}/state")).json()
            assert state["interrupts"][0]["value"]["gate"] == "output"


async def test_interjection_keeps_finished_steps_and_answers_next(database, tmp_path) -> None:
    async with serve(database, tmp_path, token_delay_s=0.002, interject_grace_s=30) as served:
        tid, token = await served.new_thread()
        async with served.http(token) as client:
            first = (
                await client.post(
                    f"/threads/{tid}/runs", json={"input": say(NEON, auto_approve=True)}
                )
            ).json()
            await first_event(served, token, tid, "message")  # someone finished speaking
            interjection = await client.post(
                f"/threads/{tid}/runs",
                json={
                    "input": say("More rainy and melancholic"),
                    "multitask_strategy": "interrupt",
                },
            )
            assert interjection.status_code == 200
            second = interjection.json()
            stopped = await wait_status(client, tid, first["run_id"], "interrupted", "success")
            assert stopped["status"] == "interrupted"
            done = await wait_status(client, tid, second["run_id"], "success", "error")
            assert done["status"] == "success"
            values = (await client.get(f"/threads/{tid}/state")).json()["values"]
        assert values["phase"] == "approved"
        assert [d["text"] for d in values["directions"] if d["source"] == "interjection"] == [
            "More rainy and melancholic"
        ]
        texts = [m["content"] for m in values["messages"]]
        said = texts.index("More rainy and melancholic")
        assert said >= 2, "the messages finished before the interjection were kept"
        assert any("rain" in t.lower() for t in texts[said + 1 :])
        assert all(spec["weather"] == "rain" for spec in values["specs"].values())


async def test_interjection_cancels_a_running_generation_precisely(database, tmp_path) -> None:
    async with serve(database, tmp_path, stage_delay_s=0.15) as served:
        tid, token = await served.new_thread()
        renderer = served.studio.context.images
        async with served.http(token) as client:
            body = {"input": say(NEON, auto_approve=True)}
            first = (await client.post(f"/threads/{tid}/runs", json=body)).json()
            progress = await first_event(served, token, tid, "progress")
            job = progress.data["job_id"]
            second = (
                await client.post(
                    f"/threads/{tid}/runs",
                    json={"input": say("brighter please"), "multitask_strategy": "interrupt"},
                )
            ).json()
            stopped = await wait_status(client, tid, first["run_id"], "interrupted", "success")
            assert stopped["status"] == "interrupted"
            assert job not in renderer._jobs, "no orphaned generation job"
            assert await served.studio.context.assets.by_job(job) is None
            done = await wait_status(client, tid, second["run_id"], "success", "error")
            assert done["status"] == "success"
        assets = await served.studio.context.assets.list_thread(tid)
        assert len(assets) == len({a.job_id for a in assets})


async def test_rollback_removes_the_running_run_and_its_work(database, tmp_path) -> None:
    async with serve(database, tmp_path, token_delay_s=0.002) as served:
        tid, token = await served.new_thread()
        async with served.http(token) as client:
            first = (await client.post(f"/threads/{tid}/runs", json={"input": say(NEON)})).json()
            await first_event(served, token, tid, "message")
            second = (
                await client.post(
                    f"/threads/{tid}/runs",
                    json={"input": say("a lighthouse at dusk"), "multitask_strategy": "rollback"},
                )
            ).json()
            await wait_status(client, tid, second["run_id"], "success", "error")
            assert (await client.get(f"/threads/{tid}/runs/{first['run_id']}")).status_code == 404
            values = (await client.get(f"/threads/{tid}/state")).json()["values"]
        humans = [m["content"] for m in values["messages"] if m["type"] == "human"]
        assert humans == ["a lighthouse at dusk"], "as if the first run never happened"


async def test_thread_stream_follows_runs_and_resumes_exactly_once(database, tmp_path) -> None:
    async with serve(database, tmp_path) as served:
        tid, token = await served.new_thread()
        async with served.http(token) as client:
            watcher = asyncio.create_task(
                read_sse(client, "GET", f"/threads/{tid}/stream", until="done")
            )
            other = asyncio.create_task(
                read_sse(client, "GET", f"/threads/{tid}/stream", until="done")
            )
            await asyncio.sleep(0.2)
            await client.post(f"/threads/{tid}/runs/stream", json={"input": say(NEON)})
            first, second = await watcher, await other
            assert [e.id for e in first] == [e.id for e in second], "joiners see every event"
            kinds = {e.event for e in first}
            assert {"token", "message", "phase", "gate", "done"} <= kinds
            assert first[-1].data["thread_status"] == "interrupted"
            resumed = await read_sse(
                client,
                "GET",
                f"/threads/{tid}/stream",
                headers={"Last-Event-ID": first[9].id},
                until="done",
            )
            assert [e.id for e in resumed] == [e.id for e in first[10:]]
            await client.post(
                f"/threads/{tid}/runs/wait",
                json={"command": {"resume": {"action": "approve"}}},
            )
            after = await read_sse(
                client,
                "GET",
                f"/threads/{tid}/stream?last_event_id={first[-1].id}",
                until="done",
            )
        seqs = [int(e.id) for e in first + after]
        assert seqs == sorted(set(seqs)), "no duplicates across runs"
        assert {"progress", "asset"} <= {e.event for e in after}


async def test_leaving_a_stream_never_stops_work_unless_asked(database, tmp_path) -> None:
    async with serve(database, tmp_path, token_delay_s=0.002) as served:
        tid, token = await served.new_thread()
        async with served.http(token) as client:
            kept, cancelled = [], []
            for strategy, runs in (("continue", kept), ("cancel", cancelled)):
                body = {"input": say(NEON), "on_disconnect": strategy, "stream_mode": "custom"}
                await read_sse(client, "POST", f"/threads/{tid}/runs/stream", json=body, limit=3)
                runs.extend((await client.get(f"/threads/{tid}/runs?limit=1")).json())
                finished = await wait_status(
                    client, tid, runs[0]["run_id"], "success", "interrupted", "error"
                )
                runs[0] = finished
        assert kept[0]["status"] == "success", "a closed tab never stops work"
        assert cancelled[0]["status"] == "interrupted"


async def test_finished_threads_leave_nothing_behind_in_the_server(database, tmp_path) -> None:
    """Per-thread locks, signals and timers exist only while in use: a server that has run
    many threads holds nothing for those that are done."""
    async with serve(database, tmp_path) as served:
        for _ in range(3):
            tid, token = await served.new_thread()
            async with served.http(token) as client:
                body = {"input": say(NEON, auto_approve=True), "stream_mode": ["values"]}
                events = await read_sse(client, "POST", f"/threads/{tid}/runs/stream", json=body)
                assert events[-1].event == "end"
                assert (await client.get(f"/threads/{tid}")).json()["status"] == "idle"
        await asyncio.sleep(0.2)  # the workers' last look at the queue
        gc.collect()
        services = served.app.state.services
        log, manager = services.log, services.manager
        held = {
            "log locks": len(log._locks),
            "log timers": len(log._timers),
            "log signals": len(log._signals),
            "log lives": len(log._lives),
            "run locks": len(manager._locks),
            "workers": len(manager._workers),
        }
        assert held == dict.fromkeys(held, 0)


async def test_a_run_that_stops_at_a_gate_writes_its_last_values_with_its_end(
    database, tmp_path
) -> None:
    """The values at a gate (with `__interrupt__`) are the run's last part: they are written
    in the batch that ends the run: one statement (the same `created_at`)."""
    async with serve(database, tmp_path) as served:
        tid, token = await served.new_thread()
        async with served.http(token) as client:
            body = {"input": say(NEON), "stream_mode": ["values"]}
            events = await read_sse(client, "POST", f"/threads/{tid}/runs/stream", json=body)
        assert [e.event for e in events[-2:]] == ["values", "end"]
        log = served.app.state.services.log
        records = await type(log)(log.pool).read(tid, 0, channels=("run", "control"))
        values, end = records[-2:]
        assert (values.event, end.event) == ("values", "end")
        assert "__interrupt__" in values.data
        assert values.at == end.at, "one statement wrote both"


async def test_a_resume_where_no_gate_waits_and_no_run_is_queued_is_a_conflict(
    database, tmp_path
) -> None:
    """The resume check asks whether the thread is busy only when no gate waits: idle -> 409."""
    async with serve(database, tmp_path) as served:
        tid, token = await served.new_thread()
        async with served.http(token) as client:
            done = await client.post(
                f"/threads/{tid}/runs/wait", json={"input": say(NEON, auto_approve=True)}
            )
            assert done.status_code == 200 and "__interrupt__" not in done.json()
            refused = await client.post(
                f"/threads/{tid}/runs", json={"command": {"resume": {"action": "approve"}}}
            )
            assert refused.status_code == 409, refused.text
            assert "not waiting at a gate" in refused.json()["error"]["message"]
