"""The run and thread streams' SSE writer (`EventStream`): sse-starlette's headers and bytes,
pings from the log's own wait, and the ends of a stream (its last event, a client that goes
away, a server that exits)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, MutableMapping
from types import SimpleNamespace
from typing import Any, cast

import pytest
from sse_starlette import EventSourceResponse
from sse_starlette.sse import AppStatus

from api.http.routes.runs import EventStream, batches, ping_frame
from engine.eventlog import EventLog, Record
from engine.protocol import END_FRAME, frame

pytestmark = pytest.mark.anyio

SCOPE = {"type": "http", "method": "POST", "asgi": {"spec_version": "2.3"}}


class Client:
    """An ASGI peer: records what is sent; `leave()` makes `receive` answer a disconnect."""

    def __init__(self) -> None:
        self.sent: list[MutableMapping[str, Any]] = []
        self.gone = asyncio.Event()

    async def receive(self) -> dict[str, Any]:
        await self.gone.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: MutableMapping[str, Any]) -> None:
        self.sent.append(message)

    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.sent[1:])

    def leave(self) -> None:
        self.gone.set()


def test_headers_are_sse_starlettes() -> None:
    async def nothing() -> AsyncIterator[bytes]:
        yield b""

    extra = {"Location": "/threads/t/runs/r/stream", "Content-Location": "/threads/t/runs/r"}
    ours = EventStream(nothing(), stream="run", headers=extra)
    theirs = EventSourceResponse(nothing(), headers=extra)
    assert ours.raw_headers == theirs.raw_headers
    assert (b"content-type", b"text/event-stream; charset=utf-8") in ours.raw_headers


async def test_chunks_go_out_as_given_then_the_body_closes() -> None:
    chunks = [frame('{"run_id":"r"}', event="metadata"), frame("{}", event="values", id="3")]

    async def events() -> AsyncIterator[bytes]:
        for chunk in [*chunks, END_FRAME]:
            yield chunk

    client = Client()
    await EventStream(events(), stream="run")(SCOPE, client.receive, client.send)
    assert client.sent[0]["type"] == "http.response.start" and client.sent[0]["status"] == 200
    assert client.body() == b"".join([*chunks, END_FRAME])
    assert client.sent[-1] == {"type": "http.response.body", "body": b"", "more_body": False}
    # the same bytes sse-starlette sends for these chunks

    async def again() -> AsyncIterator[bytes]:
        for chunk in [*chunks, END_FRAME]:
            yield chunk

    other = Client()
    await EventSourceResponse(again(), ping=0)(SCOPE, other.receive, other.send)
    assert client.body() == other.body()


async def test_a_client_that_leaves_ends_the_stream_and_runs_its_cleanup() -> None:
    waiting, cleaned = asyncio.Event(), asyncio.Event()

    async def events() -> AsyncIterator[bytes]:
        try:
            yield b"data: 1\r\n\r\n"
            waiting.set()
            await asyncio.Event().wait()  # a log with nothing new
            yield b"never"
        finally:
            cleaned.set()  # where a run stream cancels its run (`on_disconnect=cancel`)

    client = Client()
    response = asyncio.create_task(
        EventStream(events(), stream="run")(SCOPE, client.receive, client.send)
    )
    await waiting.wait()
    client.leave()
    await asyncio.wait_for(response, 30)  # ends without raising
    assert cleaned.is_set()
    assert client.body() == b"data: 1\r\n\r\n"


async def test_a_server_exit_ends_an_open_stream_cleanly() -> None:
    waiting = asyncio.Event()

    async def events() -> AsyncIterator[bytes]:
        yield b"data: 1\r\n\r\n"
        waiting.set()
        await asyncio.Event().wait()
        yield b"never"

    client = Client()
    response = asyncio.create_task(
        EventStream(events(), stream="thread")(SCOPE, client.receive, client.send)
    )
    await waiting.wait()
    AppStatus.should_exit = True
    try:
        await asyncio.wait_for(response, 30)
    finally:
        AppStatus.should_exit = False
    assert client.sent[-1] == {"type": "http.response.body", "body": b"", "more_body": False}


async def test_an_idle_log_gives_a_ping_then_the_events() -> None:
    log = EventLog(cast(Any, None))  # a new thread's log: served from memory, no Postgres
    log.created("t")
    svc = cast(Any, SimpleNamespace(log=log))
    stream = batches(svc, "t", 0, ("studio",), idle_s=0.05)
    assert await anext(stream) == []  # nothing written within idle_s: a ping's turn
    log._remember(
        "t", [Record(1, None, "studio", "token", "{}"), Record(2, None, "studio", "x", "{}")]
    )
    log._wake("t")
    assert [r.seq for r in await anext(stream)] == [1, 2]
    await cast(Any, stream).aclose()
    assert ping_frame().startswith(b": ping - ") and ping_frame().endswith(b"\r\n\r\n")
