"""A pool of ComfyUI servers: least busy first, down servers skipped, exactly once across them."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import anyio
import pytest

from adapters.comfyui import ComfyUIImageGenerator, ComfyUIPool, job_id_for, prompt_id_for
from adapters.comfyui.client import Timeouts
from adapters.errors import GenerationCancelled, ServiceUnavailable
from adapters.images import GeneratedImage
from adapters.specs import GenerationSpec
from engine.settings import Settings
from engine.studio import build_images
from tests.comfyui_server import LoopbackComfyUI

pytestmark = pytest.mark.anyio
JOB = "thread-1:hero-a:0:0"
PROMPT_ID = prompt_id_for(JOB)


@pytest.fixture
async def servers() -> AsyncIterator[list[LoopbackComfyUI]]:
    async with AsyncExitStack() as stack:
        started = [await stack.enter_async_context(LoopbackComfyUI()) for _ in range(3)]
        for server in started:
            server.scenario.step_delay_s = 0.01
        yield started


def pool_of(*servers: LoopbackComfyUI | str) -> ComfyUIPool:
    urls = [s if isinstance(s, str) else s.base_url for s in servers]
    return ComfyUIPool.from_urls(urls, poll_interval_s=0.05)


def dead_url() -> str:
    """A loopback URL nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def ignore(fraction: float, preview: bytes | None) -> None:
    """Progress is not what these tests look at."""


def start(
    images: ComfyUIPool | ComfyUIImageGenerator, job_id: str
) -> asyncio.Task[list[GeneratedImage]]:
    spec = GenerationSpec(deliverable=job_id.split(":")[1], prompt="a harbour", width=256,
                          height=256, steps=20)  # fmt: skip
    return asyncio.create_task(images.generate(spec, job_id=job_id, on_progress=ignore))


def prompts(server: LoopbackComfyUI) -> list[str]:
    return [body["prompt_id"] for body in server.posts("/prompt")]


async def test_jobs_go_to_the_least_busy_server_and_each_is_queued_once(
    servers: list[LoopbackComfyUI],
) -> None:
    a, b, c = servers
    for server in servers:
        server.scenario.hold_queue = True
    jobs = [job_id_for("t1", f"d{i}", 0, 0) for i in range(8)]
    async with pool_of(a, b, c) as pool:
        tasks = [start(pool, job) for job in jobs[:6]]
        await a.wait_for(lambda: [len(s.posts("/prompt")) for s in servers] == [2, 2, 2])
        a.release()  # a's two finish: a is now the least busy, by two jobs
        await a.wait_for(lambda: sum(task.done() for task in tasks) == 2)
        tasks += [start(pool, job) for job in jobs[6:]]
        await a.wait_for(lambda: len(a.posts("/prompt")) == 4)
        b.release()
        c.release()
        results = await asyncio.gather(*tasks)

    assert [len(s.posts("/prompt")) for s in servers] == [4, 2, 2]  # not round robin: 3, 3, 2
    assert sorted(prompts(a) + prompts(b) + prompts(c)) == sorted(map(prompt_id_for, jobs))
    assert [image.recipe["job_id"] for [image] in results] == jobs


async def test_a_server_that_is_down_is_skipped(servers: list[LoopbackComfyUI]) -> None:
    a = servers[0]
    async with pool_of(dead_url(), a) as pool:
        for job in ("t1:hero-a:0:0", "t1:hero-b:0:0"):  # the dead one's turn comes up too
            [image] = await start(pool, job)
            assert image.recipe["job_id"] == job

    assert len(a.posts("/prompt")) == 2


