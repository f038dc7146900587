"""A real `studio serve` killed with SIGKILL mid-discussion and mid-generation, then restarted."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api_helpers import NEON, ServerProcess, Sse, read_sse

pytestmark = pytest.mark.anyio


@pytest.fixture
def server(tmp_path: Path, database_url: str) -> Iterator[ServerProcess]:
    running = ServerProcess(tmp_path, database_url)
    try:
        yield running
    finally:
        running.stop()


async def follow(client: httpx.AsyncClient, tid: str, after: str, until: Any) -> list[Sse]:
    """Read the thread stream from `after` until `until(events)` is true, or the stream ends
    because the server died (then whatever arrived)."""
    seen: list[Sse] = []
    headers = {"Last-Event-ID": after}
    try:
        async with client.stream("GET", f"/threads/{tid}/stream", headers=headers) as response:
            assert response.status_code == 200
            event, data, sid = "message", "", None
            async for line in response.aiter_lines():
                if line == "" and data:
                    seen.append(Sse(event, json.loads(data), sid))
                    event, data, sid = "message", "", None
                    if until(seen):
                        return seen
                elif line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:"):
                    data = line[5:].strip()
                elif line.startswith("id:"):
                    sid = line[3:].strip()
    except httpx.TransportError:
        pass
    return seen


async def test_sigkill_mid_discussion_and_mid_generation_loses_nothing(server) -> None:
    await server.start()
    admin = {"Authorization": f"Bearer {server.admin_token}"}  # the home's admin makes threads
    async with httpx.AsyncClient(base_url=server.url, timeout=30, headers=admin) as client:
        made = (await client.post("/threads", json={})).json()
        tid, token = made["thread_id"], made["token"]
        client.headers["Authorization"] = f"Bearer {token}"
        body = {
            "input": {
                "messages": [{"role": "user", "content": NEON}],
                "settings": {"auto_approve": True},
            },
            "stream_mode": ["values", "updates", "messages-tuple", "custom"],
            "stream_resumable": True,
        }
        run = (await client.post(f"/threads/{tid}/runs", json=body)).json()

        tokens = lambda seen: sum(e.event == "token" for e in seen) >= 40  # noqa: E731
        part1 = await follow(client, tid, "0", tokens)
        assert tokens(part1), "the discussion was streaming"
        run_events = await read_sse(
            client, "GET", f"/threads/{tid}/runs/{run['run_id']}/stream", limit=5
        )
        server.kill()

    await server.start()
    admin = {"Authorization": f"Bearer {server.admin_token}"}  # the home's admin makes threads
    async with httpx.AsyncClient(base_url=server.url, timeout=30, headers=admin) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        generating = lambda seen: any(e.event == "progress" for e in seen)  # noqa: E731
        part2 = await follow(client, tid, part1[-1].id or "0", generating)
        assert generating(part2), "the restarted server resumed the run into generation"
        server.kill()

    await server.start()
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        finished = lambda seen: any(e.event == "done" for e in seen)  # noqa: E731
        part3 = await follow(client, tid, part2[-1].id or "0", finished)
        assert finished(part3)
        assert part3[-1].data["status"] == "success"

        seen = part1 + part2 + part3
        replay = await read_sse(client, "GET", f"/threads/{tid}/stream", until="done")
        assert [e.id for e in seen] == [e.id for e in replay], "exactly once: no gap, no repeat"
        assert [e.data for e in seen] == [e.data for e in replay]

        resumed = [e for e in seen if e.event == "notice" and e.data["code"] == "resumed"]
        assert len(resumed) == 2, "each restart tells the watchers"
        run_now = (await client.get(f"/threads/{tid}/runs/{run['run_id']}")).json()
        assert run_now["status"] == "success"
        thread = (await client.get(f"/threads/{tid}")).json()
        assert thread["status"] == "idle" and thread["values"]["phase"] == "approved"

        rejoined = await read_sse(
            client,
            "GET",
            f"/threads/{tid}/runs/{run['run_id']}/stream",
            headers={"Last-Event-ID": run_events[-1].id},
        )
        everything = await read_sse(client, "GET", f"/threads/{tid}/runs/{run['run_id']}/stream")
        assert everything[-1].event == rejoined[-1].event == "end"
        ids = [e.id for e in everything[1:-1]]
        assert [e.id for e in rejoined[1:-1]] == ids[ids.index(run_events[-1].id) + 1 :]
        assert ids == sorted(set(ids), key=int)

        generations = thread["values"]["generations"]
        outputs = (await client.get(f"/threads/{tid}/outputs?limit=200")).json()["items"]
        jobs = [o["lineage"]["job_id"] for o in outputs]
        assert len(jobs) == len(set(jobs)) == len(generations), "no asset duplicated"
