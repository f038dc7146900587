"""The Media Lab from the chat: "upscale hero 2x" said in a studio thread waiting at its output
gate becomes a Media Lab job on hero's current image (no discussion, the gate asks again); its
result joins the thread's outputs with the job's lineage. A creator's thread is refused
(admins only by default), in words, without failing the run."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from adapters.media_lab.params import BUILTIN_PRESETS
from graph import media as media_graph
from graph.media_asks import MediaAsk, parse
from people import accounts
from tests.api_helpers import NEON, read_sse, serve
from tests.media_helpers import png_bytes

pytestmark = pytest.mark.anyio
ASK = {"input": {"messages": [{"role": "user", "content": "upscale hero 2x"}]}}


def start() -> dict[str, Any]:
    settings = {"deliverables": ["hero 16:9"], "auto_approve": False}
    return {"input": {"messages": [{"role": "user", "content": NEON}], "settings": settings}}


def test_the_asks_it_understands() -> None:
    plan = ["hero-a", "hero-b", "thumbnail"]
    assert parse("upscale hero-b 2x", plan) == MediaAsk("upscale", "hero-b", 2)
    assert parse("Please enhance the thumbnail 4x.", plan) == MediaAsk("upscale", "thumbnail", 4)
    assert parse("upscale hero-a", plan) == MediaAsk("upscale", "hero-a", 2)
    assert parse("upscale hero-c 2x", plan) is None  # not a deliverable of the plan
    assert parse("make hero-b warmer and upscale it", plan) is None  # a direction, not an ask
    assert {p.id for p in BUILTIN_PRESETS if p.kind == "upscale"} >= {"crisp"}


async def at_output_gate(client: Any, tid: str) -> None:
    await client.post(f"/threads/{tid}/runs/wait", json=start())
    approve = {"command": {"resume": {"action": "approve"}}}
    done = await client.post(f"/threads/{tid}/runs/wait", json=approve)
    assert done.json()["__interrupt__"][0]["value"]["gate"] == "output", done.text


async def test_upscale_said_at_the_output_gate_joins_the_threads_outputs(
    database, tmp_path, monkeypatch
) -> None:
    joining = media_graph.join_thread

    async def slow_join(*args: Any) -> None:  # a job read SUCCEEDED has its output in place
        await asyncio.sleep(0.5)
        await joining(*args)

    monkeypatch.setattr(media_graph, "join_thread", slow_join)
    async with serve(database, tmp_path) as served:
        tid, token = await served.new_thread()
        async with served.http(token) as client, served.http(served.admin_token) as root:
            await at_output_gate(client, tid)
            before = (await client.get(f"/threads/{tid}/outputs")).json()["items"]
            used = (await root.get("/me")).json()["usage"]["daily_generations"]["used"]
            answered = await client.post(f"/threads/{tid}/runs/wait", json=ASK)
            assert answered.json()["__interrupt__"][0]["value"]["gate"] == "output"
            jobs = (await root.get("/media/jobs")).json()["jobs"]
            assert len(jobs) == 1 and jobs[0]["source_thread"] == tid
            job = jobs[0]
            for _ in range(600):
                job = (await root.get(f"/media/jobs/{job['id']}")).json()
                if job["status"] not in ("QUEUED", "RUNNING"):
                    break
                await asyncio.sleep(0.1)
            assert job["status"] == "SUCCEEDED", job
            hero = next(i for i in before if i["deliverable"] == "hero")
            assert job["inputs"][0]["asset_id"] == hero["asset_id"]
            after = (await client.get(f"/threads/{tid}/outputs")).json()["items"]
            [made] = [i for i in after if i["asset_id"] not in {b["asset_id"] for b in before}]
            assert made["deliverable"] == "hero"
            assert (made["width"], made["height"]) == (2 * hero["width"], 2 * hero["height"])
            assert made["lineage"]["generator"].startswith("media lab upscale")
            # D22's ledger: the job counts once, its result joining the thread not again
            me = (await root.get("/me")).json()["usage"]["daily_generations"]
            assert me["used"] == used + 1, (me, used)
            timeline = (await client.get(f"/threads/{tid}/timeline")).json()["items"]
            assert "Media Lab" in timeline[-1]["text"]  # Pixel says so; nobody else talks
            said = ""
            for _ in range(100):  # the thread is told the job finished (F27)
                said = " ".join(await notices(served.studio.threads.pool, tid))
                if "finished" in said:
                    break
                await asyncio.sleep(0.1)
            assert f"Media Lab job {job['id']} finished: upscale hero 2x" in said
            assert f"({made['width']}x{made['height']})" in said
            # the upscale can be picked (it joined after the gate asked) and approved
            pick = {"command": {"resume": {"action": "pick", "asset_id": made["asset_id"]}}}
            picked = await client.post(f"/threads/{tid}/runs/wait", json=pick)
            assert picked.status_code == 200, picked.text
            assert picked.json()["current"]["hero"] == made["asset_id"]
            said = picked.json()["messages"][-1]["content"]  # says what became current
            assert said == (
                f"hero: the Media Lab upscale of iteration {hero['iteration']} "
                f"({made['asset_id'][:8]}) is current now."
            ), said
            approve = {"command": {"resume": {"action": "approve"}}}
            done = (await client.post(f"/threads/{tid}/runs/wait", json=approve)).json()
            assert done["phase"] == "approved" and done["current"]["hero"] == made["asset_id"]
            final = (await client.get(f"/threads/{tid}/outputs")).json()["items"]
            verdicts = {i["asset_id"]: i["verdict"] for i in final}
            assert verdicts[made["asset_id"]] == "approved"
            assert verdicts[hero["asset_id"]] == "superseded"


async def notices(pool: Any, tid: str) -> list[str]:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT data::text AS data FROM events WHERE thread_id = %s AND event = 'notice'",
            [tid],
        )
        return [r["data"] for r in await cur.fetchall()]


async def test_a_creators_ask_is_refused_in_words(database, tmp_path) -> None:
    async with serve(database, tmp_path) as served:
        pool = served.studio.threads.pool
        user = await accounts.add_user(pool, "cleo", "creator")
        _, pat = await accounts.create_token(pool, user["user_id"], "tests")
        async with served.http(pat) as client:
            tid = (await client.post("/threads", json={})).json()["thread_id"]
            await at_output_gate(client, tid)
            answered = await client.post(f"/threads/{tid}/runs/wait", json=ASK)
            assert answered.status_code == 200
        async with served.http(served.admin_token) as root:
            assert (await root.get("/media/jobs")).json()["jobs"] == []
        async with pool.connection() as conn:
            rows = await (
                await conn.execute(
                    "SELECT data::text AS data FROM events"
                    " WHERE thread_id = %s AND event = 'notice'",
                    [tid],
                )
            ).fetchall()
        assert any("Media Lab is for admins" in r["data"] for r in rows), rows


async def test_a_reference_attached_to_a_thread_makes_a_new_variant_from_its_brief(
    database, tmp_path
) -> None:
    async with serve(database, tmp_path) as served:
        tid, token = await served.new_thread()
        async with served.http(token) as client, served.http(served.admin_token) as root:
            await at_output_gate(client, tid)
            before = (await client.get(f"/threads/{tid}/outputs")).json()["items"]
            sent = await root.post(
                "/media/uploads", files={"file": ("ref.png", png_bytes((96, 64), (20, 160, 90)))}
            )
            body = {"kind": "generate", "inputs": [sent.json()["id"]], "thread_id": tid}
            job = (await root.post("/media/jobs", json=body)).json()
            assert job["request"]["deliverable"] == "hero" and job["source_thread"] == tid
            events = await read_sse(root, "GET", f"/media/jobs/{job['id']}/stream", until="done")
            assert events[-1].event == "done"
            job = (await root.get(f"/media/jobs/{job['id']}")).json()
            assert job["status"] == "SUCCEEDED", job
            assert job["artifact"]["lineage"]["prompt"] == NEON  # the thread's brief
            after = (await client.get(f"/threads/{tid}/outputs")).json()["items"]
            [made] = [i for i in after if i["asset_id"] not in {b["asset_id"] for b in before}]
            assert made["deliverable"] == "hero"
            assert made["lineage"]["generator"].startswith("media lab generate")
            assert (
                made["lineage"]["recipe"]["media_lab"]["inputs"][0]["upload_id"]
                == sent.json()["id"]
            )
            wrong = await root.post("/media/jobs", json={**body, "deliverable": "poster"})
            assert wrong.status_code == 422 and "deliverable" in wrong.json()["error"]["message"]
            elsewhere = await root.post("/media/jobs", json={**body, "thread_id": "no-such"})
            assert elsewhere.status_code == 404
