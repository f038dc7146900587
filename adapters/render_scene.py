"""The built-in renderer's surroundings: sky, scenery for each scene family, and ground."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from adapters.render_canvas import (
    SUN_CLEARANCE,
    WHITE,
    Arr,
    Canvas,
    Disc,
    Rng,
    as_mask,
    broad_lights,
    disc_box,
    f32,
    luma,
    mix,
    noise,
    paint,
    rgb,
    rows,
    sun_disc,
)
from adapters.render_text import layout


def draw_sky(c: Canvas, rng: Rng) -> None:
    """Sky gradient from the dominant colour and the light, clouds, sun or moon, stars."""
    h, w, light = c.h, c.w, c.light
    top = mix(c.palette[0], rgb(light.top), 0.45) * light.sky_gain
    low = mix(mix(c.palette[0], WHITE, 0.2), rgb(light.horizon), 0.5) * light.sky_gain
    if light.emissive >= 1 and c.family == "city":  # the glow of the city on low cloud
        low = mix(low, c.emitters[0] * light.sky_gain, 0.3)
    c.sky_low = low
    y = (np.arange(h, dtype=np.float32) + 0.5) / h
    t = f32(np.clip(y / c.horizon, 0, 1) ** 1.6)
    c.rgb[:] = mix(top, low, t[:, None])[:, None, :]
    clear = c.spec.weather == "clear"
    clouds = light.clouds if clear else max(light.clouds, 0.8)
    if clouds and c.family != "studio":
        n = noise(rng, h, w, (5, 4)) * 0.55 + noise(rng, h, w, (12, 7)) * 0.45
        cover = f32(np.clip((n - (0.62 - 0.3 * clouds)) / 0.25, 0, 1))
        cover *= f32(np.clip((c.horizon - y) / c.horizon * 3, 0, 1))[:, None]
        lit = mix(low, rgb(light.sun or light.horizon), 0.4) * 1.05
        paint(c, cover * 0.75, mix(lit, top, f32(np.clip(n - 0.5, 0, 1))[..., None]))
    if (disc := _sun(c)) is not None:
        sx, sy, _ = disc
        dist = np.hypot((np.arange(w) - sx)[None, :], (np.arange(h) - sy)[:, None]) / h
        sun = rgb(light.sun or "#ffffff")
        c.rgb += sun * (light.glow * 0.55 * np.exp(-dist / 0.2))[..., None].astype(np.float32)
        lit = np.clip((light.sun_size - dist) * h / 1.5, 0, 1).astype(np.float32)
        c.glow += sun * lit[..., None]
    if light.stars and c.family != "studio":
        count = int(light.stars * w * h / 900)
        ys = (rng.random(count) ** 1.5 * c.horizon * h * 0.95).astype(int)
        xs = rng.integers(0, w, count)
        c.glow[ys, xs] += (rng.random(count, dtype=np.float32) ** 2 * 0.9)[:, None]


def _sun(c: Canvas) -> Disc | None:
    """The sun or moon where `sun_disc` puts it, unless the lettering sits there: then it moves
    beside or below the type, or, with no room left in the sky, is not drawn (never two suns,
    never one behind the words)."""
    disc = sun_disc(c.spec)
    text = c.words.lettering.text
    if disc is None or not text:
        return disc
    box = layout(c.spec, text).box
    x0, y0, x1, y1 = disc_box(disc)
    if not (x0 < box[2] and box[0] < x1 and y0 < box[3] and box[1] < y1):
        return disc
    x, y, r = disc
    reach, gap = SUN_CLEARANCE * r, 0.02 * c.w
    sides = [box[0] - reach - gap, box[2] + reach + gap]
    sides = [s for s in sides if 0.05 * c.w <= s <= 0.95 * c.w]
    if sides:
        return min(sides, key=lambda s: abs(s - x)), y, r
    low = box[3] + reach + gap
    if low <= c.horizon * c.h + 0.5 * r:  # below the type, setting on the horizon
        return x, low, r
    return None


def draw_scenery(c: Canvas, rng: Rng) -> None:
    """Far scenery for the scene family, then the ground plane and its near details."""
    if c.family == "city":
        _city(c, rng)
    elif c.family == "water":
        _water(c, rng)
    elif c.family == "studio":
        _studio(c)
    else:
        _land(c, rng)


def _scenery_colour(c: Canvas) -> Arr:
    darkest = c.palette[int(np.argmin(luma(c.palette)))]
    return mix(darkest, c.palette[1], 0.35) * (0.35 + 0.5 * c.light.ambient)


SNOW = "#f4f6f8"
"""Snow on the ground."""


def ground(
    c: Canvas, rng: Rng, edge: Arr | None = None, colour: Arr | None = None, lit: bool = False
) -> None:
    """Ground from the horizon (or a per-column `edge` in pixels) down, hazed with distance;
    `lit` ground (snow) may be as bright as the sky, not kept darker than it."""
    h, w = c.h, c.w
    hz = c.horizon * h
    ys = rows(h)
    top = np.full(w, hz, np.float32) if edge is None else edge.astype(np.float32)
    mask = np.clip(ys + 0.5 - top[None, :], 0, 1)
    depth = np.clip((ys - hz) / max(1.0, h - hz), 0, 1) ** 0.7
    base = (c.palette[1] if colour is None else colour) * c.light.ambient
    # Keep the land clearly darker than the sky at the horizon, or the horizon line vanishes.
    far = mix(base, c.sky_low, 0.3)
    limit = 0.75 * float(luma(c.sky_low))
    if float(luma(far)) > limit and not lit:
        base, far = base * limit / float(luma(far)), far * limit / float(luma(far))
    col = mix(far, base * 0.7, depth[..., None])
    texture = 0.88 + 0.24 * noise(rng, h, w, (max(4, h // 6), max(4, w // 48)))
    paint(c, mask, col * texture[..., None])
    c.ground = np.maximum(c.ground, mask)


def _city(c: Canvas, rng: Rng) -> None:
    """Two layers of buildings with lit windows (and neon signs), a street and its kerb."""
    h, w, hz = c.h, c.w, int(c.horizon * c.h)
    building = _scenery_colour(c)
    neon = c.light.emissive > 1
    warm = np.array([1.0, 0.84, 0.59], np.float32)
    windows = [mix(warm, e, 0.6) for e in c.emitters] if neon else [warm]
    for haze, tall in ((0.55, 0.75), (0.12, 1.0)):
        mask = Image.new("L", (w, h))
        lights = Image.new("RGB", (w, h))
        draw, ldraw = ImageDraw.Draw(mask), ImageDraw.Draw(lights)
        x = -rng.uniform(0, 0.05) * w
        while x < w:
            bw = rng.uniform(0.05, 0.13) * w * (0.7 if haze > 0.5 else 1.0)
            top = hz - rng.uniform(0.15, 0.6) * tall * hz
            draw.rectangle((x, top, x + bw, hz), fill=255)
            if rng.random() < 0.3:
                draw.rectangle((x + bw * 0.45, top - 0.06 * hz, x + bw * 0.5, top), fill=255)
            lit = windows[int(rng.integers(len(windows)))] * (0.45 if haze > 0.5 else 0.7)
            _windows(ldraw, rng, (x, top, x + bw, hz), h, _fill(lit))
            for _ in range(int(rng.integers(0, 3)) if haze < 0.5 and neon else 0):
                _sign(ldraw, rng, (x, top, x + bw, hz), c)
            x += bw + rng.uniform(0, 0.015) * w
        paint(c, as_mask(mask), mix(building, c.sky_low, haze))
        c.glow += np.asarray(lights, np.float32) / 255 * max(min(c.light.emissive, 1), 0.1)
    ground(c, rng, colour=mix(c.palette[1], building, 0.5))
    road = Image.new("L", (w, h))
    vx = w * 0.5
    ImageDraw.Draw(road).polygon(
        [(vx - 0.04 * w, hz), (vx + 0.04 * w, hz), (w * 1.1, h), (-0.1 * w, h)], fill=255
    )
    paint(c, as_mask(road) * 0.55, building * 0.5)
    # A lit pavement strip where the buildings meet the street; it stays dry in the rain.
    kerb = np.zeros((h, w), np.float32)
    kerb[hz : hz + max(2, int(0.015 * h))] = 1
    lamp = mix(c.sky_low, WHITE, 0.3)
    if c.light.emissive >= 1:
        lamp = mix(c.sky_low * 1.5, c.emitters[0], 0.3)
    paint(c, kerb, lamp)
    c.ground *= 1 - kerb


def _fill(colour: Arr) -> tuple[int, int, int]:
    r, g, b = (int(v) for v in np.clip(colour * 255, 0, 255))
    return r, g, b


def _windows(
    draw: ImageDraw.ImageDraw,
    rng: Rng,
    box: tuple[float, float, float, float],
    h: int,
    fill: tuple[int, int, int],
) -> None:
    x0, y0, x1, y1 = box
    step_x, step_y = max(4.0, 0.012 * h * 1.6), max(5.0, 0.03 * h)
    for wy in np.arange(y0 + step_y * 0.6, y1 - step_y, step_y):
        for wx in np.arange(x0 + step_x * 0.5, x1 - step_x * 0.8, step_x):
            if rng.random() < 0.35:
                draw.rectangle((wx, wy, wx + step_x * 0.45, wy + step_y * 0.45), fill=fill)


def _sign(
    draw: ImageDraw.ImageDraw, rng: Rng, box: tuple[float, float, float, float], c: Canvas
) -> None:
    """One neon sign on a building face: a tall blade, a wide box, or an outlined frame."""
    x0, y0, x1, y1 = box
    fill = _fill(c.emitters[int(rng.integers(len(c.emitters)))])
    sx, sy = (
        rng.uniform(x0, x1 - 0.02 * c.w),
        rng.uniform(y0 + 0.05 * c.h, max(y0 + 0.06 * c.h, y1 - 0.1 * c.h)),
    )
    kind = rng.integers(3)
    if kind == 0:
        draw.rectangle((sx, sy, sx + max(3, 0.014 * c.w), sy + 0.14 * c.h), fill=fill)
    elif kind == 1:
        draw.rectangle((sx, sy, sx + 0.07 * c.w, sy + 0.035 * c.h), fill=fill)
    else:
        width = max(2, int(0.004 * c.w))
        draw.rectangle((sx, sy, sx + 0.06 * c.w, sy + 0.05 * c.h), outline=fill, width=width)


def _land(c: Canvas, rng: Rng) -> None:
    """Ridges (hills or mountains), trees along the horizon, then grassy ground."""
    h, w, hz = c.h, c.w, c.horizon * c.h
    x = np.linspace(0, 1, w, dtype=np.float32)
    scenery = _scenery_colour(c)
    mountains = c.family == "mountains"
    for haze, amp in ((0.6, 0.45 if mountains else 0.12), (0.3, 0.22 if mountains else 0.06)):
        ridge = sum(
            rng.uniform(0.3, 1) * np.sin(2 * np.pi * (f * x + rng.random())) for f in (1, 2.3, 5.1)
        )
        if mountains:
            ridge = np.abs(ridge) + 0.15 * noise(rng, 1, w, (1, 40))[0]
        heights = (np.asarray(ridge, np.float32) * 0.25 + 0.55) * amp * hz
        ridge_mask = np.clip(rows(h) + 0.5 - (hz - heights)[None, :], 0, 1)
        paint(c, ridge_mask, mix(scenery, c.sky_low, haze))
    trees = Image.new("L", (w, h))
    draw = ImageDraw.Draw(trees)
    count = int(rng.integers(30, 60)) if c.family == "forest" else int(rng.integers(2, 7))
    for _ in range(count):
        tx, size = rng.uniform(0, w), rng.uniform(0.04, 0.14) * h
        if c.family == "meadow":
            r = size * 0.45
            draw.rectangle((tx - size * 0.04, hz - size * 0.5, tx + size * 0.04, hz), fill=255)
            draw.ellipse((tx - r, hz - size - r * 0.3, tx + r, hz - size * 0.3), fill=255)
        else:
            draw.polygon(
                [(tx, hz - size * 1.6), (tx - size * 0.35, hz), (tx + size * 0.35, hz)], fill=255
            )
    paint(c, as_mask(trees), mix(scenery, c.sky_low, 0.2))
    edge = hz + np.sin(2 * np.pi * (x * 1.7 + rng.random())) * 0.01 * h
    if c.words.weather == "snow":  # snow lies white over the ground: no grass, no flowers
        ground(c, rng, edge=edge, colour=rgb(SNOW), lit=True)
        return
    ground(c, rng, edge=edge)
    _meadow_details(c, rng)


def _meadow_details(c: Canvas, rng: Rng) -> None:
    """Grass blades and flowers in accent colours, bigger toward the camera."""
    h, w, hz = c.h, c.w, c.horizon * c.h
    layer = Image.new("RGB", (w, h))
    alpha = Image.new("L", (w, h))
    draw, adraw = ImageDraw.Draw(layer), ImageDraw.Draw(alpha)
    grass = _fill(c.palette[1] * c.light.ambient * 0.6)
    for _ in range(int(w * h / 500)):
        depth = rng.random() ** 0.6
        x, y = rng.uniform(0, w), hz + depth * (h - hz)
        size = 1.5 + depth * 0.03 * h
        draw.line((x, y, x + rng.uniform(-0.3, 0.3) * size, y - size), fill=grass)
        adraw.line((x, y, x + rng.uniform(-0.3, 0.3) * size, y - size), fill=200)
    if c.family == "meadow":
        for _ in range(int(w * h / 1400)):
            depth = rng.random() ** 0.5
            x, y = rng.uniform(0, w), hz + depth * (h - hz)
            r = 0.6 + depth * 0.006 * h
            accent = c.accents[int(rng.integers(len(c.accents)))] * (0.5 + 0.5 * c.light.ambient)
            draw.ellipse((x - r, y - r, x + r, y + r), fill=_fill(accent))
            adraw.ellipse((x - r, y - r, x + r, y + r), fill=255)
    paint(c, as_mask(alpha), as_mask(layer))


def _water(c: Canvas, rng: Rng) -> None:
    """A far shore, then water that mirrors the sky with ripples."""
    h, w, hz = c.h, c.w, int(c.horizon * c.h)
    x = np.linspace(0, 1, w, dtype=np.float32)
    far = (np.sin(2 * np.pi * (x * 2 + rng.random())) * 0.5 + 0.5) * 0.05 * hz
    land = np.clip(rows(h) + 0.5 - (hz - far)[None, :], 0, 1)
    paint(c, land, mix(_scenery_colour(c), c.sky_low, 0.5))
    ys = np.arange(hz, h)
    src = np.clip(2 * hz - ys - 1, 0, h - 1)
    sea = c.words.sea
    shift = (rng.normal(size=len(ys)) * (ys - hz + 1) * 0.02 * sea).astype(int)
    xs = np.clip(np.arange(w)[None, :] + shift[:, None], 0, w - 1)
    # Darker than the sky it mirrors, as water is, which also keeps the horizon visible; its
    # own colour is the palette's coolest, so a warm palette's sea is not sand.
    # Far water mirrors the sky; nearer, looking down into it, it shows more of its own colour.
    body = (0.45 + 0.4 * np.linspace(0, 1, len(ys), dtype=np.float32))[:, None, None]
    water = mix(c.rgb[src[:, None], xs], sea_colour(c) * c.light.ambient, body) * 0.75
    c.rgb[hz:] = water * _ripples(rng, len(ys), w)[..., None]
    kept = np.zeros((h, w), np.float32)
    kept[hz:] = SEA_UNGRADED
    c.ungraded = kept if c.ungraded is None else np.maximum(c.ungraded, kept)
    # Rows deeper than the sky is tall have no sky to mirror (`src` clips to its top row):
    # they take its colour but no light, or a star there would run down the water.
    mirrors = (2 * hz - ys - 1 >= 0).astype(np.float32)[:, None, None]
    lights = broad_lights(c.glow[:hz])  # no stars: each would run down the water as a streak
    c.glow[hz:] += _glitter(lights[np.minimum(src, hz - 1)[:, None], xs] * 0.6 * mirrors, rng, h)
    c.ground[hz:] = 1.0
    if sea > 1:
        _whitecaps(c, rng, sea)


SEA = "#2f4858"
"""Deep sea water: what a warm palette's coolest colour leans toward on the sea."""
SEA_UNGRADED = 0.5
"""How much of the sea's colour the palette grade leaves as drawn."""


