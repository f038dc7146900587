"""Media Lab jobs on the run engine: submit, show, list, cancel, retry.

A job is a run of the `media` graph (assistant `media`) on a thread of its own whose id is
the job's id: the run manager queues and claims it, executes it in whichever process holds the
thread, logs its events for SSE, and resumes it from its last checkpoint after a crash. The
HTTP API and the CLI both come here; nothing heavy runs in the caller (a submit only checks,
records and queues).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from adapters.errors import Conflict, InvalidInput, NotFound
from adapters.media_lab.params import check_target_fps, normalise_weights, parse_params
from engine.media_requests import DEFAULT_PRESETS, JobRequest
from graph.media_sources import MEDIA, check_count
from graph.media_state import MediaServices
from people.identity import Caller
from store.media_jobs import NewJob, job_json
from store.uploads import UploadRecord

if TYPE_CHECKING:
    from engine.manager import RunManager

ASSISTANT = "media"
"""The graph id of the media graph (in `langgraph.json` and `/assistants`)."""
FINAL = ("SUCCEEDED", "FAILED", "CANCELLED")
RETRYABLE = ("FAILED", "CANCELLED")
"""The statuses a job may be retried from."""
_RETRY_NAMESPACE = uuid.UUID("5d0c1f6e-3b8a-4f51-9c57-0d6f1a2b7e44")
"""Names a job's one retry (`uuid5` of the job's id)."""


@dataclass(frozen=True)
class Actor:
    """Who asks: their user id and whether they see and act on everyone's jobs (an admin)."""

    user_id: str
    admin: bool = False
    caller: Caller | None = None
    """The caller behind it (for the audit trail)."""

    @property
    def scope(self) -> str | None:
        """The owner whose jobs this actor reaches (None: everyone's)."""
        return None if self.admin else self.user_id


