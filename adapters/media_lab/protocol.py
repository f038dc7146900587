"""The Media Lab interface the jobs layer calls: four operations, one `Artifact` result.

Every operation writes exactly one output file (`out`), reports progress through `progress`
(fraction 0..1 and a short stage text), and stops at a safe point when its asyncio task is
cancelled (`asyncio.CancelledError` propagates; a ComfyUI backend cancels exactly its own prompt
first). Bad input raises `adapters.media_lab.errors.MediaInvalidInput` (an `InvalidInput`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from adapters.media_lab.params import BlendParams, InterpolateParams, ReferenceParams, UpscaleParams

Progress = Callable[[float, str], Awaitable[None]]
"""`await progress(fraction, stage)`; fraction in 0..1, stage a few words ("chunk 3/8")."""

OnChunk = Callable[[int, int], Awaitable[None]]
"""`await on_chunk(done, total)` after chunk `done` (1-based count) is safely on disk."""


@dataclass
class Artifact:
    """One produced file and what it is. Dimensions and timing are measured from the file."""

    path: Path
    mime: str
    width: int
    height: int
    fps: float | None = None
    frames: int | None = None
    duration_s: float | None = None
    has_audio: bool = False
    backend: str = "embedded"
    """`embedded`, or `comfyui <base url>`."""
    backend_detail: dict[str, Any] = field(default_factory=dict)
    """prompt_id, node names, model, "model-free scale", fallback reason, chunk count, ..."""
    label: str = ""
    """What this mode is, in words a person reads (e.g. "embedded: Lanczos resampling + unsharp
    mask, not a learned upscaler")."""

    def lineage(self) -> dict[str, Any]:
        """JSON-ready record of everything except the path (the jobs layer stores it)."""
        return {
            "mime": self.mime,
            "width": self.width,
            "height": self.height,
            "fps": self.fps,
            "frames": self.frames,
            "duration_s": self.duration_s,
            "has_audio": self.has_audio,
            "backend": self.backend,
            "backend_detail": self.backend_detail,
            "label": self.label,
        }


class MediaLab(Protocol):
    """A backend that runs the four Media Lab job kinds."""

    name: str

    async def upscale(
        self, src: Path, out: Path, *, factor: int, params: UpscaleParams, progress: Progress
    ) -> Artifact:
        """Upscale image `src` by `factor` (2 or 4) into `out` (PNG)."""
        ...

    async def interpolate(
        self,
        src: Path,
        work: Path,
        out: Path,
        *,
        params: InterpolateParams,
        progress: Progress,
        done_chunks: int = 0,
        on_chunk: OnChunk | None = None,
    ) -> Artifact:
        """Raise video `src` to `params.target_fps` (an integer multiple of its fps) into `out`.

        Processed in chunks of `params.chunk_frames` source frames; chunk k (0-based) is written
        to `work/chunk-{k:04d}.*` and then `on_chunk(k + 1, total)` is awaited. Called again with
        `done_chunks=k` it trusts chunks 0..k-1 in `work` and starts at chunk k. The output joins
        the chunks and carries the source's audio.
        """
        ...

    async def from_references(
        self,
        refs: list[Path],
        out: Path,
        *,
        prompt: str,
        params: ReferenceParams,
        progress: Progress,
    ) -> Artifact:
        """Make one image (PNG) from one or more reference images and a prompt."""
        ...

    async def blend(
        self,
        srcs: list[Path],
        out: Path,
        *,
        weights: list[float],
        params: BlendParams,
        progress: Progress,
    ) -> Artifact:
        """Blend 2-8 images with `weights` (normalised) in `params.mode` into `out` (PNG)."""
        ...
