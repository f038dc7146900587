"""The built-in renderer's subject (silhouette, halo, shadow, rim light) and weather."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from adapters.render_canvas import (
    WHITE,
    Arr,
    Canvas,
    Rng,
    as_mask,
    broad_lights,
    f32,
    luma,
    mix,
    noise,
    paint,
    rgb,
    rows,
)
from adapters.specs import GenerationSpec

Polygon = list[tuple[float, float]]

_FOX_SHIFT = 0.1
"""A fox's body sits right of its box's centre, to balance its long brush."""
# Subjects in unit height: x centred on 0, y from 0 (top) to 1 (feet); ellipses are
# (cx, cy, rx, ry). The person's coat hem is filled in per seed.
# fmt: off
_POLYGONS: dict[str, list[Polygon]] = {
    "vehicle": [[(-1.1, 0.85), (-1.1, 0.5), (-0.6, 0.42), (-0.35, 0.05), (0.4, 0.05),
                 (0.65, 0.42), (1.1, 0.5), (1.1, 0.85)]],
    "boat": [[(-0.6, 0.78), (0.6, 0.78), (0.45, 1.0), (-0.45, 1.0)],
             [(-0.02, 0.04), (0.02, 0.04), (0.02, 0.78), (-0.02, 0.78)],
             [(0.04, 0.08), (0.42, 0.72), (0.04, 0.72)],
             [(-0.04, 0.16), (-0.04, 0.72), (-0.34, 0.72)]],
    "tree": [[(-0.05, 1.0), (-0.03, 0.45), (0.03, 0.45), (0.05, 1.0)]],
    "house": [[(-0.55, 1.0), (-0.55, 0.45), (0.0, 0.05), (0.55, 0.45), (0.55, 1.0)],
              [(0.25, 0.3), (0.25, 0.08), (0.36, 0.08), (0.36, 0.4)]],
    "tower": [[(-0.13, 1.0), (-0.09, 0.16), (0.0, 0.0), (0.09, 0.16), (0.13, 1.0)]],
    "animal": [[(0.32, 0.25), (0.36, 0.08), (0.44, 0.2)], [(0.44, 0.2), (0.52, 0.07), (0.54, 0.24)],
               [(-0.3, 0.6), (-0.24, 1.0), (-0.18, 1.0), (-0.16, 0.6)],
               [(0.16, 0.6), (0.2, 1.0), (0.26, 1.0), (0.3, 0.6)],
               [(-0.38, 0.5), (-0.62, 0.3), (-0.58, 0.26), (-0.36, 0.42)]],
    "object": [[(-0.16, 1.0), (-0.17, 0.42), (-0.06, 0.28), (-0.06, 0.08), (0.06, 0.08),
                (0.06, 0.28), (0.17, 0.42), (0.16, 1.0)],
               [(-0.07, 0.0), (0.07, 0.0), (0.07, 0.09), (-0.07, 0.09)]],
    "cat": [[(-0.13, 0.24), (-0.11, 0.03), (-0.02, 0.17)], [(0.05, 0.17), (0.13, 0.02),
            (0.16, 0.23)], [(0.05, 0.95), (0.4, 0.95), (0.5, 0.8), (0.47, 0.62), (0.42, 0.63),
            (0.44, 0.79), (0.37, 0.88), (0.08, 0.88)]],  # the tail's root inside the body
    "fox": [[(x + _FOX_SHIFT, y) for x, y in poly] for poly in (
        [(0.34, 0.27), (0.37, 0.03), (0.44, 0.22)],  # the far ear, then the near one: tall
        [(0.41, 0.21), (0.48, 0.01), (0.51, 0.25)],
        [(0.47, 0.23), (0.69, 0.33), (0.68, 0.36), (0.47, 0.4)],  # a long, pointed snout
        [(0.18, 0.42), (0.33, 0.26), (0.45, 0.32), (0.4, 0.52), (0.3, 0.6)],  # the neck
        [(0.2, 0.6), (0.215, 1.0), (0.245, 1.0), (0.265, 0.6)],  # slender legs
        [(0.27, 0.6), (0.3, 0.97), (0.33, 0.97), (0.33, 0.58)],
        [(-0.3, 0.58), (-0.285, 1.0), (-0.255, 1.0), (-0.21, 0.6)],
        [(-0.2, 0.6), (-0.175, 0.97), (-0.145, 0.97), (-0.13, 0.6)])],
    "bird": [[(-0.5, 0.25), (-0.26, 0.0), (0.0, 0.3), (0.26, 0.0), (0.5, 0.25), (0.26, 0.12),
              (0.0, 0.5), (-0.26, 0.12)]],
    "lamp": [[(-0.03, 1.0), (-0.018, 0.1), (0.018, 0.1), (0.03, 1.0)],
             [(-0.065, 1.0), (-0.05, 0.9), (0.05, 0.9), (0.065, 1.0)],
             [(0.0, 0.07), (0.2, 0.05), (0.2, 0.09), (0.0, 0.12)],
             [(0.13, 0.08), (0.28, 0.08), (0.25, 0.14), (0.16, 0.14)]],
    "placeholder": [[(-0.2, 1.0), (-0.2, 0.25), (0.2, 0.25), (0.2, 1.0)]],
}
HALF_WIDTH = {"vehicle": 1.1, "boat": 0.6, "tree": 0.35, "house": 0.55, "tower": 0.13,
              "animal": 0.62, "object": 0.17, "cat": 0.35, "bird": 0.5, "lamp": 0.28,
              "placeholder": 0.2, "person": 0.17, "fox": 0.8}
"""Half the width of each silhouette, in units of its height (to place things beside it)."""
LAMP_HEAD = (0.205, 0.13)
"""Where a lamp's light comes from, in the lamp's unit coordinates."""
_ELLIPSES: dict[str, list[tuple[float, float, float, float]]] = {
    "vehicle": [(-0.65, 0.83, 0.17, 0.17), (0.65, 0.83, 0.17, 0.17)],
    "animal": [(0.0, 0.55, 0.42, 0.2), (0.42, 0.33, 0.15, 0.14)],
    "person": [(0.0, 0.075, 0.062, 0.068)],
    "cat": [(0.0, 0.67, 0.22, 0.31), (0.02, 0.3, 0.15, 0.14)],
    "fox": [(_FOX_SHIFT - 0.02, 0.5, 0.36, 0.15), (_FOX_SHIFT + 0.42, 0.3, 0.1, 0.085)],
    "placeholder": [(0.0, 0.25, 0.2, 0.2)],
}
# fmt: on


def _tail(points: int = 14) -> tuple[Polygon, Polygon]:
    """A fox's brush: a thick plume from the rump sweeping back and down, widest in the
    middle and tapering to a point; and its tip (the last fifth), drawn white."""
    t = np.linspace(0, 1, points)
    x = _FOX_SHIFT - 0.3 - 0.6 * t
    y = 0.5 + 0.2 * t**1.5
    half = 0.09 * np.sin(np.pi * np.clip(t * 0.95 + 0.05, 0, 1)) ** 0.7 + 0.015
    upper = list(zip(x, y - half, strict=True))
    lower = list(zip(x, y + half, strict=True))
    tail = [*upper, *reversed(lower)]
    cut = int(points * 0.78)
    tip = [*upper[cut:], *reversed(lower[cut:])]
    return tail, tip


def _ellipse(cx: float, cy: float, rx: float, ry: float) -> Polygon:
    t = np.linspace(0, 2 * np.pi, 28, endpoint=False)
    return list(zip(cx + rx * np.cos(t), cy + ry * np.sin(t), strict=True))


def _person(coat: float) -> Polygon:
    right = [(0.03, 0.13), (0.13, 0.18), (0.16, 0.52), (0.125, 0.53), (0.11, 0.32), (coat, 0.74),
             (0.08, 0.74), (0.075, 1.0), (0.025, 1.0)]  # fmt: skip
    return [*right, (0.0, 0.76), *[(-x, y) for x, y in reversed(right)]]


def shape(kind: str, rng: Rng, *, umbrella: bool) -> list[Polygon]:
    """Polygons of a subject of `kind`; the seed varies trees' crowns and the person's coat."""
    shape = [*_POLYGONS.get(kind, []), *(_ellipse(*e) for e in _ELLIPSES.get(kind, []))]
    if kind == "tree":
        shape += [
            _ellipse(*rng.uniform((-0.14, 0.2, 0.14, 0.12), (0.14, 0.45, 0.22, 0.18)))
            for _ in range(5)
        ]
    if kind == "fox":
        shape.append(_tail()[0])
    if kind == "person":
        shape.append(_person(coat=rng.uniform(0.1, 0.16)))
    if kind == "person" and umbrella:
        dome = [(0.1 + 0.3 * np.cos(a), 0.02 - 0.16 * np.sin(a)) for a in np.linspace(0, np.pi, 24)]
        shape += [dome, [(0.095, 0.02), (0.105, 0.02), (0.115, 0.45), (0.105, 0.45)]]
    return shape


CAMERAS = {"low": (1.25, 0.25), "high": (0.85, -0.15), "overhead": (0.7, -0.25)}
"""Camera height: how much bigger the subject looms, and the keystone of its verticals."""
FRAME_MARGIN = 0.03
"""The subject's box keeps this far (a fraction of each side) inside the frame."""


