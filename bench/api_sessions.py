"""Benchmark the HTTP API against the same graph in-process: full sessions/s and events/s.

    python bench/api_sessions.py [--sessions 200] [--chunks 5000]

A "session" is what aegra was measured on: create a thread, stream one run to its end
(`runs.stream`, stream_mode=values) through the unmodified `langgraph-sdk`. The graph is
trivial (one node), so the numbers measure the shell: HTTP, SSE, the run manager, the
Postgres event log and the checkpointer. `DATABASE_URL` picks the Postgres (else embedded).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, TypedDict

import uvicorn
from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph
from langgraph_sdk import get_client

from adapters.assets import AssetStore
from adapters.llm import RoleModels
from adapters.renderer import Renderer
from adapters.threads import ThreadRegistry
from api.app import create_app
from api.database import Database
from api.settings import Settings
from api.studio import Studio
from graph.context import StudioContext


class State(TypedDict, total=False):
    topic: str
    log: list[str]
    chunks: int


async def echo(state: State) -> dict[str, Any]:
    writer = get_stream_writer()
    for i in range(state.get("chunks", 0)):
        writer({"event": "token", "role": "bench", "text": f"t{i} ", "id": "m"})
    return {"log": [f"draft:{state.get('topic', '')}"]}


def trivial_graph(checkpointer: Any) -> Any:
    builder = StateGraph(State)
    builder.add_node("echo", echo)
    builder.add_edge(START, "echo")
    builder.add_edge("echo", END)
    return builder.compile(checkpointer=checkpointer, name="studio")


async def main(sessions: int, chunks: int) -> None:
    home = Path(tempfile.mkdtemp(prefix="studio-bench-"))
    async with Database(os.environ.get("DATABASE_URL"), home) as database:
        graph = trivial_graph(database.saver)
        context = StudioContext(
            models=RoleModels.offline(), images=Renderer(), assets=AssetStore(database.pool, home)
        )
        studio = Studio(graph, context, ThreadRegistry(database.pool), {"database": "bench"})
        app = create_app(Settings(home=home), studio=studio)
        server = uvicorn.Server(uvicorn.Config(app, port=0, log_level="warning"))
        task = asyncio.create_task(server.serve())
        while not server.started:
            if task.done():
                task.result()  # startup failed: raise its error
            await asyncio.sleep(0.01)
        url = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"

        in_process = []
        for _ in range(sessions):
            started = time.perf_counter()
            config = {"configurable": {"thread_id": str(uuid.uuid4())}}
            async for _part in graph.astream({"topic": "cats"}, config, stream_mode="values"):
                pass
            in_process.append(time.perf_counter() - started)

        client = get_client(url=url)
        thread = await client.threads.create()
        client = get_client(url=url, headers={"Authorization": f"Bearer {thread['token']}"})
        over_http = []
        for _ in range(sessions):
            started = time.perf_counter()
            made = await client.threads.create()
            async for _part in client.runs.stream(
                made["thread_id"], "studio", input={"topic": "cats"}, stream_mode="values"
            ):
                pass
            over_http.append(time.perf_counter() - started)

        made = await client.threads.create()
        started = time.perf_counter()
        received = 0
        async for part in client.runs.stream(
            made["thread_id"], "studio", input={"chunks": chunks}, stream_mode="custom"
        ):
            received += part.event == "custom"
        streamed = time.perf_counter() - started
        await client.aclose()
        server.should_exit = True
        await task

    def report(name: str, times: list[float]) -> None:
        median = statistics.median(times) * 1000
        rate = len(times) / sum(times)
        sys.stdout.write(f"{name:<12} {rate:7.1f} sessions/s  median {median:6.1f} ms\n")

    report("in-process", in_process)
    report("HTTP + SDK", over_http)
    rate = received / streamed
    sys.stdout.write(f"streamed     {rate:7.0f} custom events/s ({received} over SSE)\n")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--chunks", type=int, default=5000)
    args = parser.parse_args()
    asyncio.run(main(args.sessions, args.chunks))
