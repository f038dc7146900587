"""Full studio sessions generating through the loopback ComfyUI (graph + Postgres + adapter)."""

from __future__ import annotations

import asyncio
import io
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from adapters.comfyui import ComfyUIImageGenerator, prompt_id_for
from tests.comfyui_server import LoopbackComfyUI
from tests.studio_helpers import NEON, fresh_graph, make_context, run, start

pytestmark = pytest.mark.anyio


@pytest.fixture
async def server() -> AsyncIterator[LoopbackComfyUI]:
    async with LoopbackComfyUI() as server:
        yield server


@pytest.fixture
async def images(server: LoopbackComfyUI) -> AsyncIterator[ComfyUIImageGenerator]:
    async with ComfyUIImageGenerator(server.base_url, poll_interval_s=0.05) as images:
        yield images


async def test_auto_approved_session_generates_every_deliverable_through_comfyui(
    database: Any, tmp_path: Path, server: LoopbackComfyUI, images: ComfyUIImageGenerator
) -> None:
    context = make_context(database.pool, tmp_path / "assets", renderer=images)
    state = await run(fresh_graph(database.saver), start(NEON, auto_approve=True), "s1", context)

    assert state["phase"] == "approved"
    posted = [body["prompt_id"] for body in server.posts("/prompt")]
    assert len(posted) == len(set(posted))  # every job queued exactly once
    for asset_id in state["current"].values():
        record = await context.assets.get(asset_id)
        assert record is not None and record.generator == "comfyui"
        assert record.recipe["prompt_id"] == prompt_id_for(record.job_id) in posted
        png = Image.open(io.BytesIO((tmp_path / "assets" / record.path).read_bytes()))
        workflow = json.loads(png.text["prompt"])  # type: ignore[attr-defined]
        assert {node["class_type"] for node in workflow.values()} >= {"KSampler", "SaveImage"}


async def test_out_of_memory_in_a_session_is_retried_smaller(
    database: Any, tmp_path: Path, server: LoopbackComfyUI, images: ComfyUIImageGenerator
) -> None:
    server.scenario.oom_above_pixels = 300_000  # the planned 768x512 does not fit; 576x384 does
    context = make_context(database.pool, tmp_path / "assets", renderer=images)
    state = await run(fresh_graph(database.saver), start(NEON, auto_approve=True), "s2", context)

    assert state["phase"] == "approved"
    records = [await context.assets.get(asset_id) for asset_id in state["current"].values()]
    assert all(r is not None and r.width * r.height <= 300_000 for r in records)
    assert any(r is not None and r.attempt >= 1 for r in records)  # retried at a smaller size
    failed = [e for e in server.history.values() if e["status"]["status_str"] == "error"]
    assert failed and all(
        e["status"]["messages"][-1][1]["exception_type"] == "torch.OutOfMemoryError" for e in failed
    )


async def test_stopping_a_session_mid_generation_leaves_no_job_on_comfyui(
    database: Any, tmp_path: Path, server: LoopbackComfyUI, images: ComfyUIImageGenerator
) -> None:
    server.scenario.step_delay_s = 0.05
    context = make_context(database.pool, tmp_path / "assets", renderer=images)
    graph = fresh_graph(database.saver)
    thread = str(uuid.uuid4())
    session = asyncio.create_task(run(graph, start(NEON, auto_approve=True), thread, context))
    await server.wait_for(lambda: server.current_node == "3", within_s=30)

    session.cancel()
    with pytest.raises(asyncio.CancelledError):
        await session

    def interrupted() -> list[str]:
        return [k for k, e in server.history.items() if e["status"]["status_str"] == "error"]

    # The node's shielded cancel finishes after the session task: the job leaves the queue
    # at its next node boundary, then its history entry is deleted.
    await server.wait_for(lambda: server.queued_ids() == [] and interrupted() == [])
    assert server.posts("/interrupt") and all(b["prompt_id"] for b in server.posts("/interrupt"))
