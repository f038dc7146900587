"""The built-in renderer's secondary elements: what the prompt names besides the subject
(a stray cat on the kerb, a street lamp and its glow, birds, a passer-by), and light beams."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from adapters.render_canvas import WHITE, Arr, Canvas, Rng, as_mask, mix, paint
from adapters.render_subject import (
    CAMERAS,
    HALF_WIDTH,
    LAMP_HEAD,
    Placement,
    lamp_colour,
    light_at,
    lit_windows,
    placement,
    stamp,
)
from adapters.render_words import Element

SIZES = {"cat": 0.1, "bird": 0.03, "fox": 0.13, "animal": 0.16, "person": 0.28, "lamp": 0.5,
         "vehicle": 0.15, "boat": 0.2, "tree": 0.38, "house": 0.24, "tower": 0.45,
         "object": 0.12}  # fmt: skip
"""Each element's height as a fraction of the image height, at the subject's depth."""
_FAR = ("tower", "house")


def _spot(c: Canvas, e: Element, side: int, step: int) -> tuple[float, float, float]:
    """Centre x, feet y and height (px) of element `e`, beside the subject on `side`."""
    h, w, hz = c.h, c.w, c.horizon * c.h
    scale = CAMERAS.get(c.spec.camera, (1.0, 0.0))[0]
    size = SIZES.get(e.kind, 0.15) * h * scale
    at = placement(c.spec, c.words.subject)
    subject_feet = at.feet
    feet = float(np.clip(subject_feet, hz + 0.05 * h, 0.97 * h))
    if e.place == "far" or (e.kind in _FAR and e.place != "near"):
        size, feet = size * 0.6, hz + 0.01 * h
    elif e.place == "kerb" and c.family == "city":  # on the lit kerb where the street ends
        size, feet = size * 0.8, hz + max(2, int(0.015 * h))
    elif e.place == "near":
        size, feet = size * 1.5, 0.93 * h
    if e.kind == "boat":
        feet = hz + 0.2 * (h - hz) if e.place != "near" else feet
    gap = 0.03 * w + HALF_WIDTH.get(e.kind, 0.3) * size
    reach = at.size * HALF_WIDTH.get(c.words.subject, 0.3)
    x = at.cx + side * (reach + gap + step * 0.06 * w)
    half = HALF_WIDTH.get(e.kind, 0.3) * size + 0.03 * w  # the whole element inside the frame
    return float(np.clip(x, min(half, w / 2), max(w - half, w / 2))), feet, size


def _sides(c: Canvas) -> list[int]:
    roomier = 1 if c.spec.subject_x <= 0.5 else -1
    return [roomier, -roomier]


def _birds(c: Canvas, rng: Rng, e: Element, side: int) -> None:
    """A few gulls in the sky, small enough to read as birds and not as the subject."""
    h, w, hz = c.h, c.w, c.horizon * c.h
    x0 = c.spec.subject_x * w + side * 0.2 * w
    for _ in range(max(1, e.count + int(rng.integers(0, 3)) if e.count > 1 else 1)):
        x = float(np.clip(x0 + rng.uniform(-0.1, 0.1) * w, 0.05 * w, 0.95 * w))
        y = float(np.clip(rng.uniform(0.15, 0.6) * hz, 0.05 * h, hz - 0.05 * h))
        stamp(c, "bird", rng, (x, y), SIZES["bird"] * h * rng.uniform(0.7, 1.3), halo=0.3,
              shadow=0.0)  # fmt: skip


def _lamp_light(c: Canvas, x: float, feet: float, size: float, colour: Arr) -> None:
    """The lamp's head lit (bloomed at the end) and its pool of light on the ground."""
    hx, hy = x + LAMP_HEAD[0] * size, feet - size + LAMP_HEAD[1] * size
    light_at(c, hx, hy, 0.035 * size, colour)
    # The window reaches where both glows have faded to nothing (under 1e-4 of their peak):
    # a window cut short draws a hard seam across the sky along its edge.
    ys = slice(max(0, int(hy - 1.1 * size)), min(c.h, int(max(hy + 1.1 * size, feet + 0.2 * size))))
    xs = slice(max(0, int(hx - 0.9 * size)), min(c.w, int(hx + 0.9 * size)))
    gy = np.arange(ys.start, ys.stop, dtype=np.float32)[:, None]
    gx = np.arange(xs.start, xs.stop, dtype=np.float32)[None, :]
    spill = np.exp(-(((gx - hx) / (0.3 * size)) ** 2 + ((gy - hy) / (0.35 * size)) ** 2))
    c.rgb[ys, xs] += colour * (spill * 0.25)[..., None]
    pool = np.exp(-(((gx - hx) / (0.35 * size)) ** 2 + ((gy - feet) / (0.05 * size)) ** 2))
    c.rgb[ys, xs] += colour * (pool * 0.5 * np.maximum(c.ground[ys, xs], 0.3))[..., None]


