"""`GET /library`: every output the caller may see, across their threads, with downloads."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse, Response
from starlette.background import BackgroundTask

from adapters.errors import NotFound
from api.http.deps import CallerDep, ServicesDep
from people.audit import audited, time_bound
from people.identity import Caller
from people.ownership import visible_threads_sql
from store.library import (
    LibraryItem,
    LibraryQuery,
    Verdict,
    download_name,
    find_in_library,
    list_library,
)
from store.library_files import MAX_ZIP_ITEMS, with_recipe, write_zip

router = APIRouter(prefix="/library", tags=["library"])

Thread = Annotated[str | None, Query(max_length=200)]
Deliverable = Annotated[str | None, Query(max_length=100)]
When = Annotated[str | None, Query(max_length=40, description="A date or ISO 8601 time")]


def item_json(item: LibraryItem) -> dict[str, Any]:
    r = item.record
    return {
        "asset_id": r.id,
        "thread_id": r.thread_id,
        "thread_title": item.thread_title,
        "deliverable": r.deliverable,
        "iteration": r.iteration,
        "attempt": r.attempt,
        "verdict": r.verdict,
        "content_type": r.content_type,
        "width": r.width,
        "height": r.height,
        "bytes": r.bytes,
        "generator": r.generator,
        "seed": r.seed,
        "scores": r.scores,
        "created_at": r.created_at.isoformat(),
        "file_name": download_name(item),
        "url": f"/library/{r.id}",
        "download": f"/library/{r.id}/download",
    }


def _filters(
    thread: str | None,
    deliverable: str | None,
    verdict: Verdict | None,
    since: str | None,
    until: str | None,
) -> LibraryQuery:
    return LibraryQuery(
        thread=thread or None,
        deliverable=deliverable or None,
        verdict=verdict,
        since=time_bound(since, "since"),
        until=time_bound(until, "until", end=True),
    )


@router.get("")
async def library(
    who: CallerDep,
    svc: ServicesDep,
    thread: Thread = None,
    deliverable: Deliverable = None,
    verdict: Verdict | None = None,
    since: When = None,
    until: When = None,
    cursor: Annotated[str | None, Query(max_length=300)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    """Your outputs across all the threads you may see (an admin: every thread's), newest
    first, filtered by thread, deliverable, verdict (`none`: not ruled on yet) and date
    (`since` inclusive, `until` a date: to the end of that day). Each item's `url` shows it,
    `download` saves it under a readable name with its recipe embedded; `GET
    /library/download` takes the same filters and answers a zip. Pass `next_cursor` back as
    `cursor` for the next page."""
    page = await list_library(
        svc.studio.threads.pool,
        svc.studio.context.assets.root,
        visible_threads_sql(who),
        _filters(thread, deliverable, verdict, since, until),
        cursor=cursor or None,
        limit=limit,
    )
    return {"items": [item_json(i) for i in page.items], "next_cursor": page.next_cursor}


@router.get(
    "/download",
    response_class=FileResponse,
    responses={200: {"content": {"application/zip": {}}}},
)
async def download_selection(
    who: CallerDep,
    svc: ServicesDep,
    thread: Thread = None,
    deliverable: Deliverable = None,
    verdict: Verdict | None = None,
    since: When = None,
    until: When = None,
) -> FileResponse:
    """The outputs the filters select (newest first, at most 200) as one zip: each under its
    readable name with its recipe embedded, a `<name>.json` beside it (spec, recipe, scores,
    thread) and `manifest.json`."""
    filters = _filters(thread, deliverable, verdict, since, until)
    detail = {"kind": "library", "filters": {k: v for k, v in vars(filters).items() if v}}
    pool = svc.studio.threads.pool
    async with audited(
        pool,
        actor=who,
        action="export.downloaded",
        target="library",
        thread_id=filters.thread,
        detail=detail,
    ) as entry:
        page = await list_library(
            pool,
            svc.studio.context.assets.root,
            visible_threads_sql(who),
            filters,
            limit=MAX_ZIP_ITEMS,
        )
        path = await asyncio.to_thread(write_zip, page.items)
        entry.detail["outputs"] = len(page.items)
    return FileResponse(
        path,
        media_type="application/zip",
        filename="creative-studio-library.zip",
        headers={"Cache-Control": "no-store"},
        background=BackgroundTask(path.unlink, missing_ok=True),
    )


async def _visible(who: Caller, svc: ServicesDep, asset_id: str) -> LibraryItem:
    item = await find_in_library(
        svc.studio.threads.pool,
        svc.studio.context.assets.root,
        visible_threads_sql(who),
        asset_id,
    )
    root = svc.studio.context.assets.root.resolve()
    if item is None or not item.record.path.resolve().is_relative_to(root):
        raise NotFound("Output not found")
    if not item.record.path.is_file():
        raise NotFound("Output not found: its file is gone from the asset store")
    return item


@router.get("/{asset_id}", response_class=FileResponse)
async def show(asset_id: str, who: CallerDep, svc: ServicesDep) -> FileResponse:
    """One output, to look at (inline)."""
    item = await _visible(who, svc, asset_id)
    return FileResponse(
        item.record.path,
        media_type=item.record.content_type,
        filename=download_name(item),
        content_disposition_type="inline",
        headers={"Cache-Control": "private, max-age=3600"},
    )


@router.get("/{asset_id}/download")
async def download(asset_id: str, who: CallerDep, svc: ServicesDep) -> Response:
    """One output to keep, under a readable file name; a PNG with its recipe embedded
    (`studio:recipe`)."""
    async with audited(
        svc.studio.threads.pool,
        actor=who,
        action="export.downloaded",
        target=f"asset/{asset_id[:64]}",
        detail={"kind": "output"},
    ) as entry:
        item = await _visible(who, svc, asset_id)
        entry.thread_id = item.record.thread_id
        entry.detail["file"] = name = download_name(item)
        if item.record.content_type != "image/png":  # media files go as they are, streamed
            return FileResponse(
                item.record.path,
                media_type=item.record.content_type,
                filename=name,
                headers={"Cache-Control": "no-store"},
            )
        data = await asyncio.to_thread(with_recipe, item)
    return Response(
        data,
        media_type=item.record.content_type,
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )
