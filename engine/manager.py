"""The run manager: one task per run, one queue per thread, interjection, cancel, recovery.

Several processes may share one Postgres. A process executes a thread's runs only while it
holds the thread's claim (`engine/cluster.py`); requests that concern a run executing elsewhere
reach that process as a notification and are handled there exactly as local ones are.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from dataclasses import dataclass
from typing import Any

from adapters.errors import NotFound
from engine.cluster import Cluster, Handlers
from engine.eventlog import EventLog
from engine.runner import RunHandle, Runner, thread_status
from engine.serde import dumps
from engine.settings import Settings
from engine.store import RunStore, Then
from engine.studio import Studio, ThreadView, work_left
from store.database import Connection
from telemetry import traces

logger = logging.getLogger("studio.runs")


class RunManager:
    """Owns every run this process executes. Runs outlive the requests that created them; a
    thread runs one at a time, in creation order (the `runs` table is the queue, so a restart,
    or another process, resumes it)."""

    def __init__(
        self,
        studio: Studio,
        log: EventLog,
        store: RunStore,
        cluster: Cluster,
        *,
        drain_grace_s: float = 10.0,
        max_run_log_bytes: int = 32 << 20,
        adopt: Collection[str] | None = None,
    ) -> None:
        self.studio = studio
        self.log = log
        self.store = store
        self.cluster = cluster
        self.runner = Runner(studio, log, store, max_log_bytes=max_run_log_bytes)
        self.drain_grace_s = drain_grace_s
        """How long an interjection waits for the running node to finish before cancelling."""
        self._active: dict[str, RunHandle] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        """Per thread, while someone holds or waits on it."""
        self._closing = False
        self._background: set[asyncio.Task[None]] = set()
        self._adopted: set[str] | None = None if adopt is None else set(adopt)
        """Threads whose orphaned runs this process takes over (None: every thread, as a
        server does; a CLI process takes only the threads it works on)."""

    def active(self, thread_id: str) -> RunHandle | None:
        return self._active.get(thread_id)

    def adopt(self, thread_id: str) -> None:
        """Take over the thread's runs when the process executing them dies (and now, if it
        already has): a CLI process does this for the thread it drives or follows."""
        if self._adopted is not None:
            self._adopted.add(thread_id)

    async def busy(self, thread_id: str) -> bool:
        """Whether the thread has a run queued or running (in any process)."""
        return self.active(thread_id) is not None or await self.store.any_unfinished(thread_id)

    async def status(self, thread_id: str, *, interrupted: bool, recorded: str | None) -> str:
        """The thread's status (`thread_status`, the one rule), from its runs, whether a gate
        waits and the status its last run recorded (`error` after a failed run)."""
        busy = await self.busy(thread_id)
        return thread_status(busy=busy, interrupted=interrupted, failed=recorded == "error")

    async def view(self, thread_id: str) -> ThreadView:
        """Where the thread stands now (empty values for an unknown thread)."""
        snapshot = await self.studio.graph.aget_state(self.studio.config(thread_id))
        values = dict(snapshot.values or {})
        interrupts = [{"id": i.id, "value": i.value} for i in snapshot.interrupts]
        record = await self.studio.threads.get(thread_id)
        status = await self.status(
            thread_id,
            interrupted=bool(interrupts),
            recorded=record.get("status") if record else None,
        )
        phase = str(values.get("phase", "created"))
        return ThreadView(thread_id, status, phase, values, interrupts, work_left(snapshot))

    async def stop(self, thread_id: str) -> list[str]:
        """Stop the thread's work, wherever it executes: queued runs end unstarted, the
        running one stops at the next safe point (a running image generation is cancelled at
        once). Returns once they have ended; the ids of the runs stopped."""
        stopped = []
        for run in await self.store.unfinished(thread_id):
            rid = run["run_id"]
            if run["status"] == "pending":
                await self.cancel(thread_id, rid, action="interrupt", wait=True)
            else:
                await self._stop(run, "interrupt")
            stopped.append(str(rid))
        return stopped

    async def submit(
        self,
        thread_id: str,
        *,
        assistant_id: str,
        kwargs: dict[str, Any],
        metadata: dict[str, Any],
        strategy: str,
        idempotency_key: str | None = None,
        request_hash: str | None = None,
        gate: Callable[[Connection], Awaitable[None]] | None = None,
        then: Then | None = None,
    ) -> dict[str, Any]:
        """Queue a run on the thread, applying `strategy` when the thread is busy; returns
        once a run it interrupts has stopped. `gate` may refuse it, `then` runs in its
        transaction once it is queued (`RunStore.submit`)."""
        async with self._lock(thread_id):
            # start the worker first: its claim (a round trip on the claims connection)
            # overlaps the submit, and it waits for this lock before it looks for a run
            self._ensure_worker(thread_id)
            submitted = await self.store.submit(
                thread_id,
                assistant_id=assistant_id,
                kwargs=kwargs,
                metadata=metadata,
                strategy=strategy,
                idempotency_key=idempotency_key,
                request_hash=request_hash,
                gate=gate,
                then=then,
            )
            for dropped in submitted.dropped:
                await self._end_unstarted(dropped)
        if submitted.running is not None:
            await self._stop(submitted.running, strategy)
        return submitted.run

    async def cancel(self, thread_id: str, run_id: str, *, action: str, wait: bool) -> None:
        """Stop a run now (a running generation is cancelled, never orphaned)."""
        handle = self._active.get(thread_id)
        if handle is not None and handle.run_id == run_id:
            self._cancel_handle(handle, action)
            if wait:
                await handle.finished.wait()
            return
        run = await self.store.get(thread_id, run_id)
        if run is None:
            raise NotFound("Run not found")
        if run["status"] == "pending":
            if await self.store.drop_pending(run_id, rollback=action == "rollback"):
                await self._end_unstarted(run)
                return
            run = await self.store.get(thread_id, run_id)  # a process has just started it
        if (
            run is not None
            and run["status"] == "running"
            and not await self._end_orphan(run, action)
        ):
            await self.cluster.stop_run(thread_id, run_id, action="cancel", reason=action)
            if wait:
                await self._ended_within_patience(thread_id, run_id)

    def cancel_soon(self, thread_id: str, run_id: str) -> None:
        """Cancel from sync code (a stream whose client left, with `on_disconnect: cancel`)."""
        task = asyncio.create_task(self.cancel(thread_id, run_id, action="interrupt", wait=False))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def on_control(self, message: dict[str, Any]) -> None:
        """A stop request from any process (this one included); only the process executing the
        run acts on it. The thread lock orders it after a claim that is still being recorded."""
        thread_id, run_id = message["thread_id"], message["run_id"]
        async with self._lock(thread_id):
            handle = self._active.get(thread_id)
        if handle is None or handle.run_id != run_id:
            return
        if message["action"] == "cancel":
            self._cancel_handle(handle, message["reason"])
        else:
            await self._stop_handle(handle, message["reason"])

    async def recover(self) -> int:
        """At startup: resume the unfinished runs no process holds; returns how many threads."""
        found = await self.sweep()
        if found:
            logger.info("resuming the unfinished runs of %d thread(s)", found)
        return found

    async def sweep(self) -> int:
        """Start a worker for each thread with unfinished runs that no process has claimed
        (its process died, or this one restarted); the cluster calls this periodically."""
        thread_ids = await self.store.unclaimed_threads()
        if self._adopted is not None:
            thread_ids = [t for t in thread_ids if t in self._adopted]
        for thread_id in thread_ids:
            self._ensure_worker(thread_id)
        return len(thread_ids)

    async def claims_lost(self) -> None:
        """Postgres released this process's claims: stop executing at once, leaving the runs
        `running`, so whichever process claims the threads next resumes them."""
        await self._stop_workers()

    async def close(self) -> None:
        """Stop every run without recording an end: the next start resumes them."""
        self._closing = True
        await self._stop_workers()
        await self.log.close()

    async def _stop_workers(self) -> None:
        workers = list(self._workers.values())
        for worker in workers:
            worker.cancel()
        for worker in workers:
            with contextlib.suppress(asyncio.CancelledError):
                await worker

    def _ensure_worker(self, thread_id: str) -> None:
        worker = self._workers.get(thread_id)
        if not self._closing and (worker is None or worker.done()):
            self._workers[thread_id] = asyncio.create_task(self._work(thread_id))

    async def _work(self, thread_id: str) -> None:
        """Claim the thread and run its queue, a run per claim; leave it to the claim's holder
        otherwise. After releasing, look again: a run queued meanwhile (here, or by another
        process that found the thread claimed) is this worker's to start."""
        me = asyncio.current_task()
        try:
            while not self._closing and await self._claim(thread_id):
                try:
                    await self._drain(thread_id)
                finally:
                    await asyncio.shield(self.cluster.release(thread_id))
                async with self._lock(thread_id):
                    if self._closing or not await self.store.any_unfinished(thread_id):
                        return
        finally:
            if self._workers.get(thread_id) is me:
                del self._workers[thread_id]

    async def _claim(self, thread_id: str) -> bool:
        """Claim the thread. A worker may start while its run is still being submitted: when
        another process holds the claim, try again once the submit is done, so that either
        this worker gets it or the holder, which looks for runs after releasing, sees the run.
        """
        if await self.cluster.claim(thread_id):
            return True
        async with self._lock(thread_id):
            pass
        return await self.cluster.claim(thread_id)

    async def _drain(self, thread_id: str) -> None:
        """Execute the thread's next run, if it has one. One run per claim: `_work` then
        releases the claim and looks for more runs, which it must do anyway (another process
        may have queued one meanwhile), so the usual run, which ends at a gate with nothing
        queued, costs no second `claim_next` that finds nothing (#20 point 7)."""
        async with self._lock(thread_id):
            run = None if self._closing else await self.store.claim_next(thread_id)
            if run is None:
                return
            handle = RunHandle(run)
            handle.task = asyncio.create_task(self.runner.execute(handle))
            self._active[thread_id] = handle
        try:
            await asyncio.wait({handle.task})
        except asyncio.CancelledError:
            handle.reason = handle.reason or "shutdown"
            handle.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await handle.task
            raise
        finally:
            if self._active.get(thread_id) is handle:
                del self._active[thread_id]
        if not handle.task.cancelled() and (exc := handle.task.exception()) is not None:
            logger.error("run %s could not be finished: %r", handle.run_id, exc)
            await asyncio.sleep(1.0)  # e.g. the database is away: retry, don't spin

    async def _stop(self, run: dict[str, Any], reason: str) -> None:
        """Stop a running run for an interjection (`reason`: interrupt or rollback), here or in
        the process that executes it, and wait until it has stopped."""
        handle = self._active.get(run["thread_id"])
        if handle is not None and handle.run_id == run["run_id"]:
            await self._stop_handle(handle, reason)
            return
        if await self._end_orphan(run, reason):
            return
        await self.cluster.stop_run(run["thread_id"], run["run_id"], action="drain", reason=reason)
        await self._ended_within_patience(run["thread_id"], run["run_id"])

    async def _end_orphan(self, run: dict[str, Any], reason: str) -> bool:
        """End, here, a run that no process executes (its process died and the sweep has not
        claimed it yet), as its process would have: otherwise the sweep would resume it."""
        if not await self.store.end_orphan(run["run_id"]):
            return False
        logger.info("run %s was left by a process that died; ending it here", run["run_id"])
        handle = RunHandle(run)
        handle.reason = reason
        await self.runner.finish(handle, "interrupted", None)
        return True

    async def _ended_within_patience(self, thread_id: str, run_id: str) -> None:
        """Wait for a run stopping in another process: its drain grace and then some. Past
        that its process has died, and the process that recovers the run finishes it."""
        patience = 2 * self.drain_grace_s + 10
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._ended(thread_id, run_id), patience)

    async def _stop_handle(self, handle: RunHandle, reason: str) -> None:
        """Stop the running run at the next safe boundary (between nodes); a running image
        generation is cancelled at once. Waits until it has stopped."""
        if handle.task is None:
            return
        handle.reason = reason
        if handle.generating:
            handle.task.cancel()
        else:
            handle.control.request_drain(reason)
        try:
            await asyncio.wait_for(asyncio.shield(handle.finished.wait()), self.drain_grace_s)
        except TimeoutError:
            handle.task.cancel()
            await handle.finished.wait()

    @staticmethod
    def _cancel_handle(handle: RunHandle, reason: str) -> None:
        handle.reason = reason
        if handle.task is not None:
            handle.task.cancel()

    async def _ended(self, thread_id: str, run_id: str) -> None:
        """Wait for the run's end marker in the log (written by whichever process ran it)."""
        async for _ in self.log.follow(thread_id, 0, channels=("control",), run_id=run_id):
            return

    async def _end_unstarted(self, run: dict[str, Any]) -> None:
        tid, rid = run["thread_id"], run["run_id"]
        await self.log.append(tid, rid, "control", "end", dumps({"status": "interrupted"}))
        await self.log.flush(tid)

    def _lock(self, thread_id: str) -> asyncio.Lock:
        return self._locks.setdefault(thread_id, asyncio.Lock())


