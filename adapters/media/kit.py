"""The media a video needs besides images: a voice and an animator, as protocols with their
embedded defaults (eSpeak NG, camera moves over the renderer's layers)."""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass, field
from typing import Protocol

from PIL import Image

from adapters.media.cut import ENCODER, encode
from adapters.media.motion import animate, frame_count, renderer_depth, spec_depth
from adapters.media.speech import ESpeakSpeech, Speech
from adapters.specs import GenerationSpec


@dataclass(frozen=True)
class Clip:
    """One animated shot: an MP4 (H.264, no sound) and what made it."""

    mp4: bytes
    frames: int
    engine: str
    """Label for people and lineage (`built-in parallax over renderer layers`, ...)."""


class Animator(Protocol):
    """Something that turns a keyframe into a moving shot."""

    name: str

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
        """Move the camera over `keyframe` for `seconds`. `layered`: the built-in renderer made
        it, so its depth layers can be drawn again from `spec`. `job_id`: the exactly-once key
        of this clip (a server-side animator queues it under that id; `context.images.cancel`
        stops it). `speed`: how far the move travels (1 the shot's own, 0.5 slower)."""
        ...


class ParallaxAnimator:
    """The embedded animator: camera moves with parallax between depth layers, on the CPU."""

    name = "parallax"

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
        return await asyncio.to_thread(
            self._animate, keyframe, spec, move, seconds, fps, width, height, layered, speed
        )

    def _animate(
        self,
        keyframe: bytes,
        spec: GenerationSpec,
        move: str,
        seconds: float,
        fps: int,
        width: int,
        height: int,
        layered: bool,
        speed: float = 1.0,
    ) -> Clip:
        still = Image.open(io.BytesIO(keyframe)).convert("RGB")
        if layered and (spec.width, spec.height) == still.size:
            depth, source = renderer_depth(spec), "renderer depth layers"
        else:
            depth, source = spec_depth(spec, *still.size), "depth from the spec's layout"
        focus = (spec.subject_x, spec.subject_y)
        frames = animate(
            still,
            depth,
            move,
            seconds=seconds,
            fps=fps,
            width=width,
            height=height,
            focus=focus,
            speed=speed,
        )
        mp4 = encode(frames, fps=fps, width=width, height=height)
        pace = "" if speed == 1.0 else (", slower" if speed < 1.0 else ", faster")
        label = (
            f"built-in camera move ({move.replace('_', ' ')}{pace}, parallax over {source}); "
            f"{ENCODER}"
        )
        return Clip(mp4, frame_count(seconds, fps), label)


@dataclass(frozen=True)
class MediaKit:
    """The voice and the animator a studio uses for video."""

    speech: Speech = field(default_factory=ESpeakSpeech)
    animator: Animator = field(default_factory=ParallaxAnimator)

    def animator_for(self, images: object) -> Animator:
        """The animator for a studio whose images come from `images`: on one ComfyUI server
        the default becomes its image-to-video workflow (which falls back to the built-in
        camera move, labelled, when the server has no video model); otherwise as configured."""
        from adapters.comfyui.generator import ComfyUIImageGenerator

        if type(self.animator) is ParallaxAnimator and isinstance(images, ComfyUIImageGenerator):
            from adapters.comfyui.animator import ComfyUIAnimator

            return ComfyUIAnimator(images, fallback=self.animator)
        return self.animator
