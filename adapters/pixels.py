"""Measurements from pixels (tone, colour, layout, lettering, rain, similarity) for Lens and
the consistency checker, what they are scored against, and how feedback words map onto them."""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from itertools import combinations

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from adapters import regions
from adapters.colours import HUE_STEPS, colour_distance, colour_name, hue_band
from adapters.colours import rgb as hex_rgb
from adapters.regions import LUMA as LUMA  # the renderer reads it here

MID_GREY = (0.5, 0.5, 0.5)
"""What an unreadable palette entry counts as."""

Array = NDArray[np.float64]

CONTRAST_SCALE = 0.3
"""Luma standard deviation that counts as full contrast (1.0)."""
FOG_CONTRAST = 0.7
FOG_MIN_CONTRAST = 0.2
"""Fog lowers the contrast a brief implies, but no render of a scene is flatter than this."""
"""Fog flattens an image on purpose, so under fog the contrast target is scaled by this."""
PALETTE_ACCEPTABLE = 0.28
"""Palette distance up to which an image still reads as made of the target colours."""
TEXT_LETTERS = 5
"""Letters in one aligned line that count as legible text (fewer when the asked words are
shorter)."""
RAIN_VISIBLE = 0.25
"""`rain` from which rain streaks read at a glance (the built-in renderer's rain: 0.4-0.6)."""
MISSING_CAP = 5.5
"""The highest measured score an image gets while something the brief asks for is missing."""
SPREAD_REACH = 0.65
"""The most luma spread an image is given or asked for, as a share of the most its mean allows
(`sqrt(m * (1 - m))`, a two-level image): a dark key caps how contrasty a picture can be."""
MEASURE_SIDE = 256
"""`measure` reads tone and colour at this longer side (BOX-shrunk: it keeps means)."""
_SIDE = MEASURE_SIDE
_DOMINANT = 5
_FAINT_HORIZON = 0.06  # luma step below which a horizon barely shows
_WEIGHTS = {
    "palette": 3.0,
    "brightness": 2.5,
    "contrast": 1.5,
    "composition": 1.5,
    "scale": 1.0,
    "horizon": 1.5,
    "rain": 1.5,
    "text": 3.0,
}
_DRIFT_LIMITS = {"palette": PALETTE_ACCEPTABLE, "histogram": 0.35, "brightness": 0.15}
"""Per-aspect pair distances beyond which `drift` names the pair."""


def contrast_reach(brightness: float) -> float:
    """The most contrast (as `Measurements.contrast` counts it) a picture this bright has:
    a very dark or very bright key leaves little room on one side of its mean."""
    return float(SPREAD_REACH * (brightness * (1 - brightness)) ** 0.5 / CONTRAST_SCALE)


@dataclass(frozen=True)
class Measurements:
    """What one image measures; `scalars()` is the checkpoint-safe numeric part."""

    brightness: float
    """Mean luma, 0..1."""
    contrast: float
    """Luma standard deviation over `CONTRAST_SCALE`, 0..1."""
    saturation: float
    """Mean HSV saturation, 0..1."""
    warmth: float
    """Mean red minus blue, -1 (cold) to 1 (warm)."""
    colourfulness: float
    """Hasler-Suesstrunk colourfulness, normalised so 1 is extremely colourful."""
    subject_x: float
    """Centre of the most salient region, 0 (left) to 1 (right)."""
    subject_y: float
    """Its centre, 0 (top) to 1 (bottom)."""
    subject_scale: float
    """Its height as a share of the image height (0: no salient region)."""
    horizon: float
    """Row fraction (0 top) of the strongest full-width luminance transition."""
    horizon_strength: float
    """Luma step across that transition; near 0 means no visible horizon."""
    edge_density: float
    """Share of pixels on a noticeable edge."""
    text: float
    """Letters in the longest line of legible type (0: no text)."""
    rain: float
    """Share of pixels on thin near-vertical bright streaks, over `regions.RAIN_SCALE`
    (0: none, 1: a downpour)."""
    dominant: tuple[tuple[str, float], ...]
    """About five `(#rrggbb, weight)` colours, heaviest first; weights sum to 1."""
    phash: str
    """64-bit DCT perceptual hash as 16 hex characters."""
    histogram: tuple[float, ...]
    """RGB histogram, 16 bins per channel in R, G, B order, each channel summing to 1."""
    hues: tuple[tuple[str, float], ...] = ()
    """Share of the image in each clearly coloured hue band (`colours.hue_band` names: red,
    orange, amber ...); what a small red fox adds, which `dominant` averages away."""

    def scalars(self) -> dict[str, float]:
        """The numeric measurements, rounded for storage."""
        return {f.name: round(getattr(self, f.name), 4) for f in fields(self) if f.type == "float"}


