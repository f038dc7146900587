"""Runs: create (background, stream, wait), list, get, join (stream or wait) and cancel."""

from __future__ import annotations

import asyncio
import hashlib
import json
import signal
import weakref
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse
from sse_starlette import ServerSentEvent
from sse_starlette.sse import AppStatus
from starlette.types import Receive, Scope, Send

from adapters.errors import InvalidInput, NotFound
from adapters.interrupts import keyed_answer
from api.http.audit_trail import audit, audited_run
from api.http.callers import over_rate, run_limits
from api.http.deps import Services, ServicesDep, ThreadDep
from api.http.idempotency import idempotency_key
from api.http.media_access import check_references
from api.http.routes.assistants import ASSISTANT_ID, GRAPH_ID
from api.http.views import hide_paths, hide_paths_text
from engine.branches import checkpoint_of
from engine.eventlog import Record
from engine.inputs import MAX_OFFSET, RunCommand, RunCreate
from engine.protocol import END_FRAME, RUN_MODES, frame, values_json
from engine.resume import check_resume
from engine.store import Then, run_json
from graph.state import valid_settings
from telemetry import metrics

router = APIRouter(prefix="/threads/{thread_id}", tags=["runs"])
RunStatus = Literal["pending", "running", "success", "error", "timeout", "interrupted"]
ASSISTANTS = (GRAPH_ID, ASSISTANT_ID)
"""The graph id and the default assistant's id, as langgraph-api names them."""
PING_S = 15
ALL_MODES = ["values", "updates", "custom", "messages-tuple"]


def run_path(run: dict[str, Any]) -> str:
    """The run's URL path, percent-encoded: safe in a header whatever the ids hold."""
    return f"/threads/{quote(run['thread_id'], safe='')}/runs/{quote(run['run_id'], safe='')}"


def last_event_id(request: Request) -> int:
    """The SSE `Last-Event-ID` header (or `?last_event_id=`): replay starts after it."""
    raw = request.headers.get("last-event-id") or request.query_params.get("last_event_id")
    if not raw:
        return 0
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        message = f"Last-Event-ID must be an event id of this thread; got {raw[:40]!r}"
        raise InvalidInput(message)
    return int(raw)


def _command(command: RunCommand) -> dict[str, Any]:
    """The command as the run stores it; `goto` names nodes of the graph."""
    out: dict[str, Any] = {}
    if "resume" in command.model_fields_set:
        out["resume"] = command.resume
    if "update" in command.model_fields_set:
        out["update"] = command.update.graph_input()
    if "goto" in command.model_fields_set:
        out["goto"] = command.goto
    return out


async def create_run(
    body: RunCreate, thread: dict[str, Any], svc: Services, request: Request, default: list[str]
) -> dict[str, Any]:
    """Create the run (`_submit`) and record it in the audit trail as what it is for the
    person (`api.http.audit_trail.audited_run`: in the transaction that queues it)."""
    tid = thread["thread_id"]
    return await audited_run(
        request,
        tid,
        input=body.input.graph_input() if body.input is not None else None,
        command=_command(body.command) if body.command else None,
        strategy=body.multitask_strategy,
        busy=lambda: svc.runs.any_unfinished(tid),
        submit=lambda then: _submit(body, thread, svc, request, default, then),
    )


