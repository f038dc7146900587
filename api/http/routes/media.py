"""The Media Lab over HTTP: uploads, presets, jobs (submit, list, show, cancel, retry), a job's
progress as SSE and its artifact. Admins only unless `STUDIO_MEDIA_LAB=creators`; everyone
else gets 403 from every route. Nothing heavy runs here: a submit checks, records and queues."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sse_starlette import EventSourceResponse

from adapters.errors import InvalidInput, NotFound
from adapters.media_lab.params import parse_params
from adapters.media_lab.probe import probe
from api.http.deps import Services, ServicesDep
from api.http.errors import error_body
from api.http.media_access import (
    MediaCaller,
    MediaDep,
    UploadCaller,
    UploadReader,
    actor_of,
    may_direct,
    may_use_media_lab,
    refused,
)
from api.http.routes.runs import PING_S, batches, last_event_id
from engine.media_jobs import check_kind
from engine.media_requests import JobRequest, Kind, Name
from engine.protocol import frame
from graph.state import valid_settings
from people.audit import audited
from store.media_jobs import STATUSES, readable_stem
from store.uploads import TooLarge
from telemetry import metrics

router = APIRouter(prefix="/media", tags=["media"])
JOB_EVENTS = ("studio",)


def _too_large(exc: TooLarge) -> JSONResponse:
    return JSONResponse(error_body("too_large", exc.message), status_code=413)


async def _file_part(request: Request, max_bytes: int) -> AsyncIterator[tuple[str, bytes]]:
    """The multipart body's `file` part, as it arrives (name, then chunks of bytes)."""
    async with request.form(max_files=1, max_fields=4, max_part_size=1024) as form:
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise InvalidInput("file: send the file as the multipart field `file`")
        yield upload.filename or "", b""
        while chunk := await upload.read(1 << 20):
            yield "", chunk


@router.post("/uploads", status_code=201)
async def create_upload(
    request: Request, caller: UploadCaller, lab: MediaDep, svc: ServicesDep
) -> Any:
    """Upload an image (PNG, JPEG, WebP) or video (MP4, WebM, MOV) as multipart field `file`.
    Checked by content: a wrong type, corrupt file, decompression bomb or a file over a limit
    is a 422 naming the limit (`type`, `corrupt`, `decompression_bomb`, `max_pixels`,
    `max_duration_s`, ...); a body over `STUDIO_MEDIA_MAX_UPLOAD_BYTES` is a 413."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise InvalidInput("file: send multipart/form-data with the file as field `file`")
    media = lab
    filename = ""

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal filename
        async for name, chunk in _file_part(request, media.max_upload_bytes):
            filename = name or filename
            if chunk:
                yield chunk

    try:
        staged = await media.services.uploads.stage(chunks(), max_bytes=media.max_upload_bytes)
    except TooLarge as exc:
        return _too_large(exc)
    try:
        probed = await asyncio.to_thread(probe, staged.path, media.limits)
    except BaseException:
        staged.discard()
        raise
    if request.query_params.get("thread_id") and probed.kind != "image":
        staged.discard()
        raise InvalidInput("file: a thread's reference must be an image (PNG, JPEG, WebP)")
    record = await media.services.uploads.put(
        staged, probed, owner=caller.user_id, filename=filename
    )
    return record.json()


@router.get("/uploads/{upload_id}")
async def get_upload(upload_id: str, caller: MediaCaller, lab: MediaDep) -> dict[str, Any]:
    """An upload's description: its owner's or, for an admin, anyone's (404 otherwise)."""
    actor = actor_of(caller)
    return (await lab.services.uploads.owned(upload_id, owner=actor.scope)).json()


@router.get("/uploads/{upload_id}/file", response_class=FileResponse)
async def get_upload_file(
    upload_id: str, caller: UploadReader, lab: MediaDep, svc: ServicesDep
) -> FileResponse:
    """The uploaded file itself (the UI's "before", a blend's sources, a thread's reference
    chip): the lab's callers as ever; others only their own (403 for anyone else's), and a
    credential scoped to a thread only the references in that thread's settings."""
    if not may_use_media_lab(caller, svc.settings.media_lab):
        found = await lab.services.uploads.get(upload_id)
        if found is None or found.owner != caller.user_id:
            raise refused(svc.settings.media_lab)
        if caller.scoped:
            row = await svc.studio.threads.get(caller.thread_id or "")
            settings = valid_settings(((row or {}).get("metadata") or {}).get("settings"))
            if upload_id not in (settings.get("references") or []):
                raise refused(svc.settings.media_lab)
    record = await lab.services.uploads.owned(upload_id, owner=actor_of(caller).scope)
    return FileResponse(record.path, media_type=record.mime, filename=record.filename or None)


@router.get("/presets")
async def list_presets(
    caller: MediaCaller,
    lab: MediaDep,
    kind: Kind | None = None,
    versions: Literal["latest", "all"] = "latest",
) -> dict[str, Any]:
    """The presets per kind: each id's latest version (or every version with `versions=all`)."""
    found = await lab.services.presets.list(kind, all_versions=versions == "all")
    return {"presets": [p.json() for p in found]}


