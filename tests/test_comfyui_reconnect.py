"""The one websocket: reconnection mid-run, stall detection, and the loopback server's fidelity."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import pytest
from websockets.asyncio.client import connect

from adapters.comfyui import ComfyUIImageGenerator, prompt_id_for
from adapters.errors import GenerationFailed
from adapters.specs import GenerationSpec
from tests.comfyui_server import LoopbackComfyUI

pytestmark = pytest.mark.anyio
JOB = "t1:hero-a:0:0"


@pytest.fixture
async def server() -> AsyncIterator[LoopbackComfyUI]:
    async with LoopbackComfyUI() as server:
        server.scenario.step_delay_s = 0.02
        yield server


def spec() -> GenerationSpec:
    return GenerationSpec(deliverable="hero-a", prompt="a harbour", width=256, height=256, steps=20)


async def test_socket_dropped_mid_run_reconnects_and_the_run_completes(
    server: LoopbackComfyUI,
) -> None:
    server.scenario.drop_socket_at_node = "KSampler"
    progress: list[float] = []
    async with ComfyUIImageGenerator(server.base_url, poll_interval_s=0.05) as generator:
        [image] = await generator.generate(
            spec(), job_id=JOB, on_progress=lambda f, _: progress.append(f)
        )
        client_id = generator.client.client_id

    ids = [c["client_id"] for c in server.ws_connections]
    assert ids == [client_id, client_id]  # same id, old socket closed before the new one
    assert progress == sorted(progress) and progress[-1] == 1.0
    assert len([f for f in progress if 0.2 < f < 1]) >= 5  # events resumed on the new socket
    assert image.recipe["prompt_id"] == prompt_id_for(JOB) and len(server.posts("/prompt")) == 1


async def test_silent_running_job_is_declared_stalled_and_stopped(server: LoopbackComfyUI) -> None:
    server.scenario.hang_at_node = "VAEDecode"
    async with ComfyUIImageGenerator(server.base_url, stall_timeout_s=0.3) as generator:
        with pytest.raises(GenerationFailed, match="without a sign of life"):
            await asyncio.wait_for(
                generator.generate(spec(), job_id=JOB, on_progress=lambda *_: None), timeout=5
            )

    # First silent window: a fresh socket (the old one may have been unregistered). Second:
    # a stall, so the job is interrupted by id and leaves nothing on the server.
    assert len(server.ws_connections) == 2
    assert server.posts("/interrupt") == [{"prompt_id": prompt_id_for(JOB)}]
    assert server.queued_ids() == [] and server.history == {}


async def test_a_long_wait_in_the_queue_is_not_a_stall(server: LoopbackComfyUI) -> None:
    server.scenario.hold_queue = True
    async with ComfyUIImageGenerator(server.base_url, stall_timeout_s=0.1) as generator:
        task = asyncio.create_task(
            generator.generate(spec(), job_id=JOB, on_progress=lambda *_: None)
        )
        await asyncio.sleep(0.5)  # five stall windows, pending all along
        server.release()
        [image] = await task

    assert image.recipe["prompt_id"] == prompt_id_for(JOB) and server.posts("/interrupt") == []


async def test_loopback_reproduces_the_same_client_id_trap(server: LoopbackComfyUI) -> None:
    url = f"ws://127.0.0.1:{server.port}/ws?clientId=dup"
    async with connect(url) as first, connect(url) as second:
        assert json.loads(await first.recv())["data"]["sid"] == "dup"
        assert json.loads(await second.recv())["data"]["sid"] == "dup"
        await first.close()  # the server's cleanup for `first` unregisters `second` too
        await server.wait_for(lambda: "dup" not in server.sockets)
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            workflow = {
                "1": {"class_type": "EmptyImage",
                      "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": 7}},
                "2": {"class_type": "SaveImage",
                      "inputs": {"images": ["1", 0], "filename_prefix": "trap"}},
            }  # fmt: skip
            queued = await http.post("/api/prompt", json={"prompt": workflow, "client_id": "dup"})
            prompt_id = queued.json()["prompt_id"]
            await server.wait_for(lambda: prompt_id in server.history)
        kinds = []
        with pytest.raises(TimeoutError):
            while True:
                kinds.append(json.loads(await asyncio.wait_for(second.recv(), 0.2))["type"])
    assert kinds == []  # open but unregistered: not even the `status` broadcasts arrive
