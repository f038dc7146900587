"""A real `studio serve` killed with SIGKILL in the middle of a Media Lab interpolation, then
restarted: the job resumes by itself from its last finished chunk (the chunks made before the
kill are not made again), and ends with one artifact whose video has the target frame rate."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import httpx
import pytest

from graph.media import build_media_graph
from people.home_token import home_token
from tests.api_helpers import ServerProcess
from tests.media_helpers import mp4_bytes

pytestmark = pytest.mark.anyio


@pytest.fixture
def server(tmp_path: Path, database_url: str) -> Iterator[ServerProcess]:
    running = ServerProcess(tmp_path, database_url)
    try:
        yield running
    finally:
        running.stop()


async def wait_for(
    client: httpx.AsyncClient, job_id: str, done: Any, server: ServerProcess, seconds: float = 240
) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        job: dict[str, Any] = (await client.get(f"/media/jobs/{job_id}")).json()
        if done(job):
            return job
        assert time.monotonic() < deadline, (job, server.log.read_text()[-3000:])
        await asyncio.sleep(0.05)


def chunk_files(home: Path, job_id: str) -> dict[str, int]:
    """The job's chunks and when each was written (none once the finished job's work folder
    is removed, which may happen while they are listed)."""
    folder = home / "assets" / "media" / "work" / job_id / "chunks"
    found = {}
    for path in sorted(folder.glob("chunk-*.mp4")):
        with contextlib.suppress(FileNotFoundError):
            found[path.name] = path.stat().st_mtime_ns
    return found


async def test_sigkill_mid_interpolation_resumes_from_the_last_finished_chunk(
    server: ServerProcess, tmp_path: Path, database: Any
) -> None:
    clip = mp4_bytes(tmp_path / "long.mp4", fps=60, frames=96, size=(320, 240))
    await server.start()
    async with server.http(home_token(tmp_path)) as client:
        upload = await client.post("/media/uploads", files={"file": ("long.mp4", clip)})
        assert upload.status_code == 201, upload.text
        body = {
            "kind": "interpolate",
            "inputs": [upload.json()["id"]],
            "target_fps": 120,
            "params": {"chunk_frames": 8, "flow": "farneback"},
        }
        job = (await client.post("/media/jobs", json=body)).json()
        running = await wait_for(
            client,
            job["id"],
            lambda j: j["stage"].startswith("chunk ") and int(j["stage"][6:].split("/")[0]) >= 3,
            server,
        )
        assert running["status"] == "RUNNING"
        server.kill()
    before = chunk_files(tmp_path, job["id"])
    graph = build_media_graph(checkpointer=database.saver)
    saved = (await graph.aget_state({"configurable": {"thread_id": job["id"]}})).values
    done_at_kill, total = saved["chunks_done"], saved["chunks_total"]
    assert 3 <= done_at_kill < total and len(saved["chunk_outputs"]) == done_at_kill
    assert len(before) >= done_at_kill

    seen: dict[str, int] = {}  # the chunks as the resumed run left them, while it worked

    def finished(job: dict[str, Any]) -> bool:
        seen.update(chunk_files(tmp_path, job["id"]))
        return bool(job["status"] != "RUNNING")

    await server.start()  # nobody resubmits: the restarted server resumes the job's run
    async with server.http(home_token(tmp_path)) as client:
        ended = await wait_for(client, job["id"], finished, server)
        assert ended["status"] == "SUCCEEDED", ended
        clip_out = await client.get(f"/media/jobs/{job['id']}/artifact")
    finished_before = sorted(before)[:done_at_kill]
    assert seen and all(seen.get(n, before[n]) == before[n] for n in finished_before)  # not redone
    # the result is stored: the work folder (chunks, the joined output) goes right after (D2;
    # the job reads SUCCEEDED first, so a crash in between keeps what a resumed run needs)
    work = tmp_path / "assets" / "media" / "work" / job["id"]
    for _ in range(1200):  # within a minute, however loaded the machine
        if not work.exists():
            break
        await asyncio.sleep(0.05)
    assert not work.exists()
    state = (await graph.aget_state({"configurable": {"thread_id": job["id"]}})).values
    assert state["chunk_outputs"][:done_at_kill] == saved["chunk_outputs"]
    assert len(state["chunk_outputs"]) == total == len(set(state["chunk_outputs"]))
    artifact = ended["artifact"]
    assert (artifact["fps"], artifact["frames"], artifact["has_audio"]) == (120.0, 192, True)
    path = tmp_path / "out.mp4"
    path.write_bytes(clip_out.content)
    with av.open(str(path)) as out:
        assert float(out.streams.video[0].average_rate or 0) == 120
        assert sum(1 for _ in out.decode(video=0)) == 192
