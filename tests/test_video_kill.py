"""A real `studio serve` killed with SIGKILL while it animates a video's scenes, then restarted:
the run resumes by itself, the clips finished before the kill are kept (not made again) and
every clip, the voice and the cut are made exactly once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

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


async def test_sigkill_mid_animation_resumes_without_redoing_finished_scenes(
    server: ServerProcess, database_url: str
) -> None:
    await server.start()
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        made = (await client.post("/threads", json={})).json()
        tid, token = made["thread_id"], made["token"]
        client.headers["Authorization"] = f"Bearer {token}"
        settings = {"format": "video", "auto_approve": True, "video": VIDEO}
        body = {"input": {"messages": [{"role": "user", "content": BRIEF}], "settings": settings}}
        await client.post(f"/threads/{tid}/runs", json=body)
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

    await server.start()
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        deadline = time.monotonic() + 300
        while True:
            thread: dict[str, Any] = (await client.get(f"/threads/{tid}")).json()
            if thread["values"].get("phase") in ("approved", "failed", "completed"):
                break
            assert time.monotonic() < deadline, server.log.read_text()[-3000:]
            await asyncio.sleep(0.5)
    video = thread["values"]["video"]
    assert thread["values"]["phase"] == "approved", thread["values"].get("stop_reason")
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