@dataclass
class Assessment:
    """A measured score against targets, with one finding per problem that matters."""

    score: float
    """0..10; every part moving toward its target raises it."""
    findings: list[str]
    """`"<aspect>: <words> (measured <x.xx>, target <y.yy>)"`, one per problem."""
    parts: dict[str, float]
    """Each aspect's score, 0..1."""
    checks: dict[str, tuple[float, float]]
    """Each measurement that was checked: `(measured, target)`."""
    unchecked: list[str]
    """What the targets ask that these pixels could not show (a horizon hidden by fog)."""
    missing: list[str]
    """Asked-for elements not found (legible text); each caps the score at `MISSING_CAP`."""


def measure(image: bytes | Image.Image) -> Measurements:
    """Measure an image (PNG/JPEG bytes or a Pillow image) at a small working size."""
    if isinstance(image, bytes):
        with Image.open(io.BytesIO(image)) as opened:
            full = opened.convert("RGB")
    else:
        full = image.convert("RGB")
    img = regions.shrink(full, _SIDE)  # BOX keeps means, so brightness matches the full size
    mid = regions.shrink(full, 512)  # lettering and rain streaks need more pixels
    rgb = np.asarray(img, dtype=np.float64) / 255.0
    luma = rgb @ LUMA
    red, green, blue = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    high, low = rgb.max(axis=-1), rgb.min(axis=-1)
    saturation = np.where(high > 0, (high - low) / np.maximum(high, 1e-6), 0.0)
    rg, yb = red - green, (red + green) / 2 - blue
    colourful = np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean())
    subject_x, subject_y, subject_scale = regions.subject(img)
    horizon, strength = _horizon(luma)
    gx, gy = np.diff(luma, axis=1)[:-1, :], np.diff(luma, axis=0)[:, :-1]
    return Measurements(
        brightness=float(luma.mean()),
        contrast=float(min(1.0, luma.std() / CONTRAST_SCALE)),
        saturation=float(saturation.mean()),
        warmth=float(np.clip((red - blue).mean(), -1, 1)),
        colourfulness=float(min(1.0, colourful / 0.45)),
        subject_x=subject_x,
        subject_y=subject_y,
        subject_scale=subject_scale,
        horizon=horizon,
        horizon_strength=strength,
        edge_density=float((np.hypot(gx, gy) > 0.08).mean()),
        text=float(regions.letters(mid)),
        rain=regions.rain(mid),
        dominant=_dominant(img),
        phash=_phash(img),
        histogram=_histogram(np.asarray(img)),
        hues=_hue_shares(rgb, saturation, high),
    )


def _hue_shares(rgb: Array, saturation: Array, high: Array) -> tuple[tuple[str, float], ...]:
    """Share of pixels in each hue band, counting only clearly coloured ones."""
    red, green, blue = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    low = rgb.min(axis=-1)
    span = np.maximum(high - low, 1e-6)
    hue = np.where(
        high == red,
        ((green - blue) / span) % 6,
        np.where(high == green, (blue - red) / span + 2, (red - green) / span + 4),
    )
    degrees = hue * 60.0
    coloured = (saturation > 0.35) & (high > 0.2)
    out: dict[str, float] = {}
    lower = 0
    for upper, name in HUE_STEPS:
        share = float((coloured & (degrees >= lower) & (degrees < upper)).mean())
        out[name] = round(out.get(name, 0.0) + share, 4)
        lower = upper
    return tuple((k, v) for k, v in out.items() if v > 0)