def _extent(kind: str) -> tuple[float, float]:
    """How far a silhouette reaches left or right of its centre, and above its top, in units
    of its height (polygons, ellipses, crowns, the person's coat and umbrella included)."""
    points = [p for poly in _POLYGONS.get(kind, []) for p in poly]
    points += [
        (cx + sx * rx, cy - ry) for cx, cy, rx, ry in _ELLIPSES.get(kind, []) for sx in (-1, 1)
    ]
    reach = max([abs(x) for x, _ in points] + [HALF_WIDTH.get(kind, 0.3)])
    above = max([-y for _, y in points] + [0.0])
    if kind == "tree":
        reach = max(reach, 0.36)
    if kind == "fox":
        reach = max([reach] + [abs(x) for x, _ in _tail()[0]])
    if kind == "person":
        reach, above = max(reach, 0.4), 0.14  # the umbrella's dome, in the rain
    return reach, above


@dataclass(frozen=True)
class Placement:
    """Where the subject is drawn, in pixels: its box's centre, its height and keystone."""

    cx: float
    cy: float
    size: float
    keystone: float

    @property
    def top(self) -> float:
        return self.cy - self.size / 2

    @property
    def feet(self) -> float:
        return self.cy + self.size / 2


def placement(spec: GenerationSpec, kind: str) -> Placement:
    """The subject where the spec puts it, pulled (and if need be shrunk) so its whole box,
    a low camera's looming size and keystone included, stays `FRAME_MARGIN` inside the frame:
    a close 4:5 or square shot never cuts a boat or a walker off at the bottom edge."""
    w, h = spec.width, spec.height
    scale, keystone = CAMERAS.get(spec.camera, (1.0, 0.0))
    size = spec.subject_scale * h * scale
    reach, above = _extent(kind)
    reach *= 1 + abs(keystone) / 2
    mx, my = FRAME_MARGIN * w, FRAME_MARGIN * h
    fit = min(1.0, (h - 2 * my) / (size * (1 + above)), (w - 2 * mx) / (2 * reach * size))
    size *= fit
    cx = min(max(spec.subject_x * w, mx + reach * size), w - mx - reach * size)
    low, high = my + size * (0.5 + above), h - my - size / 2
    cy = min(max(spec.subject_y * h, low), high)
    return Placement(cx, cy, size, keystone)


