"""Runs: create (background, stream, wait), list, get, join (stream or wait) and cancel."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse
from sse_starlette import EventSourceResponse

from adapters.errors import InvalidInput, NotFound
from api.http.audit_trail import audit
from api.http.callers import run_limits
from api.http.deps import Services, ServicesDep, ThreadDep
from api.http.idempotency import idempotency_key
from api.http.media_access import check_references
from api.http.routes.assistants import ASSISTANT_ID, GRAPH_ID
from engine.branches import checkpoint_of
from engine.eventlog import Record
from engine.inputs import MAX_OFFSET, RunCommand, RunCreate
from engine.protocol import END_FRAME, RUN_MODES, frame, values_json
from engine.resume import check_resume
from engine.store import run_json
from graph.state import valid_settings
from people.audit import run_action
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
    person (`people.audit.run_action`: a run, an interjection, a gate answer, a stop)."""
    tid = thread["thread_id"]
    given = body.input.graph_input() if body.input is not None else None
    command = _command(body.command) if body.command else None
    busy = await svc.runs.any_unfinished(tid)
    action, detail = run_action(input=given, command=command, busy=busy)
    detail["strategy"] = body.multitask_strategy
    async with audit(
        request, action, target=f"thread/{tid}", thread_id=tid, detail=detail
    ) as entry:
        run = await _submit(body, thread, svc, request, default)
        entry.target = f"thread/{tid}/run/{run['run_id']}"
    return run


async def _submit(
    body: RunCreate, thread: dict[str, Any], svc: Services, request: Request, default: list[str]
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
        await check_resume(svc.studio, tid, command["resume"], busy=svc.runs.any_unfinished(tid))
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
    # the thread owner's limits: runs at once (held across processes: checked in the submit's
    # transaction) and, for new input, images today; a stop is never refused
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
    )


async def batches(
    svc: Services,
    thread_id: str,
    after: int,
    channels: tuple[str, ...],
    *,
    run_id: str | None = None,
) -> AsyncIterator[list[Record]]:
    """The thread's written events after `after`, until it is deleted, as the lists they
    became readable in (one flush of the log is one list): a stream sends each list as one
    chunk, one write to the socket instead of one per event."""
    while True:
        batch = await svc.log.read(thread_id, after, channels=channels, run_id=run_id)
        if not batch:  # nothing new yet: wait for the next event, then take its companions
            waiting = svc.log.follow(thread_id, after, channels=channels, run_id=run_id)
            try:
                first = await anext(waiting)
            except StopAsyncIteration:  # the thread was deleted
                return
            finally:
                closing = getattr(waiting, "aclose", None)  # an async generator: stop it now
                if closing is not None:
                    await closing()
            rest = await svc.log.read(thread_id, first.seq, channels=channels, run_id=run_id)
            batch = [first, *rest]
        yield batch
        after = batch[-1].seq


def stream_response(
    svc: Services,
    run: dict[str, Any],
    *,
    after: int,
    modes: list[str] | None = None,
    cancel_on_disconnect: bool = False,
) -> EventSourceResponse:
    """SSE of one run from the event log: `metadata` first, then its events after `after`."""
    tid, rid = run["thread_id"], run["run_id"]
    resumable = bool(run["kwargs"].get("stream_resumable"))
    wanted = {"messages" if m == "messages-tuple" else m for m in modes or []}

    async def events() -> AsyncIterator[bytes]:
        ended = False
        try:
            yield frame(json.dumps({"run_id": rid, "attempt": 1}), event="metadata")
            async for batch in batches(svc, tid, after, ("run", "control"), run_id=rid):
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
                    chunk.append(frame(record.data, event=record.event, id=seq))
                if chunk:
                    yield b"".join(chunk)
                if ended:
                    return
        finally:
            if not ended and cancel_on_disconnect:
                svc.manager.cancel_soon(tid, rid)

    here = run_path(run)
    headers = {"Location": f"{here}/stream", "Content-Location": here}
    counted = metrics.counted("run", events())  # studio_sse_clients{stream="run"}
    return EventSourceResponse(counted, headers=headers, ping=PING_S)


async def wait_result(svc: Services, run: dict[str, Any]) -> dict[str, Any]:
    """Wait for the run's end, then the thread's values (with `__interrupt__` at a gate)."""
    tid, rid = run["thread_id"], run["run_id"]
    async for _ in svc.log.follow(tid, 0, channels=("control",), run_id=rid):
        break
    snapshot = await svc.studio.graph.aget_state(svc.studio.config(tid))
    result = values_json(snapshot.values, snapshot.interrupts)
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


@router.post("/runs/stream", response_class=EventSourceResponse)
async def create_streaming_run(
    body: RunCreate, thread: ThreadDep, svc: ServicesDep, request: Request
) -> EventSourceResponse:
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


def _run_id(run_id: str) -> str:
    """A run id; `stream` and `wait` are paths that take POST only (405 before any lookup)."""
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


@router.get("/runs/{run_id}/stream", response_class=EventSourceResponse)
async def join_run_stream(
    run_id: RunId,
    thread: ThreadDep,
    svc: ServicesDep,
    request: Request,
    stream_mode: Annotated[list[str] | None, Query()] = None,
    cancel_on_disconnect: bool = False,
) -> EventSourceResponse:
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


@router.get("/stream", response_class=EventSourceResponse)
async def follow_thread(thread: ThreadDep, svc: ServicesDep, request: Request) -> Any:
    """Every run's events in the studio vocabulary (token, message, phase, progress, asset,
    gate, notice, error, done), until the thread is deleted; a browser's EventSource resumes
    with Last-Event-ID."""
    tid, after = thread["thread_id"], last_event_id(request)

    async def events() -> AsyncIterator[bytes]:
        async for batch in batches(svc, tid, after, ("studio",)):
            yield b"".join(frame(r.data, event=r.event, id=str(r.seq)) for r in batch)

    return EventSourceResponse(metrics.counted("thread", events()), ping=PING_S)