def _horizon(luma: Array) -> tuple[float, float]:
    h = luma.shape[0]
    band = max(2, h // 25)
    if h < 2 * band + 1:
        return 0.5, 0.0
    c = np.vstack([np.zeros((1, luma.shape[1])), luma.cumsum(axis=0)])
    rows = np.arange(band, h - band + 1)
    step = ((c[rows + band] - c[rows]) - (c[rows] - c[rows - band])) / band
    # The median across columns ignores a subject or buildings covering part of the width.
    score = np.abs(np.median(step, axis=1))
    best = int(np.argmax(score))
    return float(rows[best] / h), float(score[best])


def _dominant(img: Image.Image) -> tuple[tuple[str, float], ...]:
    quantized = img.quantize(colors=_DOMINANT, method=Image.Quantize.MEDIANCUT)
    counts = np.bincount(np.asarray(quantized).ravel(), minlength=_DOMINANT)
    palette = quantized.getpalette() or []
    weights: dict[str, float] = {}
    for index in np.argsort(-counts, kind="stable"):
        if counts[index] == 0 or 3 * index + 2 >= len(palette):
            continue
        r, g, b = palette[3 * index : 3 * index + 3]
        key = f"#{r:02x}{g:02x}{b:02x}"
        weights[key] = weights.get(key, 0.0) + float(counts[index] / counts.sum())
    return tuple((key, round(weight, 4)) for key, weight in weights.items())


def _dct_matrix(n: int) -> Array:
    k, x = np.arange(n)[:, None], np.arange(n)[None, :]
    return np.cos(np.pi * (2 * x + 1) * k / (2 * n))


_DCT32 = _dct_matrix(32)


def _phash(img: Image.Image) -> str:
    grey = np.asarray(img.convert("L").resize((32, 32), Image.Resampling.LANCZOS), np.float64)
    low = (_DCT32 @ grey @ _DCT32.T)[:8, :8]
    bits = (low > np.median(low)).ravel()
    return f"{int(''.join('1' if bit else '0' for bit in bits), 2):016x}"


def _histogram(rgb: NDArray[np.uint8]) -> tuple[float, ...]:
    bins = rgb.reshape(-1, 3) >> 4
    n = bins.shape[0]
    return tuple(
        round(float(v) / n, 5) for ch in range(3) for v in np.bincount(bins[:, ch], minlength=16)
    )


def _lightness_chromaticity(colours: Sequence[str]) -> tuple[Array, Array]:
    """CIE L* (0..100) and u'v' chromaticity of `#rrggbb` colours (unparseable: mid grey)."""
    srgb = np.array([hex_rgb(c, default=MID_GREY) for c in colours], dtype=np.float64)
    lin = np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)
    x, y, z = (
        lin
        @ np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]).T
    ).T
    lightness = np.where(y > 0.008856, 116 * np.cbrt(y) - 16, 903.3 * y)
    denom = x + 15 * y + 3 * z
    safe = np.maximum(denom, 1e-9)
    u = np.where(denom > 1e-9, 4 * x / safe, 0.1978)  # black: the D65 white point
    v = np.where(denom > 1e-9, 9 * y / safe, 0.4683)
    return lightness, np.stack([u, v], axis=-1)


def _colour_distances(a: Sequence[str], b: Sequence[str]) -> Array:
    """Pairwise colour distances, 0..1, that forgive shading.

    Lighting scales a colour, which leaves its u'v' chromaticity unchanged, so hue and
    saturation are compared there and lightness counts only a little (brightness is judged on
    its own). Chromaticity of near-black colours is invisible, so it is discounted.
    """
    (la, ca), (lb, cb) = _lightness_chromaticity(a), _lightness_chromaticity(b)
    chroma = np.sqrt(((ca[:, None, :] - cb[None, :, :]) ** 2).sum(axis=-1)) / 0.25
    visible = np.clip(np.minimum(la[:, None], lb[None, :]) / 25, 0, 1)
    light = (la[:, None] - lb[None, :]) / 100
    out: Array = np.minimum(1.0, np.sqrt((visible * chroma) ** 2 + (0.6 * light) ** 2))
    return out