def _footing(c: Canvas, x: float, feet: float, size: float, kind: str) -> None:
    """Something to stand on over water: a quay from the nearer frame edge to the element."""
    if c.family != "water" or kind in ("boat", "bird"):
        return
    reach = (HALF_WIDTH.get(kind, 0.3) + 0.3) * size
    xs = slice(0, min(c.w, int(x + reach))) if x < c.w / 2 else slice(max(0, int(x - reach)), c.w)
    ys = slice(max(0, int(feet - 0.004 * c.h)), c.h)
    rows = np.arange(ys.start, ys.stop, dtype=np.float32)[:, None, None]
    darkest = c.palette[int(np.argmin(c.palette.sum(axis=1)))]
    wall = mix(darkest, c.sky_low, 0.2) * (0.35 + 0.35 * c.light.ambient)
    c.rgb[ys, xs] = wall * (1 - 0.3 * np.clip((rows - feet) / (0.3 * c.h), 0, 1))
    c.rgb[ys.start : ys.start + max(1, int(0.006 * c.h)), xs] = mix(wall, c.sky_low, 0.6)
    c.glow[ys, xs] = 0
    c.ground[ys, xs] = 0.5


def draw_elements(c: Canvas, rng: Rng) -> None:
    """Each element the prompt names, beside the subject on the roomier side first (or where
    its clause says: left, right, on the kerb, in the distance), then a light beam if asked."""
    sides = _sides(c)
    for index, e in enumerate(c.words.elements):
        side = {"left": -1, "right": 1}.get(e.place or "", sides[index % 2])
        if e.kind == "bird":
            _birds(c, rng, e, side)
            continue
        for n in range(e.count):
            x, feet, size = _spot(c, e, side, index // 2 + n)
            _footing(c, x, feet, size, e.kind)
            far = e.kind in _FAR and e.place != "near"
            fill = c.words.colours.get(e.kind)
            halo = 0.4 if far else 0.8
            mask = stamp(c, e.kind, rng, (x, feet - size / 2), size, halo=halo, fill=fill)
            if far:  # hazed by distance, like the far scenery
                paint(c, mask * 0.45, c.sky_low)
            if e.kind == "house":  # a cabin at dusk or night has its windows lit too
                at = Placement(x, feet - size / 2, size, 0.0)
                lit_windows(c, rng, at, e.kind, mask, None, e.said)
            c.subject = np.maximum(c.subject, mask * 0.5)
            if e.kind == "lamp":
                _lamp_light(c, x, feet, size, lamp_colour(c, e.said))
    if c.words.beam:
        _beam(c)


def _beam(c: Canvas) -> None:
    """A soft beam of light: from the top of a tower subject (a lighthouse), else from above."""
    h, w = c.h, c.w
    at = placement(c.spec, c.words.subject)
    if c.words.subject in ("tower", "lamp"):
        sx, sy = at.cx, at.top + 0.06 * at.size
        far = 0.0 if c.spec.subject_x > 0.5 else float(w)
        cone = [(sx, sy - 2), (far, sy - 0.16 * h), (far, sy + 0.1 * h), (sx, sy + 2)]
    else:
        sx = c.spec.subject_x * w + (0.25 if c.spec.subject_x < 0.5 else -0.25) * w
        cone = [(sx - 0.03 * w, 0), (sx + 0.03 * w, 0), (c.spec.subject_x * w + 0.12 * w, h),
                (c.spec.subject_x * w - 0.12 * w, h)]  # fmt: skip
    small = Image.new("L", (max(1, w // 4), max(1, h // 4)))
    ImageDraw.Draw(small).polygon([(x / 4, y / 4) for x, y in cone], fill=255)
    small = small.filter(ImageFilter.GaussianBlur(max(1.0, h / 160)))
    mask = as_mask(small.resize((w, h), Image.Resampling.BILINEAR))
    colour = mix(lamp_colour(c), WHITE, 0.3)
    c.glow += colour * (mask * 0.6)[..., None]
