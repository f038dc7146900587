"""ComfyUI adapter overhead per generation against a bare websocket client, and throughput
across a pool of N ComfyUI servers.

    python -m bench.comfyui [--generations 20] [--real-generations 3] [--pool 1,2,4]

On the loopback ComfyUI (`tests/comfyui_server.py`: the real protocol, model-free nodes
really run with Pillow, the sampler is simulated), the same spec is generated again and again
(a new seed each time, so nothing is served from ComfyUI's cache) by:
- the bare client, ComfyUI's canonical script with `websockets` and httpx: one websocket
  (`/ws?clientId=`), `POST /prompt`, wait for `executing` with `node: null`,
  `GET /history/{id}`, `GET /view` for each image;
- `ComfyUIImageGenerator.generate` (reconcile with `/queue` and `/history` for exactly-once,
  progress and previews, PNG checks, recipe).
Both send the workflow the adapter binds for the spec (`adapters.comfyui.binder.bind`).

Pool throughput: for each N in `--pool`, N loopback servers whose sampler takes `--gpu-s`
per generation (`Scenario.step_delay_s` per step; each server runs one prompt at a time, as
ComfyUI does), driven through one `ComfyUIPool` with `--in-flight` generations per server at
once, `--pool-generations` per server after a warm-up; generations/s, and the scaling against
N = 1 measured in the same run (ideal: xN). The servers share this process's event loop, so
their CPU work (Pillow, PNG encoding, websockets) competes with the adapter's.

With `COMFYUI_URL` (and `COMFYUI_TOKEN`) set, the overhead is measured on its first server
too, and when it lists several, the pool throughput of all of them against the first alone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
import uuid
from collections.abc import Sequence
from typing import Any

import httpx
import websockets

from adapters.comfyui import ComfyUIImageGenerator, ComfyUIPool
from adapters.comfyui.binder import bind
from adapters.specs import GenerationSpec
from bench.harness import argparser, header, out, run


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


async def throughput(
    urls: Sequence[str], token: str | None, per_server: int, in_flight: int
) -> tuple[int, float]:
    """(generations, seconds) through a pool of `urls`: one warm-up generation per server,
    then `per_server` x N generations, `in_flight` x N at once."""
    run_id = uuid.uuid4().hex[:8]

    async def one(pool: ComfyUIPool, i: int, gate: asyncio.Semaphore) -> None:
        the_spec = spec().model_copy(update={"seed": 1000 + i})
        async with gate:
            job = f"bench-{run_id}:hero-a:{i}:0"
            assert await pool.generate(the_spec, job_id=job, on_progress=lambda f, p: None)

    n = len(urls)
    async with ComfyUIPool.from_urls(urls, token=token, stall_timeout_s=600) as pool:
        warm_up = asyncio.Semaphore(n)
        await asyncio.gather(*(one(pool, i, warm_up) for i in range(n)))
        gate, total = asyncio.Semaphore(in_flight * n), per_server * n
        started = time.perf_counter()
        await asyncio.gather(*(one(pool, n + i, gate) for i in range(total)))
        return total, time.perf_counter() - started


def report_pool(n: int, generations: int, seconds: float, base: float, spread: str) -> None:
    rate = generations / seconds
    out(f"pool of {n}: {generations} generations in {seconds:.2f} s: {rate:.2f} generations/s"
        f" (x{rate / base:.2f} vs 1 server; ideal x{n}){spread}")  # fmt: skip


_SERVE = """
import asyncio, sys
from tests.comfyui_server import LoopbackComfyUI

async def main():
    async with LoopbackComfyUI() as server:
        server.scenario.step_delay_s = float(sys.argv[1])
        print(server.base_url, flush=True)
        await asyncio.to_thread(sys.stdin.read)  # until the benchmark closes stdin
        print(len(server.posts("/prompt")), flush=True)

