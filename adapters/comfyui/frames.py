"""Decoding of ComfyUI's binary websocket frames: image previews and node progress text."""

from __future__ import annotations

import io
import json
import struct
from dataclasses import dataclass

from PIL import Image

PREVIEW_IMAGE = 1
"""Legacy preview: 4-byte format (1 JPEG, 2 PNG), then the image; carries no prompt id."""
PROGRESS_TEXT = 3
PREVIEW_IMAGE_WITH_METADATA = 4
"""Preview after `feature_flags`: 4-byte JSON length, JSON (with `prompt_id`), then the image."""
_FORMATS = {1: "image/jpeg", 2: "image/png"}


@dataclass(frozen=True)
class Preview:
    """A preview image pushed by the server (sampler latents, SaveImageWebsocket)."""

    image: bytes
    mime: str
    prompt_id: str | None = None
    node_id: str | None = None


@dataclass(frozen=True)
class ProgressText:
    """Progress text a node sent; broadcast to every socket and carrying no prompt id."""

    node_id: str
    text: str


def decode_frame(buf: bytes) -> Preview | ProgressText | None:
    """Decode one binary frame (layouts in `b_blend_legacy.json` / `b_blend_flags.json`).

    Returns None for frames that are too short or of an unknown type: newer servers may add
    types, and a client must not fail on them.
    """
    if len(buf) < 8:
        return None
    event, word = struct.unpack(">II", buf[:8])
    if event == PREVIEW_IMAGE:
        return Preview(image=buf[8:], mime=_FORMATS.get(word, "application/octet-stream"))
    if event == PREVIEW_IMAGE_WITH_METADATA:
        try:
            meta = json.loads(buf[8 : 8 + word])
        except ValueError:
            return None
        return Preview(
            image=buf[8 + word :],
            mime=str(meta.get("image_type") or "image/png"),
            prompt_id=meta.get("prompt_id"),
            node_id=meta.get("node_id"),
        )
    if event == PROGRESS_TEXT:
        node = buf[8 : 8 + word].decode("utf-8", "replace")
        return ProgressText(node_id=node, text=buf[8 + word :].decode("utf-8", "replace"))
    return None


def as_png(preview: Preview) -> bytes | None:
    """The preview as PNG bytes (sampler previews arrive as JPEG); None if it is not an image."""
    if preview.image.startswith(b"\x89PNG\r\n\x1a\n"):
        return preview.image
    try:
        with Image.open(io.BytesIO(preview.image)) as img:
            out = io.BytesIO()
            img.convert("RGB").save(out, format="PNG")
            return out.getvalue()
    except (OSError, ValueError):
        return None
