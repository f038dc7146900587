"""Captions: timed cues as a WebVTT track, and burned into frames in legible type."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont

SAFE_MARGIN = 0.08
"""Captions stay inside this margin at the sides and the bottom (title-safe)."""


@dataclass(frozen=True)
class Cue:
    """One caption: its words and when they show, in seconds from the start."""

    start: float
    end: float
    text: str


def _stamp(seconds: float) -> str:
    ms = int(round(max(0.0, seconds) * 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


def webvtt(cues: list[Cue]) -> str:
    """The cues as a WebVTT file."""
    blocks = ["WEBVTT", ""]
    for index, cue in enumerate(cues, 1):
        text = " ".join(cue.text.split()).replace("-->", "->")
        blocks += [str(index), f"{_stamp(cue.start)} --> {_stamp(cue.end)}", text, ""]
    return "\n".join(blocks)


def parse_webvtt(text: str) -> list[Cue]:
    """The cues of a WebVTT file (as `webvtt` writes them)."""
    cues, lines = [], text.splitlines()
    for index, line in enumerate(lines):
        if "-->" in line and index + 1 < len(lines):
            start, _, end = (p.strip() for p in line.partition("-->"))
            cues.append(Cue(_seconds(start), _seconds(end.split()[0]), lines[index + 1].strip()))
    return cues


def _seconds(stamp: str) -> float:
    parts = [float(p) for p in stamp.split(":")]
    while len(parts) < 3:
        parts.insert(0, 0.0)
    return parts[0] * 3600 + parts[1] * 60 + parts[2]


def _wrap(
    draw: ImageDraw.ImageDraw,
    text: str,
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
    width: int,
) -> str:
    lines: list[str] = []
    for word in text.split():
        trial = f"{lines[-1]} {word}" if lines else word
        if lines and draw.textlength(trial, font=font) <= width:
            lines[-1] = trial
        else:
            lines.append(word)
    return "\n".join(lines[:3])


@dataclass(frozen=True)
class Overlay:
    """A rendered caption: coverage (0..1) and colour per pixel, and its box."""

    alpha: NDArray[np.float32]
    colour: NDArray[np.float32]
    box: tuple[int, int, int, int]


def overlay(text: str, width: int, height: int) -> Overlay:
    """White type with a dark outline over a soft band, bottom centre, inside the safe margin."""
    size = max(10, int(height * 0.065))
    font = ImageFont.load_default(size=size)
    layer = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    margin_x, margin_y = int(width * SAFE_MARGIN), int(height * SAFE_MARGIN)
    wrapped = _wrap(draw, text, font, width - 2 * margin_x)
    stroke = max(1, size // 10)
    left, top, right, bottom = draw.multiline_textbbox(
        (0, 0), wrapped, font=font, stroke_width=stroke, align="center"
    )
    x = (width - (right - left)) // 2 - left
    y = height - margin_y - (bottom - top) - top
    pad = max(2, size // 4)
    box = (int(x + left - pad), int(y + top - pad), int(x + right + pad), int(y + bottom + pad))
    draw.rectangle(box, fill=(0, 0, 0, 110))
    draw.multiline_text(
        (x, y),
        wrapped,
        font=font,
        fill=(255, 255, 255, 255),
        stroke_width=stroke,
        stroke_fill=(0, 0, 0, 255),
        align="center",
    )
    rgba = np.asarray(layer, np.float32) / 255
    left, top, right, bottom = (int(v) for v in box)
    alpha = rgba[..., 3].astype(np.float32)
    colour = (rgba[..., :3] * 255).astype(np.float32)
    return Overlay(alpha, colour, (left, top, right, bottom))


def burn(frame: NDArray[np.uint8], caption: Overlay) -> NDArray[np.uint8]:
    """`frame` with the caption composited over it."""
    alpha = caption.alpha[..., None]
    out = frame.astype(np.float32) * (1 - alpha) + caption.colour * alpha
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)
