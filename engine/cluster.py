"""The link between studio processes sharing one Postgres: thread claims and notifications.

Two dedicated connections, outside the pool:

- the **claims** connection holds a session-level advisory lock per thread this process is
  executing. Postgres releases a session's locks when it ends, so the threads of a process that
  died (SIGKILL, lost host) become claimable by the others at once, with no lease to expire;
- the **listener** connection `LISTEN`s for what other processes do: events written to a
  thread's log (`studio_events`), requests to stop a run (`studio_control`) and deleted
  threads (`studio_forgotten`).

Notifications are an optimisation with a fallback: a periodic sweep finds unfinished runs no
process holds, and after the listener reconnects every follower re-reads the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import psycopg

from store.database import Pool

logger = logging.getLogger("studio.cluster")

EVENTS = "studio_events"
"""Payload `origin thread_id`: process `origin` wrote events of the thread (ids may hold
spaces, so the thread id comes last)."""
CONTROL = "studio_control"
"""Payload JSON `{thread_id, run_id, action, reason}`: stop a run, wherever it executes."""
FORGOTTEN = "studio_forgotten"
"""Payload `origin thread_id`: process `origin` deleted the thread (the others end its
followers too)."""
CLAIM_SPACE = 0x5354
"""First key of the two-key advisory locks that claim threads (a space of our own)."""


class ClaimsLost(Exception):
    """The claims connection broke: Postgres has released this process's thread claims."""


@dataclass(frozen=True, slots=True)
class Handlers:
    """What the listener calls; none may block (the awaitables are run as tasks)."""

    events: Callable[[str], None]
    """Another process wrote this thread's events."""
    control: Callable[[dict[str, Any]], Awaitable[None]]
    forgotten: Callable[[str], None]
    """Another process deleted this thread."""
    reconnected: Callable[[], None]
    """Notifications may have been missed: re-read everything."""
    sweep: Callable[[], Awaitable[object]]
    """Periodic: claim unfinished runs nobody holds."""
    claims_lost: Callable[[], Awaitable[None]]