def palette_distance(dominant: Sequence[tuple[str, float]], target: Sequence[str]) -> float:
    """How far an image's dominant colours are from a target palette: 0 = made of them, 1 = far.

    Mostly each measured colour's distance to its nearest target colour (by weight), plus each
    target colour's distance to the image (dominant target colour weighted most), so an image
    that uses only one of the target colours does not count as a full match.
    """
    if not target:
        return 0.0
    if not dominant:
        return 1.0
    colours = [c for c, _ in dominant]
    weights = np.array([max(w, 0.0) for _, w in dominant]) + 1e-9
    d = _colour_distances(colours, target)
    forward = float((d.min(axis=1) * weights).sum() / weights.sum())
    rank = 1.0 / np.arange(1, len(target) + 1)
    backward = float((d.min(axis=0) * rank).sum() / rank.sum())
    return float(min(1.0, 0.7 * forward + 0.3 * backward))


def hamming(a_hex: str, b_hex: str) -> int:
    """Bits that differ between two hex hashes (0..64 for `phash`)."""
    return (int(a_hex, 16) ^ int(b_hex, 16)).bit_count()


def histogram_distance(a: Sequence[float], b: Sequence[float]) -> float:
    """Hellinger distance between two histograms, 0 (same) to 1 (disjoint)."""
    p, q = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if p.sum() <= 0 or q.sum() <= 0:
        return 1.0
    overlap = np.sqrt(p / p.sum() * q / q.sum()).sum()
    return float(np.sqrt(max(0.0, 1.0 - overlap)))


def _closeness(gap: float, scale: float) -> float:
    # Smooth and strictly decreasing in the gap, so any move toward a target raises the score.
    return 1.0 / (1.0 + (gap / scale) ** 2)


def _gap(difference: float, way: int) -> float:
    """How far a measurement misses its target, where going past it the way the person asked
    (`way` +1 up, -1 down) does not count."""
    return 0.0 if difference * way > 0 else difference


def _finding(aspect: str, words: str, measured: float, target: float) -> str:
    return f"{aspect}: {words} (measured {measured:.2f}, target {target:.2f})"


NAMED_COLOUR_NEAR = 0.3
NAMED_SHARE = 0.01
"""... or what share of the image must be clearly in its hue band."""
"""How close (RGB distance) one of an image's dominant colours must be to a colour the person
named for it to count as there."""


def _beside(band: str) -> set[str]:
    """A hue band and its two neighbours (an asked amber shows as orange under warm light)."""
    names = [name for _, name in HUE_STEPS]
    return {n for i, n in enumerate(names) if band in names[max(0, i - 1) : i + 2]}