async def _submit(
    body: RunCreate,
    thread: dict[str, Any],
    svc: Services,
    request: Request,
    default: list[str],
    then: Then | None = None,
) -> dict[str, Any]:
    """Validate the body and hand the run to the manager (which applies multitask_strategy)."""
    if body.assistant_id not in ASSISTANTS:
        raise NotFound(f"Assistant {body.assistant_id!r} not found; this server runs 'studio'")
    if body.input is not None and body.command is not None:
        raise InvalidInput("send either `input` or `command`, not both")
    tid = thread["thread_id"]
    command = _command(body.command) if body.command else None
    at = body.at()
    if at is not None:  # time travel: the run branches off there (404: not this thread's)
        at = await checkpoint_of(svc.studio, tid, at)
    elif command and "resume" in command:
        busy = svc.runs.any_unfinished
        await check_resume(svc.studio, tid, command["resume"], busy=lambda: busy(tid))
    payload = body.input.graph_input() if body.input is not None else None
    if payload is not None and "settings" in payload:  # the caller's own (stored: checked then)
        await check_references(request, payload["settings"].get("references"))
    # settings stored with PATCH …/settings apply to a run that brings none (checked again:
    # whatever the metadata holds, only what the schema accepts reaches the graph)
    stored = valid_settings((thread.get("metadata") or {}).get("settings"))
    if payload is not None and stored and "settings" not in payload:
        payload = {**payload, "settings": stored}
    if payload is not None and "settings" in payload:
        await svc.studio.context.models.check(payload["settings"].get("models"))
    if payload is None and command is None and at is None:
        snapshot = await svc.studio.graph.aget_state(svc.studio.config(tid))
        if not snapshot.values:
            raise InvalidInput("input: a new thread needs `input` with messages")
    modes = body.modes(default)
    kwargs: dict[str, Any] = {
        "input": payload,
        "command": command,
        "stream_mode": modes,
        "stream_resumable": body.stream_resumable,
        "durability": body.durability,
        "on_disconnect": body.on_disconnect,
    }
    if at is not None:
        kwargs["checkpoint_id"] = at
    stopping = payload is not None and payload.get("stop_requested")
    answer = command.get("resume") if command else None
    keyed = keyed_answer(answer)
    answer = keyed[1] if keyed is not None else answer
    only_stops = bool(stopping) and not (payload or {}).get("messages")  # words: new work
    if (over := over_rate(request)) is not None and not (
        only_stops or (isinstance(answer, dict) and answer.get("action") == "stop")
    ):
        raise over  # past the request rate: only a stop goes through
    # the thread owner's limits: runs at once (held across processes: checked in the submit's
    # transaction) and, for new input, generations today; a stop is never refused
    gate = None if stopping else await run_limits(svc, thread, new_work=payload is not None)
    return await svc.manager.submit(
        tid,
        assistant_id=body.assistant_id,
        kwargs=kwargs,
        metadata=body.metadata,
        strategy=body.multitask_strategy,
        idempotency_key=idempotency_key(request),
        request_hash=hashlib.sha256(body.model_dump_json().encode()).hexdigest(),
        gate=gate,
        then=then,
    )


async def batches(
    svc: Services,
    thread_id: str,
    after: int,
    channels: tuple[str, ...],
    *,
    run_id: str | None = None,
    idle_s: float | None = None,
) -> AsyncIterator[list[Record]]:
    """The thread's written events after `after`, until it is deleted, as the lists they
    became readable in (one flush of the log is one list): a stream sends each list as one
    chunk, one write to the socket instead of one per event. With `idle_s`, an empty list
    after that long without an event (the stream's keep-alive ping)."""
    while True:
        batch = await svc.log.read(thread_id, after, channels=channels, run_id=run_id)
        if not batch:  # nothing new yet: wait for the next event, then take its companions
            waiting = svc.log.follow(thread_id, after, channels=channels, run_id=run_id)
            try:
                async with asyncio.timeout(idle_s):  # None: no limit
                    first = await anext(waiting)
            except StopAsyncIteration:  # the thread was deleted
                return
            except TimeoutError:
                first = None
            finally:
                closing = getattr(waiting, "aclose", None)  # an async generator: stop it now
                if closing is not None:
                    await closing()
            if first is None:
                yield []
                continue
            rest = await svc.log.read(thread_id, first.seq, channels=channels, run_id=run_id)
            batch = [first, *rest]
        yield batch
        after = batch[-1].seq


def ping_frame() -> bytes:
    """A keep-alive comment, as sse-starlette's ping writes it (clients ignore comments)."""
    return ServerSentEvent(comment=f"ping - {datetime.now(UTC)}").encode()


_streams: set[asyncio.Task[Any]] = set()
"""The tasks of this process's open `EventStream`s: a server exit ends them."""
_watchers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Task[None]] = (
    weakref.WeakKeyDictionary()
)