def halo_colour(c: Canvas) -> Arr:
    """The backlight colour behind silhouettes: the sun's, or an accent at night and indoors."""
    lighting = c.words.lighting
    if c.family == "studio" or lighting in ("night", "neon"):
        return mix(c.accents[0], WHITE, 0.6 if lighting != "neon" else 0.1)
    return rgb(c.light.sun or c.light.horizon)


def _box(c: Canvas, x0: float, y0: float, x1: float, y1: float) -> tuple[slice, slice]:
    ys = slice(max(0, int(y0)), min(c.h, int(np.ceil(y1)) + 1))
    xs = slice(max(0, int(x0)), min(c.w, int(np.ceil(x1)) + 1))
    return ys, xs


def stamp(
    c: Canvas,
    kind: str,
    rng: Rng,
    centre: tuple[float, float],
    size: float,
    *,
    keystone: float = 0.0,
    halo: float = 1.0,
    shadow: float = 0.55,
    fill: str | None = None,
) -> Arr:
    """Draw one silhouette of `kind`, `size` px tall, its box centred on `centre`: a ground
    shadow, a backlight halo, the shape and a rim light; return its coverage (H x W).

    Everything is computed in the shape's own box, so small elements cost little.
    """
    cx, cy = centre
    top, feet = cy - size / 2, cy + size / 2
    umbrella = kind == "person" and c.words.weather == "rain"
    polys = [
        [(cx + x * size * (1 + keystone * (y - 0.5)), top + y * size) for x, y in poly]
        for poly in shape(kind, rng, umbrella=umbrella)
    ]
    stretch = 2.5 if c.words.lighting in ("golden hour", "dawn", "dusk") else 1.0
    # Far enough that the halo and the shadow have faded to nothing at the box's edge.
    reach = size * max(1.6, 0.75 * stretch * 2.2, HALF_WIDTH.get(kind, 0.3) + 0.3)
    ys, xs = _box(c, cx - reach, cy - 1.6 * size, cx + reach, cy + 1.6 * size)
    if ys.start >= ys.stop or xs.start >= xs.stop:
        return np.zeros((c.h, c.w), np.float32)
    gy = np.arange(ys.start, ys.stop, dtype=np.float32)[:, None]
    gx = np.arange(xs.start, xs.stop, dtype=np.float32)[None, :]
    dark = np.exp(-(((gx - cx) / (0.3 * size * stretch)) ** 2 + ((gy - feet) / (0.04 * size)) ** 2))
    c.rgb[ys, xs] *= (1 - shadow * dark * c.ground[ys, xs])[..., None]
    glow = np.exp(-(((gx - cx) ** 2 + (gy - cy + 0.1 * size) ** 2) / (0.6 * size) ** 2))
    colour = halo_colour(c)
    c.rgb[ys, xs] += (colour * c.light.halo * 0.7 * halo) * glow[..., None]
    local = Image.new("L", (2 * (xs.stop - xs.start), 2 * (ys.stop - ys.start)))
    draw = ImageDraw.Draw(local)  # drawn at 2x and reduced: antialiased edges
    for poly in polys:
        draw.polygon([(2 * (x - xs.start), 2 * (y - ys.start)) for x, y in poly], fill=255)
    mask = np.zeros((c.h, c.w), np.float32)
    mask[ys, xs] = as_mask(local.reduce(2))
    darkest = c.palette[int(np.argmin(luma(c.palette)))]
    named = [rgb(h) for h in c.words.colours.values()]  # a red boat's red is not for the rest
    unnamed = [a for a in c.accents if not any(np.allclose(a, n, atol=0.01) for n in named)]
    base = mix(darkest, (unnamed or c.accents)[-1], 0.25) * (0.2 + 0.45 * c.light.ambient)
    if fill is not None:  # lit like the scene, but its own colour
        base = rgb(fill) * (0.55 + 0.35 * c.light.ambient)
    shade = np.clip((np.arange(c.h, dtype=np.float32)[:, None] - top) / max(size, 1.0), 0, 1)
    paint(c, mask, mix(base * 1.35, base * 0.7, shade[..., None]))
    if fill is not None:  # the grade leaves its colour as the person named it
        c.ungraded = mask if c.ungraded is None else np.maximum(c.ungraded, mask)
    if kind == "fox":  # the white tip of its brush
        tip = Image.new("L", local.size)
        place = [
            (cx + x * size * (1 + keystone * (y - 0.5)), top + y * size) for x, y in _tail()[1]
        ]
        ImageDraw.Draw(tip).polygon(
            [(2 * (x - xs.start), 2 * (y - ys.start)) for x, y in place], fill=255
        )
        tip_mask = np.zeros((c.h, c.w), np.float32)
        tip_mask[ys, xs] = as_mask(tip.reduce(2)) * mask[ys, xs]
        paint(c, tip_mask, WHITE * (0.6 + 0.35 * c.light.ambient))
    offset = max(1, int(0.003 * c.h))
    local_mask = mask[ys, xs]
    rim = np.clip(local_mask - np.roll(local_mask, (offset, offset), axis=(0, 1)), 0, 1)
    c.rgb[ys, xs] += mix(colour, WHITE, 0.3) * (rim * 0.4 * (0.3 + c.light.halo) * halo)[..., None]
    return mask