class PresetSave(BaseModel):
    """A preset to save as a new version: `kind` and `params`, or a LangGraph Studio run's
    input for the `media` graph (`input`: its `kind` and `params` are taken)."""

    model_config = ConfigDict(extra="forbid")
    id: Name
    kind: Kind | None = None
    params: dict[str, Any] | None = Field(None, max_length=16)
    input: dict[str, Any] | None = Field(None, max_length=16)
    description: str = Field("", max_length=500)


@router.post("/presets", status_code=201)
async def save_preset(body: PresetSave, caller: MediaCaller, lab: MediaDep) -> dict[str, Any]:
    """Save a preset as the next version of its id (version 1 for a new id); the parameters
    are checked with the kind's model (422 naming the field)."""
    source = body.input or {}
    kind = body.kind or source.get("kind")
    if not isinstance(kind, str):
        raise InvalidInput("kind: give the kind, or a run input that has one")
    check_kind(kind)
    params = body.params if body.params is not None else source.get("params")
    if params is not None and not isinstance(params, dict):
        raise InvalidInput("params: must be a JSON object")
    checked = parse_params(kind, params).model_dump(mode="json")
    saved = await lab.services.presets.save(
        kind, body.id, checked, created_by=caller.user_id, description=body.description
    )
    return saved.json()


@router.post("/jobs", status_code=202)
async def submit_job(
    body: JobRequest, caller: MediaCaller, lab: MediaDep, svc: ServicesDep
) -> dict[str, Any]:
    """Queue a job; answers at once with the job (`QUEUED`): follow it with `/stream`."""
    actor = actor_of(caller)
    if body.thread_id is not None:
        await may_direct(svc, caller, body.thread_id)
    await lab.check_quota(caller.user_id)
    async with audited(
        svc.studio.threads.pool, actor=caller, action="media.job.submitted"
    ) as entry:
        job = await lab.jobs.submit(actor, body)
        entry.target = job["id"]
        entry.detail.update(kind=job["kind"], preset=job["preset"], inputs=body.inputs)
    return job


@router.get("/jobs")
async def list_jobs(
    caller: MediaCaller,
    lab: MediaDep,
    status: Literal[STATUSES] | None = None,  # type: ignore[valid-type]
    kind: Kind | None = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    mine: bool = False,
) -> dict[str, Any]:
    """Jobs newest first (an admin sees everyone's; `mine=true` only their own), by status
    and kind; `next_cursor` fetches the next page."""
    actor = actor_of(caller)
    return await lab.jobs.list(
        actor, status=status, kind=kind, cursor=cursor, limit=limit, mine=mine
    )


@router.get("/jobs/{job_id}")
async def get_job(job_id: str, caller: MediaCaller, lab: MediaDep) -> dict[str, Any]:
    return await lab.jobs.show(actor_of(caller), job_id)


@router.post("/jobs/{job_id}/cancel")
async def cancel_job(
    job_id: str, caller: MediaCaller, lab: MediaDep, svc: ServicesDep
) -> dict[str, Any]:
    """Cancel a queued or running job (409 once it has ended); answers once it has stopped."""
    pool = svc.studio.threads.pool
    async with audited(pool, actor=caller, action="media.job.cancelled", target=job_id):
        return await lab.jobs.cancel(actor_of(caller), job_id)


@router.post("/jobs/{job_id}/retry", status_code=202)
async def retry_job(
    job_id: str, caller: MediaCaller, lab: MediaDep, svc: ServicesDep
) -> dict[str, Any]:
    """A new job with the same inputs, preset version and parameters, linked by `retry_of`
    (409 unless the job FAILED or was CANCELLED)."""
    await lab.check_quota(caller.user_id)
    pool = svc.studio.threads.pool
    async with audited(pool, actor=caller, action="media.job.retried", target=job_id) as entry:
        job = await lab.jobs.retry(actor_of(caller), job_id)
        entry.detail["new_job"] = job["id"]
    return job


@router.get("/jobs/{job_id}/stream", response_class=EventSourceResponse)
async def follow_job(
    job_id: str, caller: MediaCaller, lab: MediaDep, svc: ServicesDep, request: Request
) -> Any:
    """The job's events as SSE (`progress` {fraction, stage}, `error`, `done`), replayed after
    `Last-Event-ID`; the same event log and machinery as a thread's stream."""
    await lab.jobs.row(actor_of(caller), job_id)
    after = last_event_id(request)
    events = metrics.counted("media", _job_events(svc, job_id, after))  # studio_sse_clients
    return EventSourceResponse(events, ping=PING_S)


async def _job_events(svc: Services, job_id: str, after: int) -> AsyncIterator[bytes]:
    async for batch in batches(svc, job_id, after, JOB_EVENTS):
        yield b"".join(frame(r.data, event=r.event, id=str(r.seq)) for r in batch)


@router.get("/jobs/{job_id}/artifact", response_class=FileResponse)
async def get_artifact(job_id: str, caller: MediaCaller, lab: MediaDep) -> FileResponse:
    """The job's result, under a readable name that says what was made
    (`hero-upscale-4x-crisp-v1.png`)."""
    row = await lab.jobs.row(actor_of(caller), job_id)
    artifact = row.get("artifact")
    if not artifact:
        raise NotFound(f"Media job {job_id} has no artifact ({row['status']})")
    path = lab.services.jobs.artifact_path(artifact)
    name = readable_stem(row) + path.suffix
    return FileResponse(path, media_type=artifact["mime"], filename=name)
