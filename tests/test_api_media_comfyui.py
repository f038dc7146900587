"""Media Lab jobs over HTTP on a ComfyUI backend (the loopback server speaking ComfyUI's real
protocol, with model-free nodes as a CPU ComfyUI has them): upscale and blend end to end with
the server and prompt id in the artifact's lineage, and a cancelled job that interrupts
exactly its own prompt."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from adapters.media_lab.comfyui import ComfyUIMediaLab
from people.home_token import home_token
from tests.api_helpers import read_sse, serve
from tests.comfyui_server import LoopbackComfyUI
from tests.media_helpers import png_bytes

pytestmark = pytest.mark.anyio


@pytest.fixture
async def comfy() -> AsyncIterator[LoopbackComfyUI]:
    async with LoopbackComfyUI(upscale_models=()) as server:  # model-free: ImageScaleBy
        yield server


async def ended(client: Any, job_id: str) -> dict[str, Any]:
    events = await read_sse(client, "GET", f"/media/jobs/{job_id}/stream", until="done")
    assert events[-1].event == "done"
    return dict((await client.get(f"/media/jobs/{job_id}")).json())


async def test_upscale_and_blend_run_on_comfyui_with_its_prompt_in_the_lineage(
    database: Any, tmp_path: Path, comfy: LoopbackComfyUI
) -> None:
    backend = ComfyUIMediaLab(comfy.base_url, stall_timeout_s=10, poll_interval_s=0.05)
    async with serve(database, tmp_path, media_backend=backend) as served:
        async with served.http(home_token(tmp_path)) as root:
            ids = []
            for colour, name in (((200, 40, 40), "red.png"), ((40, 40, 200), "blue.png")):
                sent = await root.post(
                    "/media/uploads", files={"file": (name, png_bytes((64, 48), colour))}
                )
                ids.append(sent.json()["id"])
            job = await root.post("/media/jobs", json={"kind": "upscale", "inputs": ids[:1]})
            up = await ended(root, job.json()["id"])
            assert up["status"] == "SUCCEEDED", up
            artifact = up["artifact"]
            assert artifact["backend"] == f"comfyui {comfy.base_url}"
            assert artifact["lineage"]["backend_detail"]["prompt_id"] in comfy.history
            scale = [n for n in comfy.posts("/prompt")[-1]["prompt"].values()]
            assert "ImageScaleBy" in {n["class_type"] for n in scale}
            got = await root.get(f"/media/jobs/{up['id']}/artifact")
            with Image.open(io.BytesIO(got.content)) as image:
                assert image.size == (128, 96)

            body = {"kind": "blend", "inputs": ids, "weights": [1, 3], "mode": "average"}
            mixed = await ended(root, (await root.post("/media/jobs", json=body)).json()["id"])
            assert mixed["status"] == "SUCCEEDED", mixed
            lineage = mixed["artifact"]["lineage"]
            assert lineage["weights"] == [0.25, 0.75] and lineage["backend"].startswith("comfyui")
            blend = comfy.posts("/prompt")[-1]["prompt"].values()
            assert "ImageBlend" in {n["class_type"] for n in blend}
            got = await root.get(f"/media/jobs/{mixed['id']}/artifact")
            with Image.open(io.BytesIO(got.content)) as image:
                r, _, b = image.convert("RGB").getpixel((1, 1))
                assert b > r  # mostly the blue source, by its weight

            comfy.scenario.hang_at_node = "ImageScaleBy"
            job = (
                await root.post("/media/jobs", json={"kind": "upscale", "inputs": ids[:1]})
            ).json()
            await comfy.wait_for(lambda: comfy.running is not None, within_s=30)
            prompt_id = comfy.running[1] if comfy.running else ""
            cancelled = await root.post(f"/media/jobs/{job['id']}/cancel")
            assert cancelled.json()["status"] == "CANCELLED", cancelled.text
            assert comfy.posts("/interrupt")[-1] == {"prompt_id": prompt_id}
            assert prompt_id not in comfy.history
    await backend.aclose()
