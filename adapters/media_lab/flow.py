"""Motion-compensated frame interpolation from dense optical flow (OpenCV), in NumPy.

For two frames I0, I1 and a time t in (0, 1):

1. Dense flow both ways, F01 and F10 (OpenCV DIS or Farneback on grey frames, computed at most
   `FLOW_MAX_SIDE` pixels wide and scaled up).
2. Each flow is projected ("splatted") forward to time t: pixel x of I0 lands at x + t*F01(x),
   pixel x of I1 at x + (1-t)*F10(x). Where several land on one pixel the one with the larger
   motion and the better photometric match wins (a moving object in front of what it crosses).
   A pixel nothing from I0 lands on is not visible in I0 at time t (and likewise for I1):
   that is the occlusion mask.
3. From the projected flows each pixel at time t gets a flow back to I0 and to I1; I0 and I1 are
   warped there with `cv2.remap` and blended with weights (1-t)*visible0 and t*visible1.

So a moving object appears once, at its interpolated position, with no double image.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import cv2
import numpy as np
import numpy.typing as npt

U8 = npt.NDArray[np.uint8]
F32 = npt.NDArray[np.float32]
FLOW_MAX_SIDE = 1024
"""Optical flow is computed on frames scaled to at most this many pixels on the long side."""
_EMPTY = np.int64(-1)
_MATCH = 48.0
"""Summed |R|+|G|+|B| difference (3x3-blurred frames) under which two samples show the same."""
_UNSURE = 0.3
"""Visibility given to a source pixel whose flow is not trusted (between seen and not seen)."""
_MAX_COLOUR_ERROR = 90
"""Sum of |R|+|G|+|B| differences above which a pixel's flow is not trusted for projection."""


@dataclass
class FlowEstimator:
    """One OpenCV optical-flow engine (not thread-safe: one per worker)."""

    method: Literal["dis", "farneback"] = "dis"
    preset: Literal["ultrafast", "fast", "medium"] = "medium"

    def __post_init__(self) -> None:
        self._dis: Any = None
        if self.method == "dis":
            presets = {
                "ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
                "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
                "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
            }
            self._dis = cv2.DISOpticalFlow.create(presets[self.preset])

    def flow(self, grey0: U8, grey1: U8) -> F32:
        """Dense flow from grey0 to grey1, (h, w, 2) float32 pixels."""
        if self._dis is not None:
            return np.asarray(self._dis.calc(grey0, grey1, None), np.float32)
        return np.asarray(
            cv2.calcOpticalFlowFarneback(grey0, grey1, None, 0.5, 5, 21, 5, 7, 1.5, 0), np.float32
        )


def _grey_small(frame: U8, scale: float) -> U8:
    grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    if scale < 1.0:
        h, w = grey.shape
        size = (max(8, round(w * scale)), max(8, round(h * scale)))
        grey = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
    return np.asarray(grey, np.uint8)


_CLEAN_STEP = 4
"""Edge-aware flow cleanup works at 1/4 resolution ..."""
_CLEAN_RADIUS = 8
"""... over a window of +-8 low-resolution pixels (+-32 at full size)."""
_CLEAN_COLOUR = 18.0
"""Colour distance (RGB levels) at which a neighbour's say drops to 1/e."""


def _consistency(flow: F32, back: F32) -> F32:
    """Per pixel, 1 where following `flow` and then `back` returns home, towards 0 where not."""
    h, w = flow.shape[:2]
    xs, ys = _grid(h, w)
    returned = _remap(back, xs + flow[..., 0], ys + flow[..., 1])
    miss = _norm(flow + returned) / (1.0 + 0.1 * _norm(flow))
    return np.asarray(np.exp(-(miss**2)), np.float32)


