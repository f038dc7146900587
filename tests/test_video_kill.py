"""A real `studio serve` killed with SIGKILL while it animates a video's scenes, or while it
encodes the final cut, then restarted: the run resumes by itself, the clips finished before
the kill are kept (not made again), every clip, the voice and the cut are made exactly once,
and every stage stays at one version."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from adapters.media.cut import probe
from tests.api_helpers import ServerProcess

pytestmark = pytest.mark.anyio
BRIEF = "a 16-second product ad for Lumen, a brass desk lamp"
VIDEO = {"fps": 24, "height": 360, "scenes": 4}


@pytest.fixture
def server(tmp_path: Path, database_url: str) -> Iterator[ServerProcess]:
    running = ServerProcess(tmp_path, database_url)
    running.env["STUDIO_RENDER_STAGE_DELAY_S"] = "0"
    try:
        yield running
    finally:
        running.stop()


def clip_jobs(database_url: str, tid: str) -> list[tuple[str, str]]:
    """(job id, asset id) of every stored video asset of the thread."""
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT job_id, id::text FROM assets WHERE thread_id = %s AND job_id LIKE %s",
            (tid, f"{tid}:video:%"),
        ).fetchall()
    return [(str(job), str(asset)) for job, asset in rows]


async def start_video_run(
    client: httpx.AsyncClient, brief: str, video: dict[str, int]
) -> tuple[str, str]:
    """Make a thread and start an auto-approved video run on it: (thread id, its token)."""
    made = (await client.post("/threads", json={})).json()
    tid, token = made["thread_id"], made["token"]
    client.headers["Authorization"] = f"Bearer {token}"
    settings = {"format": "video", "auto_approve": True, "video": video}
    body = {"input": {"messages": [{"role": "user", "content": brief}], "settings": settings}}
    await client.post(f"/threads/{tid}/runs", json=body)
    return tid, token


async def restart_until_finished(server: ServerProcess, tid: str, token: str) -> dict[str, Any]:
    """Start the server again and wait until the resumed run ends: the thread's values."""
    await server.start()
    admin = {"Authorization": f"Bearer {server.admin_token}"}  # the home's admin makes threads
    async with httpx.AsyncClient(base_url=server.url, timeout=30, headers=admin) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        deadline = time.monotonic() + 300
        while True:
            thread: dict[str, Any] = (await client.get(f"/threads/{tid}")).json()
            if thread["values"].get("phase") in ("approved", "failed", "completed"):
                return dict(thread["values"])
            assert time.monotonic() < deadline, server.log.read_text()[-3000:]
            await asyncio.sleep(0.5)


async def test_sigkill_mid_animation_resumes_without_redoing_finished_scenes(
    server: ServerProcess, database_url: str
) -> None:
    await server.start()
    admin = {"Authorization": f"Bearer {server.admin_token}"}  # the home's admin makes threads
    async with httpx.AsyncClient(base_url=server.url, timeout=30, headers=admin) as client:
        tid, token = await start_video_run(client, BRIEF, VIDEO)
        deadline = time.monotonic() + 240
        while True:  # kill once some scenes are animated and not all of them
            clips = [j for j in clip_jobs(database_url, tid) if ":animation:" in j[0]]
            if clips:
                break
            assert time.monotonic() < deadline, server.log.read_text()[-3000:]
            await asyncio.sleep(0.02)
        server.kill()
    before = dict(j for j in clip_jobs(database_url, tid) if ":animation:" in j[0])
    assert 1 <= len(before) < 4, f"killed mid-animation: {sorted(before)}"

    values = await restart_until_finished(server, tid, token)
    video = values["video"]
    assert values["phase"] == "approved", values.get("stop_reason")
    animation = video["stages"]["animation"]["versions"]
    assert len(animation) == 1, "the stage resumed; it was not made again as a new version"
    clips = animation[0]["output"]["clips"]
    assert len(clips) == 4
    kept = {c["asset_id"] for c in clips.values()}
    assert set(before.values()) <= kept, "the scenes animated before the kill were kept"
    jobs = [job for job, _ in clip_jobs(database_url, tid)]
    assert len(jobs) == len(set(jobs)), "every clip, track and cut was stored exactly once"
    assert sum(":animation:" in j for j in jobs) == 4
    assert sum(":render:" in j for j in jobs) == 1
    cut = video["stages"]["render"]["versions"][-1]["output"]["probe"]
    assert abs(cut["seconds"] - 16.0) < 0.3 and cut["audio_codec"] == "aac"


async def test_sigkill_mid_render_resumes_to_one_final_cut(
    server: ServerProcess, database_url: str, tmp_path: Path
) -> None:
    """Killed while the final cut is encoded (the voice track is stored, the cut is not, the
    thread is at the render stage): after a restart the run makes the cut once, a real MP4,
    and every earlier stage stays at its one version."""
    await server.start()
    admin = {"Authorization": f"Bearer {server.admin_token}"}  # the home's admin makes threads
    async with httpx.AsyncClient(base_url=server.url, timeout=30, headers=admin) as client:
        brief = "a 12-second product ad for Lumen, a brass desk lamp"
        tid, token = await start_video_run(client, brief, {"fps": 24, "height": 360, "scenes": 2})
        deadline = time.monotonic() + 240
        while True:  # kill once the thread is at the render stage and no cut is stored
            jobs = [j for j, _ in clip_jobs(database_url, tid)]
            if any(":voice:" in j for j in jobs):
                at = (await client.get(f"/threads/{tid}")).json()["values"].get("video") or {}
                if at.get("stage") == "render" and at.get("due") == "work":
                    break
            assert not any(":render:" in j for j in jobs), "the cut finished before the kill"
            assert time.monotonic() < deadline, server.log.read_text()[-3000:]
            await asyncio.sleep(0.01)
        server.kill()
    jobs = [j for j, _ in clip_jobs(database_url, tid)]
    assert not any(":render:" in j for j in jobs), "killed before the cut was stored"

    values = await restart_until_finished(server, tid, token)
    assert values["phase"] == "approved", values.get("stop_reason")
    stages = values["video"]["stages"]
    assert {name: len(s["versions"]) for name, s in stages.items()} == {
        "scenes": 1, "script": 1, "visuals": 1, "animation": 1, "voice": 1, "render": 1,
    }  # fmt: skip
    jobs = [job for job, _ in clip_jobs(database_url, tid)]
    assert len(jobs) == len(set(jobs)), "every clip, track and cut was stored exactly once"
    assert sum(":render:" in j for j in jobs) == 1
    with psycopg.connect(database_url) as conn:
        (path,) = conn.execute(
            "SELECT path FROM assets WHERE thread_id = %s AND job_id LIKE %s",
            (tid, f"{tid}:video:render:%"),
        ).fetchone() or ("",)
    stored = Path(path) if Path(path).is_absolute() else tmp_path / "assets" / path
    found = probe(stored.read_bytes())
    assert abs(found.seconds - 12.0) < 0.3 and found.fps == 24 and found.height == 360
    assert found.video_codec == "h264" and found.audio_codec == "aac"
    assert values["video"]["stages"]["render"]["versions"][0]["output"]["probe"]["frames"] == (
        found.frames
    )
