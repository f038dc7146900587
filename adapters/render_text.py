"""The built-in renderer's lettering: the words a brief asks for, in clean type that reads.

Drawn on the finished image, after tone mapping, so nothing dims or greys it: a bundled
TrueType face (Pillow's own, no download), inside title-safe margins, sized to read, in
light or dark type by what is behind it, with an outline in the opposite tone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from adapters.specs import GenerationSpec

SAFE_MARGIN = 0.08
"""Title-safe margin on each side, as a fraction of the image's width and height."""
_MAX_SIZE, _MIN_SIZE = 0.12, 0.045  # cap height band, as fractions of the image height
_LINE_GAP = 0.15

Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class TextLayout:
    """Where and how big the lettering goes."""

    lines: tuple[str, ...]
    size: int
    """Font size in pixels."""
    box: Box
    """(left, top, right, bottom) of the inked text, inside the safe margins."""


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _outline(size: int) -> int:
    return max(2, size // 12)


def _measure(lines: tuple[str, ...], size: int) -> tuple[int, int, list[Box]]:
    """Width and height of the lines, outline included, and each line's own box."""
    font = _font(size)
    boxes = [
        tuple(int(v) for v in font.getbbox(line, stroke_width=_outline(size))) for line in lines
    ]
    width = max(b[2] - b[0] for b in boxes)
    height = sum(b[3] - b[1] for b in boxes) + int(_LINE_GAP * size) * (len(lines) - 1)
    return width, height, [(b[0], b[1], b[2], b[3]) for b in boxes]


def _wrap(text: str) -> list[tuple[str, ...]]:
    words = text.split()
    options: list[tuple[str, ...]] = [(" ".join(words),)]
    if len(words) > 1:
        cut = min(range(1, len(words)), key=lambda i: abs(len(" ".join(words[:i])) - len(text) / 2))
        options.append((" ".join(words[:cut]), " ".join(words[cut:])))
    return options


def layout(spec: GenerationSpec, text: str) -> TextLayout:
    """Place `text` in the emptier band (above or below the subject), centred, inside the
    safe margins, as large as fits up to a headline size; two lines when one would be small."""
    w, h = spec.width, spec.height
    left, right = int(SAFE_MARGIN * w), w - int(SAFE_MARGIN * w)
    top, bottom = int(SAFE_MARGIN * h), h - int(SAFE_MARGIN * h)
    subject_top = (spec.subject_y - spec.subject_scale / 2) * h
    subject_bottom = (spec.subject_y + spec.subject_scale / 2) * h
    above, below = subject_top - top, bottom - subject_bottom
    band = max(above, below, _MIN_SIZE * h * 1.5)
    best: tuple[int, tuple[str, ...], int, int] | None = None
    for lines in _wrap(text.strip()):
        size = int(_MAX_SIZE * h * 1.3)
        while size > 8:
            width, height, _ = _measure(lines, size)
            if width <= right - left and height <= min(band, 0.3 * h):
                break
            size -= max(1, size // 12)
        if best is None or size > best[0] * 1.15:
            best = (size, lines, *_measure(lines, size)[:2])
    assert best is not None
    size, lines, width, height = best
    x0 = (w - width) // 2
    if above >= below:
        y0 = top + max(0, int((above - height) / 2))
    else:
        y0 = bottom - height - max(0, int((below - height) / 2))
    y0 = min(max(y0, top), bottom - height)
    return TextLayout(lines, size, (x0, y0, x0 + width, y0 + height))


def letter(image: Image.Image, spec: GenerationSpec, text: str) -> TextLayout | None:
    """Draw `text` on `image` in place; None when there is nothing to letter."""
    if not text.strip():
        return None
    plan = layout(spec, text)
    x0, y0, x1, y1 = plan.box
    behind = np.asarray(image.crop((x0, y0, x1, y1)).convert("L"), dtype=np.float32) / 255
    light_type = float(behind.mean()) < 0.55
    fill, edge = ((250, 248, 240), (12, 12, 16)) if light_type else ((14, 14, 18), (246, 244, 236))
    font = _font(plan.size)
    draw = ImageDraw.Draw(image)
    outline, weight = _outline(plan.size), max(1, plan.size // 28)
    _, _, boxes = _measure(plan.lines, plan.size)
    y = y0
    for line, box in zip(plan.lines, boxes, strict=True):
        lx = (spec.width - (box[2] - box[0])) // 2 - box[0]
        at = (lx, y - box[1])
        draw.text(at, line, font=font, fill=edge, stroke_width=outline, stroke_fill=edge)
        draw.text(at, line, font=font, fill=fill, stroke_width=weight, stroke_fill=fill)
        y += box[3] - box[1] + int(_LINE_GAP * plan.size)
    return plan
