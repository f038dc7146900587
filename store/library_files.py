"""Library downloads: each output under a readable name with its recipe embedded (PNG text chunk
`studio:recipe`) and, in a zip of several, a JSON sidecar with its spec, recipe and scores."""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from PIL import Image, PngImagePlugin

from adapters.renderer import RECIPE_KEY, read_recipe
from store.library import LibraryItem, download_name

MAX_ZIP_ITEMS = 200
"""Outputs in one library zip (narrow the filters for more)."""


def with_recipe(item: LibraryItem) -> bytes:
    """The output's bytes; a PNG that does not carry its `studio:recipe` yet (ComfyUI's) gets
    it added, its other text chunks (ComfyUI's workflow) kept. Blocking."""
    data = item.record.path.read_bytes()
    if item.record.content_type != "image/png" or read_recipe(data):
        return data
    with Image.open(io.BytesIO(data)) as image:
        info = PngImagePlugin.PngInfo()
        texts = image.text if isinstance(image, PngImagePlugin.PngImageFile) else {}
        for key, value in texts.items():
            info.add_text(key, value)
        info.add_text(RECIPE_KEY, json.dumps(_recipe(item), sort_keys=True, default=str))
        out = io.BytesIO()
        image.save(out, format="PNG", pnginfo=info)
    return out.getvalue()


def _recipe(item: LibraryItem) -> dict[str, Any]:
    r = item.record
    return {**r.recipe, "spec": r.spec, "seed": r.seed, "generator": r.generator}


def sidecar(item: LibraryItem, name: str) -> dict[str, Any]:
    """What the zip says about one output, next to it (`<name>.json`)."""
    r = item.record
    return {
        "file": name,
        "asset_id": r.id,
        "thread_id": r.thread_id,
        "thread_title": item.thread_title,
        "deliverable": r.deliverable,
        "iteration": r.iteration,
        "attempt": r.attempt,
        "verdict": r.verdict,
        "created_at": r.created_at.isoformat(),
        "content_type": r.content_type,
        "width": r.width,
        "height": r.height,
        "sha256": r.sha256,
        "seed": r.seed,
        "generator": r.generator,
        "scores": r.scores,
        "spec": r.spec,
        "recipe": r.recipe,
    }


def zip_files(items: Sequence[LibraryItem]) -> Iterator[tuple[str, bytes]]:
    """The zip's files: each output and its sidecar, then `manifest.json`. Blocking."""
    manifest = []
    for item in items:
        name = download_name(item)
        entry = sidecar(item, name)
        manifest.append(entry)
        yield name, with_recipe(item)
        yield name.rsplit(".", 1)[0] + ".json", _json(entry)
    listing = {"exported_at": datetime.now(UTC).isoformat(), "outputs": manifest}
    yield "manifest.json", _json(listing)


def write_zip(items: Sequence[LibraryItem]) -> Path:
    """The outputs as a zip in a temporary file (the caller removes it). Blocking."""
    handle = tempfile.NamedTemporaryFile(prefix="studio-library-", suffix=".zip", delete=False)
    path = Path(handle.name)
    try:
        with handle, zipfile.ZipFile(handle, "w") as archive:
            for name, data in zip_files(items):
                stored = name.endswith((".png", ".mp4"))  # already compressed
                kind = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
                archive.writestr(name, data, compress_type=kind)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def _json(data: Any) -> bytes:
    return (json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n").encode()
