"""Who may use the Media Lab over HTTP: admins, or creators too with `STUDIO_MEDIA_LAB=creators`.

Every media route depends on `MediaCaller`: no credential is a 401; a viewer, a creator (by
default), a thread's own token or a share grant is a 403. Jobs and uploads are then their
owner's, or anyone's for an admin (others' are 404, as threads are).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from adapters.errors import InvalidInput, NotFound
from api.http.deps import Services
from api.http.deps import caller as signed_in
from engine.media_jobs import Actor
from engine.media_lab import MediaLab
from people.errors import Forbidden
from people.identity import Caller
from people.ownership import thread_access


def may_use_media_lab(caller: Caller, access: str) -> bool:
    """The one rule: admins always; creators when the lab is open to them; never a credential
    scoped to one thread."""
    if caller.scoped:
        return False
    return caller.role == "admin" or (access == "creators" and caller.role == "creator")


async def media_caller(request: Request) -> Caller:
    caller = await signed_in(request)
    access = request.app.state.services.settings.media_lab
    if not may_use_media_lab(caller, access):
        raise refused(access)
    return caller


def refused(access: str) -> Forbidden:
    """The 403 for someone the Media Lab is not open to."""
    who = "admins and creators" if access == "creators" else "admins"
    return Forbidden(f"The Media Lab is for {who} (STUDIO_MEDIA_LAB); ask an admin")


MediaCaller = Annotated[Caller, Depends(media_caller)]


async def upload_caller(request: Request, thread_id: str | None = None) -> Caller:
    """Who may upload: the Media Lab's callers; and, for a studio thread's reference image
    (`?thread_id=`, images only), anyone who may direct that thread (its owner, an admin, its
    own token, a `direct` grant) even when the lab is closed to them."""
    if thread_id is None:
        return await media_caller(request)
    caller = await signed_in(request)
    await may_direct(request.app.state.services, caller, thread_id)
    return caller


UploadCaller = Annotated[Caller, Depends(upload_caller)]


async def upload_reader(request: Request) -> Caller:
    """Who may read an upload: the Media Lab's callers; others their own uploads only
    (a thread's reference images; checked by the route)."""
    caller = await signed_in(request)
    if may_use_media_lab(caller, request.app.state.services.settings.media_lab):
        return await media_caller(request)
    return caller


UploadReader = Annotated[Caller, Depends(upload_reader)]


def media_lab(request: Request) -> MediaLab:
    """The process's Media Lab (opened by the app's lifespan on the run engine)."""
    found: MediaLab = request.app.state.media
    return found


MediaDep = Annotated[MediaLab, Depends(media_lab)]


async def may_direct(svc: Services, caller: Caller, thread_id: str) -> None:
    """A reference attached to a studio thread, or a job whose result joins it, needs the right
    to direct that thread (its owner, an admin, or a `direct` grant): one who only views it is
    a 403 saying so; a thread the caller cannot read is not found."""
    row = await svc.studio.threads.get(thread_id)
    access = await thread_access(svc.studio.threads.pool, caller, row) if row else None
    if access == "view":
        raise Forbidden(
            f"thread_id: you can only view thread {thread_id!r}; adding to it needs its owner, "
            "an admin or a share that directs it"
        )
    if access not in ("owner", "direct"):
        raise NotFound(f"thread_id: thread {thread_id!r} not found")


def actor_of(caller: Caller) -> Actor:
    return Actor(caller.user_id, admin=caller.is_admin(), caller=caller)


async def check_references(request: Request, references: object) -> None:
    """Each of a thread's `settings.references` must be an image upload the caller may use
    (their own, or anyone's for an admin): otherwise a 422 naming `settings.references[i]`."""
    if not isinstance(references, list) or not references:
        return
    who = await signed_in(request)
    lab: MediaLab | None = getattr(request.app.state, "media", None)
    if lab is None:
        raise InvalidInput("settings.references[0]: this server keeps no uploads")
    for index, upload_id in enumerate(references):
        record = await lab.services.uploads.get(str(upload_id))
        if record is None or (record.owner != who.user_id and not who.is_admin()):
            raise InvalidInput(f"settings.references[{index}]: upload {upload_id!r} not found")
        if record.kind != "image":
            raise InvalidInput(f"settings.references[{index}]: {upload_id!r} is not an image")
