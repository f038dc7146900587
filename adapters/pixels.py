"""Measurements from pixels (tone, colour, layout, similarity) for the critic and consistency."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, fields
from itertools import combinations

import numpy as np
from numpy.typing import NDArray
from PIL import Image

Array = NDArray[np.float64]

LUMA = np.array([0.299, 0.587, 0.114])
"""Rec. 601 weights, the same ones Pillow uses for `convert("L")`."""
CONTRAST_SCALE = 0.3
"""Luma standard deviation that counts as full contrast (1.0)."""
FOG_CONTRAST = 0.7
"""Fog flattens an image on purpose, so under fog the contrast target is scaled by this."""
PALETTE_ACCEPTABLE = 0.28
"""Palette distance up to which an image still reads as made of the target colours."""
_SIDE = 256  # measuring at this size keeps `measure` in the low milliseconds
_DOMINANT = 5
_SALIENCY_SIDE = 64
_FAINT_HORIZON = 0.06  # luma step below which a horizon barely shows
_WEIGHTS = {"palette": 3.0, "brightness": 2.5, "contrast": 1.5, "composition": 1.5, "horizon": 1.5}
_DRIFT_LIMITS = {"palette": PALETTE_ACCEPTABLE, "histogram": 0.35, "brightness": 0.15}
"""Per-aspect pair distances beyond which `drift` names the pair."""


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
    """Centroid of the most salient region, 0 (left) to 1 (right)."""
    subject_y: float
    horizon: float
    """Row fraction (0 top) of the strongest full-width luminance transition."""
    horizon_strength: float
    """Luma step across that transition; near 0 means no visible horizon."""
    edge_density: float
    """Share of pixels on a noticeable edge."""
    dominant: tuple[tuple[str, float], ...]
    """About five `(#rrggbb, weight)` colours, heaviest first; weights sum to 1."""
    phash: str
    """64-bit DCT perceptual hash as 16 hex characters."""
    histogram: tuple[float, ...]
    """RGB histogram, 16 bins per channel in R, G, B order, each channel summing to 1."""

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


def measure(image: bytes | Image.Image) -> Measurements:
    """Measure an image (PNG/JPEG bytes or a Pillow image) at a small working size."""
    if isinstance(image, bytes):
        with Image.open(io.BytesIO(image)) as opened:
            img = opened.convert("RGB")
    else:
        img = image.convert("RGB")
    scale = _SIDE / max(img.size)
    if scale < 1:  # BOX keeps means intact, so brightness matches the full-size image
        size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
        img = img.resize(size, Image.Resampling.BOX)
    rgb = np.asarray(img, dtype=np.float64) / 255.0
    luma = rgb @ LUMA
    red, green, blue = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    high, low = rgb.max(axis=-1), rgb.min(axis=-1)
    saturation = np.where(high > 0, (high - low) / np.maximum(high, 1e-6), 0.0)
    rg, yb = red - green, (red + green) / 2 - blue
    colourful = np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean())
    subject_x, subject_y = _salient_centroid(img)
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
        horizon=horizon,
        horizon_strength=strength,
        edge_density=float((np.hypot(gx, gy) > 0.08).mean()),
        dominant=_dominant(img),
        phash=_phash(img),
        histogram=_histogram(np.asarray(img)),
    )


def _box(a: Array, r: int) -> Array:
    """Mean over a (2r+1)-square window, edges extended, via an integral image."""
    pad = [(r + 1, r), (r + 1, r)] + [(0, 0)] * (a.ndim - 2)
    c = np.pad(a, pad, mode="edge").cumsum(0).cumsum(1)
    k = 2 * r + 1
    out: Array = (c[k:, k:] - c[:-k, k:] - c[k:, :-k] + c[:-k, :-k]) / (k * k)
    return out


def _salient_centroid(img: Image.Image) -> tuple[float, float]:
    """Centroid of the densest patch of centre-surround colour contrast.

    Measured at 64 px so that small bright details (windows, stars, rain) blur away; the
    surround, patch and window are about the size of a subject.
    """
    scale = _SALIENCY_SIDE / max(img.size)
    if scale < 1:
        size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
        img = img.resize(size, Image.Resampling.BOX)
    rgb = np.asarray(img, dtype=np.float64) / 255.0
    h, w = rgb.shape[:2]
    # Luma counts double: people read a silhouette against light before a change of hue.
    opponent = np.stack(
        [
            2 * (rgb @ LUMA),
            rgb[..., 0] - rgb[..., 1],
            (rgb[..., 0] + rgb[..., 1]) / 2 - rgb[..., 2],
        ],
        axis=-1,
    )
    side = min(h, w)
    surround, patch = max(1, int(side * 0.3)), max(1, int(side * 0.2))
    saliency = np.sqrt(((opponent - _box(opponent, surround)) ** 2).sum(axis=-1))
    if saliency.max() <= 1e-9:
        return 0.5, 0.5
    py, px = np.unravel_index(int(np.argmax(_box(saliency, patch))), saliency.shape)
    k = max(1, int(side * 0.3))
    y0, y1, x0, x1 = max(0, py - k), py + k + 1, max(0, px - k), px + k + 1
    window = saliency[y0:y1, x0:x1]
    ys, xs = np.mgrid[y0 : y0 + window.shape[0], x0 : x0 + window.shape[1]]
    total = float(window.sum())
    return (
        float((xs * window).sum() / total + 0.5) / w,
        float((ys * window).sum() / total + 0.5) / h,
    )


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


def _hex(colour: str) -> tuple[float, float, float]:
    text = colour.strip().lstrip("#")
    try:
        value = int(text, 16) if len(text) == 6 else 0x808080
    except ValueError:
        value = 0x808080
    return ((value >> 16) / 255.0, ((value >> 8) & 255) / 255.0, (value & 255) / 255.0)


def _lightness_chromaticity(colours: Sequence[str]) -> tuple[Array, Array]:
    """CIE L* (0..100) and u'v' chromaticity of `#rrggbb` colours (unparseable: mid grey)."""
    srgb = np.array([_hex(c) for c in colours], dtype=np.float64)
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


def _finding(aspect: str, words: str, measured: float, target: float) -> str:
    return f"{aspect}: {words} (measured {measured:.2f}, target {target:.2f})"


def assess(
    m: Measurements,
    *,
    palette: list[str],
    brightness: float,
    contrast: float,
    subject_x: float | None = None,
    horizon: float | None = None,
    weather: str | None = None,
) -> Assessment:
    """Score measurements 0..10 against targets and name each gap that matters."""
    findings: list[str] = []
    parts: dict[str, float] = {}
    distance = palette_distance(m.dominant, palette)
    parts["palette"] = _closeness(distance, 0.25)
    if palette and distance > PALETTE_ACCEPTABLE:
        findings.append(_finding("palette", "off-target colours", distance, PALETTE_ACCEPTABLE))
    parts["brightness"] = _closeness(m.brightness - brightness, 0.1)
    if abs(m.brightness - brightness) > 0.08:
        words = "too dark" if m.brightness < brightness else "too bright"
        findings.append(_finding("brightness", words, m.brightness, brightness))
    if weather == "fog":
        contrast *= FOG_CONTRAST
    parts["contrast"] = _closeness(m.contrast - contrast, 0.15)
    if abs(m.contrast - contrast) > 0.12:
        words = "too flat" if m.contrast < contrast else "too harsh"
        findings.append(_finding("contrast", words, m.contrast, contrast))
    if subject_x is not None:
        parts["composition"] = _closeness(m.subject_x - subject_x, 0.12)
        if abs(m.subject_x - subject_x) > 0.1:
            side = "right" if m.subject_x > subject_x else "left"
            findings.append(
                _finding("composition", f"subject too far {side}", m.subject_x, subject_x)
            )
    # Fog hides the horizon on purpose; a faint one under fog is not a composition problem.
    if horizon is not None and not (weather == "fog" and m.horizon_strength < _FAINT_HORIZON):
        parts["horizon"] = _closeness(m.horizon - horizon, 0.1)
        if abs(m.horizon - horizon) > 0.08:
            words = "too high" if m.horizon < horizon else "too low"
            findings.append(_finding("horizon", words, m.horizon, horizon))
    score = 10 * sum(_WEIGHTS[k] * v for k, v in parts.items()) / sum(_WEIGHTS[k] for k in parts)
    return Assessment(
        score=round(score, 3), findings=findings, parts={k: round(v, 4) for k, v in parts.items()}
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
