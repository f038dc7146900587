"""ComfyUI adapter overhead per generation against a bare websocket client.

    python -m bench.comfyui [--generations 20] [--real-generations 3]

On the loopback ComfyUI (`tests/comfyui_server.py`: the real protocol, model-free nodes
really run with Pillow, the sampler is simulated), the same spec is generated again and again
(a new seed each time, so nothing is served from ComfyUI's cache) by:
- the bare client, ComfyUI's canonical script with `websockets` and httpx: one websocket
  (`/ws?clientId=`), `POST /prompt`, wait for `executing` with `node: null`,
  `GET /history/{id}`, `GET /view` for each image;
- `ComfyUIImageGenerator.generate` (reconcile with `/queue` and `/history` for exactly-once,
  progress and previews, PNG checks, recipe).
Both send the workflow the adapter binds for the spec (`adapters.comfyui.binder.bind`).
With `COMFYUI_URL` (and `COMFYUI_TOKEN`) set, the same is measured on that server too. A pool
of N ComfyUI servers is not supported by the adapter (one `ComfyUIImageGenerator` talks to
one `base_url`), so no pool throughput is measured.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
import uuid
from typing import Any

import httpx
import websockets

from adapters.comfyui import ComfyUIImageGenerator
from adapters.comfyui.binder import bind
from adapters.specs import GenerationSpec
from bench.harness import argparser, header, out, run

POOL = "not supported: ComfyUIImageGenerator talks to one base_url (no pool of N servers)"


def spec() -> GenerationSpec:
    return GenerationSpec.model_validate(
        {"deliverable": "hero-a", "prompt": "neon street at night", "width": 512,
         "height": 384, "steps": 8}
    )  # fmt: skip


class BareClient:
    """ComfyUI's canonical websocket client: queue, wait for the end, fetch the images."""

    def __init__(self, base_url: str, token: str | None) -> None:
        self.base_url = base_url.rstrip("/")
        self.client_id = str(uuid.uuid4())
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.AsyncClient(base_url=self.base_url, headers=self.headers, timeout=600)
        self.ws: Any = None

    async def connect(self) -> None:
        ws_url = self.base_url.replace("http", "ws", 1) + f"/ws?clientId={self.client_id}"
        self.ws = await websockets.connect(ws_url, additional_headers=self.headers, max_size=None)

    async def close(self) -> None:
        await self.ws.close()
        await self.http.aclose()

    async def generate(self, workflow: dict[str, Any]) -> list[bytes]:
        prompt_id = str(uuid.uuid4())
        body = {"prompt": workflow, "client_id": self.client_id, "prompt_id": prompt_id}
        (await self.http.post("/prompt", json=body)).raise_for_status()
        while True:
            message = await self.ws.recv()
            if isinstance(message, bytes):
                continue  # a preview
            event = json.loads(message)
            data = event.get("data") or {}
            if data.get("prompt_id") != prompt_id:
                continue
            if event["type"] == "executing" and data.get("node") is None:
                break
            if event["type"] == "execution_error":
                raise RuntimeError(data.get("exception_message"))
        history = (await self.http.get(f"/history/{prompt_id}")).json()[prompt_id]
        images = []
        for output in history["outputs"].values():
            for image in output.get("images", []):
                response = await self.http.get("/view", params=image)
                response.raise_for_status()
                images.append(response.content)
        return images


async def measure(base_url: str, token: str | None, generations: int) -> tuple[float, float]:
    """Median seconds per generation: (bare client, adapter), interleaved run by run."""
    adapter = ComfyUIImageGenerator(base_url, token=token, stall_timeout_s=600)
    bare = BareClient(base_url, token)
    await bare.connect()
    caps = await adapter.capabilities()
    bare_s: list[float] = []
    adapter_s: list[float] = []
    try:
        for i in range(generations + 1):  # the first of each is a warm-up
            the_spec = spec().model_copy(update={"seed": 1000 + i})
            workflow = bind(the_spec, seed=2000 + i, prompt_id=str(uuid.uuid4()), caps=caps)
            started = time.perf_counter()
            assert await bare.generate(workflow.workflow)
            if i:
                bare_s.append(time.perf_counter() - started)
            started = time.perf_counter()
            job = f"bench-{uuid.uuid4().hex}:hero-a:0:{i}"
            assert await adapter.generate(the_spec, job_id=job, on_progress=lambda f, p: None)
            if i:
                adapter_s.append(time.perf_counter() - started)
    finally:
        await bare.close()
        await adapter.aclose()
    return statistics.median(bare_s), statistics.median(adapter_s)


def report(where: str, bare: float, adapter: float) -> str:
    extra_ms = (adapter - bare) * 1000
    out(f"{where}: bare client {bare * 1000:7.1f} ms/generation, adapter {adapter * 1000:7.1f}"
        f" ms/generation: +{extra_ms:.1f} ms, ratio {adapter / bare:.2f}")  # fmt: skip
    return f"{where} adapter/bare {adapter / bare:.2f} (+{extra_ms:.1f} ms/generation)"


async def main(args: argparse.Namespace) -> None:
    header("comfyui: adapter overhead per generation vs a bare websocket client", args, db=False)
    from tests.comfyui_server import LoopbackComfyUI

    parts = []
    async with LoopbackComfyUI() as server:
        bare, adapter = await measure(server.base_url, None, args.generations)
        parts.append(report("loopback", bare, adapter))
    real = os.environ.get("COMFYUI_URL")
    if real:
        bare, adapter = await measure(real, os.environ.get("COMFYUI_TOKEN"), args.real_generations)
        parts.append(report(f"real ComfyUI at {real}", bare, adapter))
    else:
        out("real ComfyUI: COMFYUI_URL is not set, skipped")
    out(f"pool of N servers: {POOL}")
    out(f"summary: comfyui {'; '.join(parts)}; pool throughput not supported (one server)")


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparser("bench.comfyui", __doc__, server=False)
    parser.add_argument("--generations", type=int, default=20, help="per client, loopback")
    parser.add_argument(
        "--real-generations", type=int, default=3, help="per client on COMFYUI_URL (slow)"
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    run(main(parse()))
