"""Precise cancel: pending jobs are deleted, running ones interrupted by id, others untouched."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from adapters.comfyui import ComfyUIImageGenerator, job_id_for, prompt_id_for
from adapters.errors import GenerationCancelled
from adapters.images import GeneratedImage
from adapters.specs import GenerationSpec
from tests.comfyui_server import LoopbackComfyUI

pytestmark = pytest.mark.anyio


@pytest.fixture
async def server() -> AsyncIterator[LoopbackComfyUI]:
    async with LoopbackComfyUI() as server:
        server.scenario.step_delay_s = 0.02
        yield server


@pytest.fixture
async def generator(server: LoopbackComfyUI) -> AsyncIterator[ComfyUIImageGenerator]:
    async with ComfyUIImageGenerator(server.base_url, poll_interval_s=0.05) as generator:
        yield generator


def ignore(fraction: float, preview: bytes | None) -> None:
    """Progress is not what these tests look at."""


def start(generator: ComfyUIImageGenerator, job_id: str) -> asyncio.Task[list[GeneratedImage]]:
    spec = GenerationSpec(deliverable=job_id.split(":")[1], prompt="a harbour", width=256,
                          height=256, steps=30)  # fmt: skip
    return asyncio.create_task(generator.generate(spec, job_id=job_id, on_progress=ignore))


async def test_cancel_pending_job_deletes_it_from_the_queue(
    server: LoopbackComfyUI, generator: ComfyUIImageGenerator
) -> None:
    server.scenario.hold_queue = True
    job = job_id_for("t1", "hero-a", 0, 0)
    task = start(generator, job)
    await server.wait_for(lambda: server.queued_ids() == [prompt_id_for(job)])

    await generator.cancel(job)

    with pytest.raises(GenerationCancelled):
        await task
    assert server.posts("/queue") == [{"delete": [prompt_id_for(job)]}]
    assert server.posts("/interrupt") == [] and server.queued_ids() == []


async def test_cancel_running_job_interrupts_it_by_id_and_cleans_its_history(
    server: LoopbackComfyUI, generator: ComfyUIImageGenerator
) -> None:
    job = job_id_for("t1", "hero-a", 0, 0)
    task = start(generator, job)
    await server.wait_for(lambda: server.current_node == "3")

    await generator.cancel(job)

    with pytest.raises(GenerationCancelled):
        await task
    assert server.posts("/interrupt") == [{"prompt_id": prompt_id_for(job)}]
    assert server.queued_ids() == [] and prompt_id_for(job) not in server.history


async def test_stopping_a_thread_leaves_no_job_behind_and_spares_other_threads(
    server: LoopbackComfyUI, generator: ComfyUIImageGenerator
) -> None:
    ours = [job_id_for("t1", "hero-a", 0, 0), job_id_for("t1", "hero-b", 0, 0)]
    theirs = job_id_for("t2", "hero-a", 0, 0)
    tasks = []
    for job in (ours[0], theirs, ours[1]):  # one at a time, so the queue order is known
        tasks.append(start(generator, job))
        await server.wait_for(lambda job=job: prompt_id_for(job) in server.queued_ids())
    await server.wait_for(lambda: server.current_node == "3")

    assert await generator.cancel_thread("t1") == sorted(ours)

    for task in (tasks[0], tasks[2]):
        with pytest.raises(GenerationCancelled):
            await task
    [image] = await tasks[1]
    assert image.recipe["job_id"] == theirs
    assert server.posts("/interrupt") == [{"prompt_id": prompt_id_for(ours[0])}]
    assert server.posts("/queue") == [{"delete": [prompt_id_for(ours[1])]}]
    assert set(server.history) == {prompt_id_for(theirs)}


async def test_a_stop_from_another_process_reaches_the_waiting_generation(
    server: LoopbackComfyUI, generator: ComfyUIImageGenerator
) -> None:
    server.scenario.hold_queue = True
    job = job_id_for("t1", "hero-a", 0, 0)
    task = start(generator, job)
    await server.wait_for(lambda: server.queued_ids() == [prompt_id_for(job)])

    async with ComfyUIImageGenerator(server.base_url) as api_process:
        assert await api_process.cancel_thread("t1") == [job]

    # A deleted pending prompt emits nothing but `status`; the waiter notices it is gone.
    with pytest.raises(GenerationCancelled):
        await asyncio.wait_for(task, timeout=2)


async def test_cancel_of_an_unknown_job_is_a_no_op(
    server: LoopbackComfyUI, generator: ComfyUIImageGenerator
) -> None:
    await generator.cancel(job_id_for("t9", "nothing", 0, 0))

    assert server.posts("/queue") == [] and server.posts("/interrupt") == []


async def test_cancelled_job_asked_for_again_runs_afresh(
    server: LoopbackComfyUI, generator: ComfyUIImageGenerator
) -> None:
    job = job_id_for("t1", "hero-a", 0, 0)
    task = start(generator, job)
    await server.wait_for(lambda: server.current_node == "3")
    await generator.cancel(job)
    with pytest.raises(GenerationCancelled):
        await task

    [image] = await start(generator, job)  # the thread was resumed

    assert image.recipe["job_id"] == job and len(server.posts("/prompt")) == 2
