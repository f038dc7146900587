"""The built-in renderer's subject (silhouette, halo, shadow, rim light) and weather."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from adapters.render_canvas import (
    WHITE,
    Canvas,
    Keywords,
    Rng,
    as_mask,
    luma,
    mix,
    noise,
    paint,
    pick,
    rgb,
)

SUBJECTS: Keywords = (
    (
        "vehicle",
        ("car", "vehicle", "truck", "bike", "motorbike", "motorcycle", "bus", "van", "taxi"),
    ),
    ("boat", ("boat", "ship", "sail", "yacht", "ferry", "canoe")),
    ("tree", ("tree", "oak", "pine", "plant", "bush", "willow")),
    ("house", ("house", "cabin", "cottage", "hut", "barn", "home")),
    ("tower", ("tower", "building", "castle", "lighthouse", "church", "temple", "monument")),
    ("animal", ("cat", "dog", "fox", "horse", "deer", "wolf", "animal", "pet")),
    ("object", ("bottle", "product", "perfume", "vase", "cup", "can", "jar", "object")),
)


Polygon = list[tuple[float, float]]

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
}
_ELLIPSES: dict[str, list[tuple[float, float, float, float]]] = {
    "vehicle": [(-0.65, 0.83, 0.17, 0.17), (0.65, 0.83, 0.17, 0.17)],
    "animal": [(0.0, 0.55, 0.42, 0.2), (0.42, 0.33, 0.15, 0.14)],
    "person": [(0.0, 0.075, 0.062, 0.068)],
}
# fmt: on


def _ellipse(cx: float, cy: float, rx: float, ry: float) -> Polygon:
    t = np.linspace(0, 2 * np.pi, 28, endpoint=False)
    return list(zip(cx + rx * np.cos(t), cy + ry * np.sin(t), strict=True))


def _person(coat: float) -> Polygon:
    right = [(0.03, 0.13), (0.13, 0.18), (0.16, 0.52), (0.125, 0.53), (0.11, 0.32), (coat, 0.74),
             (0.08, 0.74), (0.075, 1.0), (0.025, 1.0)]  # fmt: skip
    return [*right, (0.0, 0.76), *[(-x, y) for x, y in reversed(right)]]


def _shape(kind: str, rng: Rng, *, umbrella: bool) -> list[Polygon]:
    """Polygons of a subject of `kind`; the seed varies trees' crowns and the person's coat."""
    shape = [*_POLYGONS.get(kind, []), *(_ellipse(*e) for e in _ELLIPSES.get(kind, []))]
    if kind == "tree":
        shape += [
            _ellipse(*rng.uniform((-0.14, 0.2, 0.14, 0.12), (0.14, 0.45, 0.22, 0.18)))
            for _ in range(5)
        ]
    if kind == "person":
        shape.append(_person(coat=rng.uniform(0.1, 0.16)))
    if kind == "person" and umbrella:
        dome = [(0.1 + 0.3 * np.cos(a), 0.02 - 0.16 * np.sin(a)) for a in np.linspace(0, np.pi, 24)]
        shape += [dome, [(0.095, 0.02), (0.105, 0.02), (0.115, 0.45), (0.105, 0.45)]]
    return shape


def draw_subject(c: Canvas, rng: Rng) -> None:
    """The subject at its spot: ground shadow, backlight halo, silhouette and rim light."""
    spec, h, w = c.spec, c.h, c.w
    scale, keystone = {"low": (1.25, 0.25), "high": (0.85, -0.15), "overhead": (0.7, -0.25)}.get(
        spec.camera, (1.0, 0.0)
    )
    size = spec.subject_scale * h * scale
    cx, cy = spec.subject_x * w, spec.subject_y * h
    top, feet = cy - size / 2, cy + size / 2
    kind = pick(spec.subject, SUBJECTS) or "person"
    xs, ys = np.arange(w, dtype=np.float32)[None, :], np.arange(h, dtype=np.float32)[:, None]
    stretch = 2.5 if spec.lighting in ("golden hour", "dawn", "dusk") else 1.0
    shadow = np.exp(
        -(((xs - cx) / (0.3 * size * stretch)) ** 2 + ((ys - feet) / (0.04 * size)) ** 2)
    )
    c.rgb *= (1 - 0.55 * shadow * c.ground)[..., None]
    halo_colour = rgb(c.light.sun or c.light.horizon)
    if c.family == "studio" or spec.lighting in ("night", "neon"):
        halo_colour = mix(c.accents[0], WHITE, 0.6 if spec.lighting != "neon" else 0.1)
    halo = np.exp(-(((xs - cx) ** 2 + (ys - cy + 0.1 * size) ** 2) / (0.6 * size) ** 2))
    c.rgb += (halo_colour * c.light.halo * 0.7) * halo[..., None]
    mask_img = Image.new("L", (2 * w, 2 * h))  # drawn at 2x and reduced: antialiased edges
    draw = ImageDraw.Draw(mask_img)
    for poly in _shape(kind, rng, umbrella=spec.weather == "rain"):
        draw.polygon(
            [
                (2 * (cx + x * size * (1 + keystone * (y - 0.5))), 2 * (top + y * size))
                for x, y in poly
            ],
            fill=255,
        )
    mask = as_mask(mask_img.reduce(2))
    darkest = c.palette[int(np.argmin(luma(c.palette)))]
    base = mix(darkest, c.accents[-1], 0.25) * (0.2 + 0.45 * c.light.ambient)
    shade = np.clip((ys - top) / max(size, 1.0), 0, 1)[..., None]
    paint(c, mask, mix(base * 1.35, base * 0.7, shade))
    c.subject = mask
    offset = max(1, int(0.003 * h))
    rim = np.clip(mask - np.roll(mask, (offset, offset), axis=(0, 1)), 0, 1)
    c.rgb += mix(halo_colour, WHITE, 0.3) * (rim * 0.4 * (0.3 + c.light.halo))[..., None]


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
    c.glow[hz:] += c.glow[src[:, None], xs] * weight * fade


def draw_weather(c: Canvas, rng: Rng) -> None:
    """Rain streaks and wet reflections, depth fog, or snow flakes and snow cover."""
    h, w, weather = c.h, c.w, c.spec.weather
    if weather == "rain" or (c.spec.lighting == "neon" and c.family == "city"):
        _reflect(c, rng, 0.5 if weather == "rain" else 0.3)
    if weather == "rain":
        c.rgb[:] = mix(c.rgb, luma(c.rgb)[..., None] * np.ones(3, np.float32), 0.2) * 0.9
        streaks = Image.new("L", (w, h))
        draw = ImageDraw.Draw(streaks)
        slant = rng.uniform(-0.25, 0.25)
        for _ in range(int(w * h / 700)):
            x, y, length = (
                rng.uniform(-0.1, 1.1) * w,
                rng.uniform(0, 1) * h,
                rng.uniform(0.02, 0.07) * h,
            )
            draw.line((x, y, x + slant * length, y + length), fill=int(rng.integers(60, 170)))
        paint(c, as_mask(streaks), mix(c.sky_low, WHITE, 0.6))
    elif weather == "fog":
        rows = (np.arange(h, dtype=np.float32)[:, None] + 0.5) / h
        depth = np.exp(-np.abs(rows - c.horizon) / 0.22) * 0.55 + 0.25
        banks = 0.85 + 0.3 * noise(rng, h, w, (3, 8))
        fog = mix(c.sky_low, WHITE, 0.35) * (0.4 + 0.6 * c.light.sky_gain)
        # The subject stands nearer than the horizon, so it keeps more of its contrast.
        paint(c, np.clip(depth * banks, 0, 0.85) * (1 - 0.6 * c.subject), fog)
        c.glow *= 0.7
    elif weather == "snow":
        cover = c.ground * (1 - c.subject) * 0.55
        paint(c, cover, mix(c.sky_low, WHITE, 0.7))
        flakes = Image.new("L", (w, h))
        draw = ImageDraw.Draw(flakes)
        for _ in range(int(w * h / 900)):
            x, y, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(0.6, 0.004 * h + 1)
            draw.ellipse((x - r, y - r, x + r, y + r), fill=int(rng.integers(150, 255)))
        flakes = flakes.filter(ImageFilter.GaussianBlur(0.6))
        paint(c, as_mask(flakes), WHITE * 0.95)