@dataclass(frozen=True)
class Engine:
    """The run engine of one process: its runs table, event log, cluster membership and run
    manager. `studio serve` and every CLI command use it alike."""

    log: EventLog
    store: RunStore
    cluster: Cluster
    manager: RunManager


@contextlib.asynccontextmanager
async def open_engine(
    studio: Studio, settings: Settings, *, adopt: Collection[str] | None = None
) -> AsyncIterator[Engine]:
    """Join the cluster on the studio's database and run the engine; on exit, stop this
    process's runs without recording an end (whichever process claims them next resumes
    them). `adopt=None` (a server): take over any thread's orphaned runs, now and whenever a
    process dies; otherwise only those of the threads adopted (a CLI process)."""
    pool = studio.threads.pool
    endpoint, service = settings.otel_exporter_otlp_endpoint, settings.otel_service_name
    tracing = traces.configure(endpoint, service_name=service) if endpoint else None
    cluster = Cluster(pool)
    log = EventLog(pool, origin=cluster.origin)
    store = RunStore(pool)
    manager = RunManager(
        studio,
        log,
        store,
        cluster,
        drain_grace_s=settings.interject_grace_s,
        max_run_log_bytes=settings.max_run_log_bytes,
        adopt=adopt,
    )
    await cluster.start(
        Handlers(
            events=log.written_elsewhere,
            control=manager.on_control,
            forgotten=log.forgotten,
            reconnected=log.missed,
            sweep=manager.sweep,
            claims_lost=manager.claims_lost,
        )
    )
    try:
        if adopt is None:
            await manager.recover()
        yield Engine(log, store, cluster, manager)
    finally:
        try:
            await manager.close()
        finally:
            try:
                await cluster.close()
            finally:
                if tracing is not None:
                    traces.shutdown()  # sends the spans still buffered
