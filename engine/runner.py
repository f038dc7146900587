"""One run from start to end: stream the graph, log every event, record how it ended."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from langgraph.errors import GraphDrained
from langgraph.runtime import RunControl
from langgraph.types import Command
from pydantic import ValidationError

from adapters.errors import INTERNAL_MESSAGE, StudioError, friendly_validation
from engine.eventlog import EventLog
from engine.events import STREAM_MODES, to_events
from engine.protocol import graph_modes, run_events
from engine.serde import dumps
from engine.store import RunStore
from engine.studio import Studio, work_left
from store.database import Connection
from telemetry import runs

if TYPE_CHECKING:
    from engine.media_chat import ThreadMediaRequests

logger = logging.getLogger("studio.runs")
FINISHED = object()
"""A recovered run whose work was already checkpointed: nothing is left to execute."""
ESSENTIAL = frozenset({"message", "phase", "asset", "gate", "notice", "error", "done"})
"""The studio events a run keeps logging past its log budget (no tokens, progress, values)."""
OVER_BUDGET = {
    "level": "warning",
    "code": "event_log_full",
    "text": "This run wrote more events than the studio keeps for one run; token streaming "
    "and progress previews stop here (messages, gates and images still arrive).",
}


@dataclass(eq=False)
class RunHandle:
    """A run the manager is executing: its task, drain control and why it is being stopped."""

    run: dict[str, Any]
    control: RunControl = field(default_factory=RunControl)
    reason: str | None = None
    """`interrupt`, `rollback` or `shutdown` once someone stops it."""
    generating: bool = False
    """An image generation is running (stopping then cancels it rather than draining)."""
    finished: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None
    logged: int = 0
    """Characters of event data this process logged for the run (its log budget)."""
    checkpoint_id: str | None = None
    """The checkpoint the run starts from (time travel), if not the thread's latest."""
    final: dict[str, Any] | None = None
    """The last top-level `values` part of a stream that ran to its end: the state the run
    left (read from the checkpoint instead when the run stopped any other way)."""

    @property
    def thread_id(self) -> str:
        return str(self.run["thread_id"])

    @property
    def run_id(self) -> str:
        return str(self.run["run_id"])


def thread_status(*, busy: bool, interrupted: bool, failed: bool) -> str:
    """The one rule for a thread's status: `busy` while a run is queued or running,
    `interrupted` while a gate waits, `error` after a failed run, else `idle`."""
    if busy:
        return "busy"
    if interrupted:
        return "interrupted"
    return "error" if failed else "idle"


def error_payloads(exc: BaseException) -> tuple[dict[str, Any], dict[str, Any]]:
    """The protocol's `{error, message}` and the studio's `{code, message, retryable}`."""
    if isinstance(exc, StudioError):
        message, code, retryable = exc.message, exc.code, exc.retryable
    elif isinstance(exc, ValidationError):
        message, code, retryable = friendly_validation(exc), "invalid_input", False
    else:
        message, code, retryable = INTERNAL_MESSAGE, "internal", True
    return (
        {"error": type(exc).__name__, "message": message},
        {"code": code, "message": message, "retryable": retryable},
    )


