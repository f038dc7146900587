"""Camera moves over a still: push-ins, pans and tilts with parallax between depth layers.

On the embedded path the depth comes from the built-in renderer's own layers (sky and far
scenery, the ground plane, the subject), drawn again from the keyframe's spec, so near things
slide past far ones as the camera moves. A keyframe without layers (a ComfyUI image) gets
depth from the spec's horizon and subject box instead.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageFilter

from adapters.render_canvas import f32, new_canvas
from adapters.renderer import STAGES
from adapters.specs import GenerationSpec

Frame = NDArray[np.uint8]
Depth = NDArray[np.float32]

MOVES: tuple[str, ...] = (
    "push_in",
    "pull_out",
    "pan_left",
    "pan_right",
    "tilt_up",
    "tilt_down",
    "parallax",
    "hold",
)
"""Camera moves a shot may name; `hold` still breathes a little (a slow 2 % drift)."""
_WORDS = (
    (r"push|dolly in|zoom in|close in|move in", "push_in"),
    (r"pull|dolly out|zoom out|reveal|widen", "pull_out"),
    (r"pan left|left pan|drift left", "pan_left"),
    (r"pan|track|truck|glide", "pan_right"),
    (r"tilt up|crane up|rise|boom up", "tilt_up"),
    (r"tilt|crane|boom", "tilt_down"),
    (r"parallax|orbit|arc", "parallax"),
    (r"hold|static|locked|still", "hold"),
)
_LAYER_STAGES = 3  # sky, scenery, subject: enough for the depth of the big shapes


def move_for(shot: str) -> str:
    """The camera move a shot's words ask for (`push_in` when they name none)."""
    text = shot.lower().replace("_", " ")
    for move in MOVES:
        if move.replace("_", " ") in text:
            return move
    for pattern, move in _WORDS:
        if re.search(rf"\b(?:{pattern})", text):
            return move
    return "push_in"


SLOWER, FASTER = 0.5, 1.3
"""How far a move travels in its clip when feedback asks for it slower or faster (1 is the
shot's own; faster is capped so the frame's margin still hides every edge)."""
_INSTEAD = re.compile(r"\b(?:instead\s+of|rather\s+than|not\s+a|not|no\s+more|no)\b", re.I)


def asked_move(words: str) -> str | None:
    """The camera move feedback asks for ("pan instead of push in" -> `pan_right`), None when it
    names none; a move only named as the one to drop ("... instead of push in") is not asked."""
    wanted = _INSTEAD.split(words.lower().replace("_", " "))[0]
    if not wanted.strip():
        return None
    for move in MOVES:
        if move.replace("_", " ") in wanted:
            return move
    for pattern, move in _WORDS:
        if re.search(rf"\b(?:{pattern})", wanted):
            return move
    return None


def asked_speed(words: str) -> float | None:
    """How fast feedback asks the camera to move (`SLOWER`, `FASTER`), None when it says not."""
    text = words.lower()
    if re.search(r"\b(?:slow(?:er|ly)?|gentler|gently|calmer|subtler|less\s+motion)\b", text):
        return SLOWER
    if re.search(r"\b(?:fast(?:er)?|quick(?:er|ly)?|snappier|more\s+motion)\b", text):
        return FASTER
    return None


def renderer_depth(spec: GenerationSpec) -> Depth:
    """Depth (0 far .. 1 near) from the built-in renderer's layers for `spec`: the sky and far
    scenery at the back, the ground plane nearer toward the bottom, the subject in front."""
    canvas = new_canvas(spec)
    for index, (_, stage, _) in enumerate(STAGES[:_LAYER_STAGES]):
        stage(canvas, np.random.default_rng([spec.seed, index]))  # the renderer's own streams
    h = canvas.h
    rows = np.linspace(0, 1, h, dtype=np.float32)[:, None]
    below = np.clip((rows - canvas.horizon) / max(1e-3, 1 - canvas.horizon), 0, 1)
    ground = np.maximum(canvas.ground, (rows > canvas.horizon).astype(np.float32))
    depth = f32(0.05 + ground * (0.25 + 0.5 * below))
    return _soft(np.maximum(depth, np.clip(canvas.subject, 0, 1)))


def spec_depth(spec: GenerationSpec, width: int, height: int) -> Depth:
    """Depth from the spec's fields alone (horizon, subject box), for images without layers."""
    rows = np.linspace(0, 1, height, dtype=np.float32)[:, None]
    cols = np.linspace(0, 1, width, dtype=np.float32)[None, :]
    below = np.clip((rows - spec.horizon) / max(1e-3, 1 - spec.horizon), 0, 1)
    depth = np.where(rows > spec.horizon, 0.3 + 0.5 * below, 0.05) * np.ones_like(cols)
    half_h, half_w = spec.subject_scale / 2, spec.subject_scale * height / width / 3
    subject = (np.abs(rows - spec.subject_y) < half_h) & (np.abs(cols - spec.subject_x) < half_w)
    return _soft(np.maximum(depth, subject.astype(np.float32)))


def _soft(depth: NDArray[np.floating]) -> Depth:
    img = Image.fromarray((np.clip(depth, 0, 1) * 255).astype(np.uint8))
    radius = max(1.0, min(img.size) / 120)
    return f32(np.asarray(img.filter(ImageFilter.GaussianBlur(radius)), np.float32) / 255)