class Cluster:
    """This process's membership: its claims, its listener and its sweep."""

    def __init__(self, pool: Pool, *, sweep_interval_s: float = 1.0) -> None:
        self.pool = pool
        self.sweep_interval_s = sweep_interval_s
        self.origin = uuid.uuid4().hex
        """Identifies this process in notifications (it ignores its own events)."""
        self._claims: psycopg.AsyncConnection[Any] | None = None
        self._claims_lock = asyncio.Lock()
        self._tasks: list[asyncio.Task[None]] = []
        self._background: set[asyncio.Task[None]] = set()

    async def start(self, handlers: Handlers) -> None:
        """Connect (claims first, so that nothing is claimed without them) and start listening."""
        self._claims = await self._connect("claims")
        listening = asyncio.Event()
        self._tasks = [
            asyncio.create_task(self._listen(handlers, listening)),
            asyncio.create_task(self._sweep(handlers)),
        ]
        await listening.wait()

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._claims is not None:
            await self._claims.close()  # releases every claim still held

    async def claim(self, thread_id: str) -> bool:
        """Claim the thread for this process, if no other process holds it (never waits).
        Claims nest: each successful claim needs one `release`."""
        try:
            row = await self._on_claims(
                "SELECT pg_try_advisory_lock(%s::int, hashtext(%s)) AS ok", thread_id
            )
        except ClaimsLost:
            return False  # the sweep reconnects, and claims it then
        return bool(row and row["ok"])

    async def release(self, thread_id: str) -> None:
        with contextlib.suppress(ClaimsLost):  # a broken connection has released it already
            await self._on_claims(
                "SELECT pg_advisory_unlock(%s::int, hashtext(%s)) AS ok", thread_id
            )

    async def stop_run(self, thread_id: str, run_id: str, *, action: str, reason: str) -> None:
        """Ask whichever process executes the run to stop it (`action`: `drain` at the next
        safe boundary or `cancel` now; `reason`: `interrupt` or `rollback`)."""
        payload = {"thread_id": thread_id, "run_id": run_id, "action": action, "reason": reason}
        async with self.pool.connection() as conn:
            await conn.execute("SELECT pg_notify(%s, %s)", [CONTROL, json.dumps(payload)])

    async def _on_claims(self, query: str, thread_id: str) -> dict[str, Any] | None:
        async with self._claims_lock:
            conn = self._claims
            if conn is None or conn.closed:
                raise ClaimsLost("no claims connection")
            try:
                cursor = await conn.execute(query, [CLAIM_SPACE, thread_id])
                row: dict[str, Any] | None = await cursor.fetchone()
                return row
            except psycopg.OperationalError as exc:
                raise ClaimsLost(str(exc)) from exc

    async def _connect(self, role: str) -> psycopg.AsyncConnection[Any]:
        """A connection like the pool's, outside it: its session outlives any checkout. Its
        `application_name` names the process, so `pg_stat_activity` shows who holds what."""
        conninfo, kwargs = self.pool.conninfo, self.pool.kwargs
        if not isinstance(conninfo, str) or not isinstance(kwargs, dict):
            raise TypeError("the cluster needs a pool with a fixed conninfo and kwargs")
        name = f"studio {role} pid={os.getpid()}"
        return await psycopg.AsyncConnection.connect(
            conninfo, **{**kwargs, "autocommit": True, "application_name": name}
        )

    async def _listen(self, handlers: Handlers, listening: asyncio.Event) -> None:
        delay = 0.1
        while True:
            try:
                async with await self._connect("listener") as conn:
                    await conn.execute(f"LISTEN {EVENTS}")
                    await conn.execute(f"LISTEN {CONTROL}")
                    await conn.execute(f"LISTEN {FORGOTTEN}")
                    if listening.is_set():
                        handlers.reconnected()
                    listening.set()
                    delay = 0.1
                    async for note in conn.notifies():
                        self._dispatch(handlers, note.channel, note.payload)
            except psycopg.Error as exc:
                logger.warning("listener lost its connection (%s); reconnecting", exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    def _dispatch(self, handlers: Handlers, channel: str, payload: str) -> None:
        if channel == CONTROL:
            self._spawn(handlers.control(json.loads(payload)))
            return
        origin, _, thread_id = payload.partition(" ")
        if origin == self.origin:
            return  # this process acted on its own already
        if channel == EVENTS:
            handlers.events(thread_id)
        elif channel == FORGOTTEN:
            handlers.forgotten(thread_id)

    async def _sweep(self, handlers: Handlers) -> None:
        while True:
            await asyncio.sleep(self.sweep_interval_s)
            try:
                await self._check_claims()
            except ClaimsLost as exc:
                logger.error("lost the claims connection (%s); stopping local runs", exc)
                await handlers.claims_lost()
                with contextlib.suppress(psycopg.OperationalError):
                    await self._reconnect_claims()
                continue
            try:
                await handlers.sweep()
            except psycopg.Error as exc:
                logger.warning("sweep for unclaimed runs failed: %s", exc)
            except Exception:  # the sweep is the fallback of everything: it must keep going
                logger.exception("sweep for unclaimed runs failed")

    async def _check_claims(self) -> None:
        async with self._claims_lock:
            conn = self._claims
            try:
                if conn is None or conn.closed:
                    raise ClaimsLost("no claims connection")
                await conn.execute("SELECT 1")
            except psycopg.OperationalError as exc:
                raise ClaimsLost(str(exc)) from exc

    async def _reconnect_claims(self) -> None:
        async with self._claims_lock:
            if self._claims is not None:
                await self._claims.close()
            self._claims = await self._connect("claims")

    def _spawn(self, work: Awaitable[None]) -> None:
        async def run() -> None:
            try:
                await work
            except Exception:
                logger.exception("handling a control notification failed")

        task = asyncio.create_task(run())
        self._background.add(task)
        task.add_done_callback(self._background.discard)