def _exiting() -> bool:
    """Whether uvicorn was told to exit: sse-starlette's hook on uvicorn's signal handler
    sets `AppStatus.should_exit`; failing that, the server behind the SIGTERM handler says
    so (sse-starlette's own two checks)."""
    if AppStatus.should_exit:
        return True
    server = getattr(signal.getsignal(signal.SIGTERM), "__self__", None)
    return bool(getattr(server, "should_exit", False))


async def _end_streams_on_exit() -> None:
    """One watcher per event loop (sse-starlette runs one such poll too): once the server
    is exiting, end the open streams, so a shutdown does not wait for them. Started with
    the first stream, it looks twice a second and stops when no stream is open."""
    loop = asyncio.get_running_loop()
    while any(task.get_loop() is loop for task in _streams):
        if _exiting():
            for task in [task for task in _streams if task.get_loop() is loop]:
                task.cancel("server exit")
            return
        await asyncio.sleep(0.5)


def _watch_exit() -> None:
    loop = asyncio.get_running_loop()
    watcher = _watchers.get(loop)
    if watcher is None or watcher.done():
        _watchers[loop] = loop.create_task(_end_streams_on_exit())


async def _disconnected(receive: Receive) -> None:
    """Return once the client has gone (the request's body was read before the stream)."""
    while (await receive())["type"] != "http.disconnect":
        pass