def clean_flow(frame: U8, flow: F32, back: F32) -> F32:
    """Replace untrustworthy flow (it fails the round trip) by the flow of trusted neighbours of
    the same colour: a joint bilateral fill at low resolution. Flat, textureless areas (where
    optical flow cannot measure) take the motion of the object they belong to, and background
    coming into view takes the background's, instead of a motion smeared across the edge."""
    h, w = flow.shape[:2]
    trust = _consistency(flow, back)
    lw, lh = max(1, w // _CLEAN_STEP), max(1, h // _CLEAN_STEP)
    colour = cv2.resize(frame, (lw, lh), interpolation=cv2.INTER_AREA).astype(np.float32)
    weight = cv2.resize(trust, (lw, lh), interpolation=cv2.INTER_AREA)
    small = cv2.resize(flow * trust[..., None], (lw, lh), interpolation=cv2.INTER_AREA)
    r = _CLEAN_RADIUS
    pad = ((r, r), (r, r), (0, 0))
    colour_p = np.pad(colour, pad, mode="edge")
    weight_p = np.pad(weight, ((r, r), (r, r)))
    small_p = np.pad(small, pad)
    total = np.zeros((lh, lw), np.float32)
    summed = np.zeros((lh, lw, 2), np.float32)
    for dy in range(-r, r + 1, 2):
        for dx in range(-r, r + 1, 2):
            near = (slice(r + dy, r + dy + lh), slice(r + dx, r + dx + lw))
            distance = ((colour_p[near] - colour) ** 2).sum(axis=2)
            spatial = np.exp(-(dx * dx + dy * dy) / (2.0 * (r / 2) ** 2))
            wgt = weight_p[near] * np.exp(-distance / _CLEAN_COLOUR**2) * spatial
            total += wgt
            summed += small_p[near] * wgt[..., None]
    filled = summed / np.maximum(total, 1e-6)[..., None]
    known = (total > 1e-3).astype(np.float32)
    filled_full = cv2.resize(filled, (w, h), interpolation=cv2.INTER_LINEAR)
    known_full = cv2.resize(known, (w, h), interpolation=cv2.INTER_LINEAR)
    replace = ((1.0 - trust) * known_full)[..., None]
    return np.asarray(flow * (1.0 - replace) + filled_full * replace, np.float32)


def bidirectional_flow(est: FlowEstimator, frame0: U8, frame1: U8) -> tuple[F32, F32]:
    """F01 and F10 at full resolution, each cleaned where it fails the round trip."""
    h, w = frame0.shape[:2]
    scale = min(1.0, FLOW_MAX_SIDE / max(h, w))
    g0, g1 = _grey_small(frame0, scale), _grey_small(frame1, scale)
    f01, f10 = est.flow(g0, g1), est.flow(g1, g0)
    if scale < 1.0:
        sx, sy = w / g0.shape[1], h / g0.shape[0]
        factor = np.array([sx, sy], np.float32)
        f01 = np.asarray(cv2.resize(f01, (w, h), interpolation=cv2.INTER_LINEAR)) * factor
        f10 = np.asarray(cv2.resize(f10, (w, h), interpolation=cv2.INTER_LINEAR)) * factor
    f01, f10 = np.asarray(f01, np.float32), np.asarray(f10, np.float32)
    return clean_flow(frame0, f01, f10), clean_flow(frame1, f10, f01)


def _grid(h: int, w: int) -> tuple[F32, F32]:
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return xs, ys


def _remap(image: npt.NDArray[Any], mapx: F32, mapy: F32) -> npt.NDArray[Any]:
    return np.asarray(
        cv2.remap(image, mapx, mapy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    )


def _splat(
    src: U8, dst: U8, flow: F32, back: F32, t: float, grid: tuple[F32, F32]
) -> tuple[F32, npt.NDArray[np.bool_], F32]:
    """Project `flow` (src -> dst) to time t. Returns the flow each time-t pixel carries,
    where anything landed, and which source pixels have a trusted flow. Only pixels whose flow
    is consistent (the flow back from where they land returns them, and the colour there
    matches) are projected; conflicts go to the larger motion (in front), then the better
    photometric match."""
    h, w = flow.shape[:2]
    xs, ys = grid
    fx, fy = flow[..., 0], flow[..., 1]
    mapx, mapy = xs + fx, ys + fy
    arrived = _remap(dst, mapx, mapy)
    error = np.abs(src.astype(np.int16) - arrived.astype(np.int16)).sum(axis=2, dtype=np.int32)
    returned = _remap(back, mapx, mapy)
    magnitude = np.hypot(fx, fy)
    round_trip = np.hypot(fx + returned[..., 0], fy + returned[..., 1])
    reliable = (round_trip <= 1.0 + 0.1 * magnitude) & (error <= _MAX_COLOUR_ERROR)
    priority = np.clip(magnitude * 16.0 - error.astype(np.float32) * 0.25 + 2.0**20, 0, 2.0**30)
    tx = np.rint(xs + t * fx).astype(np.int64)
    ty = np.rint(ys + t * fy).astype(np.int64)
    inside = reliable & (tx >= 0) & (tx < w) & (ty >= 0) & (ty < h)
    source = np.flatnonzero(inside)
    target = ty.ravel()[source] * w + tx.ravel()[source]
    key = (priority.ravel()[source].astype(np.int64) << 32) | source
    best = np.full(h * w, _EMPTY, np.int64)
    np.maximum.at(best, target, key)
    landed = best >= 0
    winner = (best[landed] & 0xFFFFFFFF).astype(np.int64)
    out = np.zeros((h * w, 2), np.float32)
    out[landed] = flow.reshape(-1, 2)[winner]
    out_img = out.reshape(h, w, 2)
    mask = landed.reshape(h, w)
    # pinholes left by rounding (a pixel with most neighbours landed) are filled from them
    box = cv2.boxFilter(mask.astype(np.float32), -1, (3, 3), normalize=False)
    pin = ~mask & (box >= 5)
    if pin.any():
        summed = cv2.boxFilter(out_img * mask[..., None], -1, (3, 3), normalize=False)
        out_img[pin] = summed[pin] / box[pin][:, None]
        mask = mask | pin
    return out_img, mask, reliable.astype(np.float32)


def _fill(flow: F32, known: npt.NDArray[np.bool_]) -> F32:
    """Flow for pixels in neither projection, from known neighbours: such holes are mostly
    background coming into view, so a neighbour counts in proportion to how close its motion's
    size is to the smallest one around it (the projection already treats the larger motion as
    the one in front). A normalised blur, widened until every hole is reached."""
    if known.all() or not known.any():
        return flow
    magnitude = np.where(known, np.hypot(flow[..., 0], flow[..., 1]), np.float32(1e6))
    smallest = cv2.erode(magnitude.astype(np.float32), np.ones((31, 31), np.uint8))
    weight = known * np.exp(-np.clip(magnitude - smallest, 0, 50) / 0.5)
    weight = np.maximum(weight, known * 1e-6).astype(np.float32)
    filled = flow.copy()
    todo = ~known
    for size in (9, 33, 129, 513):
        num = cv2.blur(flow * weight[..., None], (size, size))
        den = cv2.blur(weight, (size, size))
        ok = todo & (den > 1e-9)
        filled[ok] = num[ok] / den[ok][:, None]
        todo &= ~ok
        if not todo.any():
            break
    return filled


def _norm(v: F32) -> F32:
    return np.asarray(np.hypot(v[..., 0], v[..., 1]), np.float32)


_OFFSETS = (
    (0, 0),
    *((dx, dy) for r in (3, 7) for dx in (-r, 0, r) for dy in (-r, 0, r) if dx or dy),
)
"""Neighbours whose motion a pixel may take instead of its own (flow blurs across edges)."""


def _sample(image: F32, x: F32, y: F32, count: int) -> F32:
    """Bilinear samples of `image` at `count` points (remap takes maps under 32767 a side, so
    the points are laid out as rows of 1024)."""
    rows = -(-count // 1024)
    pad = rows * 1024 - count
    mapx = np.pad(x, (0, pad)).reshape(rows, 1024).astype(np.float32)
    mapy = np.pad(y, (0, pad)).reshape(rows, 1024).astype(np.float32)
    return np.asarray(_remap(image, mapx, mapy), np.float32).reshape(-1, 3)[:count]


def _refine(
    frame0: U8,
    frame1: U8,
    motion: F32,
    t: float,
    grid: tuple[F32, F32],
    both: npt.NDArray[np.bool_],
    neither: npt.NDArray[np.bool_],
) -> F32:
    """Where the motion changes nearby (a motion boundary) and both frames see a pixel, take
    the motion (its own or a close neighbour's) under which frame0 and frame1 agree best there:
    motion boundaries blurred by the flow snap back to the object's edge. Where neither
    projection reached the pixel, do so only when that motion makes the frames really agree
    (an edge both frames see); otherwise it is background coming into view or going out of it,
    where the frames cannot agree, and its filled motion stays. Only those pixels are evaluated
    (sparse remaps)."""
    h, w = motion.shape[:2]
    magnitude = _norm(motion)
    kernel = np.ones((15, 15), np.uint8)
    spread = cv2.dilate(magnitude, kernel) - cv2.erode(magnitude, kernel)
    ys, xs = np.nonzero((both | neither) & (spread > 0.5))
    if len(ys) == 0:
        return motion
    # patch-like matching: compare slightly blurred frames
    a = cv2.blur(frame0, (3, 3)).astype(np.float32)
    b = cv2.blur(frame1, (3, 3)).astype(np.float32)
    count = len(ys)
    px, py = xs.astype(np.float32), ys.astype(np.float32)
    best = motion[ys, xs]
    best_err = np.full(len(ys), np.inf, np.float32)
    for dx, dy in _OFFSETS:
        cand = motion[np.clip(ys + dy, 0, h - 1), np.clip(xs + dx, 0, w - 1)]
        cx, cy = cand[:, 0], cand[:, 1]
        warped0 = _sample(a, px - t * cx, py - t * cy, count)
        warped1 = _sample(b, px + (1 - t) * cx, py + (1 - t) * cy, count)
        err = np.abs(warped0 - warped1).sum(axis=1)
        if (dx, dy) == (0, 0):
            err = err - 2.0  # the pixel's own motion wins ties
        better = err < best_err
        best[better] = cand[better]
        best_err[better] = err[better]
    keep = neither[ys, xs] & (best_err > _MATCH)
    best[keep] = motion[ys[keep], xs[keep]]
    refined = motion.copy()
    refined[ys, xs] = best
    return refined


def interpolate_frame(frame0: U8, frame1: U8, f01: F32, f10: F32, t: float) -> U8:
    """The frame at time t between frame0 (t=0) and frame1 (t=1), RGB uint8."""
    h, w = frame0.shape[:2]
    grid = _grid(h, w)
    fa, seen0, trusted0 = _splat(frame0, frame1, f01, f10, t, grid)  # F01 carried to time t
    fb, seen1, trusted1 = _splat(frame1, frame0, f10, f01, 1.0 - t, grid)  # F10 to time t
    # one motion (frame0 -> frame1) per time-t pixel: where both projections landed and agree,
    # their mean; where they disagree, the larger (the object in front); else the one that landed
    mag_a, mag_b = _norm(fa), _norm(fb)
    both = seen0 & seen1
    agree = _norm(fa + fb) <= 1.0 + 0.1 * mag_a
    use_a = (seen0 & ~seen1) | (both & ~agree & (mag_a >= mag_b))
    use_b = (seen1 & ~seen0) | (both & ~agree & (mag_a < mag_b))
    motion = np.where(use_a[..., None], fa, np.where(use_b[..., None], -fb, 0.5 * (fa - fb)))
    motion = _fill(np.asarray(motion, np.float32), seen0 | seen1)
    xs, ys = grid
    motion = _refine(frame0, frame1, motion, t, grid, seen0 & seen1, ~(seen0 | seen1))
    to0x, to0y = xs - t * motion[..., 0], ys - t * motion[..., 1]
    to1x, to1y = xs + (1.0 - t) * motion[..., 0], ys + (1.0 - t) * motion[..., 1]
    warped0 = _remap(frame0, to0x, to0y).astype(np.float32)
    warped1 = _remap(frame1, to1x, to1y).astype(np.float32)
    # occlusion: a frame sees this pixel when the source pixel we sample has a trusted flow
    # that brings it here (one that moves elsewhere means we would copy a ghost); a source
    # pixel with no trusted flow (often one the other frame cannot see) counts as unsure, and
    # then the closer of the two untrusted flows wins
    tolerance = 1.0 + 0.15 * _norm(motion)
    miss0 = _norm(_remap(f01, to0x, to0y) - motion) / tolerance
    miss1 = _norm(_remap(f10, to1x, to1y) + motion) / tolerance
    sure0 = _remap(trusted0, to0x, to0y)
    sure1 = _remap(trusted1, to1x, to1y)
    v0 = sure0 * np.exp(-(miss0**2)) + (1.0 - sure0) * _UNSURE * np.exp(-0.5 * miss0) + 1e-12
    v1 = sure1 * np.exp(-(miss1**2)) + (1.0 - sure1) * _UNSURE * np.exp(-0.5 * miss1) + 1e-12
    w0, w1 = (1.0 - t) * v0, t * v1
    total = w0 + w1
    out = warped0 * (w0 / total)[..., None] + warped1 * (w1 / total)[..., None]
    return np.asarray(np.clip(out + 0.5, 0, 255), np.uint8)


def in_between(est: FlowEstimator, frame0: U8, frame1: U8, multiple: int) -> list[U8]:
    """The `multiple - 1` frames evenly between frame0 and frame1 (one flow pair for all)."""
    f01, f10 = bidirectional_flow(est, frame0, frame1)
    return [interpolate_frame(frame0, frame1, f01, f10, k / multiple) for k in range(1, multiple)]
