"""Media Lab jobs asked for in a studio thread: the interjection node's `media_request` event
("upscale hero-b 2x" on the deliverable's current image) becomes a job of the thread's owner.

Who may: the same rule as the `/media` routes (admins; creators with STUDIO_MEDIA_LAB). What
happens is said in the thread as a `notice`; a refusal never fails the studio run."""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import TYPE_CHECKING, Any

from adapters.errors import StudioError
from engine.media_jobs import Actor
from engine.media_requests import JobRequest
from engine.serde import dumps
from people import accounts

if TYPE_CHECKING:
    from engine.eventlog import EventLog
    from engine.media_lab import MediaLab
    from engine.runner import RunHandle

logger = logging.getLogger("studio.media")
_NAMESPACE = uuid.UUID("4b9a3c52-7d0e-4b6f-9a51-0c2f7d3e8a11")


class ThreadMediaRequests:
    """The run engine's hook for `media_request` events."""

    def __init__(self, lab: MediaLab, log: EventLog, access: str) -> None:
        self.lab, self.log, self.access = lab, log, access
        self.queued: list[tuple[str, str]] = []
        """(job id, run id) of the jobs this process queued, for `settle`."""
        self.watching: set[asyncio.Task[None]] = set()
        """Each queued job's watcher: it says in the thread when the job ended."""

    async def settle(self) -> None:
        """Wait until the jobs this process queued have ended (a CLI command, before it exits:
        they run in its process), and their endings are said in their threads."""
        for job_id, run_id in self.queued:
            async for _ in self.log.follow(job_id, 0, channels=("control",), run_id=run_id):
                break
        if self.watching:
            await asyncio.gather(*self.watching, return_exceptions=True)

    def watch(self, tid: str, rid: str, job_id: str, job_run: str, data: dict[str, Any]) -> None:
        """Say in the thread when the job ends (F27: nothing said it had finished)."""
        task = asyncio.create_task(self._ended(tid, rid, job_id, job_run, data))
        self.watching.add(task)
        task.add_done_callback(self.watching.discard)

    async def _ended(
        self, tid: str, rid: str, job_id: str, job_run: str, data: dict[str, Any]
    ) -> None:
        try:
            async for _ in self.log.follow(job_id, 0, channels=("control",), run_id=job_run):
                break
            row = await self.lab.services.jobs.get(job_id) or {}
        except Exception:  # a side request must never fail anything: log it
            logger.exception("watching media job %s of thread %s failed", job_id, tid)
            return
        what = f"{data['kind']} {data['deliverable']} {data['factor']}x"
        art = row.get("artifact") or {}
        if row.get("status") == "SUCCEEDED":
            size = f" ({art['width']}x{art['height']})" if art.get("width") else ""
            text = f"Media Lab job {job_id} finished: {what}{size}; it is in this thread's outputs."
            await self._notice(tid, rid, text, "info", job_id=job_id)
            return
        error = row.get("error") if isinstance(row.get("error"), dict) else {}
        why = f": {error.get('message')}" if error and error.get("message") else ""
        status = str(row.get("status") or "unknown").lower()
        text = f"Media Lab job {job_id} ({what}) ended {status}{why}."
        await self._notice(tid, rid, text, "warning", job_id=job_id)

    async def __call__(self, handle: RunHandle, data: dict[str, Any]) -> None:
        tid, rid = handle.thread_id, handle.run_id
        try:
            job = await self._submit(tid, rid, data)
        except StudioError as exc:
            await self._notice(tid, rid, f"The Media Lab did not take it: {exc.message}", "warning")
            return
        except Exception:  # a side request must never fail the studio run
            logger.exception("media request on thread %s failed", tid)
            await self._notice(tid, rid, "The Media Lab could not take it; try again.", "warning")
            return
        if job["status"] in ("QUEUED", "RUNNING") and job["run_id"]:
            self.queued.append((str(job["id"]), str(job["run_id"])))
            self.watch(tid, rid, str(job["id"]), str(job["run_id"]), data)
        text = (
            f"Media Lab job {job['id']} queued: {data['kind']} {data['deliverable']} "
            f"{data['factor']}x; its result joins this thread's outputs."
        )
        await self._notice(tid, rid, text, "info", job_id=job["id"])

    async def _submit(self, tid: str, rid: str, data: dict[str, Any]) -> dict[str, Any]:
        pool = self.lab.services.jobs.pool
        async with pool.connection() as conn:
            cur = await conn.execute("SELECT owner_id FROM threads WHERE thread_id = %s", [tid])
            row = await cur.fetchone()
        user = await accounts.user_by_id(pool, str(row["owner_id"])) if row else None
        role = user["role"] if user else None
        if not (role == "admin" or (self.access == "creators" and role == "creator")):
            who = "admins and creators" if self.access == "creators" else "admins"
            raise StudioError(f"the Media Lab is for {who} (STUDIO_MEDIA_LAB)")
        assert user is not None
        await self.lab.check_quota(str(user["user_id"]))
        request = JobRequest(kind="upscale", factor=int(data["factor"]))
        key = f"{tid}:{rid}:{data['key']}"  # a resumed run asking again finds the same job
        return await self.lab.jobs.submit(
            Actor(str(user["user_id"]), admin=role == "admin"),
            request,
            source_thread=tid,
            source_asset=str(data["asset_id"]),
            deliverable=str(data["deliverable"]),
            job_id=f"media-{uuid.uuid5(_NAMESPACE, key)}",
        )

    async def _notice(self, tid: str, rid: str, text: str, level: str, **extra: Any) -> None:
        notice = {"level": level, "code": "media_lab", "text": text, **extra}
        await self.log.append(tid, rid, "studio", "notice", dumps(notice))
