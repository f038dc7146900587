"""The fixed shape with nothing of the studio in it: the floor `bench.api --bare` measures.

    python -m bench.bare --port PORT --home DIR     (DATABASE_URL: the Postgres)

The same trivial graph on the same Postgres saver (`StudioSaver`, durability as the studio
runs it), served by FastAPI under uvicorn (uvloop, httptools) and streamed as SSE in the
bytes sse-starlette writes, through the routes `langgraph-sdk` calls for a session
(`POST /threads`, `POST /threads/{id}/runs/stream` and `/runs/wait`). The run's body is
checked with a pydantic model, as any FastAPI route's is. It has none of what the studio's
server does beyond that: no accounts or tokens, no runs table, claim or worker, no event log
(a stream cut off is lost, a second process could drive the same thread, nothing can stop a
run from another process), no limits, audit or telemetry. So its CPU per session is what the
shape the handbook fixes costs before any of issue #20's duties: a server cannot spend less.
Never a product: it exists to be measured.
"""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse
import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from fastapi import FastAPI
from fastapi.responses import Response, StreamingResponse
from langgraph.types import Command
from pydantic import BaseModel
from sse_starlette import ServerSentEvent

from bench.harness import make_graph, run, uvicorn_config
from engine.serde import dumps
from store.database import Database


class RunBody(BaseModel):
    """What `runs.stream` sends (the fields a session uses; the rest are ignored)."""

    assistant_id: str
    input: dict[str, Any] | None = None
    command: dict[str, Any] | None = None
    stream_mode: str | list[str] = "values"


def frame(data: str, event: str) -> bytes:
    return ServerSentEvent(data=data, event=event).encode()


def bare_app(graph: Any) -> FastAPI:
    app = FastAPI()

    @app.get("/ok")
    async def ok() -> dict[str, bool]:
        return {"ok": True}

    @app.post("/threads")
    async def create() -> dict[str, Any]:
        return {"thread_id": str(uuid.uuid4()), "metadata": {}, "status": "idle"}

    @app.post("/threads/{thread_id}/runs/stream")
    async def stream(thread_id: str, body: RunBody) -> StreamingResponse:
        config = {"configurable": {"thread_id": thread_id}}
        given: Any = Command(resume=body.command["resume"]) if body.command else body.input
        modes = body.stream_mode if isinstance(body.stream_mode, list) else [body.stream_mode]

        async def frames() -> AsyncIterator[bytes]:
            yield frame(dumps({"run_id": str(uuid.uuid4()), "attempt": 1}), "metadata")
            async for mode, part in graph.astream(given, config, stream_mode=modes):
                yield frame(dumps(part), mode)
            yield frame("null", "end")

        return StreamingResponse(frames(), media_type="text/event-stream")

    @app.post("/threads/{thread_id}/runs/wait")
    async def wait(thread_id: str, body: RunBody) -> Response:
        config = {"configurable": {"thread_id": thread_id}}
        given: Any = Command(resume=body.command["resume"]) if body.command else body.input
        values = await graph.ainvoke(given, config)
        return Response(dumps(values), media_type="application/json")

    return app


async def serve(port: int, home: Path) -> None:
    async with Database(os.environ["DATABASE_URL"], home) as db:
        app = bare_app(make_graph("trivial", db.saver))
        await uvicorn.Server(uvicorn_config(app, port)).serve()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bare", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--home", type=Path, required=True)
    args = parser.parse_args(argv)
    run(serve(args.port, args.home))


if __name__ == "__main__":
    main()
