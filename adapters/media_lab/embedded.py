"""The embedded Media Lab: real CPU pipelines with kept libraries, each labelled for what it is.

- upscale: Pillow Lanczos resampling + unsharp mask (not a learned upscaler);
- interpolate: motion-compensated interpolation from dense optical flow (OpenCV DIS/Farneback,
  `flow.py`), video in and out with PyAV, chunked and resumable, audio kept;
- from_references: the built-in renderer draws the prompt with the references' palette and
  layout, then mixes in the first reference (no generative model);
- blend: NumPy blend modes with weights (ComfyUI ImageBlend's formulas).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import math
import threading
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from PIL import Image

from adapters.media_lab import images as img
from adapters.media_lab.errors import MediaFailed, MediaInvalidInput
from adapters.media_lab.flow import FlowEstimator, in_between
from adapters.media_lab.params import (
    BlendParams,
    InterpolateParams,
    ReferenceParams,
    UpscaleParams,
    check_target_fps,
    normalise_weights,
)
from adapters.media_lab.probe import UploadLimits, probe
from adapters.media_lab.protocol import Artifact, OnChunk, Progress
from adapters.media_lab.references import analyse, render_from_references
from adapters.media_lab.video import ChunkWriter, FrameReader, Stopped, check_stop, join_chunks
from adapters.render_vocab import cannot_draw_line, undrawable

T = TypeVar("T")
MAX_OUTPUT_PIXELS = 64_000_000
"""Largest image an upscale may produce (4x of 16 MP)."""
OUTPUT_LIMITS = UploadLimits(
    max_bytes=2**40,
    max_pixels=2**40,
    max_video_pixels=2**40,
    max_duration_s=1e9,
    max_frames=2**40,
    max_fps=1e6,
)
UPSCALE_LABEL = "embedded: Lanczos resampling + unsharp mask (Pillow), not a learned upscaler"
INTERPOLATE_LABEL = (
    "embedded: motion-compensated interpolation from bidirectional dense optical flow "
    "(OpenCV {flow}), forward-projected with occlusion-aware blending; not frame duplication "
    "or cross-fading. An object moving more than about half its own size between two source "
    "frames is not followed (it then blends rather than moves)."
)
REFERENCE_LABEL = (
    "embedded: the built-in renderer draws the prompt with the references' palette (k-means) "
    "and layout (horizon, subject position and size, brightness, contrast), then mixes in the "
    "first reference by (1 - strength). It does not copy subjects, faces, style or texture "
    "from the references; a ComfyUI img2img server does."
)
BLEND_LABEL = "embedded: NumPy blend ({mode}) folded with weights, ComfyUI ImageBlend's formulas"
PNG_OPTIONS: dict[str, Any] = {"format": "PNG", "compress_level": 3}


async def run_in_thread(fn: Callable[..., T], *args: Any) -> T:
    """Run `fn(*args, stop=event)` in a worker thread. Cancelling the caller sets `event`; the
    worker stops at its next safe point (it calls `check_stop`), and only then does the
    `CancelledError` propagate, so no half-written file is left behind a cancelled job."""
    stop = threading.Event()
    future = asyncio.get_running_loop().run_in_executor(
        None, functools.partial(fn, *args, stop=stop)
    )
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        stop.set()
        with contextlib.suppress(Stopped, Exception):
            await asyncio.wait({future})
            future.result()
        raise


def chunk_path(work: Path, index: int) -> Path:
    return work / f"chunk-{index:04d}.mp4"


def resume_point(work: Path, done_chunks: int, total: int) -> int:
    """The first chunk to make: `done_chunks`, or earlier if a checkpointed chunk file is gone."""
    work.mkdir(parents=True, exist_ok=True)
    start = max(0, min(done_chunks, total))
    for index in range(start):
        if not chunk_path(work, index).is_file():
            return index
    return start


def image_artifact(path: Path, label: str, detail: dict[str, Any], backend: str) -> Artifact:
    with Image.open(path) as image:
        width, height = image.size
    return Artifact(
        path=path,
        mime="image/png",
        width=width,
        height=height,
        backend=backend,
        backend_detail=detail,
        label=label,
    )


def video_artifact(path: Path, label: str, detail: dict[str, Any], backend: str) -> Artifact:
    info = probe(path, OUTPUT_LIMITS)
    return Artifact(
        path=path,
        mime=info.mime,
        width=info.width,
        height=info.height,
        fps=info.fps,
        frames=info.frames,
        duration_s=info.duration_s,
        has_audio=info.has_audio,
        backend=backend,
        backend_detail=detail,
        label=label,
    )


def _save_png(image: Image.Image, out: Path) -> None:
    tmp = out.with_name(out.name + ".part")
    image.save(tmp, **PNG_OPTIONS)
    tmp.replace(out)


def check_upscale_size(width: int, height: int, factor: int) -> None:
    if factor not in (2, 4):
        raise MediaInvalidInput("factor", f"{factor} is not 2 or 4")
    pixels = width * height * factor * factor
    if pixels > MAX_OUTPUT_PIXELS:
        raise MediaInvalidInput(
            "factor",
            f"{width}x{height} at {factor}x would be {pixels / 1e6:.0f} MP, over the "
            f"{MAX_OUTPUT_PIXELS / 1e6:.0f} MP output limit; use 2x or a smaller image",
        )


class ChunkedVideo:
    """One interpolation's state across chunks: the decoder and the frame the next chunk
    starts with. Its methods run in a worker thread, one at a time."""

    def __init__(self, src: Path, params: InterpolateParams, multiple: int, frames: int) -> None:
        self.reader = FrameReader(src)
        self.multiple = multiple
        self.rate = self.reader.rate * multiple
        self.chunk_frames = params.chunk_frames
        self.total = max(1, math.ceil(frames / params.chunk_frames))
        self.estimator = FlowEstimator(params.flow, params.flow_preset)
        self.current: np.ndarray[Any, Any] | None = None

    def skip_to(self, chunk: int, *, stop: threading.Event) -> None:
        """Decode up to the first frame of `chunk` (earlier chunks are on disk)."""
        for _ in range(chunk * self.chunk_frames):
            check_stop(stop)
            if self.reader.next() is None:
                raise MediaFailed("the video has fewer frames than its chunks on disk say")
        self.current = self.reader.next()

    def read_chunk(
        self, *, stop: threading.Event
    ) -> tuple[list[np.ndarray[Any, Any]], np.ndarray[Any, Any] | None]:
        """The next chunk's source frames and the frame after them (None at the end)."""
        frames = []
        for _ in range(self.chunk_frames):
            check_stop(stop)
            if self.current is None:
                break
            frames.append(self.current)
            self.current = self.reader.next()
        if not frames:
            raise MediaFailed("the video ended before its last chunk")
        return frames, self.current

    def write_frames(
        self, path: Path, frames: list[np.ndarray[Any, Any]], *, stop: threading.Event
    ) -> int:
        """Encode already-made output frames as one chunk file (atomically)."""
        writer = ChunkWriter(path, self.reader.width, self.reader.height, self.rate)
        try:
            for frame in frames:
                check_stop(stop)
                writer.write(frame)
            writer.finish()
        except BaseException:
            writer.abort()
            raise
        return writer.count

    def write_chunk(self, path: Path, *, stop: threading.Event) -> int:
        """Source frames of one chunk, each followed by its in-between frames (the last frame
        of the video is held for them instead), encoded to `path`. Returns frames written."""
        if self.current is None:
            raise MediaFailed("the video ended before its last chunk")
        writer = ChunkWriter(path, self.reader.width, self.reader.height, self.rate)
        try:
            for _ in range(self.chunk_frames):
                check_stop(stop)
                frame = self.current
                if frame is None:
                    break
                following = self.reader.next()
                writer.write(frame)
                if following is None:
                    between = [frame] * (self.multiple - 1)
                else:
                    between = in_between(self.estimator, frame, following, self.multiple)
                for extra in between:
                    writer.write(extra)
                self.current = following
            check_stop(stop)
            writer.finish()
        except BaseException:
            writer.abort()
            raise
        return writer.count

    def close(self) -> None:
        self.reader.close()