def assess(
    m: Measurements,
    *,
    palette: list[str],
    brightness: float,
    contrast: float,
    subject_x: float | None = None,
    subject_scale: float | None = None,
    horizon: float | None = None,
    weather: str | None = None,
    text: int | None = None,
    asked: Mapping[str, int] | None = None,
    colours: Sequence[str] = (),
) -> Assessment:
    """Score measurements 0..10 against targets and name each gap that matters.

    Only what is given is checked: no `subject_x` means the layout is not scored. `text` is
    how many letters the asked-for words need (None: no text asked); rain streaks are checked
    when the weather is rain. A missing element caps the score at `MISSING_CAP`. `asked` is
    the way the person asked a measurement to move (`{"brightness": +1}` for "brighter"):
    overshooting the target that way is what they asked for, not a fault. `colours` are
    the colours the person named ("a red fox", "amber tones"): each must be among the
    image's dominant colours, else the palette contradicts the ask and the score is capped.
    """
    asked = asked or {}
    findings: list[str] = []
    parts: dict[str, float] = {}
    checks: dict[str, tuple[float, float]] = {}
    unchecked: list[str] = []
    missing: list[str] = []
    distance = palette_distance(m.dominant, palette)
    parts["palette"] = _closeness(distance, 0.25)
    if palette:
        checks["palette_distance"] = (distance, PALETTE_ACCEPTABLE)
        if distance > PALETTE_ACCEPTABLE:
            findings.append(_finding("palette", "off-target colours", distance, PALETTE_ACCEPTABLE))
    shares = dict(m.hues)
    for colour in colours:
        near = min((colour_distance(colour, c) for c, w in m.dominant if w >= 0.01), default=1.0)
        band = hue_band(colour)
        seen = sum(shares.get(b, 0.0) for b in _beside(band)) if band else 0.0
        if near > NAMED_COLOUR_NEAR and seen < NAMED_SHARE:
            parts["palette"] = min(parts["palette"], 0.3)
            words = f"no {colour_name(colour)} as asked"
            findings.insert(0, _finding("palette", words, near, NAMED_COLOUR_NEAR))
            missing.append(f"{colour_name(colour)} {colour} (asked, not in the image)")
    gap = _gap(m.brightness - brightness, asked.get("brightness", 0))
    parts["brightness"] = _closeness(gap, 0.1)
    checks["brightness"] = (m.brightness, brightness)
    if abs(gap) > 0.08:
        words = "too dark" if m.brightness < brightness else "too bright"
        findings.append(_finding("brightness", words, m.brightness, brightness))
    if weather == "fog":
        contrast = max(FOG_MIN_CONTRAST, contrast * FOG_CONTRAST)
    contrast = min(contrast, contrast_reach(brightness))
    gap = _gap(m.contrast - contrast, asked.get("contrast", 0))
    parts["contrast"] = _closeness(gap, 0.15)
    checks["contrast"] = (m.contrast, contrast)
    if abs(gap) > 0.12:
        words = "too flat" if m.contrast < contrast else "too harsh"
        findings.append(_finding("contrast", words, m.contrast, contrast))
    if subject_x is not None:
        parts["composition"] = _closeness(m.subject_x - subject_x, 0.12)
        checks["subject_x"] = (m.subject_x, subject_x)
        if abs(m.subject_x - subject_x) > 0.1:
            side = "right" if m.subject_x > subject_x else "left"
            findings.append(
                _finding("composition", f"subject too far {side}", m.subject_x, subject_x)
            )
    if subject_scale is not None:
        parts["scale"] = _closeness(m.subject_scale - subject_scale, 0.12)
        checks["subject_scale"] = (m.subject_scale, subject_scale)
        if abs(m.subject_scale - subject_scale) > 0.12:
            size = "small" if m.subject_scale < subject_scale else "large"
            findings.append(
                _finding("scale", f"subject too {size}", m.subject_scale, subject_scale)
            )
    # Fog hides the horizon on purpose; a faint one under fog is not a composition problem.
    if horizon is not None and weather == "fog" and m.horizon_strength < _FAINT_HORIZON:
        unchecked.append("the horizon (hidden by the fog)")
    elif horizon is not None:
        parts["horizon"] = _closeness(m.horizon - horizon, 0.1)
        checks["horizon"] = (m.horizon, horizon)
        if abs(m.horizon - horizon) > 0.08:
            words = "too high" if m.horizon < horizon else "too low"
            findings.append(_finding("horizon", words, m.horizon, horizon))
    if weather == "rain":
        parts["rain"] = 1.0 if m.rain >= RAIN_VISIBLE else _closeness(RAIN_VISIBLE - m.rain, 0.1)
        checks["rain"] = (m.rain, RAIN_VISIBLE)
        if m.rain < RAIN_VISIBLE:
            findings.append(_finding("rain", "streaks barely visible", m.rain, RAIN_VISIBLE))
    if text is not None:
        parts["text"] = min(1.0, m.text / max(1, text))
        checks["text"] = (m.text, float(text))
        if m.text < text:
            # what is missing comes first: it matters more than any gap in tone or layout
            findings.insert(0, _finding("text", "no legible line of text", m.text, text))
            missing.append("legible text")
    score = 10 * sum(_WEIGHTS[k] * v for k, v in parts.items()) / sum(_WEIGHTS[k] for k in parts)
    if missing:
        score = min(score, MISSING_CAP)
    return Assessment(
        score=round(score, 3),
        findings=findings,
        parts={k: round(v, 4) for k, v in parts.items()},
        checks={k: (round(v, 4), round(t, 4)) for k, (v, t) in checks.items()},
        unchecked=unchecked,
        missing=missing,
    )