def lamp_colour(c: Canvas, said: str = "") -> Arr:
    """A lamp's light: orange when the words warm the light, bluish when they cool it."""
    if "orange" in said or "amber" in said or c.words.warmth > 0:
        return rgb("#ffa040")
    return rgb("#bcd6ff" if c.words.warmth < 0 else "#ffd9a0")


def light_at(c: Canvas, x: float, y: float, radius: float, colour: Arr) -> None:
    """A small light source (a lamp, a lighthouse lantern): a lit disc that blooms."""
    r = max(1.5, radius)
    ys = slice(max(0, int(y - 2 * r)), min(c.h, int(y + 2 * r) + 1))
    xs = slice(max(0, int(x - 2 * r)), min(c.w, int(x + 2 * r) + 1))
    gy = np.arange(ys.start, ys.stop, dtype=np.float32)[:, None]
    gx = np.arange(xs.start, xs.stop, dtype=np.float32)[None, :]
    disc = np.clip(1.5 - np.hypot(gx - x, gy - y) / r, 0, 1)
    c.glow[ys, xs] += colour * (disc * 1.6)[..., None]


BUILDINGS = ("house", "tower")
"""Subject kinds that stand on land: over water they get a quay (or, a lighthouse, a rock)."""
QUAY_PERSPECTIVE = 2.5
"""How fast a quay's edges fall away from the horizon past the building, per frame width."""
LIT_WINDOWS = 0.5
WINDOW_GLOW = 0.4
"""How brightly lit windows glow: brighter and Lens's saliency takes the bright panes alone
for the subject (at 1.1 it measured the cafe 0.14 tall where the house is 0.25)."""
"""The light's `emissive` from which a house's windows are lit (dusk, night, neon)."""
# Window panes in a house's unit coordinates (x0, y0, x1, y1): the gable's, the upper floor's,
# then the ground floor's; a cafe or shop has a wide shop window and a glazed door there.
_GABLE = [(-0.07, 0.27, 0.07, 0.38)]
_UPPER = [(-0.38, 0.53, -0.16, 0.66), (0.16, 0.53, 0.38, 0.66)]
_HOUSE_DOWN = [(-0.38, 0.75, -0.16, 0.88), (0.06, 0.73, 0.22, 0.99), (0.3, 0.75, 0.44, 0.88)]
_SHOP_DOWN = [(-0.44, 0.73, 0.04, 0.92), (0.16, 0.72, 0.34, 0.99)]
_SHOPS = ("cafe", "café", "coffee", "shop", "bakery", "bar", "pub", "restaurant", "bistro")