async def test_a_server_that_does_not_answer_is_not_asked_again_for_a_while(
    servers: list[LoopbackComfyUI],
) -> None:
    """A host that accepts connections and never answers (as a hung or black-holed one):
    it costs the first job a read timeout, then rests instead of delaying every job."""
    a = servers[0]
    contacts: list[int] = []

    async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        contacts.append(1)
        await reader.read()  # until the client gives up and closes
        writer.close()

    silent = await asyncio.start_server(hang, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{silent.sockets[0].getsockname()[1]}"
    timeouts = Timeouts(connect_s=1.0, read_s=0.3)
    try:
        for retry_down_s, expected in ((60.0, [1, 1, 1]), (0.0, [1, 2, 3])):
            contacts.clear()
            urls = [url, a.base_url]
            pool = ComfyUIPool.from_urls(
                urls, retry_down_s=retry_down_s, poll_interval_s=0.05, timeouts=timeouts
            )
            async with pool:
                seen = []
                for i in range(3):
                    [image] = await start(pool, f"t{retry_down_s}:hero-{i}:0:0")
                    assert image.recipe["job_id"] == f"t{retry_down_s}:hero-{i}:0:0"
                    seen.append(len(contacts))
            assert seen == expected, "asked once, then rested (or, with no rest, every time)"
    finally:
        silent.close()
        await silent.wait_closed()
    assert len(a.posts("/prompt")) == 6


async def test_templates_do_not_wait_on_a_resting_server_and_the_report_asks_it_again(
    servers: list[LoopbackComfyUI],
) -> None:
    """Pixel asks `templates()` on every spec round: a hung server costs that a read timeout
    once, then rests (as for jobs). `describe()` is the health report: it asks it anyway."""
    a = servers[0]
    contacts: list[int] = []

    async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        contacts.append(1)
        await reader.read()
        writer.close()

    silent = await asyncio.start_server(hang, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{silent.sockets[0].getsockname()[1]}"
    timeouts = Timeouts(connect_s=1.0, read_s=0.3)
    try:
        async with ComfyUIPool.from_urls([url, a.base_url], timeouts=timeouts) as pool:
            seen = []
            for _ in range(3):
                assert "txt2img" in await pool.templates()
                seen.append(len(contacts))
            assert seen[0] > 0 and seen == seen[:1] * 3, "asked once, then rested"
            [image] = await start(pool, JOB)  # the job skips it too
            assert len(contacts) == seen[0] and image.recipe["job_id"] == JOB

            report = await pool.describe()
            assert len(contacts) > seen[0] and report["ok"] is False
            assert url in report["error"] and report["servers"][1]["ok"] is True
    finally:
        silent.close()
        await silent.wait_closed()


async def test_a_job_whose_server_goes_away_is_finished_on_another(
    servers: list[LoopbackComfyUI],
) -> None:
    a, b, _ = servers
    a.scenario.hold_queue = True
    async with pool_of(a, b) as pool:
        task = start(pool, JOB)
        await a.wait_for(lambda: a.queued_ids() == [PROMPT_ID])
        await a.__aexit__(None, None, None)  # gone, and its queue with it
        [image] = await asyncio.wait_for(task, timeout=10)

    assert prompts(b) == [PROMPT_ID] and image.recipe["prompt_id"] == PROMPT_ID


async def test_no_server_reachable_says_to_check_comfyui_url() -> None:
    urls = [dead_url(), dead_url()]
    async with pool_of(*urls) as pool:
        with pytest.raises(ServiceUnavailable, match="COMFYUI_URL") as info:
            await start(pool, JOB)
        assert all(url in info.value.message for url in urls)
        with pytest.raises(ServiceUnavailable, match="at least one of them is running"):
            await pool.templates()
        with pytest.raises(ServiceUnavailable, match="COMFYUI_URL"):
            await pool.describe()


async def test_a_job_finished_on_another_server_is_collected_there(
    servers: list[LoopbackComfyUI],
) -> None:
    a, b, _ = servers
    async with ComfyUIImageGenerator(b.base_url) as earlier_process:
        [original] = await start(earlier_process, JOB)
    async with pool_of(a, b) as pool:  # a is first and idle: a new job would go there
        [again] = await start(pool, JOB)

    assert again.png == original.png and again.recipe == original.recipe
    assert prompts(a) == [] and prompts(b) == [PROMPT_ID]


async def test_a_job_queued_on_another_server_by_a_crashed_process_is_attached_there(
    servers: list[LoopbackComfyUI],
) -> None:
    a, b, _ = servers
    b.scenario.hold_queue = True
    crashed = ComfyUIImageGenerator(b.base_url)
    task = start(crashed, JOB)
    await b.wait_for(lambda: b.queued_ids() == [PROMPT_ID])
    task.cancel()  # the process dies; the job stays queued on b
    with pytest.raises(asyncio.CancelledError):
        await task
    await crashed.aclose()
    before = len(b.requests)

    def queue_reads() -> int:
        return sum(path == "/queue" for _, path, _, _ in b.requests[before:])

    async with pool_of(a, b) as pool:
        task = start(pool, JOB)
        await b.wait_for(lambda: queue_reads() >= 2)  # the pool's probe, then b's own watch
        b.release()
        [image] = await asyncio.wait_for(task, timeout=10)

    assert prompts(a) == [] and prompts(b) == [PROMPT_ID]
    assert image.recipe["prompt_id"] == PROMPT_ID


async def test_a_job_goes_only_to_a_server_that_can_run_its_template(
    servers: list[LoopbackComfyUI],
) -> None:
    a, b, _ = servers
    a.checkpoints = ()  # no checkpoint at all: a runs only the model-free layout sketch
    async with pool_of(a, b) as pool:
        assert await pool.templates() == ["txt2img", "txt2img_sdxl", "compose"]  # the union
        described = await pool.describe()
        [image] = await start(pool, JOB)  # a is first and idle

    assert prompts(a) == [] and prompts(b) == [PROMPT_ID]
    assert image.recipe["template"] == "txt2img"
    assert [s["url"] for s in described["servers"]] == [a.base_url, b.base_url]
    assert described["templates"]["txt2img"]["runnable"]
    assert any(line.startswith(a.base_url) for line in described["templates"]["txt2img"]["missing"])


async def test_cancel_reaches_the_server_running_the_job_and_no_other(
    servers: list[LoopbackComfyUI],
) -> None:
    a, b, _ = servers
    keep, stop = job_id_for("t1", "hero-a", 0, 0), job_id_for("t1", "hero-b", 0, 0)
    async with pool_of(a, b) as pool:
        kept = start(pool, keep)
        await a.wait_for(lambda: a.current_node == "3")
        stopped = start(pool, stop)  # a is busy: b gets it
        await b.wait_for(lambda: b.current_node == "3")

        await pool.cancel(stop)

        with pytest.raises(GenerationCancelled):
            await stopped
        [image] = await kept

    assert b.posts("/interrupt") == [{"prompt_id": prompt_id_for(stop)}]
    assert prompt_id_for(stop) not in b.history
    assert a.posts("/interrupt") == a.posts("/queue") == a.posts("/history") == []
    assert image.recipe["job_id"] == keep


async def test_a_stop_from_another_process_finds_the_jobs_on_their_servers(
    servers: list[LoopbackComfyUI],
) -> None:
    a, b, _ = servers
    a.scenario.hold_queue = b.scenario.hold_queue = True
    first, second = job_id_for("t1", "hero-a", 0, 0), job_id_for("t1", "hero-b", 0, 0)
    async with pool_of(a, b) as worker:
        tasks = [start(worker, first)]
        await a.wait_for(lambda: a.queued_ids() == [prompt_id_for(first)])
        tasks.append(start(worker, second))
        await b.wait_for(lambda: b.queued_ids() == [prompt_id_for(second)])

        async with pool_of(a, b) as api_process:
            await api_process.cancel(second)
            assert b.posts("/queue") == [{"delete": [prompt_id_for(second)]}]
            assert a.posts("/queue") == []
            assert await api_process.cancel_thread("t1") == [first]

        for task in tasks:
            with pytest.raises(GenerationCancelled):
                await asyncio.wait_for(task, timeout=2)

    assert a.posts("/queue") == [{"delete": [prompt_id_for(first)]}]
    assert a.queued_ids() == b.queued_ids() == []


async def test_the_studio_builds_a_pool_from_a_comma_separated_comfyui_url() -> None:
    pool = build_images(Settings(COMFYUI_URL="http://gpu-1:8188, http://gpu-2:8188/"))
    one = build_images(Settings(COMFYUI_URL="http://gpu-1:8188"))
    assert isinstance(pool, ComfyUIPool) and isinstance(one, ComfyUIImageGenerator)
    async with pool, one:
        assert pool.name == "comfyui"
        assert pool.urls == ["http://gpu-1:8188", "http://gpu-2:8188"]
        assert one.client.base_url == "http://gpu-1:8188"  # one server: exactly as before


async def test_studio_check_reports_every_server_of_the_pool(
    database_url: str, tmp_path: Path, servers: list[LoopbackComfyUI]
) -> None:
    gone = dead_url()
    clean = {k: v for k, v in os.environ.items() if k not in ("OLLAMA_URL", "COMFYUI_URL")}
    env = {
        **clean,
        "DATABASE_URL": database_url,
        "STUDIO_HOME": str(tmp_path / "home"),
        "COMFYUI_URL": f"{servers[0].base_url},{gone}",
    }
    with anyio.fail_after(120):
        done = await anyio.run_process(
            [sys.executable, "-m", "api", "check", "--json"], env=env, check=False
        )

    assert done.returncode == 1, done.stderr.decode()  # a server is down: something to fix
    images: dict[str, Any] = json.loads(done.stdout)["images"]
    assert not images["ok"] and gone in images["error"]
    assert [(s["url"], s["ok"]) for s in images["servers"]] == [
        (servers[0].base_url, True),
        (gone, False),
    ]
    assert images["version"] == "0.3.64" and images["templates"]["txt2img"]["runnable"]