class MediaJobs:
    """The one path to Media Lab jobs, for the HTTP API and the CLI."""

    def __init__(self, manager: RunManager, services: MediaServices) -> None:
        self.manager = manager
        self.services = services

    async def submit(
        self,
        actor: Actor,
        request: JobRequest,
        *,
        retry_of: str | None = None,
        source_thread: str | None = None,
        source_asset: str | None = None,
        deliverable: str | None = None,
        job_id: str | None = None,
    ) -> dict[str, Any]:
        """Check the request (422 naming the field), resolve its preset version and inputs,
        record the job and queue its run; returns the job (QUEUED). A given `job_id` that is
        recorded already returns that job (a request repeated by a resumed run)."""
        svc = self.services
        if job_id is not None and (await svc.jobs.get(job_id)) is not None:
            return await self.show(actor, job_id)
        based_on = source_asset
        if request.thread_id is not None and source_thread is None:
            source_thread = request.thread_id
            deliverable, based_on, brief = await self._thread_target(request)
            if not (request.prompt or "").strip() and brief:
                request = request.model_copy(update={"prompt": brief[:2000]})
        kind = request.kind
        check_count(kind, len(request.inputs) + (1 if source_asset else 0))
        uploads = [
            await self._upload(actor, upload_id, i, kind)
            for i, upload_id in enumerate(request.inputs)
        ]
        preset_id = request.preset or DEFAULT_PRESETS[kind]
        try:
            preset = await svc.presets.get(kind, preset_id, request.preset_version)
        except NotFound as exc:  # a name in the request: bad input, not a missing resource
            raise InvalidInput(exc.message) from None
        params = parse_params(kind, {**preset.params, **request.overrides()})
        if kind == "interpolate":
            check_target_fps(float(uploads[0].fps or 0.0), float(params.model_dump()["target_fps"]))
        if kind == "blend":
            normalise_weights(request.weights, len(uploads))
        if kind == "generate" and not (request.prompt or "").strip():
            raise InvalidInput("prompt: say what to make from the references")
        inputs: list[dict[str, Any]] = [
            {
                "upload_id": u.id,
                "sha256": u.sha256,
                "kind": u.kind,
                "mime": u.mime,
                "filename": u.filename,
            }
            for u in uploads
        ]
        if source_asset:
            asset = await svc.assets.get(source_asset) if svc.assets else None
            if asset is None:
                raise NotFound(f"Studio image {source_asset!r} not found")
            inputs.insert(0, {"asset_id": asset.id, "sha256": asset.sha256, "kind": "image"})
        job_id = job_id or f"media-{uuid.uuid4()}"
        recorded = request.recorded()
        if deliverable:
            recorded["deliverable"] = deliverable
        if based_on:
            recorded["based_on"] = based_on
        job = NewJob(
            job_id=job_id,
            owner=actor.user_id,
            kind=kind,
            inputs=inputs,
            preset_id=preset.preset_id,
            preset_version=preset.version,
            params=params.model_dump(mode="json"),
            request=recorded,
            retry_of=retry_of,
            source_thread=source_thread,
            source_asset=source_asset,
        )
        await svc.jobs.create(job)
        await self._queue(job)
        return await self.show(actor, job_id)

    async def _queue(self, job: NewJob) -> None:
        graph_input: dict[str, Any] = {
            "job_id": job.job_id,
            "kind": job.kind,
            "inputs": [
                {k: v for k, v in i.items() if k in ("upload_id", "asset_id", "sha256")}
                for i in job.inputs
            ],
            "preset": {"id": job.preset_id, "version": job.preset_version},
            "params": job.params,
        }
        for key in ("prompt", "weights"):
            if job.request.get(key) is not None:
                graph_input[key] = job.request[key]
        if job.source_thread:
            graph_input["source"] = {
                "thread_id": job.source_thread,
                "asset_id": str(job.request.get("based_on") or job.source_asset or ""),
                "deliverable": str(job.request.get("deliverable") or ""),
            }
        run = await self.manager.submit(
            job.job_id,
            assistant_id=ASSISTANT,
            kwargs={"input": graph_input, "stream_mode": ["updates"]},
            metadata={"media_job": job.job_id, "owner": job.owner, "kind": job.kind},
            strategy="enqueue",
        )
        await self.services.jobs.set_run(job.job_id, str(run["run_id"]))

    async def _thread_target(self, request: JobRequest) -> tuple[str, str | None, str]:
        """The deliverable the result joins (the request's, else the plan's first), its
        current variant (the new one's base) and the thread's brief; 422 naming `deliverable`
        when the thread has no such deliverable (or no plan yet)."""
        studio = self.manager.studio
        snapshot = await studio.graph.aget_state(studio.config(str(request.thread_id)))
        values = snapshot.values or {}
        plan = [d["id"] for d in (values.get("plan") or {}).get("deliverables", [])]
        wanted = request.deliverable or (plan[0] if plan else None)
        if wanted is None or wanted not in plan:
            known = ", ".join(plan) or "none yet"
            raise InvalidInput(f"deliverable: the thread's deliverables are {known}")
        current = (values.get("current") or {}).get(wanted)
        return wanted, current, str(values.get("brief") or "")

    async def _upload(self, actor: Actor, upload_id: str, i: int, kind: str) -> UploadRecord:
        """The upload if the actor may use it; 404 for another person's (invisible)."""
        record = await self.services.uploads.get(upload_id)
        if record is None or (actor.scope is not None and record.owner != actor.scope):
            raise NotFound(f"inputs[{i}]: upload {upload_id!r} not found")
        if record.kind != MEDIA[kind]:
            raise InvalidInput(f"inputs[{i}]: {kind} takes a {MEDIA[kind]}, not a {record.kind}")
        return record

    async def row(self, actor: Actor, job_id: str) -> dict[str, Any]:
        """The job's row if the actor may see it, else `NotFound` (others' jobs are unseen)."""
        row = await self.services.jobs.get(job_id)
        if row is None or (actor.scope is not None and row["owner"] != actor.scope):
            raise NotFound(f"Media job {job_id!r} not found")
        return row

    async def show(self, actor: Actor, job_id: str) -> dict[str, Any]:
        return job_json(await self.row(actor, job_id))

    async def list(
        self,
        actor: Actor,
        *,
        status: str | None = None,
        kind: str | None = None,
        cursor: str | None = None,
        limit: int = 20,
        mine: bool = False,
    ) -> dict[str, Any]:
        """A page of jobs, newest first, and the cursor of the next page (None: the last)."""
        owner = actor.user_id if mine else actor.scope
        rows, following = await self.services.jobs.list(
            owner=owner, status=status, kind=kind, cursor=cursor, limit=limit
        )
        return {"jobs": [job_json(r) for r in rows], "next_cursor": following}

    async def cancel(self, actor: Actor, job_id: str) -> dict[str, Any]:
        """Stop the job: a queued one never starts; a running one stops at its next safe point
        (a ComfyUI prompt is cancelled on the server). Returns once it has stopped; a job
        that already ended is a `Conflict`."""
        row = await self.row(actor, job_id)
        if row["status"] in FINAL:
            raise Conflict(f"Media job {job_id} already ended ({row['status']})")
        if row["run_id"]:
            await self.manager.cancel(job_id, row["run_id"], action="interrupt", wait=True)
        await self.services.jobs.finished_at(job_id)
        return await self.show(actor, job_id)

    async def retry(self, actor: Actor, job_id: str) -> dict[str, Any]:
        """A new job linked to this one (`retry_of`), with the same inputs, preset version and
        parameters. Only a job that failed or was cancelled may be retried, once: one still
        queued or running, one that succeeded, or one already retried is a `Conflict` (the
        last names the retry to follow)."""
        row = await self.row(actor, job_id)
        if row["status"] not in FINAL:
            raise Conflict(f"Media job {job_id} has not ended ({row['status']}); cancel it first")
        if row["status"] not in RETRYABLE:
            raise Conflict(
                f"Media job {job_id} succeeded: there is nothing to retry (only a FAILED or "
                "CANCELLED job is); submit a new job to run it again"
            )
        if row.get("retried_by"):
            raise _retried(job_id, str(row["retried_by"][0]))
        # One retry per job, even from two requests at once (a double click): the retry's id
        # is derived from the job's, so the second insert meets the first's primary key.
        new_id = f"media-{uuid.uuid5(_RETRY_NAMESPACE, job_id)}"
        job = NewJob(
            job_id=new_id,
            owner=row["owner"],
            kind=row["kind"],
            inputs=row["inputs"],
            preset_id=row["preset_id"],
            preset_version=row["preset_version"],
            params=row["params"],
            request=row["request"],
            retry_of=job_id,
            source_thread=row["source_thread"],
            source_asset=str(row["source_asset"]) if row["source_asset"] else None,
        )
        try:
            await self.services.jobs.create(job)
        except Conflict:  # the retry's id is taken: the other request made it
            raise _retried(job_id, new_id) from None
        await self._queue(job)
        return await self.show(actor, new_id)


def _retried(job_id: str, retry_id: str) -> Conflict:
    return Conflict(
        f"Media job {job_id} was already retried as {retry_id}; follow that job (retry it in "
        "turn if it fails)"
    )


def check_kind(kind: str | None) -> None:
    if kind is not None and kind not in MEDIA:
        raise InvalidInput(f"kind: {kind!r} is not one of {', '.join(MEDIA)}")
