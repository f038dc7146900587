"""Ownership, API key, idempotency, error shapes and the studio's own endpoints."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.api_helpers import NEON, serve

pytestmark = pytest.mark.anyio


def start(**settings: Any) -> dict[str, Any]:
    return {"input": {"messages": [{"role": "user", "content": NEON}], "settings": settings}}


async def test_threads_are_visible_to_their_token_only(database, tmp_path: Path) -> None:
    async with serve(database, tmp_path) as served:
        tid, token = await served.new_thread(metadata={"graph_id": "studio"})
        _, stranger = await served.new_thread(metadata={"graph_id": "studio"})
        assert token != stranger
        async with served.http() as anonymous:
            assert (await anonymous.get(f"/threads/{tid}")).status_code == 401
            assert (await anonymous.get(f"/threads/{tid}/export")).status_code == 401
            assert (await anonymous.post("/threads/search", json={})).status_code == 401
        async with served.http(stranger) as other:
            assert (await other.get(f"/threads/{tid}")).status_code == 404
            assert (await other.get(f"/threads/{tid}/state")).status_code == 404
            assert (await other.get(f"/threads/{tid}/export")).status_code == 404
            assert (await other.post(f"/threads/{tid}/runs", json=start())).status_code == 404
            found = (await other.post("/threads/search", json={})).json()
            assert tid not in [t["thread_id"] for t in found]
            taken = {"thread_id": tid, "if_exists": "do_nothing"}
            # a thread's token reaches its thread only: it makes no threads
            assert (await other.post("/threads", json=taken)).status_code == 403
        async with served.http("a-token-nobody-was-given") as guesser:
            assert (await guesser.post("/threads", json={})).status_code == 401
            assert (await guesser.get(f"/threads/{tid}")).status_code == 401
        async with served.http(served.admin_token) as owner:
            taken = {"thread_id": tid, "if_exists": "do_nothing"}
            again = await owner.post("/threads", json=taken)
            assert again.status_code == 200 and "token" not in again.json(), "shown once"
            mine = (await owner.post("/threads", json={})).json()
            assert mine["token"] not in (token, stranger), "each thread its own token"
            listed = (await owner.post("/threads/search", json={"limit": 10})).json()
            assert [t["thread_id"] for t in listed][0] == mine["thread_id"]
            assert tid in [t["thread_id"] for t in listed]
        async with served.http(token) as scoped:
            listed = (await scoped.post("/threads/search", json={"limit": 10})).json()
            assert [t["thread_id"] for t in listed] == [tid]


async def test_api_key_guards_thread_creation(database, tmp_path) -> None:
    async with serve(database, tmp_path, api_key="sekret") as served:
        async with served.http(served.admin_token) as client:
            refused = await client.post("/threads", json={})
            assert refused.status_code == 401
            assert refused.json()["error"]["code"] == "unauthorized"
            made = await client.post("/threads", json={}, headers={"X-Api-Key": "sekret"})
            assert made.status_code == 200 and made.json()["token"]
        async with served.http() as anonymous:  # the key is no account
            alone = await anonymous.post("/threads", json={}, headers={"X-Api-Key": "sekret"})
            assert alone.status_code == 401


async def test_idempotency_key_replays_the_first_answer(database, tmp_path) -> None:
    async with serve(database, tmp_path) as served:
        async with served.http(served.admin_token) as client:  # keys belong to a caller
            key = {"Idempotency-Key": "create-1"}
            first = await client.post("/threads", json={}, headers=key)
            again = await client.post("/threads", json={}, headers=key)
            assert first.json() == again.json()
            assert again.headers["idempotent-replayed"] == "true"
        tid, token = first.json()["thread_id"], first.json()["token"]
        async with served.http(token) as client:
            key = {"Idempotency-Key": "run-1"}
            one = await client.post(f"/threads/{tid}/runs/wait", json=start(), headers=key)
            two = await client.post(f"/threads/{tid}/runs/wait", json=start(), headers=key)
            assert one.json() == two.json()
            streamed = await client.post(f"/threads/{tid}/runs/stream", json=start(), headers=key)
            assert streamed.headers["content-type"].startswith("text/event-stream")
            runs = (await client.get(f"/threads/{tid}/runs")).json()
            assert len(runs) == 1, "retries had no second effect"
            humans = [
                m
                for m in (await client.get(f"/threads/{tid}/state")).json()["values"]["messages"]
                if m["type"] == "human"
            ]
            assert len(humans) == 1


async def test_errors_have_one_shape_and_no_traceback(database, tmp_path) -> None:
    async with serve(database, tmp_path) as served:
        tid, token = await served.new_thread()
        async with served.http(token) as client:
            invalid = await client.post(
                f"/threads/{tid}/runs", json={"input": {}, "stream_mode": "bogus"}
            )
            assert invalid.status_code == 422
            assert "stream_mode" in invalid.json()["error"]["message"]
            both = await client.post(
                f"/threads/{tid}/runs", json={"input": {}, "command": {"resume": 1}}
            )
            assert both.status_code == 422 and both.json()["error"]["code"] == "invalid_input"
            idle = await client.post(
                f"/threads/{tid}/runs", json={"command": {"resume": {"action": "approve"}}}
            )
            assert idle.status_code == 409
            missing = await client.get(f"/threads/{tid}/runs/nope")
            assert missing.status_code == 404
            assert set(missing.json()["error"]) == {"code", "message", "retryable"}
            bad_id = await client.get(f"/threads/{tid}/stream", headers={"Last-Event-ID": "x"})
            assert bad_id.status_code == 422
            for response in (invalid, both, idle, missing, bad_id):
                assert "Traceback" not in response.text


async def test_outputs_assets_timeline_and_settings(database, tmp_path) -> None:
    async with serve(database, tmp_path) as served:
        tid, token = await served.new_thread()
        _, stranger = await served.new_thread()
        async with served.http(token) as client:
            patched = await client.patch(
                f"/threads/{tid}/settings", json={"models": {"critic": "gemma3:27b"}}
            )
            assert patched.json()["models"]["critic"] == "gemma3:27b"
            wrong = await client.patch(f"/threads/{tid}/settings", json={"models": {"x": "y"}})
            assert wrong.status_code == 422 and "unknown role x" in wrong.json()["error"]["message"]
            await client.post(f"/threads/{tid}/runs/wait", json=start(auto_approve=True))
            settings = (await client.get(f"/threads/{tid}/settings")).json()
            assert settings["settings"]["models"] == {"critic": "gemma3:27b"}

            everything = (await client.get(f"/threads/{tid}/outputs?limit=200")).json()["items"]
            assert everything and everything[0]["lineage"]["seed"] is not None
            assert any("score" in item["scores"] for item in everything)
            pages, cursor = [], None
            while True:
                query = f"limit=1&cursor={cursor}" if cursor else "limit=1"
                page = (await client.get(f"/threads/{tid}/outputs?{query}")).json()
                pages += page["items"]
                if not (cursor := page["next_cursor"]):
                    break
            assert [p["asset_id"] for p in pages] == [e["asset_id"] for e in everything]
            one = everything[0]["deliverable"]
            only = (await client.get(f"/threads/{tid}/outputs?deliverable={one}")).json()["items"]
            assert {i["deliverable"] for i in only} == {one}
            first_iteration = (await client.get(f"/threads/{tid}/outputs?iteration=1")).json()
            assert {i["iteration"] for i in first_iteration["items"]} == {1}

            image = await client.get(everything[0]["url"])
            assert image.status_code == 200 and image.headers["content-type"] == "image/png"
            assert image.content.startswith(b"\x89PNG")
            for trick in ("../../etc/passwd", "..%2F..%2Fetc%2Fpasswd", "not-a-uuid"):
                assert (await client.get(f"/assets/{trick}")).status_code == 404

            timeline = (await client.get(f"/threads/{tid}/timeline")).json()
            assert timeline["items"][0]["role"] == "person"
            assert [e["index"] for e in timeline["items"]] == list(range(timeline["total"]))
            luna = (await client.get(f"/threads/{tid}/timeline?agent=luna")).json()["items"]
            assert luna and {e["role"] for e in luna} == {"style"}
        async with served.http(stranger) as other:
            assert (await other.get(everything[0]["url"])).status_code == 404
            assert (await other.get(f"/threads/{tid}/outputs")).status_code == 404
        async with served.http() as anonymous:
            assert (await anonymous.get(everything[0]["url"])).status_code == 401
            query = f"{everything[0]['url']}?access_token={token}"
            assert (await anonymous.get(query)).status_code == 401  # never a token in a URL
