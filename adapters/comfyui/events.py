"""The one long-lived ComfyUI websocket: reconnects with backoff and routes events per prompt."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus, WebSocketException

from adapters.comfyui.frames import Preview, decode_frame

logger = logging.getLogger(__name__)

_FEATURE_FLAGS = json.dumps({"type": "feature_flags", "data": {"supports_preview_metadata": True}})


@dataclass(frozen=True)
class Event:
    """One thing a prompt's waiter should know: a ComfyUI message, a preview, or link news.

    `kind` is the ComfyUI message type, or `preview`, `connected`, `disconnected`, `cancelled`.
    """

    kind: str
    data: Mapping[str, Any] = field(default_factory=dict)
    preview: Preview | None = None


class EventStream:
    """One websocket per process with a stable client id, shared by every job.

    Per-prompt events only reach the socket registered under the prompt's `client_id`
    (gotcha 1). Reconnecting with the same id is safe only if the old socket is closed first:
    the server drops the id when the *old* socket closes, silencing the new one
    (`h_late_connect.json`), so this stream never has two sockets open at once.
    """

    def __init__(
        self,
        url: str,
        *,
        headers: Mapping[str, str],
        open_timeout_s: float,
        reconnect_max_s: float,
    ) -> None:
        self._url = url
        self._headers = dict(headers)
        self._open_timeout_s = open_timeout_s
        self._reconnect_max_s = reconnect_max_s
        self._subscribers: dict[str, set[asyncio.Queue[Event]]] = {}
        self._task: asyncio.Task[None] | None = None
        self._ws: ClientConnection | None = None
        self._attempted = asyncio.Event()
        self._closing = False
        self._refused = False
        self.connections = 0
        """How many times the socket has connected; a change means events may have been missed."""
        self.current_prompt: str | None = None
        """The prompt the server is running for us, for frames that carry no prompt id."""

    @property
    def connected(self) -> bool:
        """Whether the socket is open right now."""
        return self._ws is not None

    async def start(self) -> bool:
        """Start the socket if needed and wait for the first connection attempt to finish."""
        if self._task is None or self._task.done():
            self._closing = False
            self._attempted.clear()
            self._task = asyncio.create_task(self._run(), name="comfyui-events")
        await self._attempted.wait()
        return self.connected

    def subscribe(self, prompt_id: str) -> asyncio.Queue[Event]:
        """A queue receiving this prompt's events, plus link events; `unsubscribe` when done."""
        queue: asyncio.Queue[Event] = asyncio.Queue()
        self._subscribers.setdefault(prompt_id, set()).add(queue)
        return queue

    def unsubscribe(self, prompt_id: str, queue: asyncio.Queue[Event]) -> None:
        """Stop routing events to `queue`."""
        queues = self._subscribers.get(prompt_id)
        if queues is not None:
            queues.discard(queue)
            if not queues:
                del self._subscribers[prompt_id]

    def notify(self, prompt_id: str, event: Event) -> None:
        """Deliver a locally made event (e.g. `cancelled`) to a prompt's subscribers."""
        for queue in self._subscribers.get(prompt_id, ()):
            queue.put_nowait(event)

    async def reconnect(self) -> None:
        """Close the socket so that the run loop opens a fresh one (close first, then open)."""
        ws = self._ws
        if ws is not None:
            await ws.close()

    async def aclose(self) -> None:
        """Close the socket and stop reconnecting."""
        self._closing = True
        if self._ws is not None:
            await self._ws.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        delay = 0.0
        while not self._closing:
            try:
                # max_size=None: a full-size preview frame exceeds the 1 MiB default and makes
                # the client itself close with 1009 (`m_misc.json`).
                async with connect(
                    self._url,
                    additional_headers=self._headers,
                    open_timeout=self._open_timeout_s,
                    max_size=None,
                ) as ws:
                    # Only the first client frame counts as feature negotiation (§6); it turns
                    # previews into type-4 frames that name their prompt.
                    await ws.send(_FEATURE_FLAGS)
                    # After a drop, wait a moment before reopening so the server has finished
                    # unregistering the old socket (the same-client-id trap above).
                    self._ws, delay, self._refused = ws, 0.1, False
                    self.connections += 1
                    self._attempted.set()
                    self._broadcast(Event("connected", {"connections": self.connections}))
                    async for message in ws:
                        self._dispatch(message)
            except InvalidStatus as exc:
                # Once per streak: retries continue (a fixed token or proxy needs no restart).
                log = logger.debug if self._refused else logger.error
                log("ComfyUI refused the websocket: %s (check the ComfyUI token)", exc)
                self._refused = True
            except (OSError, TimeoutError, WebSocketException) as exc:
                logger.debug("ComfyUI websocket: %r", exc)
            finally:
                was_open, self._ws = self._ws is not None, None
                self._attempted.set()
                if was_open:
                    self._broadcast(Event("disconnected"))
            if self._closing:
                return
            await asyncio.sleep(delay)
            delay = min(self._reconnect_max_s, max(0.1, delay * 2))

    def _broadcast(self, event: Event) -> None:
        for queues in self._subscribers.values():
            for queue in queues:
                queue.put_nowait(event)

    def _dispatch(self, message: str | bytes) -> None:
        if isinstance(message, bytes):
            frame = decode_frame(message)
            if isinstance(frame, Preview):
                # Type-1 frames carry no prompt id: they belong to the prompt running last.
                target = frame.prompt_id or self.current_prompt
                if target:
                    self.notify(target, Event("preview", preview=frame))
            return
        try:
            parsed = json.loads(message)
            kind, data = str(parsed["type"]), parsed.get("data") or {}
        except (ValueError, KeyError, TypeError):
            return
        if kind == "status":
            self._broadcast(Event(kind, data))
            return
        prompt_id = data.get("prompt_id")
        if prompt_id is None and kind == "executing":
            # On (re)connect the server repeats the running node without a prompt id (gotcha 3).
            prompt_id = self.current_prompt
        if prompt_id is None:
            return
        if kind in ("execution_start", "executing", "progress"):
            self.current_prompt = prompt_id
        self.notify(prompt_id, Event(kind, data))
        if kind == "executing" and data.get("node") is None and self.current_prompt == prompt_id:
            self.current_prompt = None