class EventStream(Response):
    """A run's or a thread's SSE stream: pre-framed chunks (`protocol.frame`, the bytes
    sse-starlette's `ServerSentEvent.encode()` writes) sent as they come, with
    sse-starlette's headers, in the request's own task.

    Why not sse-starlette's `EventSourceResponse` here (the Media Lab's job stream keeps it):
    it runs every stream as a task group of four tasks (the sender, a ping timer, a
    shutdown listener, a disconnect listener), with a cancel scope and a lock around every
    send. On the run streams, two per trivial session and one per studio run, that cost
    about 0.44 ms of CPU a stream here against 0.02 ms for this writer (#20 point 7,
    bench/README.md "Eighth round"). The same jobs, cheaper: pings come from the log's own
    wait (`batches(idle_s=...)` yields an empty list after `PING_S` without events); a
    client that goes away is heard by one pending `receive()` whose end cancels the
    stream (so `on_disconnect=cancel` acts at once, as before); a server exit ends the
    open streams from one watcher per process, not one per stream."""

    media_type = "text/event-stream"

    def __init__(
        self,
        chunks: AsyncIterator[bytes],
        *,
        stream: str,
        headers: dict[str, str] | None = None,
        status_code: int = 200,  # FastAPI's OpenAPI reads a response class's default here
    ) -> None:
        self.chunks = chunks
        self.stream = stream
        """Its label in `studio_sse_clients`."""
        self.status_code = status_code
        self.background = None
        self.init_headers(
            {
                **(headers or {}),
                "Cache-Control": "no-store",
                "Connection": "keep-alive",
                "X-Accel-Buffering": "no",
            }
        )
        self.gone = False
        """The client went away (or the server is exiting): the stream was cancelled."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = {
            "type": "http.response.start",
            "status": self.status_code,
            "headers": self.raw_headers,
        }
        if scope.get("method") == "HEAD":  # headers only: the stream never starts
            await send(start)
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        task = asyncio.current_task()
        assert task is not None
        listening = asyncio.ensure_future(_disconnected(receive))

        def heard(done: asyncio.Future[None]) -> None:
            if not done.cancelled() and done.exception() is None and not self.gone:
                self.gone = True
                task.cancel("client disconnected")

        listening.add_done_callback(heard)
        _streams.add(task)
        _watch_exit()
        ended = False
        try:
            with metrics.sse_client(self.stream):  # studio_sse_clients{stream=...}
                await send(start)
                async for chunk in self.chunks:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                ended = True
                self.gone = True  # from here a disconnect is the end, not a cancel
                listening.cancel()
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        except asyncio.CancelledError:
            if task.cancelling() and not self.gone and not _exiting():
                raise  # cancelled from outside (the server's own shutdown): not ours
            task.uncancel()
            if not ended and not self.gone:  # the server is exiting: close the body cleanly
                self.gone = True
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            _streams.discard(task)
            listening.cancel()
            closing = getattr(self.chunks, "aclose", None)
            if closing is not None:
                await closing()  # the generator's `finally` (cancel on disconnect) runs now


def stream_response(
    svc: Services,
    run: dict[str, Any],
    *,
    after: int,
    modes: list[str] | None = None,
    cancel_on_disconnect: bool = False,
) -> EventStream:
    """SSE of one run from the event log: `metadata` first, then its events after `after`."""
    tid, rid = run["thread_id"], run["run_id"]
    resumable = bool(run["kwargs"].get("stream_resumable"))
    wanted = {"messages" if m == "messages-tuple" else m for m in modes or []}

    async def events() -> AsyncIterator[bytes]:
        ended = False
        try:
            yield frame(json.dumps({"run_id": rid, "attempt": 1}), event="metadata")
            async for batch in batches(
                svc, tid, after, ("run", "control"), run_id=rid, idle_s=PING_S
            ):
                if not batch:
                    yield ping_frame()
                    continue
                chunk = []
                for record in batch:
                    if record.channel == "control":
                        ended = True
                        chunk.append(END_FRAME)
                        break
                    mode = record.event.split("|")[0]
                    if wanted and mode not in wanted and mode != "error":
                        continue
                    seq = str(record.seq) if resumable else None
                    chunk.append(frame(hide_paths_text(record.data), event=record.event, id=seq))
                if chunk:
                    yield b"".join(chunk)
                if ended:
                    return
        finally:
            if not ended and cancel_on_disconnect:
                svc.manager.cancel_soon(tid, rid)

    here = run_path(run)
    headers = {"Location": f"{here}/stream", "Content-Location": here}
    return EventStream(events(), stream="run", headers=headers)


async def wait_result(svc: Services, run: dict[str, Any]) -> dict[str, Any]:
    """Wait for the run's end, then the thread's values (with `__interrupt__` at a gate)."""
    tid, rid = run["thread_id"], run["run_id"]
    async for _ in svc.log.follow(tid, 0, channels=("control",), run_id=rid):
        break
    snapshot = await svc.studio.graph.aget_state(svc.studio.config(tid))
    result: dict[str, Any] = hide_paths(values_json(snapshot.values, snapshot.interrupts))
    finished = await svc.runs.get(tid, rid)
    if finished is not None and finished["status"] == "error":
        errors = await svc.log.read(tid, 0, channels=("run",), run_id=rid, limit=100_000)
        found = [json.loads(r.data) for r in errors if r.event == "error"]
        if found:
            result["__error__"] = found[-1]
    return result


@router.post("/runs")
async def create_background_run(
    body: RunCreate, thread: ThreadDep, svc: ServicesDep, request: Request
) -> JSONResponse:
    """Start a run in the background; returns the Run (follow it with `…/stream`)."""
    run = await create_run(body, thread, svc, request, ALL_MODES)
    return JSONResponse(run_json(run), headers={"Content-Location": run_path(run)})


@router.post("/runs/stream", response_class=EventStream)
async def create_streaming_run(
    body: RunCreate, thread: ThreadDep, svc: ServicesDep, request: Request
) -> EventStream:
    """Start a run and stream it; the `Location` header is where to rejoin."""
    run = await create_run(body, thread, svc, request, ["values"])
    return stream_response(
        svc, run, after=last_event_id(request), cancel_on_disconnect=body.on_disconnect == "cancel"
    )


@router.post("/runs/wait")
async def create_waiting_run(
    body: RunCreate, thread: ThreadDep, svc: ServicesDep, request: Request
) -> JSONResponse:
    """Start a run and answer with the final values once it ends (or stops at a gate)."""
    run = await create_run(body, thread, svc, request, ["values"])
    location = f"{run_path(run)}/join"
    return JSONResponse(await wait_result(svc, run), headers={"Location": location})


@router.get("/runs")
async def list_runs(
    thread: ThreadDep,
    svc: ServicesDep,
    limit: int = Query(10, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
    status: RunStatus | None = None,
) -> list[dict[str, Any]]:
    """The thread's runs, newest first."""
    rows = await svc.runs.list_runs(thread["thread_id"], limit=limit, offset=offset, status=status)
    return [run_json(row) for row in rows]


