"""Real media for the Media Lab tests: videos with a moving square (PyAV) and images (Pillow)."""

from __future__ import annotations

import io
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image

U8 = npt.NDArray[np.uint8]
SQUARE = 24
RED = (220, 40, 40)


def background(height: int, width: int, seed: int = 7) -> U8:
    """A textured, static background (optical flow needs texture, as in real footage)."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 255, (height // 6 + 1, width // 6 + 1, 3)).astype(np.uint8)
    smooth = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    return np.asarray(smooth * 0.45 + 50, np.uint8)


def square_frame(x: float, y: int, bg: U8, size: int = SQUARE) -> U8:
    """`bg` with a red square (yellow core) whose left edge is at `x` (sub-pixel by blending)."""
    frame = bg.astype(np.float32)
    mask = np.zeros(bg.shape[:2], np.float32)
    left = int(np.floor(x))
    frac = x - left
    mask[y : y + size, left : left + size] = 1.0
    if frac:
        shifted = np.zeros_like(mask)
        shifted[y : y + size, left + 1 : left + 1 + size] = 1.0
        mask = mask * (1 - frac) + shifted * frac
    colour = np.zeros_like(frame)
    colour[...] = RED
    core = size // 4
    colour[y + core : y + size - core, :] = (250, 220, 40)
    colour[:, : left + core] = RED
    colour[:, left + size - core + 1 :] = RED
    frame = frame * (1 - mask[..., None]) + colour * mask[..., None]
    return np.asarray(np.clip(frame + 0.5, 0, 255), np.uint8)


def moving_square(n: int, width: int = 192, height: int = 112, step: float = 6.0) -> list[U8]:
    bg = background(height, width)
    return [square_frame(12 + step * i, 40, bg) for i in range(n)]


def write_video(
    path: Path,
    frames: list[U8],
    fps: int | Fraction = 60,
    *,
    audio: bool = True,
    container: str = "mp4",
) -> Path:
    """Encode `frames` (H.264/AAC in MP4 or MOV, VP9/Opus in WebM) with a 440 Hz tone."""
    webm = container == "webm"
    out = av.open(str(path), "w", format=container)
    video = out.add_stream("libvpx-vp9" if webm else "libx264", rate=fps)
    height, width = frames[0].shape[:2]
    video.width, video.height, video.pix_fmt = width, height, "yuv420p"
    sound = None
    if audio:
        sound = out.add_stream("libopus" if webm else "aac", rate=48000, layout="mono")
    for array in frames:
        for packet in video.encode(av.VideoFrame.from_ndarray(array, format="rgb24")):
            out.mux(packet)
    for packet in video.encode():
        out.mux(packet)
    if sound is not None:
        samples = int(48000 * len(frames) / float(fps))
        t = np.arange(samples) / 48000
        wave = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None, :]
        fmt = "flt" if webm else "fltp"
        for start in range(0, samples, 960):
            frame = av.AudioFrame.from_ndarray(
                wave[:, start : start + 960], format=fmt, layout="mono"
            )
            frame.sample_rate, frame.pts = 48000, start
            for packet in sound.encode(frame):
                out.mux(packet)
        for packet in sound.encode():
            out.mux(packet)
    out.close()
    return path


def decode_video(path: Path) -> list[U8]:
    with av.open(str(path)) as container:
        return [
            np.asarray(f.to_ndarray(format="rgb24"), np.uint8) for f in container.decode(video=0)
        ]


def audio_seconds(path: Path) -> float:
    """Decoded audio length."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        total = sum(frame.samples for frame in container.decode(stream))
        return total / stream.codec_context.sample_rate


def red_mask(frame: U8) -> npt.NDArray[np.bool_]:
    """Pixels of the square's red rim (what a ghost would show at half strength)."""
    r, g, b = (frame[..., i].astype(int) for i in range(3))
    return (r > 170) & (g < 110) & (b < 110)


def half_red_mask(frame: U8, bg: U8) -> npt.NDArray[np.bool_]:
    """Pixels that are neither the background nor the square: a 50% mix of red and background
    (a cross-fade's ghost)."""
    ghost = (bg.astype(np.float32) + np.array(RED, np.float32)) / 2
    near_ghost = np.abs(frame.astype(np.float32) - ghost).max(axis=2) < 14
    near_bg = np.abs(frame.astype(np.float32) - bg).max(axis=2) < 14
    return np.asarray(near_ghost & ~near_bg, np.bool_)


def png_bytes(image: Image.Image, fmt: str = "PNG", **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **options)
    return out.getvalue()


def noise_image(width: int, height: int, seed: int = 3, mode: str = "RGB") -> Image.Image:
    rng = np.random.default_rng(seed)
    bands = 4 if mode == "RGBA" else 3
    return Image.fromarray(rng.integers(0, 255, (height, width, bands), dtype=np.uint8), mode)
