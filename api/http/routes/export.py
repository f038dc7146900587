"""`GET /threads/{id}/export`: the thread's work as one zip to take home."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from adapters.errors import NotFound
from api.http.audit_trail import audit
from api.http.deps import ServicesDep, ThreadDep
from store.export import collect, write_zip

router = APIRouter(tags=["studio"])


@router.get(
    "/threads/{thread_id}/export",
    response_class=FileResponse,
    responses={200: {"content": {"application/zip": {}}}},
)
async def export_thread(thread: ThreadDep, svc: ServicesDep, request: Request) -> FileResponse:
    """A zip: the approved images named by deliverable (`hero-a.png`; the current variants,
    said so in its README, while the thread is not approved), each image's spec and recipe
    (`hero-a.json`), the brief and directions (`brief.md`), the discussion (`discussion.md`)
    and `manifest.json`."""
    tid = thread["thread_id"]
    async with audit(request, "export.downloaded", target=f"thread/{tid}", thread_id=tid) as entry:
        package = await collect(svc.studio, tid)
        if package is None:
            raise NotFound("Thread not found")
        path = await asyncio.to_thread(write_zip, package)  # file reads and zipping off the loop
        entry.detail.update(kind="thread", file=f"{package.name}.zip", images=len(package.images))
    return FileResponse(
        path,
        media_type="application/zip",
        filename=f"{package.name}.zip",
        headers={"Cache-Control": "no-store"},
        background=BackgroundTask(path.unlink, missing_ok=True),
    )