asyncio.run(main())
"""


class ServerProcess:
    """A loopback ComfyUI in a process of its own, as real servers are: its CPU work (Pillow,
    PNG encoding, websockets) is not done on the benchmark's event loop."""

    def __init__(self, step_delay_s: float) -> None:
        self.step_delay_s = step_delay_s
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> str:
        """Start it; its base URL."""
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", _SERVE, str(self.step_delay_s),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert self.process.stdout is not None
        return (await self.process.stdout.readline()).decode().strip()

    async def stop(self) -> int:
        """Stop it; how many prompts it was sent."""
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.close()
        received, _ = await self.process.communicate()
        return int(received.decode().split()[-1])


async def loopback_pools(args: argparse.Namespace) -> str:
    out(f"pool throughput, loopback servers in processes of their own: {args.gpu_s:.2f} s "
        f"simulated GPU time per generation, {args.in_flight} in flight per server")  # fmt: skip
    base, parts = 0.0, []
    for n in sorted({1, *args.pool}):
        servers = [ServerProcess(args.gpu_s / spec().steps) for _ in range(n)]
        try:
            urls = list(await asyncio.gather(*(server.start() for server in servers)))
            done, seconds = await throughput(urls, None, args.pool_generations, args.in_flight)
        finally:
            received = await asyncio.gather(*(server.stop() for server in servers))
        counts = [count - 1 for count in received]  # less the warm-up
        assert sum(counts) == done  # each generation queued exactly once
        base = base or done / seconds
        report_pool(n, done, seconds, base, ", per server " + " ".join(map(str, counts)))
        if n > 1:
            parts.append(f"x{done / seconds / base:.2f} at {n} servers")
    return f"loopback pool throughput {', '.join(parts)} vs 1 ({args.gpu_s:.2f} s/generation)"


async def real_pool(urls: list[str], token: str | None, args: argparse.Namespace) -> str:
    out(f"pool throughput, real ComfyUI: {len(urls)} servers in COMFYUI_URL")
    done, seconds = await throughput(urls[:1], token, args.real_generations, args.in_flight)
    base = done / seconds
    report_pool(1, done, seconds, base, "")
    done, seconds = await throughput(urls, token, args.real_generations, args.in_flight)
    report_pool(len(urls), done, seconds, base, "")
    return f"real pool of {len(urls)} x{done / seconds / base:.2f} vs 1"


async def main(args: argparse.Namespace) -> None:
    header("comfyui: adapter overhead per generation, and throughput across a pool", args, db=False)
    from tests.comfyui_server import LoopbackComfyUI

    parts = []
    async with LoopbackComfyUI() as server:
        bare, adapter = await measure(server.base_url, None, args.generations)
        parts.append(report("loopback", bare, adapter))
    parts.append(await loopback_pools(args))
    urls = [url.strip() for url in os.environ.get("COMFYUI_URL", "").split(",") if url.strip()]
    token = os.environ.get("COMFYUI_TOKEN")
    if urls:
        bare, adapter = await measure(urls[0], token, args.real_generations)
        parts.append(report(f"real ComfyUI at {urls[0]}", bare, adapter))
        if len(urls) > 1:
            parts.append(await real_pool(urls, token, args))
    else:
        out("real ComfyUI: COMFYUI_URL is not set, skipped")
    out(f"summary: comfyui {'; '.join(parts)}")


def pool_sizes(text: str) -> list[int]:
    sizes = [int(part) for part in text.split(",") if part.strip()]
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError("a comma-separated list of pool sizes >= 1, e.g. 1,2,4")
    return sizes


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparser("bench.comfyui", __doc__, server=False)
    parser.add_argument("--generations", type=int, default=20, help="per client, loopback")
    parser.add_argument(
        "--real-generations",
        type=int,
        default=3,
        help="per client on COMFYUI_URL (slow); per server for its pool",
    )
    parser.add_argument(
        "--pool",
        type=pool_sizes,
        default=[1, 2, 4],
        help="loopback pool sizes N to measure, comma-separated; 1 is always measured (1,2,4)",
    )
    parser.add_argument(
        "--gpu-s",
        type=float,
        default=0.5,
        help="simulated GPU time per generation on each loopback server, seconds (0.5)",
    )
    parser.add_argument(
        "--pool-generations", type=int, default=8, help="per server in the pool runs (8)"
    )
    parser.add_argument(
        "--in-flight", type=int, default=2, help="generations at once per pool server (2)"
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    run(main(parse()))
