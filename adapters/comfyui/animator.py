"""`ComfyUIAnimator`: a keyframe animated by an image-to-video workflow on ComfyUI.

The `img2vid` template (Stable Video Diffusion) is capability-checked like every template: when
the server lacks its nodes or has no video model, the shot falls back to the built-in camera
move, and its label says so and why. The server's frames (an animated WEBP) are retimed to the
scene's length and fps and encoded as the clip's H.264 MP4.
"""

from __future__ import annotations

import asyncio
import io
import math
from collections.abc import Iterator

import numpy as np
from PIL import Image, ImageOps, ImageSequence

from adapters.comfyui.generator import ComfyUIImageGenerator
from adapters.errors import GenerationFailed
from adapters.media.cut import ENCODER, encode, even
from adapters.media.kit import Animator, Clip, ParallaxAnimator
from adapters.media.motion import Frame, frame_count
from adapters.specs import GenerationSpec

TEMPLATE = "img2vid"
MOTION: dict[str, int] = {"hold": 40, "push_in": 110, "pull_out": 110, "parallax": 160}
"""SVD's `motion_bucket_id` per camera move (how much moves; 127 is the model's default)."""


def webp_frames(data: bytes) -> list[Image.Image]:
    """Every frame of an animated WEBP (or GIF/PNG) as RGB images."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            return [frame.convert("RGB") for frame in ImageSequence.Iterator(image)]
    except (OSError, ValueError) as exc:
        raise GenerationFailed(
            "ComfyUI's image-to-video output is not a readable animation"
        ) from exc


def retimed(frames: list[Image.Image], count: int, width: int, height: int) -> Iterator[Frame]:
    """`count` frames spread evenly over the server's frames, fitted to `width` x `height`."""
    fitted: dict[int, Frame] = {}
    for index in range(count):
        source = min(len(frames) - 1, index * len(frames) // count)
        if source not in fitted:
            still = ImageOps.fit(frames[source], (width, height), Image.Resampling.LANCZOS)
            fitted[source] = np.asarray(still, np.uint8)
        yield fitted[source]


class ComfyUIAnimator:
    """Implements `adapters.media.kit.Animator` through one ComfyUI server's `img2vid`."""

    name = "comfyui"

    def __init__(
        self,
        generator: ComfyUIImageGenerator,
        *,
        fallback: Animator | None = None,
        max_frames: int = 25,
    ) -> None:
        self.generator = generator
        self.fallback = fallback or ParallaxAnimator()
        self.max_frames = max_frames
        """SVD-XT makes 25 frames; a longer scene holds each a little longer."""

    async def unavailable(self) -> str | None:
        """Why the server cannot animate (missing nodes or no video model), or None."""
        caps = await self.generator.capabilities()
        blocking = [m for m in caps.check_template(TEMPLATE) if m.blocking]
        if not blocking:
            return None
        return f"ComfyUI {caps.version} has no image-to-video: " + "; ".join(
            m.describe() for m in blocking
        )

    async def animate(
        self,
        keyframe: bytes,
        spec: GenerationSpec,
        *,
        move: str,
        seconds: float,
        fps: int,
        width: int,
        height: int,
        layered: bool,
        job_id: str = "",
        speed: float = 1.0,
    ) -> Clip:
        reason = await self.unavailable()
        if reason is not None:
            clip = await self.fallback.animate(
                keyframe, spec, move=move, seconds=seconds, fps=fps, width=width,
                height=height, layered=layered, job_id=job_id, speed=speed,
            )  # fmt: skip
            return Clip(clip.mp4, clip.frames, f"{clip.engine} (fallback: {reason})")
        count = frame_count(seconds, fps)
        made = max(2, min(self.max_frames, count))
        made_fps = max(1, math.ceil(made / max(seconds, 0.1)))
        images = await self.generator.generate(
            spec.model_copy(update={"template": TEMPLATE}),
            job_id=job_id or f"local:clip-{spec.deliverable}:{spec.seed}:0",
            on_progress=lambda _f, _p: None,
            references=[keyframe],
            params={
                "video_frames": made,
                "fps": made_fps,
                "motion_bucket_id": max(1, min(255, round(MOTION.get(move, 127) * speed))),
            },
        )
        frames = webp_frames(images[0].png)
        w, h = even(width), even(height)
        mp4 = await asyncio.to_thread(
            encode, retimed(frames, count, w, h), fps=fps, width=w, height=h
        )
        params = images[0].recipe.get("params")
        model = params.get("video_model") if isinstance(params, dict) else None
        version = (await self.generator.capabilities()).version
        label = (
            f"ComfyUI {version} image-to-video ({TEMPLATE}, {model or 'a video model'}: "
            f"{len(frames)} frames at {made_fps} fps, retimed to {count} at {fps} fps); {ENCODER}"
        )
        return Clip(mp4, count, label)