class EmbeddedMediaLab:
    """Media Lab on this machine's CPU; no server, no model."""

    name = "embedded"
    backend = "embedded"

    async def upscale(
        self, src: Path, out: Path, *, factor: int, params: UpscaleParams, progress: Progress
    ) -> Artifact:
        [source] = img.load_images([src], "src")
        check_upscale_size(source.width, source.height, factor)
        await progress(0.05, "resampling")
        await run_in_thread(self._upscale, source, factor, params, out)
        await progress(1.0, "done")
        detail = {
            "method": "lanczos+unsharp",
            "factor": factor,
            "source_size": [source.width, source.height],
            "unsharp": [params.sharpen_radius, params.sharpen_percent, params.sharpen_threshold],
        }
        return image_artifact(out, UPSCALE_LABEL, detail, self.backend)

    @staticmethod
    def _upscale(
        source: Image.Image, factor: int, params: UpscaleParams, out: Path, *, stop: threading.Event
    ) -> None:
        big = img.upscale_image(source, factor, params)
        check_stop(stop)
        _save_png(big, out)

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
        info = await asyncio.to_thread(probe, src, OUTPUT_LIMITS)
        if info.kind != "video" or info.fps is None or info.frames is None:
            raise MediaInvalidInput("src", "interpolation takes a video")
        multiple = check_target_fps(info.fps, params.target_fps)
        job = await asyncio.to_thread(ChunkedVideo, src, params, multiple, info.frames)
        try:
            start = await asyncio.to_thread(resume_point, work, done_chunks, job.total)
            await progress(start / (job.total + 1), f"chunk {start}/{job.total}")
            await run_in_thread(job.skip_to, start)
            for index in range(start, job.total):
                await run_in_thread(job.write_chunk, chunk_path(work, index))
                if on_chunk is not None:
                    await on_chunk(index + 1, job.total)
                await progress((index + 1) / (job.total + 1), f"chunk {index + 1}/{job.total}")
        finally:
            await asyncio.to_thread(job.close)
        chunks = [chunk_path(work, index) for index in range(job.total)]
        await progress(job.total / (job.total + 1), "joining chunks, adding audio")
        audio = await run_in_thread(join_chunks, chunks, src, out, job.rate)
        await progress(1.0, "done")
        detail = {
            "method": f"optical flow ({params.flow})",
            "flow_preset": params.flow_preset if params.flow == "dis" else None,
            "source_fps": info.fps,
            "multiple": multiple,
            "rate": str(Fraction(job.rate)),
            "chunks": job.total,
            "chunk_frames": params.chunk_frames,
            "resumed_at_chunk": start,
            **audio,
        }
        label = INTERPOLATE_LABEL.format(flow="DIS" if params.flow == "dis" else "Farneback")
        return await asyncio.to_thread(video_artifact, out, label, detail, self.backend)

    async def from_references(
        self,
        refs: list[Path],
        out: Path,
        *,
        prompt: str,
        params: ReferenceParams,
        progress: Progress,
    ) -> Artifact:
        if not refs:
            raise MediaInvalidInput("refs", "at least one reference image is needed")
        references = await asyncio.to_thread(img.load_images, refs, "refs")
        await progress(0.1, "reading palette and layout")
        layout = await asyncio.to_thread(analyse, references)
        await progress(0.3, "drawing")
        image, spec = await run_in_thread(
            render_from_references, references[0], layout, prompt, params
        )
        await asyncio.to_thread(_save_png, image, out)
        await progress(1.0, "done")
        detail = {"method": "renderer+references", "references": len(refs), **layout.to_json()}
        missing = undrawable(prompt)  # the renderer's words for what it cannot draw
        detail.update(spec=spec, sketch=True, cannot_draw=missing)
        label = f"{REFERENCE_LABEL} {cannot_draw_line(missing)}".strip()
        return image_artifact(out, label, detail, self.backend)

    async def blend(
        self,
        srcs: list[Path],
        out: Path,
        *,
        weights: list[float],
        params: BlendParams,
        progress: Progress,
    ) -> Artifact:
        normalised = normalise_weights(weights, len(srcs))
        sources = await asyncio.to_thread(img.load_images, srcs, "srcs")
        await progress(0.2, "blending")
        await run_in_thread(self._blend, sources, normalised, params, out)
        await progress(1.0, "done")
        detail = {
            "method": "numpy",
            "mode": params.mode,
            "weights": normalised,
            "blend_factors": img.blend_factors(normalised),
            "size": [sources[0].width, sources[0].height],
        }
        return image_artifact(out, BLEND_LABEL.format(mode=params.mode), detail, self.backend)

    @staticmethod
    def _blend(
        sources: list[Image.Image],
        weights: list[float],
        params: BlendParams,
        out: Path,
        *,
        stop: threading.Event,
    ) -> None:
        width, height = sources[0].size
        arrays = []
        for source in sources:
            check_stop(stop)
            arrays.append(img.to_float(img.cover(source, width, height)))
        result = img.blend_arrays(arrays, weights, params.mode)
        check_stop(stop)
        _save_png(img.to_image(result), out)
