"""The chat UI: the page at `/` and `/t/{thread_id}`, its modules and styles under `/ui/`."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from api.errors import NotFound

UI_DIR = Path(__file__).parent / "ui"
MEDIA_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css"}
NO_CACHE = {"Cache-Control": "no-cache"}
"""Revalidate every time: files change with the code and there is no build step to hash them."""

router = APIRouter(include_in_schema=False)


def _page() -> FileResponse:
    return FileResponse(UI_DIR / "index.html", media_type="text/html", headers=NO_CACHE)


@router.get("/")
async def home() -> FileResponse:
    """The studio page: start a session, list threads."""
    return _page()


@router.get("/t/{thread_id}")
async def thread_page(thread_id: str) -> FileResponse:
    """The same page, opened on one thread (the token lives in the browser, not the URL)."""
    return _page()


@router.get("/ui/{name}")
async def ui_file(name: str) -> FileResponse:
    """One file of `api/ui/` (flat: no subfolders, nothing outside it)."""
    path = UI_DIR / name
    media_type = MEDIA_TYPES.get(path.suffix)
    if media_type is None or "/" in name or name.startswith(".") or not path.is_file():
        raise NotFound("Not found")
    return FileResponse(path, media_type=media_type, headers=NO_CACHE)
