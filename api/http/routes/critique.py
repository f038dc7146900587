"""`POST /critique`: Lens on images a person brings, for the UI (what `studio critique` does)."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from adapters.errors import InvalidInput
from agents.lens import critique_images
from api.http.deps import ServicesDep, require_role
from people.client_tokens import check_api_key
from people.identity import Caller

CreatorDep = Annotated[Caller, Depends(require_role("admin", "creator"))]
router = APIRouter(tags=["critique"])
MAX_IMAGES = 8
"""Images one request may score (the body is bounded by `STUDIO_MAX_BODY_BYTES` too)."""


class CritiqueImage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field("image", min_length=1, max_length=200)
    """How the image is called in the answer (its file name)."""
    data: str = Field(min_length=1)
    """The image file (PNG, JPEG, WebP ...) as base64, or as a `data:` URL."""


class CritiqueRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    brief: str = Field(min_length=1, max_length=4000)
    """What the images should be."""
    images: list[CritiqueImage] = Field(min_length=1, max_length=MAX_IMAGES)


def decoded(image: CritiqueImage) -> bytes:
    """The image's bytes; `InvalidInput` (422) when `data` is not base64."""
    text = image.data.partition("base64,")[2] if image.data.startswith("data:") else image.data
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput(f"{image.name}: data is not base64") from None


@router.post("/critique")
async def critique(
    body: CritiqueRequest, request: Request, svc: ServicesDep, who: CreatorDep
) -> dict[str, Any]:
    """Score the images against the brief as Lens scores the studio's own outputs: per image
    the score, each measurement with its target, the reasons, what is missing and what could
    not be checked; for the set, the drift and which image drifts (`studio critique --json`
    prints the same object). Needs the same credentials as creating a thread (a creator or an
    admin)."""
    check_api_key(request, svc.settings.api_key)
    images = [(image.name, decoded(image)) for image in body.images]
    return await critique_images(svc.studio.context, body.brief, images)