@dataclass(frozen=True)
class Camera:
    """Where the camera is at one moment: zoom about a centre, a shift, and parallax."""

    zoom: float
    cx: float
    cy: float
    dx: float
    """Shift of the nearest layer, as a fraction of the width (far layers shift less)."""
    dy: float


def _ease(t: float) -> float:
    return t * t * (3 - 2 * t)


def camera(
    move: str, t: float, focus: tuple[float, float] = (0.5, 0.5), speed: float = 1.0
) -> Camera:
    """The camera `move` at time `t` (0..1), eased; every move keeps a margin so no edge shows.
    `speed` scales how far the move travels in the clip (0.5: half as far, as slowly)."""
    speed = min(FASTER, max(0.1, speed))
    e = _ease(min(1.0, max(0.0, t)))
    if move in ("pan_left", "pan_right", "tilt_up", "tilt_down", "parallax"):
        e = 0.5 + (e - 0.5) * speed  # the same path about its middle, shorter or longer
    else:
        e *= speed
    fx, fy = focus
    if move == "push_in":
        return Camera(1.04 + 0.14 * e, fx, fy, 0.0, 0.0)
    if move == "pull_out":
        return Camera(max(1.02, 1.18 - 0.14 * e), fx, fy, 0.0, 0.0)
    if move in ("pan_left", "pan_right"):
        sign = -1 if move == "pan_left" else 1
        return Camera(1.14, 0.5, 0.5, sign * (0.05 - 0.1 * e), 0.0)
    if move in ("tilt_up", "tilt_down"):
        sign = -1 if move == "tilt_up" else 1
        return Camera(1.14, 0.5, 0.5, 0.0, sign * (0.05 - 0.1 * e))
    if move == "parallax":
        return Camera(1.12, 0.5, 0.5, 0.045 - 0.09 * e, 0.0)
    return Camera(1.03 + 0.02 * e, fx, fy, 0.0, 0.0)


def _sample(image: NDArray[np.float32], xs: NDArray[np.float32], ys: NDArray[np.float32]) -> Frame:
    """Bilinear lookup of `image` at pixel coordinates (clamped at the borders)."""
    h, w = image.shape[:2]
    xs, ys = np.clip(xs, 0, w - 1.001), np.clip(ys, 0, h - 1.001)
    x0, y0 = xs.astype(np.int32), ys.astype(np.int32)
    fx, fy = (xs - x0)[..., None], (ys - y0)[..., None]
    top = image[y0, x0] * (1 - fx) + image[y0, x0 + 1] * fx
    bottom = image[y0 + 1, x0] * (1 - fx) + image[y0 + 1, x0 + 1] * fx
    out = top * (1 - fy) + bottom * fy
    frame: Frame = np.clip(out + 0.5, 0, 255).astype(np.uint8)
    return frame


def frame_at(
    image: NDArray[np.float32], depth: Depth, cam: Camera, width: int, height: int
) -> Frame:
    """One output frame: a backward warp of the keyframe by the camera, each pixel displaced
    by its depth (near layers move the most)."""
    h, w = image.shape[:2]
    u = (np.arange(width, dtype=np.float32) + 0.5) / width
    v = (np.arange(height, dtype=np.float32) + 0.5) / height
    su = cam.cx + (u[None, :] - 0.5) / cam.zoom + (0.5 - cam.cx) / cam.zoom
    sv = cam.cy + (v[:, None] - 0.5) / cam.zoom + (0.5 - cam.cy) / cam.zoom
    su, sv = np.broadcast_to(su, (height, width)), np.broadcast_to(sv, (height, width))
    dh, dw = depth.shape
    near = depth[
        np.clip((sv * dh).astype(np.int32), 0, dh - 1),
        np.clip((su * dw).astype(np.int32), 0, dw - 1),
    ]
    weight = 0.35 + 0.65 * near  # the far layers still move a little: it is one camera
    xs = (su - cam.dx * weight) * w - 0.5
    ys = (sv - cam.dy * weight) * h - 0.5
    return _sample(image, xs.astype(np.float32), ys.astype(np.float32))


def frame_count(seconds: float, fps: int) -> int:
    return max(1, int(math.floor(seconds * fps + 0.5)))


def animate(
    keyframe: bytes | Image.Image,
    depth: Depth,
    move: str,
    *,
    seconds: float,
    fps: int,
    width: int,
    height: int,
    focus: tuple[float, float] = (0.5, 0.5),
    speed: float = 1.0,
) -> Iterator[Frame]:
    """The frames of one shot: `move` over `seconds` at `fps`, `width` x `height`, at `speed`."""
    still = keyframe if isinstance(keyframe, Image.Image) else Image.open(io.BytesIO(keyframe))
    image = np.asarray(still.convert("RGB"), np.float32)
    if depth.shape != image.shape[:2]:
        resized = Image.fromarray((depth * 255).astype(np.uint8)).resize(still.size)
        depth = f32(np.asarray(resized, np.float32) / 255)
    count = frame_count(seconds, fps)
    for index in range(count):
        t = index / max(1, count - 1)
        yield frame_at(image, depth, camera(move, t, focus, speed), width, height)
