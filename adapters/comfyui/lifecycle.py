"""Following one prompt to its end: events, progress, reconciliation and stall detection."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

from adapters.comfyui.client import ComfyUIClient, QueueEntry
from adapters.comfyui.events import Event
from adapters.comfyui.frames import as_png
from adapters.comfyui.progress import ProgressTracker
from adapters.errors import GenerationCancelled, GenerationFailed
from adapters.images import ProgressFn

logger = logging.getLogger(__name__)


class GenerationStalled(GenerationFailed):
    """A running prompt went silent for two stall windows, even after a fresh socket."""


@dataclass(frozen=True)
class Finished:
    """The prompt is in history (succeeded, failed or was interrupted)."""

    entry: dict[str, Any]


@dataclass(frozen=True)
class Queued:
    """The prompt is pending or running."""

    entry: QueueEntry


@dataclass(frozen=True)
class Absent:
    """The server knows nothing of the prompt: never queued, deleted, or lost in a restart."""

    after_reconnect: bool = False


JobState = Finished | Queued | Absent


async def reconcile(client: ComfyUIClient, prompt_id: str) -> JobState:
    """Where a prompt stands, from `/queue` then `/history/{id}`.

    The queue is read first: a prompt leaves it only after its history entry is written, so a
    prompt missing from both was never there (or was deleted), never "in between".
    """
    for entry in await client.queue():
        if entry.prompt_id == prompt_id:
            return Queued(entry)
    history = await client.history(prompt_id)
    return Finished(history) if history else Absent()


async def cancel_prompt(client: ComfyUIClient, prompt_id: str, *, within_s: float) -> None:
    """Take one prompt off the server: delete it if pending, interrupt it by id if running,
    then delete its history entry once it has left the queue. Other prompts are untouched.
    """
    loop = asyncio.get_running_loop()
    deadline, interrupted = loop.time() + within_s, False
    while True:
        entry = next((e for e in await client.queue() if e.prompt_id == prompt_id), None)
        if entry is None:
            break
        if loop.time() > deadline:
            logger.warning(
                "ComfyUI prompt %s is still queued %ss after cancel", prompt_id, within_s
            )
            return
        if not entry.running:
            await client.delete_queued([prompt_id])
        elif not interrupted:
            # Targeted: a bare /interrupt stops whatever runs, maybe another thread's job.
            await client.interrupt(prompt_id)
            interrupted = True
        # A pending item may have started meanwhile; an interrupt lands at the next node
        # boundary (f_interrupt.json) and only then is the history entry written.
        await asyncio.sleep(0.05)
    await client.delete_history([prompt_id])


class PromptLocks:
    """One lock per prompt id, dropped when nobody holds or awaits it."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, list[int]]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, prompt_id: str) -> AsyncIterator[None]:
        """Hold the prompt's lock for the duration of the block."""
        lock, users = self._locks.setdefault(prompt_id, (asyncio.Lock(), [0]))
        users[0] += 1
        try:
            async with lock:
                yield
        finally:
            users[0] -= 1
            if not users[0]:
                del self._locks[prompt_id]


class JobWatch:
    """Waits for one prompt to finish, reporting progress and previews as events arrive.

    `executing` with `node: null` is the one terminal signal (success, error or interrupt);
    the outcome is then read from `/history/{id}`, which is written before it (§7). Without
    events to expect (socket down, or the prompt belongs to another client id after a crash)
    the watch polls instead. A running prompt that stays silent for `stall_s` gets a fresh
    socket (a silent one may have been unregistered, gotcha 4); silent for a second window, it
    is declared stalled.
    """

    def __init__(
        self,
        client: ComfyUIClient,
        prompt_id: str,
        events: asyncio.Queue[Event],
        workflow: Mapping[str, Any],
        on_progress: ProgressFn,
        *,
        streaming: bool,
        stall_s: float,
        poll_s: float,
    ) -> None:
        self._client = client
        self._prompt_id = prompt_id
        self._events = events
        self._tracker = ProgressTracker(workflow)
        self._on_progress = on_progress
        self._streaming = streaming
        self._stall_s = stall_s
        self._poll_s = poll_s
        self._started = False

    async def run(self) -> dict[str, Any] | Absent:
        """The finished history entry, or `Absent` when the prompt vanished from the server."""
        loop = asyncio.get_running_loop()
        connections = self._client.events.connections
        reconnected = False
        last_heard, stalls = loop.time(), 0
        while True:
            live = self._streaming and self._client.events.connected
            wait_s = last_heard + self._stall_s - loop.time() if live else self._poll_s
            event = await self._next(wait_s)
            if event is not None:
                if event.kind == "cancelled":
                    raise GenerationCancelled("The generation was cancelled.")
                if event.kind == "connected":
                    reconnected = reconnected or event.data.get("connections", 0) > connections
                elif event.kind == "disconnected":
                    continue
                elif event.kind == "status":
                    # A pending prompt deleted by someone else emits nothing but `status`.
                    if self._started:
                        continue
                else:
                    if "prompt_id" in event.data or event.kind == "preview":
                        # Not the node repeated on (re)connect: that is a replay, not progress.
                        last_heard, stalls = loop.time(), 0
                    if not self._apply(event):
                        continue
                    entry = await self._history_after_terminal()
                    if entry is not None:
                        return entry
            state = await reconcile(self._client, self._prompt_id)
            if isinstance(state, Finished):
                return state.entry
            if isinstance(state, Absent):
                return Absent(after_reconnect=reconnected)
            if state.entry.running:
                self._started = True
                if event is None and live:
                    stalls += 1
                    if stalls >= 2:
                        raise GenerationStalled(
                            f"ComfyUI has been running this generation without a sign of life "
                            f"for {2 * self._stall_s:.0f} s; it was stopped. Check the ComfyUI "
                            "console, then try again."
                        )
                    await self._client.events.reconnect()
            if event is None:
                last_heard = loop.time()

    async def _next(self, wait_s: float) -> Event | None:
        # Not asyncio.wait_for: on 3.11 it swallows a cancellation that lands just as the get
        # completes, and events arrive every few ms, so a stopped run would carry on.
        try:
            async with asyncio.timeout(max(0.0, wait_s)):
                return await self._events.get()
        except TimeoutError:
            return None

    async def _history_after_terminal(self) -> dict[str, Any] | None:
        # History is written before `executing: null` is sent (§7); the retries only guard
        # against a proxy reordering, and fall back to a full reconciliation.
        for delay in (0.0, 0.05, 0.2):
            await asyncio.sleep(delay)
            entry = await self._client.history(self._prompt_id)
            if entry is not None:
                return entry
        return None

    def _apply(self, event: Event) -> bool:
        """Update progress from one event; True for the terminal `executing: null`."""
        data, grew = event.data, False
        if event.kind == "execution_start":
            self._started = True
        elif event.kind == "execution_cached":
            grew = self._tracker.cached(str(n) for n in data.get("nodes") or [])
        elif event.kind == "executing":
            if data.get("node") is None:
                return True
            self._started = True
            grew = self._tracker.executing(str(data["node"]))
        elif event.kind == "progress":
            value, maximum = int(data.get("value") or 0), int(data.get("max") or 0)
            grew = self._tracker.step(str(data.get("node")), value, maximum)
        elif event.kind == "executed":
            grew = self._tracker.executed(str(data.get("node")))
        elif event.kind == "preview" and event.preview is not None:
            png = as_png(event.preview)
            if png is not None:
                self._on_progress(self._tracker.fraction, png)
        if grew:
            self._on_progress(self._tracker.fraction, None)
        return False
