"""Exactly once: a job is queued at most once across crashes, retries and server restarts."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest

from adapters.comfyui import ComfyUIImageGenerator, prompt_id_for
from adapters.errors import GenerationFailed, ServiceUnavailable
from adapters.specs import GenerationSpec
from tests.comfyui_server import LoopbackComfyUI

pytestmark = pytest.mark.anyio
JOB = "thread-1:hero-a:0:0"
PROMPT_ID = prompt_id_for(JOB)


@pytest.fixture
async def server() -> AsyncIterator[LoopbackComfyUI]:
    async with LoopbackComfyUI() as server:
        server.scenario.step_delay_s = 0.02
        yield server


def spec() -> GenerationSpec:
    return GenerationSpec(deliverable="hero-a", prompt="a harbour", width=256, height=256, steps=20)


def ignore(fraction: float, preview: bytes | None) -> None:
    """Progress is not what these tests look at."""


async def crash_while_running(server: LoopbackComfyUI, client_id: str | None = None) -> str:
    """Start a generation, then kill it mid-run the way a process crash would."""
    first = ComfyUIImageGenerator(server.base_url, client_id=client_id)
    task = asyncio.create_task(first.generate(spec(), job_id=JOB, on_progress=ignore))
    await server.wait_for(lambda: server.running is not None and server.current_node == "3")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await first.aclose()
    return first.client.client_id


async def test_crash_after_queueing_reattaches_and_collects_without_requeueing(
    server: LoopbackComfyUI,
) -> None:
    await crash_while_running(server)
    assert server.queued_ids() == [PROMPT_ID]  # the job outlived its process

    async with ComfyUIImageGenerator(server.base_url, poll_interval_s=0.05) as restarted:
        progress: list[float] = []
        [image] = await restarted.generate(
            spec(), job_id=JOB, on_progress=lambda f, _: progress.append(f)
        )

    assert [body["prompt_id"] for body in server.posts("/prompt")] == [PROMPT_ID]
    assert image.recipe["prompt_id"] == PROMPT_ID and image.recipe["job_id"] == JOB
    assert progress == [1.0]  # events went to the dead client id: the restart polled history


async def test_restart_with_a_persistent_client_id_resumes_live_events(
    server: LoopbackComfyUI,
) -> None:
    client_id = await crash_while_running(server, client_id="studio-worker-1")

    async with ComfyUIImageGenerator(server.base_url, client_id=client_id) as restarted:
        progress: list[float] = []
        await restarted.generate(spec(), job_id=JOB, on_progress=lambda f, _: progress.append(f))

    # On connect the server names the running node (no prompt id) and streams the rest.
    assert len([f for f in progress if 0 < f < 1]) >= 5
    assert len(server.posts("/prompt")) == 1


async def test_finished_job_is_collected_not_regenerated(server: LoopbackComfyUI) -> None:
    async with ComfyUIImageGenerator(server.base_url) as first:
        [original] = await first.generate(spec(), job_id=JOB, on_progress=ignore)
    async with ComfyUIImageGenerator(server.base_url) as second:
        [again] = await second.generate(spec(), job_id=JOB, on_progress=ignore)

    assert again.png == original.png and again.recipe == original.recipe
    assert len(server.posts("/prompt")) == 1


async def test_failed_job_is_reported_again_not_rerun(server: LoopbackComfyUI) -> None:
    server.scenario.fail_node = "VAEDecode"
    async with ComfyUIImageGenerator(server.base_url) as generator:
        for _ in range(2):
            with pytest.raises(GenerationFailed, match="mat1 and mat2"):
                await generator.generate(spec(), job_id=JOB, on_progress=ignore)
        # A new attempt is a new job: it gets a new prompt id and a new seed.
        server.scenario.fail_node = None
        [image] = await generator.generate(spec(), job_id=JOB[:-1] + "1", on_progress=ignore)

    first, second = server.posts("/prompt")
    assert first["prompt_id"] == PROMPT_ID and second["prompt_id"] != PROMPT_ID
    seeds = [body["prompt"]["3"]["inputs"]["seed"] for body in (first, second)]
    assert seeds[1] == seeds[0] + 1 and image.recipe["seed"] == seeds[1]


async def test_server_down_mid_run_then_job_requeued_once_after_restart() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with LoopbackComfyUI(port=port) as server:
        server.scenario.step_delay_s = 0.05
        generator = ComfyUIImageGenerator(server.base_url, poll_interval_s=0.05)
        task = asyncio.create_task(generator.generate(spec(), job_id=JOB, on_progress=ignore))
        await server.wait_for(lambda: server.current_node == "3")
    # ComfyUI went away: the generation waits for it (the graph queues it for later).
    with pytest.raises(ServiceUnavailable, match="ComfyUI is running"):
        await task

    async with LoopbackComfyUI(port=port) as restarted:  # a restart forgets queue and history
        [image] = await generator.generate(spec(), job_id=JOB, on_progress=ignore)
        await generator.aclose()
    assert [body["prompt_id"] for body in restarted.posts("/prompt")] == [PROMPT_ID]
    assert image.recipe["prompt_id"] == PROMPT_ID


async def test_job_lost_in_a_quick_restart_is_queued_again_after_reconnect() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Polls are rare here, so the socket's reconnection is what notices the restart.
    generator = ComfyUIImageGenerator(f"http://127.0.0.1:{port}", poll_interval_s=30)
    async with LoopbackComfyUI(port=port) as server:
        server.scenario.hold_queue = True
        task = asyncio.create_task(generator.generate(spec(), job_id=JOB, on_progress=ignore))
        await server.wait_for(lambda: server.queued_ids() == [PROMPT_ID])
    async with LoopbackComfyUI(port=port) as restarted:
        [image] = await asyncio.wait_for(task, timeout=10)
        await generator.aclose()

    assert [body["prompt_id"] for body in restarted.posts("/prompt")] == [PROMPT_ID]
    assert image.recipe["prompt_id"] == PROMPT_ID