def _pair_palette(a: Measurements, b: Measurements) -> float:
    there = palette_distance(a.dominant, [c for c, _ in b.dominant])
    back = palette_distance(b.dominant, [c for c, _ in a.dominant])
    return (there + back) / 2


def drift(items: list[tuple[str, Measurements]]) -> dict[str, object]:
    """How far a set drifts apart in palette, tone and layout: 0 (one look) to 1 (unrelated).

    Returns `{"drift", "pairs", "flags"}`. Each pair's drift weighs palette most, then the
    histogram, brightness and (lightly, as deliverables may differ in layout on purpose) the
    perceptual hash; the set's drift is its worst pair, so one outlier shows.
    """
    pairs: list[dict[str, object]] = []
    flags: list[str] = []
    worst = 0.0
    for (id_a, a), (id_b, b) in combinations(items, 2):
        aspects = {
            "palette": _pair_palette(a, b),
            "histogram": histogram_distance(a.histogram, b.histogram),
            "brightness": abs(a.brightness - b.brightness),
        }
        layout = hamming(a.phash, b.phash)
        score = (
            0.4 * min(1.0, aspects["palette"] / 0.5)
            + 0.25 * min(1.0, aspects["histogram"] / 0.6)
            + 0.2 * min(1.0, aspects["brightness"] / 0.3)
            + 0.15 * min(1.0, layout / 32)
        )
        worst = max(worst, score)
        rounded = {k: round(v, 4) for k, v in aspects.items()}
        pairs.append({"a": id_a, "b": id_b, **rounded, "phash": layout, "drift": round(score, 4)})
        over = [f"{k} {v:.2f}" for k, v in aspects.items() if v > _DRIFT_LIMITS[k]]
        if over:
            flags.append(f"{id_b} drifts from {id_a}: " + ", ".join(over))
    return {"drift": round(worst, 4), "pairs": pairs, "flags": flags}


def outlier(result: Mapping[str, object]) -> str | None:
    """The one item a `drift` result shows drifting from the rest: in the most flagged pairs,
    then the highest mean pair drift. None when nothing is flagged or with only two items
    (either could be the one that drifts)."""
    listed = result.get("pairs")
    pairs = [p for p in listed if isinstance(p, dict)] if isinstance(listed, list) else []
    names = list(dict.fromkeys(str(p[k]) for p in pairs for k in ("a", "b")))
    if len(names) < 3 or not result.get("flags"):
        return None
    flagged = {n: 0 for n in names}
    spread: dict[str, list[float]] = {n: [] for n in names}
    for pair in pairs:
        over = any(float(pair[k]) > limit for k, limit in _DRIFT_LIMITS.items())
        for k in ("a", "b"):
            flagged[str(pair[k])] += int(over)
            spread[str(pair[k])].append(float(pair["drift"]))
    ranked = sorted(names, key=lambda n: (flagged[n], float(np.mean(spread[n]))), reverse=True)
    first, second = ranked[0], ranked[1]
    if flagged[first] == flagged[second] and np.mean(spread[first]) <= np.mean(spread[second]):
        return None
    return first


