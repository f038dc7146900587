"""The chat UI: the page at `/`, `/t/{thread_id}`, `/pages/library`, `/pages/audit` and
`/pages/media`, its modules and styles under `/ui/`."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse

from adapters.errors import NotFound
from api.http.callers import COOKIE
from api.http.guards import host_name
from people import accounts
from people.home_token import home_token

UI_DIR = Path(__file__).parent / "ui"
MEDIA_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css"}
NO_CACHE = {"Cache-Control": "no-cache"}
"""Revalidate every time: files change with the code and there is no build step to hash them."""

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
PROXY_HEADERS = ("forwarded", "x-forwarded-for", "x-forwarded-host", "x-real-ip")

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


@router.get("/pages/library")
async def library_page() -> FileResponse:
    """The same page, showing your library (every output you may see, `GET /library`)."""
    return _page()


@router.get("/pages/audit")
async def audit_page() -> FileResponse:
    """The same page, showing the audit trail (admins, `GET /audit`)."""
    return _page()


@router.get("/pages/people")
async def people_page() -> FileResponse:
    """The same page, showing the studio's people (admins, `GET /users`)."""
    return _page()


@router.get("/pages/media")
async def media_page() -> FileResponse:
    """The same page, showing the Media Lab (admins, or creators with STUDIO_MEDIA_LAB)."""
    return _page()


@router.get("/ui/{name}")
async def ui_file(name: str) -> FileResponse:
    """One file of `api/http/ui/` (flat: no subfolders, nothing outside it)."""
    path = UI_DIR / name
    media_type = MEDIA_TYPES.get(path.suffix)
    if media_type is None or "/" in name or name.startswith(".") or not path.is_file():
        raise NotFound("Not found")
    return FileResponse(path, media_type=media_type, headers=NO_CACHE)


def _local(request: Request) -> bool:
    """A request from this machine's browser, straight to the server: a loopback peer, a
    loopback name in `Host` (DNS rebinding), no proxy in between (a reverse proxy on this
    machine is loopback too, for everyone it serves) and no cross-site fetch."""
    try:
        peer = ipaddress.ip_address(request.client.host if request.client else "")
    except ValueError:
        return False
    host = request.headers.get("host")
    return (
        peer.is_loopback
        and host is not None
        and host_name(host) in LOOPBACK_NAMES
        and not any(name in request.headers for name in PROXY_HEADERS)
        and request.headers.get("sec-fetch-site", "same-origin") in ("same-origin", "none")
    )


NO_STORE = {"Cache-Control": "no-store"}


@router.get("/local/owner")
async def local_owner(request: Request) -> JSONResponse:
    """The home's owner token (`people/home_token.py`) for the browser on this machine, so the page
    shows and steers the threads the CLI started; 404 to anyone else. A browser here that someone
    signed in to gets no token: their session is who the page acts as (signing out brings the
    home's owner back)."""
    if not _local(request):
        raise NotFound("Not found")
    session = request.cookies.get(COOKIE)
    pool = request.app.state.services.studio.threads.pool
    if session and await accounts.session_caller(pool, session) is not None:
        return JSONResponse({"token": None, "owner": "signed-in"}, headers=NO_STORE)
    token = home_token(request.app.state.services.settings.home)
    return JSONResponse({"token": token, "owner": "home"}, headers=NO_STORE)
