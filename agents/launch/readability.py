"""Lens's thumbnail check: does the title read at the size people see it (168x94)?"""

from __future__ import annotations

import io
import re
from typing import Any

import numpy as np
from PIL import Image

from adapters.pixels import MISSING_CAP
from agents.lens import not_drawn, undrawn_names

SMALL = (168, 94)
"""A thumbnail in a phone's feed or the sidebar of a watch page, in pixels."""
MIN_TEXT_PX = 9
"""Below this many pixels of line height at `SMALL`, letters smear together."""


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower()))


def _text_box(recipe: dict[str, Any], size: tuple[int, int]) -> tuple[int, int, int, int] | None:
    """The lettered box the renderer recorded, in `SMALL` pixels."""
    drawn = recipe.get("drawn") if isinstance(recipe.get("drawn"), dict) else {}
    box = drawn.get("text_box") if isinstance(drawn, dict) else None
    if not (isinstance(box, list) and len(box) == 4):
        return None
    sx, sy = SMALL[0] / size[0], SMALL[1] / size[1]
    x0, y0, x1, y1 = (int(box[0] * sx), int(box[1] * sy), int(box[2] * sx), int(box[3] * sy))
    return (x0, y0, max(x1, x0 + 1), max(y1, y0 + 1))


def _busiest_band(luma: np.ndarray[Any, Any]) -> tuple[int, int, int, int]:
    """Without a recorded box (an image model drew it): the band of rows with the most edges."""
    edges = np.abs(np.diff(luma, axis=1)) > 0.2
    rows = edges.mean(axis=1)
    height = max(8, luma.shape[0] // 4)
    sums = np.convolve(rows, np.ones(height), mode="valid")
    top = int(np.argmax(sums))
    return (0, top, luma.shape[1], top + height)


def _inked_rows(region: np.ndarray[Any, Any]) -> int:
    """How many rows of `region` the lettering spans: from the first to the last row with at
    least a third of the busiest row's edges (a model's type has no recorded box to read)."""
    if region.shape[0] == 0 or region.shape[1] < 2:
        return 0
    rows = (np.abs(np.diff(region, axis=1)) > 0.2).mean(axis=1)
    if rows.max() <= 0:
        return 0
    inked = np.flatnonzero(rows >= rows.max() / 3)
    return int(inked[-1] - inked[0] + 1)


def assess(png: bytes, recipe: dict[str, Any], title: str, asked: str = "") -> dict[str, Any]:
    """Score 0-10 for reading `title` at `SMALL`, with the measurements and reasons; at most
    `MISSING_CAP` when the renderer says it could not draw something `asked` (the person's
    directions for this thumbnail), as Lens caps any image missing what was asked."""
    with Image.open(io.BytesIO(png)) as opened:
        image = opened.convert("RGB")
    size = image.size
    small = image.resize(SMALL, Image.Resampling.LANCZOS)
    luma = np.asarray(small.convert("L"), dtype=np.float64) / 255.0
    drawn = recipe.get("drawn") if isinstance(recipe.get("drawn"), dict) else {}
    lettered = str((drawn or {}).get("text") or "")
    recorded = _text_box(recipe, size)
    box = recorded or _busiest_band(luma)
    region = luma[box[1] : box[3], box[0] : box[2]]
    lines = max(1, lettered.count("\n") + 1, 2 if len(lettered) > 24 else 1)
    # the renderer records the box it lettered; else the type's own height in the busiest band
    text_px = (box[3] - box[1] if recorded else _inked_rows(region)) / lines
    contrast = float(np.percentile(region, 95) - np.percentile(region, 5)) if region.size else 0.0
    inside = float((np.abs(np.diff(region, axis=1)) > 0.2).mean()) if region.shape[1] > 1 else 0.0
    wanted = _words(title)
    present = len(wanted & _words(lettered)) / len(wanted) if wanted else 0.0
    height_part = min(1.0, max(0.0, (text_px - 4) / (MIN_TEXT_PX + 3 - 4)))
    contrast_part = min(1.0, max(0.0, (contrast - 0.2) / 0.5))
    score = round(10 * (0.4 * present + 0.3 * height_part + 0.3 * contrast_part), 1)
    undrawn = undrawn_names(recipe, asked) if asked else []
    reasons = not_drawn(recipe, asked) if asked else []
    uncapped = score
    if undrawn:  # a thumbnail without the cup that was asked for is not a 10
        score = min(score, MISSING_CAP)
    if present < 1:
        reasons.append(f"the title is {'missing' if not present else 'only partly lettered'}")
    if text_px < MIN_TEXT_PX:
        reasons.append(f"the type is {text_px:.0f}px tall at {SMALL[0]}x{SMALL[1]}; too small")
    else:
        reasons.append(f"the type is {text_px:.0f}px tall at {SMALL[0]}x{SMALL[1]}")
    reasons.append(
        f"contrast behind the title {contrast:.2f} ({'strong' if contrast >= 0.6 else 'weak'})"
    )
    return {
        "score": score,
        "uncapped": uncapped,
        "undrawn": undrawn,
        "reasons": reasons,
        "measurements": {
            "title_present": round(present, 3),
            "text_px": round(text_px, 1),
            "text_contrast": round(contrast, 3),
            "text_edges": round(inside, 3),
        },
        "at": f"{SMALL[0]}x{SMALL[1]}",
    }