ASKS: tuple[tuple[str, str, int], ...] = (
    (r"more rain|rainier|heavier rain|harder rain|downpour|pouring|wetter", "rain", 1),
    (r"less rain|lighter rain|drier|no (?:more )?rain", "rain", -1),
    (
        r"closer|bigger|larger|zoom(?:ed)? in|tighter|fills? the frame|too small",
        "subject_scale",
        1,
    ),
    (
        r"further away|farther|smaller|zoom(?:ed)? out|wider shot|pull back|too large",
        "subject_scale",
        -1,
    ),
    (r"lower (?:the )?horizon|horizon lower|horizon down|horizon: too high", "horizon", 1),
    (
        r"(?:higher|raise) (?:the )?horizon|horizon higher|horizon up|horizon: too low",
        "horizon",
        -1,
    ),
    (r"brighter|lighter|more light|lift the shadows|too dark", "brightness", 1),
    (r"darker|dimmer|moodier|less light|too bright", "brightness", -1),
    (
        r"warmer|more warmth|warm(?:er)? (?:light|tones?|glow|palette|colou?rs?|hues?)|"
        r"palette(?: is| be)? warm|too cold|too cool",
        "warmth",
        1,
    ),
    (
        r"cooler|colder|(?:cool|cold|icy)(?:er)?(?: (?:blue|teal|cyan|grey|gray|silver|steel))? "
        r"(?:tones?|palette|colou?rs?|hues?)|palette(?: is| be)? (?:cool|cold)|too warm",
        "warmth",
        -1,
    ),
    (r"more contrast|punchier|contrastier|crisper|too flat", "contrast", 1),
    (r"less contrast|softer|flatter|gentler|too harsh", "contrast", -1),
    (r"more saturat\w*|more colou?rful|more vivid|more vibrant|bolder colou?rs?", "saturation", 1),
    (r"muted|desaturated?|less saturat\w*|washed[- ]out|less colou?rful", "saturation", -1),
    (r"(?:move|shift|put)\b[\w ]{0,20}? left|more to the left|too far right", "subject_x", -1),
    (r"(?:move|shift|put)\b[\w ]{0,20}? right|more to the right|too far left", "subject_x", 1),
)
"""Feedback words that ask for a measurable change: (pattern, measurement, +1 up / -1 down).
More specific phrases come first ("lighter rain" is about rain, not brightness); `horizon`
is a row fraction, so a lower horizon is a larger value."""
MIN_MOVE = {
    "rain": 0.05,
    "subject_scale": 0.03,
    "horizon": 0.03,
    "brightness": 0.02,
    "warmth": 0.01,
    "contrast": 0.03,
    "saturation": 0.02,
    "subject_x": 0.03,
}
"""The least change of each measurement that counts as having moved."""
_ASKS = [(re.compile(rf"\b(?:{words})\b", re.I), key, way) for words, key, way in ASKS]


@dataclass(frozen=True)
class Movement:
    """One measurable thing feedback asked for, and how the new image moved on it."""

    ask: str
    """The words that asked ("warmer")."""
    measurement: str
    way: int
    """+1: the measurement should rise; -1: fall."""
    before: float
    after: float

    @property
    def moved(self) -> bool:
        """Whether it moved the asked way by at least `MIN_MOVE`."""
        return (self.after - self.before) * self.way >= MIN_MOVE[self.measurement]

    def line(self) -> str:
        """`"warmer: yes (warmth 0.05 -> 0.12)"`; `no` when it stayed or went the other way."""
        change = self.after - self.before
        if self.moved:
            verdict = "yes"
        elif change * self.way <= -MIN_MOVE[self.measurement]:
            verdict = "no, it went the other way"
        else:
            verdict = "no, it barely changed"
        numbers = f"{self.measurement} {self.before:.2f} -> {self.after:.2f}"
        return f"{self.ask}: {verdict} ({numbers})"


def asked_moves(text: str) -> list[tuple[str, str, int]]:
    """The measurable changes `text` asks for: `(words, measurement, way)`, in text order.

    Each phrase is read once, by the most specific pattern that matches it."""
    found: list[tuple[int, str, str, int]] = []
    rest = text
    for pattern, key, way in _ASKS:
        for match in pattern.finditer(rest):
            found.append((match.start(), match.group(0).lower(), key, way))
        rest = pattern.sub(lambda m: " " * len(m.group(0)), rest)
    seen: set[tuple[str, int]] = set()
    out = []
    for _, words, key, way in sorted(found):
        if (key, way) not in seen:
            seen.add((key, way))
            out.append((words, key, way))
    return out


def without_asks(text: str) -> str:
    """`text` with every phrase that asks for a measurable change blanked out."""
    for pattern, _, _ in _ASKS:
        text = pattern.sub(lambda m: " " * len(m.group(0)), text)
    return text


def movements(text: str, before: Mapping[str, float], after: Mapping[str, float]) -> list[Movement]:
    """How a new image moved on each measurable thing `text` asks for, against the image it
    replaces (`before`/`after` are `Measurements.scalars()`, or a critique's measurements)."""
    return [
        Movement(words, key, way, float(before[key]), float(after[key]))
        for words, key, way in asked_moves(text)
        if key in before and key in after
    ]
