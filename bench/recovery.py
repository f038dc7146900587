"""Crash recovery: kill -9 a real `studio serve` mid-run, restart it, and count what clients see.

    python -m bench.recovery [--cycles 3] [--events 40]

Starts `studio serve` as its own process (offline model with a 4 ms token delay and a 50 ms
render stage delay, so a session lasts long enough to be killed in it; auto-approved, so it
runs to the end by itself) on the bench's Postgres. A client follows the thread's stream
(`GET /threads/{id}/stream`) like a browser's EventSource. Each cycle waits for `--events`
new events, sends SIGKILL, starts the server again at once and reconnects with
`Last-Event-ID` (retrying every 20 ms while the port is closed), timing the restart to the
first new event (goal <= 2 s). At the end the thread's stream is replayed from the start: every
event must have reached the client exactly once, with the same bytes (goal: 0 lost, 0
duplicated, 0 diverged).
If a session ends before the cycles do, the next cycle starts another one. The baseline is
the server's cold start to `/ok` in the same run. `DATABASE_URL` picks the Postgres, else an
embedded one.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.harness import (
    BRIEF,
    Sse,
    argparser,
    database,
    free_port,
    header,
    out,
    run,
    spawn,
    sse_events,
    wait_ok,
)
from people.home_token import home_token


@dataclass
class Served:
    """`studio serve` in a subprocess on a fixed port (the same after each restart)."""

    home: Path
    database_url: str
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def spawn(self) -> None:
        env = {
            **os.environ,
            "STUDIO_HOME": str(self.home),
            "DATABASE_URL": self.database_url,
            "STUDIO_OFFLINE_TOKEN_DELAY_S": "0.004",
            "STUDIO_RENDER_STAGE_DELAY_S": "0.05",
        }
        command = [sys.executable, "-c", "from api.cli.main import main; main()", "serve"]
        self.process = spawn([*command, "--port", str(self.port)], env, self.home / "server.log")

    async def ready(self) -> None:
        assert self.process is not None
        await wait_ok(self.url, self.process, self.home / "server.log")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


async def follow(
    url: str,
    token: str,
    tid: str,
    after: str,
    into: list[Sse],
    connected: list[float] | None = None,
) -> None:
    """Append the thread's events after `after` to `into` until `done` or the server dies;
    while the server is down, retry the connection every 20 ms (`connected` gets the time
    the stream was accepted)."""
    headers = {"Authorization": f"Bearer {token}", "Last-Event-ID": after}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as client:
        while True:
            try:
                async with client.stream("GET", f"/threads/{tid}/stream") as response:
                    if connected is not None:
                        connected.append(time.perf_counter())
                    async for event in sse_events(response):
                        into.append(event)
                        if event.event == "done":
                            return
                return
            except httpx.ConnectError:
                await asyncio.sleep(0.02)
            except (httpx.RemoteProtocolError, httpx.ReadError):
                return  # killed under us


async def wait_until(predicate: object, task: asyncio.Task[None], within_s: float = 60) -> None:
    deadline = time.monotonic() + within_s
    while not predicate() and not task.done():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise TimeoutError("no events arrived")
        await asyncio.sleep(0.005)


async def new_session(url: str, admin: str) -> tuple[str, str]:
    """A thread made with the home's admin token (`admin`), its run started with the thread's
    own token; returns the thread's id and token."""
    headers = {"Authorization": f"Bearer {admin}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as client:
        made = (await client.post("/threads", json={})).json()
        tid, token = made["thread_id"], made["token"]
        body = {
            "assistant_id": "studio",
            "input": {
                "messages": [{"role": "user", "content": BRIEF}],
                "settings": {"auto_approve": True},
            },
            "stream_resumable": True,
        }
        client.headers["Authorization"] = f"Bearer {token}"
        (await client.post(f"/threads/{tid}/runs", json=body)).raise_for_status()
    assert token is not None
    return tid, token


async def replay(url: str, token: str, tid: str) -> list[Sse]:
    found: list[Sse] = []
    await follow(url, token, tid, "0", found)
    return found


async def main(args: argparse.Namespace) -> None:
    header("recovery: kill -9 mid-run, restart, time to first new event, lost/duplicated", args)
    async with database() as db:
        server = Served(db.home, db.url)
        try:
            cold = time.perf_counter()
            server.spawn()
            await server.ready()
            cold_start = time.perf_counter() - cold
            admin = home_token(db.home)  # `studio serve` made the home's admin
            tid, token = await new_session(server.url, admin)
            seen: dict[str, list[Sse]] = {tid: []}
            restarts: list[tuple[float, float, float]] = []
            for _cycle in range(args.cycles):
                events = seen[tid]
                if events and events[-1].event == "done":
                    tid, token = await new_session(server.url, admin)
                    events = seen[tid] = []
                start = len(events)
                after = (events[-1].id or "0") if events else "0"
                task = asyncio.create_task(follow(server.url, token, tid, after, events))
                await wait_until(lambda: len(events) - start >= args.events, task)  # noqa: B023
                if task.done() and events and events[-1].event == "done":
                    continue  # finished before the kill: the next cycle starts a new session
                killed = time.perf_counter()
                server.kill()
                await task
                before = len(events)
                spawned = time.perf_counter()
                server.spawn()
                after = (events[-1].id or "0") if events else "0"
                connected: list[float] = []
                task = asyncio.create_task(follow(server.url, token, tid, after, events, connected))
                await wait_until(lambda: len(events) > before, task)  # noqa: B023
                first = time.perf_counter()
                restarts.append((first - killed, first - spawned, connected[0] - spawned))
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
            # let the last session finish, then replay every thread from the start
            events = seen[tid]
            if not events or events[-1].event != "done":
                after = (events[-1].id or "0") if events else "0"
                await follow(server.url, token, tid, after, events)
            lost = duplicated = diverged = total = 0
            for thread_id, got in seen.items():
                truth = await replay(server.url, token, thread_id)
                total += len(truth)
                ids = [e.id for e in got]
                truth_by_id = {e.id: e.data for e in truth}
                lost += len(set(truth_by_id) - set(ids))
                duplicated += len(ids) - len(set(ids))
                diverged += sum(truth_by_id.get(e.id) != e.data for e in got)  # byte for byte
        finally:
            server.stop()

    times = [t for t, _, _ in restarts]
    out(f"cold start of `studio serve` to /ok (baseline): {cold_start:.2f} s")
    for i, (t, from_spawn, listening) in enumerate(restarts, 1):
        out(f"cycle {i}: SIGKILL -> first new event {t:.2f} s (spawn -> stream accepted "
            f"{listening:.2f} s, -> first new event {from_spawn:.2f} s)")  # fmt: skip
    out(f"threads {len(seen)}, events {total}: lost {lost}, duplicated {duplicated}, "
        f"diverged {diverged}")  # fmt: skip
    worst = max(times) if times else float("nan")
    verdict = "meets" if worst <= 2 and lost == duplicated == diverged == 0 else "misses"
    out(
        f"summary: recovery {len(times)} kill -9 cycles, first new event after restart in "
        f"{worst:.2f} s worst ({verdict} goals <= 2 s and 0 lost/duplicated; cold start "
        f"{cold_start:.2f} s), lost {lost}, duplicated {duplicated}, diverged {diverged}"
    )


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparser("bench.recovery", __doc__, server=False)
    parser.add_argument("--cycles", type=int, default=3, help="kill -9 / restart cycles")
    parser.add_argument("--events", type=int, default=40, help="new events before each kill")
    return parser.parse_args(argv)


if __name__ == "__main__":
    run(main(parse()))
