"""The LangGraph Server protocol, driven by the unmodified `langgraph-sdk` over real HTTP."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from langgraph_sdk.errors import ConflictError, NotFoundError, UnprocessableEntityError

from adapters.errors import ServiceUnavailable
from adapters.renderer import Renderer
from tests.api_helpers import NEON, Served, serve

pytestmark = pytest.mark.anyio
MODES = ["values", "updates", "messages-tuple", "custom"]


def start(brief: str = NEON, **settings: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"messages": [{"role": "user", "content": brief}]}
    if settings:
        body["settings"] = settings
    return body


@pytest.fixture
async def served(database: Any, tmp_path: Path) -> AsyncIterator[Served]:
    async with serve(database, tmp_path) as srv:
        yield srv


@pytest.fixture
async def sdk(served: Served) -> AsyncIterator[tuple[Any, str]]:
    tid, _ = await served.new_thread(metadata={"graph_id": "studio"})
    client = served.sdk(served.admin_token)  # the home's admin: makes threads, sees them all
    try:
        yield client, tid
    finally:
        await client.aclose()


async def test_stream_speaks_every_mode_and_stops_at_the_plan_gate(sdk) -> None:
    client, tid = sdk
    parts = [
        part
        async for part in client.runs.stream(
            tid, "studio", input=start(), stream_mode=MODES, stream_resumable=True
        )
    ]
    assert parts[0].event == "metadata" and parts[0].data["run_id"]
    assert {"values", "updates", "messages", "custom"} <= {p.event for p in parts}
    tuples = [p.data for p in parts if p.event == "messages"]
    chunk, meta = next(t for t in tuples if t[0]["type"] == "AIMessageChunk")
    assert chunk["content"] and meta["langgraph_node"]
    assert parts[-1].event == "end" and parts[-1].data is None  # the SDK asks nothing more
    events = parts[1:-1]
    assert all(p.id is not None for p in events)
    ids = [int(p.id) for p in events]
    assert ids == sorted(set(ids))
    last = events[-1]
    assert last.event == "values"
    assert last.data["messages"][0]["type"] == "human"
    (gate,) = last.data["__interrupt__"]
    assert gate["value"]["gate"] == "plan" and gate["id"]
    custom = [p.data["event"] for p in parts if p.event == "custom"]
    assert "phase" in custom and "gate" in custom

    state = await client.threads.get_state(tid)
    assert state["next"] == ["approve_plan"] and state["checkpoint"]["checkpoint_id"]
    assert state["interrupts"][0]["id"] == gate["id"]
    thread = await client.threads.get(tid)
    assert thread["status"] == "interrupted"
    assert [i["id"] for found in thread["interrupts"].values() for i in found] == [gate["id"]]


async def test_resume_with_command_by_value_and_by_interrupt_id(sdk) -> None:
    client, tid = sdk
    await client.runs.wait(tid, "studio", input=start())
    state = await client.threads.get_state(tid)
    gate_id = state["interrupts"][0]["id"]
    result = await client.runs.wait(
        tid, "studio", command={"resume": {gate_id: {"action": "approve"}}}
    )
    assert result["__interrupt__"][0]["value"]["gate"] == "output"
    assert result["generations"]
    parts = [
        p
        async for p in client.runs.stream(
            tid, "studio", command={"resume": {"action": "approve"}}, stream_mode="updates"
        )
    ]
    assert parts[-2].event == "updates" and "finalize" in parts[-2].data
    final = await client.threads.get_state(tid)
    assert final["values"]["phase"] == "approved" and final["next"] == []
    assert (await client.threads.get(tid))["status"] == "idle"


async def test_bad_resumes_are_refused_before_a_run_starts(sdk) -> None:
    client, tid = sdk
    await client.runs.wait(tid, "studio", input=start())
    with pytest.raises(httpx.HTTPStatusError) as unknown:  # runs.wait raises httpx's own
        await client.runs.wait(tid, "studio", command={"resume": {"0" * 32: {"action": "approve"}}})
    assert unknown.value.response.status_code == 409  # not the gate that waits: refused
    assert "the plan gate waits now" in unknown.value.response.json()["error"]["message"]
    with pytest.raises(UnprocessableEntityError) as wrong:
        await client.runs.create(tid, "studio", command={"resume": {"action": "pick"}})
    message = wrong.value.response.json()["error"]["message"]
    assert "the plan gate accepts approve, revise, stop; got 'pick'" in message
    runs = await client.runs.list(tid)
    assert len(runs) == 1  # neither became a run
    assert (await client.threads.get_state(tid))["next"] == ["approve_plan"]


async def test_join_stream_replays_after_last_event_id(sdk) -> None:
    client, tid = sdk
    run = await client.runs.create(
        tid, "studio", input=start(), stream_mode=MODES, stream_resumable=True
    )
    joined = await client.runs.join(tid, run["run_id"])
    assert joined["__interrupt__"][0]["value"]["gate"] == "plan"
    everything = [p async for p in client.runs.join_stream(tid, run["run_id"])]
    assert everything[0].event == "metadata" and len(everything) > 20
    cut = everything[10]
    rest = [p async for p in client.runs.join_stream(tid, run["run_id"], last_event_id=cut.id)]
    assert [p.id for p in rest[1:]] == [p.id for p in everything[11:]]
    assert [p.data for p in rest[1:]] == [p.data for p in everything[11:]]
    only_values = [
        p async for p in client.runs.join_stream(tid, run["run_id"], stream_mode="values")
    ]
    assert {p.event for p in only_values[1:-1]} == {"values"} and only_values[-1].event == "end"
    assert (await client.runs.get(tid, run["run_id"]))["status"] == "success"


async def test_cancel_stops_a_run_and_keeps_the_thread_resumable(database, tmp_path) -> None:
    async with serve(database, tmp_path, token_delay_s=0.01) as served:
        tid, token = await served.new_thread()
        client = served.sdk(token)
        try:
            run = await client.runs.create(tid, "studio", input=start())
            async for part in client.runs.join_stream(tid, run["run_id"], stream_mode="values"):
                if part.event == "values" and len(part.data.get("messages", [])) >= 3:
                    break
            await client.runs.cancel(tid, run["run_id"], wait=True)
            assert (await client.runs.get(tid, run["run_id"]))["status"] == "interrupted"
            state = await client.threads.get_state(tid)
            assert state["next"], "completed steps kept; the rest is still to do"
            assert (await client.threads.get(tid))["status"] == "idle"
        finally:
            await client.aclose()


async def test_threads_search_history_and_meta_endpoints(served, sdk) -> None:
    client, tid = sdk
    other = await client.threads.create(metadata={"graph_id": "other"})
    found = await client.threads.search(metadata={"graph_id": "studio"})
    assert [t["thread_id"] for t in found] == [tid]
    page1 = await client.threads.search(limit=1)
    page2 = await client.threads.search(limit=1, offset=1)
    assert {page1[0]["thread_id"], page2[0]["thread_id"]} == {tid, other["thread_id"]}
    await client.runs.wait(tid, "studio", input=start())
    history = await client.threads.get_history(tid, limit=3)
    assert len(history) == 3 and history[0]["next"] == ["approve_plan"]
    older = await client.threads.get_history(tid, limit=2, before=history[0]["checkpoint"])
    assert older[0]["checkpoint_id"] == history[1]["checkpoint_id"]
    patched = await client.threads.update(tid, metadata={"title": "neon"})
    assert patched["metadata"] == {"graph_id": "studio", "title": "neon"}
    with pytest.raises(ConflictError):
        await client.threads.create(thread_id=tid)
    again = await client.threads.create(thread_id=tid, if_exists="do_nothing")
    assert again["thread_id"] == tid
    await client.threads.delete(other["thread_id"])
    with pytest.raises(NotFoundError):
        await client.threads.get(other["thread_id"])
    async with httpx.AsyncClient(base_url=served.url) as http:
        assert (await http.get("/ok")).json() == {"ok": True}
        assert (await http.get("/info")).json()["assistants"] == ["studio", "media"]
        assert (
            "/threads/{thread_id}/runs/stream" in (await http.get("/openapi.json")).json()["paths"]
        )
        assert (await http.get("/docs")).status_code == 200


class FlakyRenderer(Renderer):
    """Cannot reach the image server once, then draws as usual."""

    failed = False

    async def generate(self, spec: Any, *, job_id: str, on_progress: Any) -> Any:
        if not self.failed:
            self.failed = True
            raise ServiceUnavailable("the image server is unreachable; start it, then resume")
        return await super().generate(spec, job_id=job_id, on_progress=on_progress)


async def test_failure_mid_stream_is_one_error_event_and_resumable(database, tmp_path) -> None:
    wait = {"generator_wait_s": 0.0}  # do not wait for the server to come back
    async with serve(database, tmp_path, renderer=FlakyRenderer(), session=wait) as served:
        tid, token = await served.new_thread()
        body = {"input": start(auto_approve=True), "stream_mode": ["updates"]}
        async with served.http(token) as http:
            async with http.stream("POST", f"/threads/{tid}/runs/stream", json=body) as response:
                location = response.headers["location"]
                assert location.startswith(f"/threads/{tid}/runs/")
                lines = [line async for line in response.aiter_lines()]
            assert "Traceback" not in "\n".join(lines)
            errors = [i for i, line in enumerate(lines) if line == "event: error"]
            assert len(errors) == 1
            assert json.loads(lines[errors[0] + 1].removeprefix("data: ")) == {
                "error": "ServiceUnavailable",
                "message": "the image server is unreachable; start it, then resume",
            }
            thread = (await http.get(f"/threads/{tid}")).json()
            assert thread["status"] == "error"
            run_id = location.split("/")[4]
            assert (await http.get(f"/threads/{tid}/runs/{run_id}")).json()["status"] == "error"
        client = served.sdk(token)
        try:
            result = await client.runs.wait(tid, "studio", input=None)
            assert result["phase"] == "approved" and result["generations"]
            assert (await client.threads.get(tid))["status"] == "idle"
        finally:
            await client.aclose()
