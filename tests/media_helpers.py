"""Real media for Media Lab tests: a PNG with shapes, a short MP4 (moving square, a tone)."""

from __future__ import annotations

import io
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw


def png_bytes(
    size: tuple[int, int] = (64, 48), color: tuple[int, int, int] = (30, 60, 160)
) -> bytes:
    """A PNG with a background, a bright disc and a dark bar (edges to resample)."""
    image = Image.new("RGB", size, color)
    draw = ImageDraw.Draw(image)
    w, h = size
    draw.ellipse((w // 4, h // 4, w // 2, h // 2 + h // 8), fill=(240, 200, 60))
    draw.rectangle((w * 2 // 3, 0, w * 2 // 3 + max(2, w // 16), h), fill=(10, 10, 10))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def mp4_bytes(
    path: Path,
    *,
    fps: int = 60,
    frames: int = 24,
    size: tuple[int, int] = (64, 48),
    audio: bool = True,
) -> bytes:
    """An H.264 MP4 of a square moving right 1 px a frame over a gradient, with a 440 Hz tone."""
    w, h = size
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = w, h, "yuv420p"
        video.options = {"preset": "ultrafast", "crf": "18"}
        sound = out.add_stream("aac", rate=48000) if audio else None
        ramp = np.tile(np.linspace(40, 200, w, dtype=np.uint8), (h, 1))
        for i in range(frames):
            rgb = np.stack([ramp, ramp // 2, 255 - ramp], axis=-1).copy()
            x = 4 + i
            rgb[h // 3 : h // 3 + 12, x : x + 12] = (250, 250, 40)
            for packet in video.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                out.mux(packet)
        for packet in video.encode():
            out.mux(packet)
        if sound is not None:
            seconds = frames / fps
            t = np.arange(int(48000 * seconds)) / 48000
            tone = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
            for start in range(0, len(tone), 1024):
                frame = av.AudioFrame.from_ndarray(
                    tone[None, start : start + 1024], format="fltp", layout="mono"
                )
                frame.sample_rate = 48000
                frame.pts = start
                frame.time_base = Fraction(1, 48000)
                for packet in sound.encode(frame):
                    out.mux(packet)
            for packet in sound.encode():
                out.mux(packet)
    return path.read_bytes()
