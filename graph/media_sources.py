"""A media job's inputs, resolved to files: uploads by id, or a studio thread's images."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

from adapters.media_lab.errors import MediaInvalidInput, ReferenceUnreadable
from adapters.media_lab.params import MAX_SOURCES, MIN_SOURCES
from graph.media_state import MediaServices, SourceRef

COUNTS = {
    "upscale": (1, 1),
    "interpolate": (1, 1),
    "generate": (1, MAX_SOURCES),
    "blend": (MIN_SOURCES, MAX_SOURCES),
}
"""How many inputs each kind takes."""
MEDIA = {"upscale": "image", "interpolate": "video", "generate": "image", "blend": "image"}
"""What each kind's inputs must be."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_count(kind: str, count: int) -> None:
    """`MediaInvalidInput("inputs")` when `kind` does not take `count` inputs."""
    low, high = COUNTS.get(kind, (1, 1))
    if not low <= count <= high:
        wanted = str(low) if low == high else f"{low} to {high}"
        raise MediaInvalidInput("inputs", f"{kind} takes {wanted} input(s), not {count}")


async def resolve_sources(
    svc: MediaServices, inputs: list[SourceRef], kind: str
) -> list[SourceRef]:
    """Each input's file, hash and shape; a missing or mismatched one fails deterministically
    (`ReferenceUnreadable` naming `inputs[i]`), never retried."""
    check_count(kind, len(inputs))
    wanted = MEDIA.get(kind, "image")
    resolved: list[SourceRef] = []
    for i, ref in enumerate(inputs):
        field = f"inputs[{i}]"
        source: SourceRef
        if ref.get("upload_id"):
            upload = await svc.uploads.get(str(ref["upload_id"]))
            if upload is None:
                raise ReferenceUnreadable(field, f"no upload {ref['upload_id']!r}")
            source = {
                "upload_id": upload.id,
                "sha256": upload.sha256,
                "path": str(upload.path),
                "kind": upload.kind,
                "mime": upload.mime,
                "width": upload.width,
                "height": upload.height,
                "fps": upload.fps,
            }
        elif ref.get("asset_id") and svc.assets is not None:
            asset = await svc.assets.get(str(ref["asset_id"]))
            if asset is None:
                raise ReferenceUnreadable(field, f"no studio image {ref['asset_id']!r}")
            source = {
                "asset_id": asset.id,
                "sha256": asset.sha256,
                "path": str(asset.path),
                "kind": asset.content_type.split("/")[0],
                "mime": asset.content_type,
                "width": asset.width,
                "height": asset.height,
                "fps": None,
            }
        else:
            raise MediaInvalidInput(field, "give an upload_id")
        if ref.get("sha256") and ref.get("sha256") != source.get("sha256"):
            raise ReferenceUnreadable(field, "the file's hash is not the one the job recorded")
        if source.get("kind") != wanted:
            raise MediaInvalidInput(field, f"{kind} takes a {wanted}, not a {source.get('kind')}")
        if not await asyncio.to_thread(Path(str(source["path"])).is_file):
            raise ReferenceUnreadable(field, "the stored file is missing")
        resolved.append(source)
    return resolved