def _quay(c: Canvas, rng: Rng, at: Placement, kind: str) -> tuple[float, float] | None:
    """Land under a building standing in a water scene, so it never floats on open water: a
    stone quay (a lighthouse: a rock) from the nearer frame edge to just past the building,
    its top as bright as the water beside it (so the silhouette still stands out against it)
    and its front wall dark down to the water's edge. Returns the rows of the quay's front
    edge and of the foot of its wall, or None where there is no water under the building."""
    h, w, hz = c.h, c.w, c.horizon * c.h
    feet = at.feet
    if c.family != "water" or kind not in BUILDINGS or feet < hz + 0.02 * h:
        return None
    rock = kind == "tower" and "lighthouse" in c.spec.subject.lower()
    reach = (_extent(kind)[0] * (1 + abs(at.keystone) / 2) + (0.35 if rock else 0.3)) * at.size
    depth = feet - hz
    back = feet - max(2.0, 0.07 * depth)
    front = min(feet + max(3.0, 0.12 * depth), h - 2.0)
    foot = min(front + max(4.0, 0.16 * at.size), float(h))
    ys, xs = rows(h), np.arange(w, dtype=np.float32)[None, :]
    left = at.cx < w / 2
    # Toward the nearer frame edge the quay comes toward the camera: past the building its
    # edges fall away from the horizon, as a quay's do in perspective (and no edge of it
    # runs level across the frame, to be taken for the horizon).
    near = (at.cx - reach - xs) if left else (xs - at.cx - reach)
    bend = np.clip(near, 0, None)
    spread = 1 + QUAY_PERSPECTIVE * bend**2 / (bend + 0.08 * w) / w  # eased in, no kink

    def away(row: float) -> Arr:
        out: Arr = hz + (row - hz) * spread
        return out

    backs, fronts, feet_of = away(back), away(front), away(foot)
    # The far end of the quay: cut square, or for a rock sloping into the water.
    end = at.cx + reach if left else at.cx - reach
    along = (end - xs) if left else (xs - end)  # px inside the far end
    slope = np.clip(along / max(1.0, 0.25 * at.size), 0, 1) if rock else np.ones_like(along)
    top = backs + (1 - slope) * (feet_of - backs)
    if rock:  # a rough top, rising to the tower's foot
        rough = noise(rng, 1, w, (1, max(4, w // 24)))[0][None, :]
        top = top - (rough - 0.5) * 0.05 * at.size
    inside = np.clip(along + 0.5, 0, 1)
    land = np.clip(ys + 0.5 - top, 0, 1) * np.clip(feet_of - ys + 0.5, 0, 1) * inside
    deck = land * np.clip(fronts - ys + 0.5, 0, 1) if not rock else land * 0.0
    wall = land - deck
    band = slice(int(back), min(h, int(np.ceil(foot)) + 1))
    water = float(luma(c.rgb[band]).mean()) if band.start < band.stop else 0.3
    darkest = c.palette[int(np.argmin(luma(c.palette)))]
    stone = mix(mix(darkest, WHITE, 0.35), c.sky_low, 0.4)
    stone = stone / max(float(luma(stone)), 1e-3)
    lit = np.clip(1 - (ys - fronts) / np.maximum(1.0, feet_of - fronts), 0, 1)  # from above
    grain = 0.9 + 0.2 * noise(rng, h, w, (max(4, h // 8), max(4, w // 30)))
    if not rock:  # dressed stone: courses of blocks, each course's joints offset
        course = max(3.0, 0.05 * at.size) * spread
        row = np.floor((ys - fronts) / course)
        joint = (np.abs((xs + row * 1.5 * course) % (3 * course)) < 1.0) | (
            np.abs((ys - fronts) % course) < 0.8
        )
        grain = grain * np.where(joint, 0.7, 1.0)
    paint(c, deck, stone * water * 1.3 * grain[..., None])
    shade = (0.15 + 0.25 * lit) if rock else (0.3 + 0.4 * lit)  # a rock is darker than stone
    paint(c, wall, stone * water * (shade * grain)[..., None])
    edge = wall * np.clip(1 - np.abs(ys - fronts) / max(1.5, 0.004 * h), 0, 1)
    if not rock:  # the quay's lip catches the sky
        paint(c, edge, mix(stone * water * 1.3, c.sky_low, 0.6))
    c.glow *= (1 - land)[..., None]  # no sun glints on stone
    c.ground = c.ground * (1 - land) + land * 0.6 * deck
    if c.ungraded is not None:
        c.ungraded = c.ungraded * (1 - land)
    return front, foot


def _panes(kind: str, subject: str) -> list[tuple[float, float, float, float]]:
    if kind != "house":
        return []
    shop = any(word in subject.lower() for word in _SHOPS)
    return [*_GABLE, *_UPPER, *(_SHOP_DOWN if shop else _HOUSE_DOWN)]


def lit_windows(
    c: Canvas,
    rng: Rng,
    at: Placement,
    kind: str,
    mask: Arr,
    quay: tuple[float, float] | None,
    said: str,
) -> None:
    """Warm lit windows in a house at dusk or night (the subject, or a cabin beside it: `said`
    names it, a cafe gets a shop window), each pane its own brightness, with rain running down
    the glass in the rain, and their light mirrored faintly on wet ground or water below."""
    panes = _panes(kind, said)
    if not panes or c.light.emissive < LIT_WINDOWS:
        return
    size, top = at.size, at.top
    ys, xs = _box(c, at.cx - size, top, at.cx + size, at.feet)
    if ys.start >= ys.stop or xs.start >= xs.stop:
        return
    local = Image.new("L", (xs.stop - xs.start, ys.stop - ys.start))
    draw = ImageDraw.Draw(local)
    bar = max(1.0, 0.012 * size)
    rain = c.words.weather == "rain"
    for x0, y0, x1, y1 in panes:
        corners = [
            (at.cx + x * size * (1 + at.keystone * (y - 0.5)) - xs.start, top + y * size - ys.start)
            for x, y in ((x0, y0), (x1, y0), (x1, y1), (x0, y1))
        ]
        draw.polygon(corners, fill=int(rng.integers(170, 256)))
        (ax, ay), (bx, _), _, (_, dy) = corners
        mx, my = (ax + bx) / 2, (ay + dy) / 2  # glazing bars: a cross
        draw.line((mx, ay, mx, dy), fill=0, width=int(bar))
        if y1 - y0 < 0.2:
            draw.line((ax, my, bx, my), fill=0, width=int(bar))
        for _ in range(int((bx - ax) / max(2.0, 0.03 * size)) if rain else 0):
            rx = rng.uniform(ax, bx)
            ry = rng.uniform(ay, dy)
            draw.line((rx, ry, rx + rng.uniform(-0.5, 0.5), dy), fill=int(rng.integers(40, 110)))
    lit = np.zeros((c.h, c.w), np.float32)
    lit[ys, xs] = as_mask(local) * mask[ys, xs]
    colour = mix(lamp_colour(c), rgb("#ffc873"), 0.4)
    strength = min(1.0, c.light.emissive) * WINDOW_GLOW
    paint(c, lit, colour * 0.5)
    c.glow += colour * (lit * strength)[..., None]
    _window_light(c, rng, at, lit * strength, colour, quay)


def _window_light(
    c: Canvas, rng: Rng, at: Placement, lit: Arr, colour: Arr, quay: tuple[float, float] | None
) -> None:
    """The windows' light mirrored, stretched and broken: on the wet quay in front of the
    house (in the rain), and on the water below the quay's wall."""
    cols = lit.sum(axis=0) / max(1.0, 0.08 * at.size)  # how much window each column holds
    if not cols.any():
        return
    reach = int(0.5 * at.size)
    spans = [(at.feet, quay[0], 0.35 if c.words.weather == "rain" else 0.0)] if quay else []
    start = quay[1] if quay else at.feet
    wet = quay is not None or c.words.weather == "rain"
    spans.append((start, start + reach, 0.45 if wet else 0.0))
    for y0, y1, weight in spans:
        r0, r1 = int(np.ceil(y0)), min(c.h, int(y1))
        if weight <= 0 or r1 <= r0:
            continue
        n = r1 - r0
        fade = np.linspace(1, 0, n, dtype=np.float32) ** 1.5
        broken = (rng.random(n) < 0.6).astype(np.float32) * 0.8 + 0.2
        column = np.clip(cols, 0, 1)[None, :] * (fade * broken)[:, None]
        column *= c.ground[r0:r1] * (1 - c.subject[r0:r1])
        c.glow[r0:r1] += colour * (column * weight)[..., None]


def draw_subject(c: Canvas, rng: Rng) -> None:
    """The subject at its spot: ground shadow, backlight halo, silhouette and rim light (and
    its light, when it is a lighthouse or a lamp). A building over water stands on a quay or
    a rock; a house at dusk or night has lit windows."""
    spec = c.spec
    kind = c.words.subject
    at = placement(spec, kind)
    cx, size = at.cx, at.size
    quay = _quay(c, rng, at, kind)
    fill = c.words.colours.get(kind)
    c.subject = stamp(c, kind, rng, (cx, at.cy), size, keystone=at.keystone, fill=fill)
    lit_windows(c, rng, at, kind, c.subject, quay, spec.subject)
    top = at.top
    if c.words.subject == "tower" and "lighthouse" in spec.subject.lower():
        light_at(c, cx, top + 0.12 * size, 0.05 * size, lamp_colour(c))
    elif c.words.subject == "lamp":
        light_at(c, cx + LAMP_HEAD[0] * size, top + LAMP_HEAD[1] * size, 0.035 * size,
                 lamp_colour(c))  # fmt: skip


def _reflect(c: Canvas, rng: Rng, strength: float) -> None:
    """Mirror what stands above the horizon into a wet ground plane, stretched and rippled."""
    h, w, hz = c.h, c.w, int(c.horizon * c.h)
    if not 0 < hz < h - 1:
        return
    ys = np.arange(hz, h)
    # Wet streets stretch reflections downward, so sample the mirror at half the distance.
    src = np.clip(hz - 1 - ((ys - hz) * 0.5).astype(int), 0, h - 1)
    wobble = np.sin((ys - hz) * 1.3 + rng.uniform(0, 6)) * (0.6 + (ys - hz) * 0.006)
    xs = np.clip(np.arange(w)[None, :] + wobble.astype(int)[:, None], 0, w - 1)
    weight = (c.ground[hz:] * (1 - c.subject[hz:]) * strength)[..., None]
    fade = np.linspace(1, 0.4, len(ys), dtype=np.float32)[:, None, None]
    c.rgb[hz:] = mix(c.rgb[hz:], c.rgb[src[:, None], xs] * 0.7, weight)
    c.glow[hz:] += broad_lights(c.glow[:hz])[src[:, None], xs] * weight * fade  # no stars


def draw_weather(c: Canvas, rng: Rng) -> None:
    """Rain streaks and wet reflections, depth fog, or snow flakes and snow cover, each as
    heavy as the words ask ("light rain" .. "downpour", "make it rainier")."""
    h, w, weather, level = c.h, c.w, c.words.weather, c.words.intensity
    if weather == "rain" or (c.words.lighting == "neon" and c.family == "city"):
        _reflect(c, rng, min(0.75, 0.35 + 0.15 * level) if weather == "rain" else 0.3)
    if weather == "rain":
        grey = luma(c.rgb)[..., None] * np.ones(3, np.float32)
        c.rgb[:] = mix(c.rgb, grey, min(0.45, 0.12 + 0.08 * level)) * (0.94 - 0.04 * level)
        streaks = Image.new("L", (w, h))
        draw = ImageDraw.Draw(streaks)
        slant = rng.uniform(-0.25, 0.25) * (0.6 + 0.4 * level)
        reach = 0.8 + 0.25 * level
        for _ in range(int(w * h / 700 * level)):
            x, y, length = (
                rng.uniform(-0.1, 1.1) * w,
                rng.uniform(0, 1) * h,
                rng.uniform(0.02, 0.07) * h * reach,
            )
            draw.line((x, y, x + slant * length, y + length), fill=int(rng.integers(60, 170)))
        paint(c, as_mask(streaks), mix(c.sky_low, WHITE, 0.6))
        if level > 1:  # a downpour veils the distance
            rows = (np.arange(h, dtype=np.float32)[:, None] + 0.5) / h
            veil = np.exp(-np.abs(rows - c.horizon) / 0.2) * min(0.35, 0.2 * (level - 1))
            paint(c, f32(veil * np.ones((1, w))), mix(c.sky_low, WHITE, 0.2))
    elif weather == "fog":
        rows = (np.arange(h, dtype=np.float32)[:, None] + 0.5) / h
        depth = np.exp(-np.abs(rows - c.horizon) / 0.22) * 0.55 + 0.25
        banks = 0.85 + 0.3 * noise(rng, h, w, (3, 8))
        fog = mix(c.sky_low, WHITE, 0.35) * (0.4 + 0.6 * c.light.sky_gain)
        thick = 0.55 + 0.45 * level
        # The subject stands nearer than the horizon, so it keeps more of its contrast.
        paint(c, np.clip(depth * banks * thick, 0, 0.9) * (1 - 0.6 * c.subject), fog)
        c.glow *= 0.7
    elif weather == "snow":
        cover = c.ground * (1 - c.subject) * min(0.8, 0.35 + 0.2 * level)
        paint(c, cover, mix(c.sky_low, WHITE, 0.7))
        flakes = Image.new("L", (w, h))
        draw = ImageDraw.Draw(flakes)
        for _ in range(int(w * h / 900 * level)):
            x, y, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(0.6, 0.004 * h + 1)
            draw.ellipse((x - r, y - r, x + r, y + r), fill=int(rng.integers(150, 255)))
        flakes = flakes.filter(ImageFilter.GaussianBlur(0.6))
        paint(c, as_mask(flakes), WHITE * 0.95)
