"""The run manager: one task per run, one queue per thread, interjection, cancel, recovery."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from api.errors import Conflict, NotFound
from api.eventlog import EventLog
from api.runner import RunHandle, Runner
from api.runstore import RunStore
from api.serde import dumps
from api.studio import Studio

logger = logging.getLogger("studio.runs")


class RunManager:
    """Owns every run of this process. Runs outlive the requests that created them; a thread
    runs one at a time, in creation order (the `runs` table is the queue, so a restart
    resumes it)."""

    def __init__(
        self, studio: Studio, log: EventLog, store: RunStore, *, drain_grace_s: float = 10.0
    ) -> None:
        self.studio = studio
        self.log = log
        self.store = store
        self.runner = Runner(studio, log, store)
        self.drain_grace_s = drain_grace_s
        """How long an interjection waits for the running node to finish before cancelling."""
        self._active: dict[str, RunHandle] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._closing = False
        self._background: set[asyncio.Task[None]] = set()

    def active(self, thread_id: str) -> RunHandle | None:
        return self._active.get(thread_id)

    async def submit(
        self,
        thread_id: str,
        *,
        assistant_id: str,
        kwargs: dict[str, Any],
        metadata: dict[str, Any],
        strategy: str,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Queue a run on the thread, applying `strategy` when the thread is busy."""
        async with self._lock(thread_id):
            waiting = await self.store.unfinished(thread_id)
            busy = bool(waiting) or thread_id in self._active
            if busy and strategy == "reject" and idempotency_key is None:
                raise Conflict("Thread is already running a task. Wait for it or interject.")
            run, created = await self.store.create(
                thread_id,
                assistant_id=assistant_id,
                kwargs=kwargs,
                metadata=metadata,
                multitask_strategy=strategy,
                idempotency_key=idempotency_key,
            )
            if not created:
                return run
            if busy and strategy == "reject":
                await self.store.delete(run["run_id"])
                raise Conflict("Thread is already running a task. Wait for it or interject.")
            if busy and strategy in ("interrupt", "rollback"):
                for older in waiting:
                    if older["status"] == "pending":
                        await self._drop_pending(older, rollback=strategy == "rollback")
                await self._stop_active(thread_id, strategy)
            self._ensure_worker(thread_id)
            return run

    async def cancel(self, thread_id: str, run_id: str, *, action: str, wait: bool) -> None:
        """Stop a run now (a running generation is cancelled, never orphaned)."""
        handle = self._active.get(thread_id)
        if handle is not None and handle.run_id == run_id:
            handle.reason = action
            if handle.task is not None:
                handle.task.cancel()
            if wait:
                await handle.finished.wait()
            return
        run = await self.store.get(thread_id, run_id)
        if run is None:
            raise NotFound("Run not found")
        if run["status"] == "pending":
            await self._drop_pending(run, rollback=action == "rollback")

    def cancel_soon(self, thread_id: str, run_id: str) -> None:
        """Cancel from sync code (a stream whose client left, with `on_disconnect: cancel`)."""
        task = asyncio.create_task(self.cancel(thread_id, run_id, action="interrupt", wait=False))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def recover(self) -> int:
        """Start the runs a previous process left pending or running; returns how many."""
        runs = await self.store.unfinished()
        for thread_id in dict.fromkeys(r["thread_id"] for r in runs):
            self._ensure_worker(thread_id)
        if runs:
            logger.info("resuming %d unfinished run(s) after a restart", len(runs))
        return len(runs)

    async def close(self) -> None:
        """Stop every run without recording an end: the next start resumes them."""
        self._closing = True
        for handle in list(self._active.values()):
            handle.reason = "shutdown"
            if handle.task is not None:
                handle.task.cancel()
        workers = list(self._workers.values())
        for worker in workers:
            worker.cancel()
        for worker in workers:
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        await self.log.close()

    def _ensure_worker(self, thread_id: str) -> None:
        worker = self._workers.get(thread_id)
        if not self._closing and (worker is None or worker.done()):
            self._workers[thread_id] = asyncio.create_task(self._work(thread_id))

    async def _work(self, thread_id: str) -> None:
        while True:
            async with self._lock(thread_id):
                run = await self.store.next_pending(thread_id)
                if run is None or self._closing:
                    self._workers.pop(thread_id, None)
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

    async def _stop_active(self, thread_id: str, reason: str) -> None:
        """Stop the running run at the next safe boundary (between nodes); a running image
        generation is cancelled at once. Waits until it has stopped."""
        handle = self._active.get(thread_id)
        if handle is None or handle.task is None:
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

    async def _drop_pending(self, run: dict[str, Any], *, rollback: bool) -> None:
        tid, rid = run["thread_id"], run["run_id"]
        if rollback:
            await self.store.delete(rid)
        else:
            await self.store.set_status(rid, "interrupted")
        await self.log.append(tid, rid, "control", "end", dumps({"status": "interrupted"}))
        await self.log.flush(tid)

    def _lock(self, thread_id: str) -> asyncio.Lock:
        return self._locks.setdefault(thread_id, asyncio.Lock())