async def _run_id(run_id: str) -> str:
    """A run id; `stream` and `wait` are paths that take POST only (405 before any lookup).
    A coroutine: FastAPI runs a plain-function dependency in a worker thread."""
    if run_id in ("stream", "wait"):
        raise HTTPException(405, "Method Not Allowed", headers={"Allow": "POST"})
    return run_id


RunId = Annotated[str, Depends(_run_id)]


async def _run(svc: Services, thread: dict[str, Any], run_id: str) -> dict[str, Any]:
    run = await svc.runs.get(thread["thread_id"], run_id)
    if run is None:
        raise NotFound("Run not found")
    return run


@router.get("/runs/{run_id}")
async def get_run(run_id: RunId, thread: ThreadDep, svc: ServicesDep) -> dict[str, Any]:
    return run_json(await _run(svc, thread, run_id))


@router.delete("/runs/{run_id}", status_code=204)
async def delete_run(
    run_id: RunId, thread: ThreadDep, svc: ServicesDep, request: Request
) -> Response:
    tid = thread["thread_id"]
    async with audit(
        request, "run.deleted", target=f"thread/{tid}/run/{run_id[:64]}", thread_id=tid
    ):
        run = await _run(svc, thread, run_id)
        if run["status"] in ("pending", "running"):
            raise InvalidInput("the run has not finished; cancel it first")
        await svc.runs.delete(run_id)
    return Response(status_code=204)


@router.get("/runs/{run_id}/stream", response_class=EventStream)
async def join_run_stream(
    run_id: RunId,
    thread: ThreadDep,
    svc: ServicesDep,
    request: Request,
    stream_mode: Annotated[list[str] | None, Query()] = None,
    cancel_on_disconnect: bool = False,
) -> EventStream:
    """Rejoin a run's stream; with `Last-Event-ID`, only what came after that event."""
    run = await _run(svc, thread, run_id)
    modes = [m for m in stream_mode or [] if m in RUN_MODES]
    return stream_response(
        svc,
        run,
        after=last_event_id(request),
        modes=modes,
        cancel_on_disconnect=cancel_on_disconnect,
    )


@router.get("/runs/{run_id}/join")
async def join_run(run_id: RunId, thread: ThreadDep, svc: ServicesDep) -> dict[str, Any]:
    """Wait for the run to end and return the thread's values."""
    return await wait_result(svc, await _run(svc, thread, run_id))


@router.post("/runs/{run_id}/cancel", status_code=202)
async def cancel_run(
    run_id: RunId,
    thread: ThreadDep,
    svc: ServicesDep,
    request: Request,
    wait: bool = False,
    action: Literal["interrupt", "rollback"] = "interrupt",
) -> JSONResponse:
    """Stop the run now; `rollback` also removes it and what it wrote. Answers the run as it
    stands (with `wait`, once it has stopped; a rolled-back run is gone: `rolled_back`)."""
    tid = thread["thread_id"]
    target = f"thread/{tid}/run/{run_id[:64]}"
    async with audit(
        request, "run.cancelled", target=target, thread_id=tid, detail={"how": action}
    ):
        await _run(svc, thread, run_id)
        await svc.manager.cancel(tid, run_id, action=action, wait=wait)
    after = await svc.runs.get(thread["thread_id"], run_id)
    gone = {"run_id": run_id, "thread_id": thread["thread_id"], "status": "rolled_back"}
    return JSONResponse(run_json(after) if after else gone, status_code=202)


@router.get("/stream", response_class=EventStream)
async def follow_thread(thread: ThreadDep, svc: ServicesDep, request: Request) -> Any:
    """Every run's events in the studio vocabulary (token, message, phase, progress, asset,
    gate, notice, error, done), until the thread is deleted; a browser's EventSource resumes
    with Last-Event-ID."""
    tid, after = thread["thread_id"], last_event_id(request)

    async def events() -> AsyncIterator[bytes]:
        async for batch in batches(svc, tid, after, ("studio",), idle_s=PING_S):
            if not batch:
                yield ping_frame()
                continue
            yield b"".join(
                frame(hide_paths_text(r.data), event=r.event, id=str(r.seq)) for r in batch
            )

    return EventStream(events(), stream="thread")
