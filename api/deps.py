"""Request dependencies: the process's services and the caller's own thread."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request

from api.auth import owns, require_token
from api.errors import NotFound
from api.eventlog import EventLog
from api.runs import RunManager
from api.runstore import RunStore
from api.settings import Settings
from api.studio import Studio


@dataclass(frozen=True)
class Services:
    """Everything routes use, built once by the app's lifespan."""

    settings: Settings
    studio: Studio
    log: EventLog
    runs: RunStore
    manager: RunManager


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


ServicesDep = Annotated[Services, Depends(services)]


async def owned_thread(thread_id: str, request: Request, svc: ServicesDep) -> dict[str, Any]:
    """The thread's registry row, if the caller's token owns it: 401 without a token, 404 for
    a thread that does not exist or belongs to someone else (others' threads are invisible)."""
    if thread_id == "search":  # `/threads/search` with a method it does not take
        raise HTTPException(405, "Method Not Allowed", headers={"Allow": "POST"})
    caller = require_token(request)
    row = await svc.studio.threads.get(thread_id)
    if row is None or not owns(row.get("owner_hash"), caller):
        raise NotFound("Thread not found")
    return row


ThreadDep = Annotated[dict[str, Any], Depends(owned_thread)]