def sea_colour(c: Canvas) -> Arr:
    """The water's own colour: the palette's coolest colour (least red over blue); one that is
    still warm (a warm palette's slate or amber) is taken most of the way to deep sea blue-grey, so
    the sea stays cooler than the warm sky it mirrors."""
    coolest = f32(c.palette[int(np.argmin(c.palette[:, 0] - c.palette[:, 2]))])
    if float(coolest[0] - coolest[2]) > 0.02:
        coolest = mix(coolest, rgb(SEA), 0.75)
    return coolest


def _ripples(rng: Rng, n: int, w: int) -> Arr:
    """Light and dark bands of ripples across the water (n rows by w), fine near the horizon
    and wider toward the camera: what makes a flat colour read as water, whatever its hue."""
    bands = noise(rng, max(2, n), w, (max(4, n // 3), max(4, w // 120)))
    depth = np.sqrt(np.linspace(0, 1, n, dtype=np.float32))  # rows crowd near the horizon
    rows_at = (depth * (bands.shape[0] - 1)).astype(int)
    lines = np.clip((bands[rows_at] - 0.5) * 3, -1, 1)
    out: Arr = f32(1 + 0.14 * lines)
    return out


def _glitter(mirrored: Arr, rng: Rng, h: int) -> Arr:
    """Lights mirrored in water as a broken column of glints, never a crisp second disc: the
    mirror image is smeared down the water and cut into ripples."""
    n = mirrored.shape[0]
    if n < 2:
        return mirrored
    k = max(3, int(0.08 * h))
    padded = np.concatenate([np.zeros((k,) + mirrored.shape[1:], np.float32), mirrored])
    total = np.cumsum(padded, axis=0, dtype=np.float32)
    smear = (total[k:] - total[:-k]) / k * 1.6  # each row lit by the k rows above it
    ys = np.arange(n, dtype=np.float32)
    wave = np.sin(ys * 2 * np.pi / max(3.0, 0.012 * h) + rng.uniform(0, 6))
    ripples = wave + rng.normal(0, 0.5, n) > 0.3
    out: Arr = f32(smear * (0.15 + 0.85 * ripples)[:, None, None])
    return out


def _whitecaps(c: Canvas, rng: Rng, sea: float) -> None:
    """Breaking crests on a rough sea, longer and thicker toward the camera."""
    h, w, hz = c.h, c.w, c.horizon * c.h
    caps = Image.new("L", (w, h))
    draw = ImageDraw.Draw(caps)
    troughs = Image.new("L", (w, h))
    shade = ImageDraw.Draw(troughs)
    for _ in range(int(w * (h - hz) / 2500 * (sea - 1))):
        depth = rng.random() ** 1.5
        x, y = rng.uniform(-0.05, 1.05) * w, hz + 2 + depth * (h - hz)
        length = (0.04 + 0.16 * depth) * w * rng.uniform(0.6, 1.2)
        lift = (0.002 + 0.007 * depth) * h * min(sea, 2.5)
        box = (x - length / 2, y - lift, x + length / 2, y + lift)
        shade.chord(box, 0, 180, fill=int(90 * min(1.0, sea / 2)))  # the dark face under a crest
        draw.arc(
            box, 215, 325, fill=int(rng.integers(140, 235)), width=max(1, int(1 + 2.5 * depth))
        )
    paint(c, as_mask(troughs), c.rgb * 0.6)
    paint(c, as_mask(caps), mix(c.sky_low, WHITE, 0.75))


def _studio(c: Canvas) -> None:
    """A seamless backdrop: the floor, darker than the wall, fades in over a short band."""
    h, hz = c.h, c.horizon * c.h
    floor = np.clip((rows(h) - hz) / (0.03 * h) + 0.5, 0, 1) * np.ones((1, c.w), np.float32)
    colour = mix(c.palette[1], c.palette[0], 0.5) * 0.7
    colour = colour * min(1.0, 0.6 * float(luma(c.sky_low)) / max(float(luma(colour)), 1e-3))
    paint(c, floor, colour)
    c.ground = floor
