"""Where things are in an image: the salient subject, lines of lettering and rain streaks.

Pure numpy over Pillow images, for `adapters.pixels.measure`. Each finder works at its own
small size, large enough for what it looks for and small enough to stay in milliseconds.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from PIL import Image

Array = NDArray[np.float64]
Mask = NDArray[np.bool_]

LUMA = np.array([0.299, 0.587, 0.114])
"""Rec. 601 weights, the same ones Pillow uses for `convert("L")`."""
RAIN_SCALE = 0.05
"""Share of pixels on rain streaks that counts as a downpour (rain 1.0)."""
_SUBJECT_SIDE = 64  # small details (windows, stars, rain) blur away; a subject does not
_SUBJECT_KEEP = 0.8  # share of the peak saliency a pixel needs to belong to the subject
_TEXT_SIDE = 512
_INK = 0.1  # luma step from the local mean that makes a pixel ink
_INK_COLOUR = 0.15  # the same for the yellow-blue opponent channel (amber type on blue)
_RAIN_SIDE = 512
_STREAK_STEP = 0.03  # how much brighter than the pixels two to each side a streak is
_STREAK_LENGTH = 9


def shrink(img: Image.Image, side: int) -> Image.Image:
    """`img` with its longer side at most `side` (BOX keeps means intact)."""
    scale = side / max(img.size)
    if scale >= 1:
        return img
    size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
    return img.resize(size, Image.Resampling.BOX)


def box_mean(a: Array, r: int) -> Array:
    """Mean over a (2r+1)-square window, edges extended, via an integral image."""
    pad = [(r + 1, r), (r + 1, r)] + [(0, 0)] * (a.ndim - 2)
    c = np.pad(a, pad, mode="edge").cumsum(0).cumsum(1)
    k = 2 * r + 1
    out: Array = (c[k:, k:] - c[:-k, k:] - c[k:, :-k] + c[:-k, :-k]) / (k * k)
    return out


def _barrier(image: Array, sweeps: int = 3) -> Array:
    """Minimum barrier distance of every pixel to the image border, per channel.

    The barrier of a path is the range (max - min) of the values along it; background
    reaches the border through similar values, while a subject must cross its own outline.
    Raster sweeps in four directions, repeated, approximate the exact transform closely.
    """
    h, w = image.shape[:2]
    dist = np.full(image.shape, np.inf)
    dist[0], dist[-1], dist[:, 0], dist[:, -1] = 0.0, 0.0, 0.0, 0.0
    high, low = image.copy(), image.copy()

    def relax(src: tuple[int | slice, ...], dst: tuple[int | slice, ...]) -> None:
        up = np.maximum(high[src], image[dst])
        down = np.minimum(low[src], image[dst])
        better = up - down < dist[dst]
        dist[dst] = np.where(better, up - down, dist[dst])
        high[dst] = np.where(better, up, high[dst])
        low[dst] = np.where(better, down, low[dst])

    every = slice(None)
    for _ in range(sweeps):
        for y in range(1, h):
            relax((y - 1,), (y,))
        for y in range(h - 2, -1, -1):
            relax((y + 1,), (y,))
        for x in range(1, w):
            relax((every, x - 1), (every, x))
        for x in range(w - 2, -1, -1):
            relax((every, x + 1), (every, x))
    return dist


def _flood(mask: Mask, seed: tuple[int, int]) -> Mask:
    """The 4-connected part of `mask` that holds `seed`."""
    h, w = mask.shape
    seen = np.zeros_like(mask)
    seen[seed] = True
    stack = [seed]
    while stack:
        y, x = stack.pop()
        for ny, nx in ((y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)):
            if 0 <= ny < h and 0 <= nx < w and mask[ny, nx] and not seen[ny, nx]:
                seen[ny, nx] = True
                stack.append((ny, nx))
    return seen


def subject(img: Image.Image) -> tuple[float, float, float]:
    """Centre (x, y) and height (share of the image height) of the most salient region.

    Saliency is the minimum barrier distance to the border (in luma, counted double, and two
    colour-opponent channels), so sky, clouds and ground that run off the frame stay quiet
    while a figure, a disc or a silhouette stands out; the subject is the connected region
    around the densest subject-sized patch of it. A flat image has none: (0.5, 0.5, 0.0).
    """
    rgb = np.asarray(shrink(img.convert("RGB"), _SUBJECT_SIDE), dtype=np.float64) / 255.0
    h, w = rgb.shape[:2]
    opponent = np.stack(
        [
            2 * (rgb @ LUMA),
            rgb[..., 0] - rgb[..., 1],
            (rgb[..., 0] + rgb[..., 1]) / 2 - rgb[..., 2],
        ],
        axis=-1,
    )
    saliency = _barrier(opponent).sum(axis=-1)
    if h < 3 or w < 3 or saliency.max() <= 1e-6:
        return 0.5, 0.5, 0.0
    density = box_mean(saliency, max(1, int(min(h, w) * 0.1)))
    py, px = np.unravel_index(int(np.argmax(density)), saliency.shape)
    keep = saliency >= _SUBJECT_KEEP * density[py, px]
    if not keep[py, px]:  # the densest patch is a ring (a hollow shape): start on its rim
        ys, xs = np.nonzero(keep)
        nearest = int(np.argmin((ys - py) ** 2 + (xs - px) ** 2))
        py, px = ys[nearest], xs[nearest]
    region = _flood(keep, (int(py), int(px)))
    weight = saliency * region
    ys, xs = np.mgrid[0:h, 0:w]
    total = float(weight.sum())
    rows = np.flatnonzero(region.any(axis=1))
    return (
        float((xs * weight).sum() / total + 0.5) / w,
        float((ys * weight).sum() / total + 0.5) / h,
        float(rows[-1] - rows[0] + 1) / h,
    )


def _runs(
    mask: Mask,
) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.intp], NDArray[np.intp]]:
    """4-connected components of `mask` as horizontal runs: each run's row, first and last
    column + 1, and its component number (runs in row-major order, as the pixels are)."""
    h, w = mask.shape
    edges = np.diff(np.pad(mask, ((0, 0), (1, 1))).astype(np.int8), axis=1)
    rows, starts = np.nonzero(edges == 1)
    _, ends = np.nonzero(edges == -1)
    parent = list(range(len(rows)))

    def root(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    first = np.searchsorted(rows, np.arange(h + 1))
    for y in range(1, h):
        a0, b0, b1 = int(first[y - 1]), int(first[y]), int(first[y + 1])
        if a0 == b0 or b0 == b1:
            continue
        # runs of the row above that overlap run j of this row: lo[j] <= i < hi[j]
        lo = np.searchsorted(ends[a0:b0], starts[b0:b1], side="right")
        hi = np.searchsorted(starts[a0:b0], ends[b0:b1], side="left")
        for j in np.flatnonzero(hi > lo):
            below = root(b0 + int(j))
            for i in range(int(lo[j]), int(hi[j])):
                above = root(a0 + i)
                if above != below:
                    parent[above] = below
    roots = np.array([root(i) for i in range(len(rows))], dtype=np.intp)
    _, component = np.unique(roots, return_inverse=True)
    return rows, starts, ends, component.astype(np.intp)


def _letters_in_line(mask: Mask) -> int:
    """The most letter-like shapes in `mask` that line up as a line of type.

    A letter is a component of text height with strokes (neither a solid block like a lit
    window nor a hairline like rain, though a bar as thick as a stroke is an I), and letters
    in a line share their height, stroke weight and baseline, with gaps under a letter's
    height between them.
    """
    if not mask.any():
        return 0
    height = mask.shape[0]
    rows, starts, ends, comp = _runs(mask)
    n = int(comp.max()) + 1
    length = ends - starts
    area = np.bincount(comp, weights=length, minlength=n)
    top = np.full(n, height)
    np.minimum.at(top, comp, rows)
    bottom = np.zeros(n, dtype=np.intp)
    np.maximum.at(bottom, comp, rows)
    left = np.full(n, mask.shape[1])
    np.minimum.at(left, comp, starts)
    right = np.zeros(n, dtype=np.intp)
    np.maximum.at(right, comp, ends - 1)
    tall, wide = bottom - top + 1, right - left + 1
    inner = mask.copy()
    inner[1:] &= mask[:-1]
    inner[:-1] &= mask[1:]
    inner[:, 1:] &= mask[:, :-1]
    inner[:, :-1] &= mask[:, 1:]
    outline = (mask & ~inner)[mask]
    perimeter = np.bincount(np.repeat(comp, length), weights=outline, minlength=n)
    stroke = area / np.maximum(perimeter / 2, 1)
    solidity = area / (tall * wide)
    letter = (
        (tall >= 7)
        & (tall <= 0.35 * height)
        & (wide >= 2)
        & (wide <= 1.6 * tall)
        & (solidity >= 0.15)
        & ((solidity <= 0.85) | ((wide >= 0.1 * tall) & (wide <= 0.35 * tall)))  # I, l, 1
        & (stroke >= 0.04 * tall)
        & (stroke <= 0.3 * tall)
    )
    c = np.flatnonzero(letter)
    if len(c) < 2:
        return len(c)
    t, s = tall[c].astype(np.float64), stroke[c]
    big = np.maximum(t[:, None], t[None, :])
    middle, base = (top[c] + bottom[c]) / 2, bottom[c].astype(np.float64)
    gap = np.maximum(left[c][None, :] - right[c][:, None], left[c][:, None] - right[c][None, :])
    linked = (
        (np.minimum(t[:, None], t[None, :]) >= 0.55 * big)
        & (
            (np.abs(base[:, None] - base[None, :]) <= 0.2 * big)
            | (np.abs(middle[:, None] - middle[None, :]) <= 0.15 * big)
        )
        & (np.minimum(s[:, None], s[None, :]) >= 0.5 * np.maximum(s[:, None], s[None, :]))
        & (gap <= 0.9 * big)
        & (gap >= -0.3 * big)
    )
    group = np.arange(len(c))
    for _ in range(len(c)):
        joined = np.minimum(group, np.where(linked, group[None, :], len(c)).min(axis=1))
        joined = joined[joined]
        if np.array_equal(joined, group):
            break
        group = joined
    return int(np.bincount(group).max())


def letters(img: Image.Image) -> int:
    """How many letters the longest line of legible type in `img` holds (0: no text).

    Ink is what stands out from its neighbourhood (lighter, darker, or amber/blue against
    the local colour), so light, dark and outlined type on a busy picture all count.
    """
    rgb = np.asarray(shrink(img.convert("RGB"), _TEXT_SIDE), dtype=np.float64) / 255.0
    luma = rgb @ LUMA
    warm = (rgb[..., 0] + rgb[..., 1]) / 2 - rgb[..., 2]
    radius = 10
    local, local_warm = box_mean(luma, radius), box_mean(warm, radius)
    masks = (
        luma > local + _INK,
        luma < local - _INK,
        warm > local_warm + _INK_COLOUR,
        warm < local_warm - _INK_COLOUR,
    )
    return max(_letters_in_line(mask) for mask in masks)


def rain(img: Image.Image) -> float:
    """Rain as the share of pixels on thin, near-vertical bright streaks, over `RAIN_SCALE`
    (0: none, 1: a downpour). A streak pixel is brighter than the pixels two to each side
    and lines up with others over `_STREAK_LENGTH` rows (a slant of a pixel either way),
    so building edges, lit windows and snowflakes do not count."""
    luma = (np.asarray(shrink(img.convert("RGB"), _RAIN_SIDE), dtype=np.float64) / 255.0) @ LUMA
    if luma.shape[0] < _STREAK_LENGTH or luma.shape[1] < 5:
        return 0.0
    sides = np.maximum(np.roll(luma, 2, axis=1), np.roll(luma, -2, axis=1))
    ridge = luma - sides > _STREAK_STEP
    ridge[:, :2] = ridge[:, -2:] = False
    slanted = ridge | np.roll(ridge, 1, axis=1) | np.roll(ridge, -1, axis=1)
    half = _STREAK_LENGTH // 2
    c = np.pad(slanted, ((half + 1, half), (0, 0))).cumsum(axis=0)
    cover = (c[_STREAK_LENGTH:] - c[:-_STREAK_LENGTH]) / _STREAK_LENGTH
    share = float((ridge & (cover >= 0.75)).mean())
    return min(1.0, share / RAIN_SCALE)