class Runner:
    """Executes runs on the studio graph; every event goes through the event log."""

    def __init__(
        self, studio: Studio, log: EventLog, store: RunStore, *, max_log_bytes: int = 32 << 20
    ) -> None:
        self.studio = studio
        self.log = log
        self.store = store
        self.max_log_bytes = max_log_bytes
        """What one run may write to the event log before only essential events are kept."""
        self.on_media_request: ThreadMediaRequests | None = None
        """Turns a thread's `media_request` event into a Media Lab job (`engine/media_chat.py`)."""

    async def execute(self, handle: RunHandle) -> None:
        """Run to the end (success, gate, error, interrupt); only a shutdown leaves it open."""
        run = handle.run
        user = run.get("user_id")
        scope = runs.run_scope(
            thread_id=handle.thread_id, run_id=handle.run_id, user=user, attempt=run["attempt"]
        )
        with scope:  # its log lines, spans and metrics name the thread, run and user
            logger.info("run started (attempt %d)", run["attempt"])
            await self._execute(handle)

    async def _execute(self, handle: RunHandle) -> None:
        status, error = "success", None
        try:
            payload = await self._payload(handle)  # the claim marked it (and its thread)
            if handle.run["attempt"] > 0:
                await self._announce_resume(handle)
            if payload is not FINISHED:
                await self._stream(handle, payload)
        except GraphDrained:
            status = "interrupted"
        except asyncio.CancelledError:
            if handle.reason in (None, "shutdown"):
                raise  # the process is going away: the next start resumes this run
            current = asyncio.current_task()
            if current is not None:
                current.uncancel()
            status = "interrupted"
        except Exception as exc:
            status, error = "error", exc
            if not isinstance(exc, StudioError | ValidationError):
                logger.exception("run %s on thread %s failed", handle.run_id, handle.thread_id)
        try:
            await asyncio.shield(self.finish(handle, status, error))
        finally:
            handle.finished.set()

    async def _payload(self, handle: RunHandle) -> Any:
        run = handle.run
        kwargs = run["kwargs"]
        handle.checkpoint_id = kwargs.get("checkpoint_id")
        if run["attempt"] > 0:  # it was running when the process died
            graph = self.studio.graph_for(run["assistant_id"])
            snapshot = await graph.aget_state(Studio.config(run["thread_id"]))
            if (snapshot.metadata or {}).get("run_id") == run["run_id"]:
                handle.checkpoint_id = None  # on from its own last checkpoint
                return FINISHED if snapshot.interrupts or not work_left(snapshot) else None
        command = kwargs.get("command")
        if command and "resume" in command and run["attempt"] == 0:
            await self._gate_answered(handle)
        if command:
            return Command(**{k: v for k, v in command.items() if v is not None})
        return kwargs.get("input")

    async def _gate_answered(self, handle: RunHandle) -> None:
        """Observe how long the gate this run answers waited (from its `gate` event)."""
        try:
            found = await self.log.last(handle.thread_id, "gate")
        except Exception as exc:  # a metric is never worth failing a run
            logger.warning("gate wait not measured: %s", exc)
            return
        if found is not None:
            at, data = found
            runs.gate_answered(runs.gate_of(json.loads(data)), at)

    async def _announce_resume(self, handle: RunHandle) -> None:
        notice = {
            "level": "warning",
            "code": "resumed",
            "text": "The studio restarted and resumed this run from its last saved step; "
            "a message that was cut off starts over.",
            "run_id": handle.run_id,
        }
        await self.log.append(handle.thread_id, handle.run_id, "studio", "notice", dumps(notice))

    async def _stream(self, handle: RunHandle, payload: Any) -> None:
        tid, rid = handle.thread_id, handle.run_id
        kwargs = handle.run["kwargs"]
        if handle.checkpoint_id is not None:
            handle.checkpoint_id = await self.studio.fork(tid, handle.checkpoint_id, run_id=rid)
        requested: list[str] = kwargs.get("stream_mode") or ["values"]
        parts = self.studio.parts(
            tid,
            payload,
            modes=graph_modes(requested, [*STREAM_MODES, "values"]),
            run_id=rid,
            durability=kwargs.get("durability") or "sync",
            control=handle.control,
            checkpoint_id=handle.checkpoint_id,
            assistant_id=handle.run["assistant_id"],
        )
        final = None
        async for part in parts:
            if part.get("type") == "values" and not part.get("ns"):
                final = part
            # a subgraph's own parts reach the protocol stream only when the client asked
            inner = bool(part.get("ns")) and not kwargs.get("stream_subgraphs")
            # the top-level values at a gate are the run's last part: they go in the batch
            # that ends the run (`finish`), one write instead of two (#20 point 7)
            last = part is final and bool(part.get("interrupts"))
            for event, data in [] if inner else run_events(part, requested):
                await self._append(handle, "run", event, data, essential=False, hold=last)
            for studio_event in to_events(part):
                if studio_event.kind == "media_request" and self.on_media_request:
                    await self.on_media_request(handle, studio_event.data)
                if studio_event.kind == "progress":
                    handle.generating = True
                kind = studio_event.kind
                data = dumps(studio_event.data)
                await self._append(handle, "studio", kind, data, essential=kind in ESSENTIAL)
            if part.get("type") == "updates":
                if any(node != "generate" for node in part.get("data") or {}):
                    handle.generating = False
                await self.log.flush(tid)  # a node boundary: its events are durable now
        handle.final = final

    async def _append(
        self,
        handle: RunHandle,
        channel: str,
        event: str,
        data: str,
        *,
        essential: bool,
        hold: bool = False,
    ) -> None:
        """Log one event of the run, within its log budget: past it, only essential ones (and
        once, a notice saying so), so one run cannot fill the database."""
        budget_left = handle.logged <= self.max_log_bytes
        if not essential and not budget_left:
            return
        handle.logged += len(data)
        if budget_left and handle.logged > self.max_log_bytes:
            notice = dumps({**OVER_BUDGET, "run_id": handle.run_id})
            await self.log.append(handle.thread_id, handle.run_id, "studio", "notice", notice)
        await self.log.append(handle.thread_id, handle.run_id, channel, event, data, hold=hold)

    async def finish(self, handle: RunHandle, status: str, error: BaseException | None) -> None:
        """Record how the run ended (rolled back, if that is why it stopped), the thread's
        status, and the `done` and end events its followers wait for."""
        tid, rid = handle.thread_id, handle.run_id
        if handle.reason == "rollback":
            await self.store.rollback_checkpoints(tid, rid)
            await self.store.delete(rid)
            status = "rolled_back"
        values, interrupts = await self._final_state(handle, status)
        phase = str(values.get("phase", "created"))
        # recorded as the run leaves it; a run queued behind it marks the thread busy again
        recorded = thread_status(busy=False, interrupted=interrupts, failed=error is not None)
        if error is not None:
            protocol, studio = error_payloads(error)
            await self.log.append(tid, rid, "run", "error", dumps(protocol))
            await self.log.append(tid, rid, "studio", "error", dumps({**studio, "run_id": rid}))
        done = {"run_id": rid, "status": status, "thread_status": recorded}
        await self.log.append(tid, rid, "studio", "done", dumps({**done, "phase": phase}))
        await self.log.append(tid, rid, "control", "end", dumps({"status": status}))

        async def record(conn: Connection) -> None:
            await self.studio.threads.mark(tid, status=recorded, phase=phase, conn=conn)
            if status != "rolled_back":
                await self.store.set_status(rid, status, conn)

        # the end events, the run's status and the thread's commit together: a crash leaves
        # all or none of them, and it costs one round trip
        await self.log.flush(tid, then=record)
        runs.run_ended(status)
        logger.info("run ended: %s (thread %s)", status, recorded)

    async def _final_state(self, handle: RunHandle, status: str) -> tuple[dict[str, Any], bool]:
        """The state the run left and whether a gate waits: from its stream when it ran to
        the end, else from the latest checkpoint."""
        final = handle.final
        if status == "success" and final is not None and isinstance(final.get("data"), dict):
            return final["data"], bool(final.get("interrupts"))
        graph = self.studio.graph_for(handle.run["assistant_id"])
        snapshot = await graph.aget_state(self.studio.config(handle.thread_id))
        return snapshot.values or {}, bool(snapshot.interrupts)
