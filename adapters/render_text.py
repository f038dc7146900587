"""The built-in renderer's lettering: the words a brief asks for, in clean type that reads.

Drawn on the finished image, after tone mapping, so nothing dims or greys it: a bundled
TrueType face (Pillow's own, no download), inside title-safe margins, sized to read, in
light or dark type by what is behind it, with an outline in the opposite tone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from adapters.render_canvas import disc_box, sun_disc
from adapters.render_subject import placement
from adapters.render_words import read
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


def _fit(text: str, w: int, h: int, band: float) -> tuple[int, tuple[str, ...], int, int]:
    """The largest size (and line split) at which `text` fits the safe width and `band`."""
    left, right = int(SAFE_MARGIN * w), w - int(SAFE_MARGIN * w)
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
    return best


def _in_span(text: str, w: int, h: int, span: tuple[float, float]) -> TextLayout:
    """`text` as large as fits the band `span` (top, bottom), centred across and down it."""
    top, bottom = int(SAFE_MARGIN * h), h - int(SAFE_MARGIN * h)
    room = span[1] - span[0]
    size, lines, width, height = _fit(text, w, h, max(room, _MIN_SIZE * h * 1.5))
    x0 = (w - width) // 2
    y0 = int(span[0] + max(0, (room - height) / 2))
    y0 = min(max(y0, top), bottom - height)
    return TextLayout(lines, size, (x0, y0, x0 + width, y0 + height))


def _overlaps(a: Box, b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def layout(spec: GenerationSpec, text: str) -> TextLayout:
    """Place `text` in the emptier band (above or below the subject as drawn), centred, inside
    the safe margins, as large as fits up to a headline size; two lines when one would be
    small. When that would cross the sun or moon, the part of a band clear of it is taken
    instead, if the type still reads there (else the sun makes room: see `draw_sky`)."""
    w, h = spec.width, spec.height
    top, bottom = int(SAFE_MARGIN * h), h - int(SAFE_MARGIN * h)
    at = placement(spec, read(spec).subject)
    above = (float(top), max(float(top), at.top))
    below = (min(float(bottom), at.feet), float(bottom))
    first = above if above[1] - above[0] >= below[1] - below[0] else below
    plan = _in_span(text, w, h, first)
    disc = sun_disc(spec)
    if disc is None or not _overlaps(plan.box, (clear := disc_box(disc))):
        return plan
    spans = [
        part
        for band in (above, below)
        for part in ((band[0], min(band[1], clear[1])), (max(band[0], clear[3]), band[1]))
        if part[1] - part[0] >= _MIN_SIZE * h * 1.5
    ]
    options = [_in_span(text, w, h, span) for span in spans]
    options = [o for o in options if not _overlaps(o.box, clear) and o.size >= 0.6 * plan.size]
    return max(options, key=lambda o: o.size, default=plan)


def ink(spec: GenerationSpec, plan: TextLayout) -> tuple[Image.Image, Image.Image]:
    """Coverage masks (8-bit, image-sized) of the lettering: its outline (the glyphs with their
    stroke) and the glyphs themselves, in the font's own weight. No fake bold: a fill stroke
    closes the eyes of e and a to thin dark slits that read as lines through the letters."""
    size = (spec.width, spec.height)
    outline_mask, glyph_mask = Image.new("L", size), Image.new("L", size)
    outlines, glyphs = ImageDraw.Draw(outline_mask), ImageDraw.Draw(glyph_mask)
    font, stroke = _font(plan.size), _outline(plan.size)
    _, _, boxes = _measure(plan.lines, plan.size)
    y = plan.box[1]
    for line, box in zip(plan.lines, boxes, strict=True):
        at = ((spec.width - (box[2] - box[0])) // 2 - box[0], y - box[1])
        outlines.text(at, line, font=font, fill=255, stroke_width=stroke, stroke_fill=255)
        glyphs.text(at, line, font=font, fill=255)
        y += box[3] - box[1] + int(_LINE_GAP * plan.size)
    return outline_mask, glyph_mask


def letter(image: Image.Image, spec: GenerationSpec, text: str) -> TextLayout | None:
    """Draw `text` on `image` in place, over everything (rain, beams, glows are all drawn
    before it); None when there is nothing to letter."""
    if not text.strip():
        return None
    plan = layout(spec, text)
    behind = np.asarray(image.crop(plan.box).convert("L"), dtype=np.float32) / 255
    light_type = float(behind.mean()) < 0.55
    fill, edge = ((250, 248, 240), (12, 12, 16)) if light_type else ((14, 14, 18), (246, 244, 236))
    outline_mask, glyph_mask = ink(spec, plan)
    image.paste(edge, (0, 0), outline_mask)
    image.paste(fill, (0, 0), glyph_mask)
    return plan
