"""Time travel: copy a thread, branch it at a checkpoint or a message, run from a checkpoint."""

from __future__ import annotations

import io
import json
import os
import zipfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.api_helpers import NEON, serve
from tests.test_cli import studio

pytestmark = pytest.mark.anyio
BRIEF = {"messages": [{"role": "user", "content": NEON}]}
APPROVE = {"resume": {"action": "approve"}}


@asynccontextmanager
async def sdk_of(served: Any, token: str) -> AsyncIterator[Any]:
    client = served.sdk(token)
    try:
        yield client
    finally:
        await client.aclose()


async def history(client: Any, tid: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = await client.threads.get_history(tid, limit=1000)
    return found


async def test_the_sdk_copies_a_thread_and_the_copy_goes_its_own_way(
    database: Any, tmp_path: Path
) -> None:
    async with serve(database, tmp_path) as served:
        tid, token = await served.new_thread()
        async with sdk_of(served, token) as sdk:
            await sdk.runs.wait(tid, "studio", input=BRIEF)  # waits at the plan gate
            before = await history(sdk, tid)

            copied = await sdk.threads.copy(tid)  # the unmodified SDK: no body
            new = copied["thread_id"]
            assert new != tid and copied["status"] == "interrupted"
            assert copied["metadata"]["forked_from"]["thread_id"] == tid
            parent_state, copy_state = (
                await sdk.threads.get_state(tid),
                await sdk.threads.get_state(new),
            )
            assert copy_state["values"] == parent_state["values"]
            assert copy_state["checkpoint_id"] == parent_state["checkpoint_id"]
            assert [i["value"]["gate"] for i in copy_state["interrupts"]] == ["plan"]
            listed = {t["thread_id"] for t in await sdk.threads.search()}
            assert listed == {tid, new}

            await sdk.runs.wait(new, "studio", command=APPROVE)  # the copy moves on
            assert (await sdk.threads.get_state(new))["values"]["phase"] == "awaiting_approval"
            assert await history(sdk, tid) == before, "the parent is untouched"
            assert (await sdk.threads.get(tid))["status"] == "interrupted"

            async with served.http() as stranger:  # a thread's copy needs its token
                assert (await stranger.post(f"/threads/{tid}/copy")).status_code == 401


async def test_a_run_from_a_checkpoint_branches_off_in_the_same_thread(
    database: Any, tmp_path: Path
) -> None:
    async with serve(database, tmp_path) as served:
        tid, token = await served.new_thread()
        async with sdk_of(served, token) as sdk:
            await sdk.runs.wait(tid, "studio", input=BRIEF)
            at_plan = (await sdk.threads.get_state(tid))["checkpoint_id"]
            await sdk.runs.wait(tid, "studio", command=APPROVE)
            at_output = (await sdk.threads.get_state(tid))["checkpoint_id"]

            revise = {"resume": {"action": "revise", "feedback": "warmer light, closer"}}
            result = await sdk.runs.wait(tid, "studio", command=revise, checkpoint_id=at_plan)
            assert result["phase"] == "awaiting_plan_approval"  # revised, back at the plan gate
            state = await sdk.threads.get_state(tid)
            assert state["checkpoint_id"] not in (at_plan, at_output)
            ids = [s["checkpoint_id"] for s in await history(sdk, tid)]
            assert at_output in ids, "the other branch stays in the history"
            lineage, at = [], state["checkpoint_id"]
            by_id = {s["checkpoint_id"]: s for s in await history(sdk, tid)}
            while at:
                lineage.append(at)
                at = by_id[at]["parent_checkpoint_id"]
            # LangGraph's fork: a copy of the plan gate's checkpoint, beside it, then the new run
            assert by_id[at_plan]["parent_checkpoint_id"] in lineage
            assert at_output not in lineage
            # the abandoned timeline's images are no longer current (they read `current` in
            # the gallery, beside the revised plan, drive 5 F7)
            async with served.http(token) as client:
                made = (await client.get(f"/threads/{tid}/outputs")).json()["items"]
            assert made and {i["verdict"] for i in made} == {"superseded"}, made

            async with served.http(token) as client:
                unknown = {"assistant_id": "studio", "input": BRIEF, "checkpoint_id": "nope"}
                missing = await client.post(f"/threads/{tid}/runs", json=unknown)
                assert missing.status_code == 404


async def test_a_branch_at_a_gate_keeps_the_images_and_a_branch_at_a_message_ends_there(
    database: Any, tmp_path: Path
) -> None:
    async with serve(database, tmp_path) as served:
        tid, token = await served.new_thread()
        async with sdk_of(served, token) as sdk:
            await sdk.runs.wait(tid, "studio", input=BRIEF)
            await sdk.runs.wait(tid, "studio", command=APPROVE)  # images made, at the output gate
            parent = await sdk.threads.get_state(tid)
            before = await history(sdk, tid)
            async with served.http(token) as client:
                made = await client.post(
                    f"/threads/{tid}/copy", json={"checkpoint_id": parent["checkpoint_id"]}
                )
                assert made.status_code == 200, made.text
                branch = made.json()["thread_id"]
                inherited = (await client.get(f"/threads/{branch}/outputs")).json()["items"]
                own = (await client.get(f"/threads/{tid}/outputs")).json()["items"]
                assert {i["asset_id"] for i in inherited} == {i["asset_id"] for i in own} != set()
                assert all(i["lineage"]["spec"] for i in inherited)  # with their lineage
                image = await client.get(inherited[0]["url"])
                assert image.status_code == 200 and image.content.startswith(b"\x89PNG")

                await sdk.runs.wait(branch, "studio", command=APPROVE)
                assert (await sdk.threads.get_state(branch))["values"]["phase"] == "approved"
                assert await history(sdk, tid) == before, "the parent is untouched"
                assert (await sdk.threads.get_state(tid))["values"]["phase"] == "awaiting_approval"

                said = [m for m in parent["values"]["messages"] if m.get("name") == "composition"][
                    0
                ]
                at_message = await client.post(
                    f"/threads/{tid}/copy", json={"message_id": said["id"]}
                )
                assert at_message.status_code == 200, at_message.text
                values = (await sdk.threads.get_state(at_message.json()["thread_id"]))["values"]
                assert values["messages"][-1]["id"] == said["id"]  # nothing after it
                unknown = await client.post(f"/threads/{tid}/copy", json={"message_id": "nope"})
                assert unknown.status_code == 422


def test_studio_fork_branches_a_thread_from_the_command_line(
    database_url: str, tmp_path: Path
) -> None:
    env = {**os.environ, "DATABASE_URL": database_url, "STUDIO_HOME": str(tmp_path / "home")}
    first = json.loads(studio(env, "run", NEON, "--json").stdout)
    tid = first["thread_id"]
    assert first["phase"] == "awaiting_plan_approval"
    listed = json.loads(studio(env, "history", tid, "--json").stdout)
    at_plan = listed[0]
    assert at_plan["gate"] == "plan"

    forked = studio(env, "fork", tid, "--json")
    assert forked.returncode == 0, forked.stderr
    branch = json.loads(forked.stdout)
    assert branch["thread_id"] != tid and branch["phase"] == "awaiting_plan_approval"
    moved = json.loads(
        studio(env, "resume", branch["thread_id"], "--action", "approve", "--json").stdout
    )
    assert moved["phase"] == "awaiting_approval"
    assert json.loads(studio(env, "resume", tid, "--json").stdout)["phase"] == (
        "awaiting_plan_approval"
    )

    earlier = next(c for c in listed if c["messages"] == 1)  # only the brief
    back = json.loads(studio(env, "fork", tid, "--at", earlier["checkpoint_id"], "--json").stdout)
    assert back["phase"] != "awaiting_plan_approval" and back["status"] == "idle"
    missing = studio(env, "fork", tid, "--at", "no-such-checkpoint")
    assert missing.returncode == 1
    assert missing.stderr.strip() == (  # which one, and where the list is
        f"error: no checkpoint 'no-such-checkpoint' in thread {tid}; `studio history {tid}` "
        "lists them"
    )


async def test_a_branch_keeps_its_images_and_verdicts_whoever_is_deleted_first(
    database: Any, tmp_path: Path
) -> None:
    def pngs() -> set[Path]:
        return {p for p in tmp_path.rglob("*.png") if "assets" in p.parts}

    async with serve(database, tmp_path) as served:
        tid, token = await served.new_thread()
        async with sdk_of(served, token) as sdk, served.http(token) as client:
            await sdk.runs.wait(tid, "studio", input=BRIEF)
            await sdk.runs.wait(tid, "studio", command=APPROVE)  # images made, at the output gate

            async def verdicts(thread: str) -> dict[str, Any]:
                found = await client.get(f"/threads/{thread}/outputs", params={"limit": 200})
                assert found.status_code == 200, found.text
                return {i["asset_id"]: i["verdict"] for i in found.json()["items"]}

            async def exported(thread: str) -> set[str]:
                got = await client.get(f"/threads/{thread}/export")
                assert got.status_code == 200, got.text
                with zipfile.ZipFile(io.BytesIO(got.content)) as archive:
                    return {n for n in archive.namelist() if n.endswith(".png")}

            parent_verdicts = await verdicts(tid)
            parent_export = await exported(tid)
            files = pngs()
            assert parent_verdicts and parent_export and files
            first = (await client.post(f"/threads/{tid}/copy")).json()["thread_id"]
            second = (await client.post(f"/threads/{tid}/copy")).json()["thread_id"]

            await sdk.runs.wait(first, "studio", command=APPROVE)  # the branch approves
            assert set((await verdicts(first)).values()) & {"approved"}
            assert await verdicts(tid) == parent_verdicts, "the parent's verdicts are its own"

            assert (await client.delete(f"/threads/{tid}")).status_code == 204
            for branch in (first, second):
                held = await verdicts(branch)
                assert set(held) == set(parent_verdicts), "the inherited images stay"
                for asset_id in held:
                    assert (await client.get(f"/assets/{asset_id}")).status_code == 200
                assert await exported(branch) == parent_export
            assert pngs() == files
            assert await verdicts(second) == parent_verdicts, "the untouched branch's own"

            assert (await client.delete(f"/threads/{second}")).status_code == 204
            assert (await verdicts(first)).keys() == parent_verdicts.keys()
            assert pngs() == files, "the other branch still holds them"
            assert (await client.delete(f"/threads/{first}")).status_code == 204
            assert pngs() == set(), "deleted by every thread that held them: gone"
            async with database.pool.connection() as conn:
                cur = await conn.execute("SELECT count(*) AS n FROM asset_refs")
                assert (await cur.fetchone())["n"] == 0


async def test_deleting_a_branch_leaves_the_parents_images(database: Any, tmp_path: Path) -> None:
    async with serve(database, tmp_path) as served:
        tid, token = await served.new_thread()
        async with sdk_of(served, token) as sdk, served.http(token) as client:
            await sdk.runs.wait(tid, "studio", input=BRIEF)
            await sdk.runs.wait(tid, "studio", command=APPROVE)
            before = (await client.get(f"/threads/{tid}/outputs")).json()["items"]
            branch = (await client.post(f"/threads/{tid}/copy")).json()["thread_id"]
            await sdk.runs.wait(branch, "studio", command=APPROVE)
            assert (await client.delete(f"/threads/{branch}")).status_code == 204
            assert (await client.get(f"/threads/{tid}/outputs")).json()["items"] == before
            for item in before:
                assert (await client.get(item["url"])).status_code == 200


async def test_a_missing_checkpoint_says_which_and_where_they_are_listed(
    database: Any, tmp_path: Path
) -> None:
    async with serve(database, tmp_path) as served:
        tid, token = await served.new_thread()
        named = (
            f"no checkpoint 'nope' in thread {tid}; its checkpoint ids are listed by "
            f"GET /threads/{tid}/history (or `studio history {tid}`)"
        )
        async with served.http(token) as client:
            for method, path, body in (
                ("GET", f"/threads/{tid}/state/nope", None),
                ("POST", f"/threads/{tid}/copy", {"checkpoint_id": "nope"}),
                (
                    "POST",
                    f"/threads/{tid}/runs",
                    {"assistant_id": "studio", "checkpoint_id": "nope"},
                ),
            ):
                missing = await client.request(method, path, json=body)
                assert missing.status_code == 404, (path, missing.text)
                assert missing.json()["error"]["message"] == named, path
            empty = await client.post(f"/threads/{tid}/copy")  # nothing has run on it
            assert empty.status_code == 404, empty.text
            assert empty.json()["error"]["message"] == (
                f"thread {tid} has no checkpoint yet: nothing has run on it; "
                f"start a run on it first (POST /threads/{tid}/runs)"
            )
