"""Media Lab processing cost on the embedded path: interpolation frames/s and upscale
megapixels/s through `EmbeddedMediaLab`, against the same operation done by the libraries alone
in the same run.

    python -m bench.media [--height 360] [--frames 60] [--chunk 30] [--side 1280] [--rounds 5]

Inputs are made once: a 60 fps H.264 + AAC clip (a pan across a built-in renderer image with a
disc crossing it, `--frames` frames at 16:9 `--height`), and a PNG from the built-in renderer
(`--side` wide, 16:9). Then each pair takes turns, a round at a time, so a change in the
machine's load hits both alike:

- interpolation 60 -> 120 fps. `lab`: `EmbeddedMediaLab.interpolate` as a job runs it: probe,
  chunks of `--chunk` frames each encoded to its own file and reported, the chunks joined by
  remux with the source's audio, the output probed. `bare`: a loop written here: PyAV decodes,
  the same per-pair optical-flow interpolation (`flow.in_between`: OpenCV DIS both ways,
  projection, `cv2.remap`, blending), PyAV encodes one MP4 with the same x264 settings; no
  chunks, no audio, no probe. The difference is what the machinery adds.
- upscale 2x (the `crisp` preset). `lab`: `EmbeddedMediaLab.upscale`. `bare`: Pillow alone:
  open, Lanczos resize, unsharp mask, save PNG at the same compression level.

Each prints its median wall time and rate and its CPU (user + system, all threads); the
summary gives the ratio lab / bare (the goal: the machinery adds under 5%). No database is used.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import av
import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from adapters.media_lab.embedded import PNG_OPTIONS, EmbeddedMediaLab
from adapters.media_lab.flow import FlowEstimator, in_between
from adapters.media_lab.params import InterpolateParams, UpscaleParams, builtin_preset
from adapters.media_lab.protocol import Artifact
from adapters.media_lab.video import CHUNK_CODEC_OPTIONS
from adapters.renderer import render
from adapters.specs import GenerationSpec
from bench.harness import argparser, header, out, run

FPS = 60


def cpu() -> float:
    """User + system CPU seconds of this process (every thread)."""
    used = resource.getrusage(resource.RUSAGE_SELF)
    return used.ru_utime + used.ru_stime


def scene(width: int, height: int, seed: int) -> Image.Image:
    spec = GenerationSpec.model_validate(
        {"deliverable": "bench", "prompt": "a harbour town at dusk, boats, lamps",
         "width": width, "height": height, "seed": seed}
    )  # fmt: skip
    return render(spec).convert("RGB")


def make_clip(path: Path, height: int, frames: int) -> None:
    """A pan across a rendered scene with a disc crossing it, H.264 + a 440 Hz AAC tone."""
    width = round(height * 16 / 9) // 2 * 2
    wide = np.asarray(scene(min(2048, width * 3 // 2) // 8 * 8, height // 8 * 8 + 8, 11))
    wide = np.asarray(Image.fromarray(wide).resize((width * 3 // 2, height)))
    container = av.open(str(path), "w")
    video = container.add_stream("libx264", rate=FPS, options={"crf": "18", "preset": "veryfast"})
    video.width, video.height, video.pix_fmt = width, height, "yuv420p"
    audio = container.add_stream("aac", rate=48000, layout="mono")
    pan = (wide.shape[1] - width) / max(1, frames - 1)
    for index in range(frames):
        left = round(index * pan)
        frame = Image.fromarray(np.ascontiguousarray(wide[:, left : left + width]))
        x = width * 0.1 + index * width * 0.8 / max(1, frames - 1)
        r = height // 8
        ImageDraw.Draw(frame).ellipse((x - r, height / 2 - r, x + r, height / 2 + r), "#e63946")
        pixels = np.asarray(frame, np.uint8)
        for packet in video.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
            container.mux(packet)
    for packet in video.encode():
        container.mux(packet)
    samples = 48000 * frames // FPS
    tone = (0.2 * np.sin(2 * np.pi * 440 * np.arange(samples) / 48000)).astype(np.float32)
    for start in range(0, samples, 1024):
        chunk = av.AudioFrame.from_ndarray(tone[None, start : start + 1024], "fltp", "mono")
        chunk.sample_rate, chunk.pts = 48000, start
        for packet in audio.encode(chunk):
            container.mux(packet)
    for packet in audio.encode():
        container.mux(packet)
    container.close()


def bare_interpolate(src: Path, dst: Path) -> int:
    """Decode, interpolate each pair, encode: OpenCV, NumPy and PyAV alone. Frames written."""
    est = FlowEstimator("dis", "medium")
    with av.open(str(src)) as source, av.open(str(dst), "w", format="mp4") as target:
        stream = source.streams.video[0]
        stream.thread_type = "AUTO"  # as the Media Lab's reader decodes
        width, height = stream.codec_context.width, stream.codec_context.height
        video = target.add_stream("libx264", rate=FPS * 2, options=CHUNK_CODEC_OPTIONS)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        count, previous = 0, None

        def write(array: Any) -> None:
            nonlocal count
            frame = av.VideoFrame.from_ndarray(array, format="rgb24")
            frame.pts = count
            count += 1
            for packet in video.encode(frame):
                target.mux(packet)

        for decoded in source.decode(stream):
            current = np.asarray(decoded.to_ndarray(format="rgb24"), np.uint8)
            if previous is not None:
                write(previous)
                for extra in in_between(est, previous, current, 2):
                    write(extra)
            previous = current
        if previous is not None:
            write(previous)
            write(previous)
        for packet in video.encode():
            target.mux(packet)
    return count


def bare_upscale(src: Path, dst: Path, params: UpscaleParams) -> tuple[int, int]:
    with Image.open(src) as image:
        big = image.convert("RGB").resize(
            (image.width * params.factor, image.height * params.factor), Image.Resampling.LANCZOS
        )
    big = big.filter(
        ImageFilter.UnsharpMask(
            params.sharpen_radius, params.sharpen_percent, params.sharpen_threshold
        )
    )
    big.save(dst, **PNG_OPTIONS)
    return big.size


async def quiet(fraction: float, stage: str) -> None:
    pass


async def timed(
    drivers: dict[str, Callable[[int], Awaitable[float]]], rounds: int
) -> tuple[dict[str, list[float]], dict[str, list[float]], dict[str, float]]:
    """Each driver once a round, in turn: wall times, CPU times and its last amount of work."""
    walls: dict[str, list[float]] = {name: [] for name in drivers}
    cpus: dict[str, list[float]] = {name: [] for name in drivers}
    work: dict[str, float] = {}
    for index in range(rounds):
        for name, drive in drivers.items():
            c0, t0 = cpu(), time.perf_counter()
            work[name] = await drive(index)
            walls[name].append(time.perf_counter() - t0)
            cpus[name].append(cpu() - c0)
    return walls, cpus, work


def report(what: str, unit: str, walls: dict[str, list[float]], cpus: dict[str, list[float]],
           work: dict[str, float]) -> float:  # fmt: skip
    base = statistics.median(walls["bare"])
    for name in walls:
        wall, used = statistics.median(walls[name]), statistics.median(cpus[name])
        out(
            f"{what} {name:>4}: {work[name] / wall:.2f} {unit} (median of {len(walls[name])}: "
            f"{wall:.2f} s, {min(walls[name]):.2f}-{max(walls[name]):.2f}); CPU {used:.2f} s; "
            f"x{wall / base:.3f} wall, x{used / statistics.median(cpus['bare']):.3f} CPU of bare"
        )
    return statistics.median(walls["lab"]) / base


async def main(args: argparse.Namespace) -> None:
    header("media lab: embedded interpolation and upscale vs the libraries alone", args, db=False)
    home = Path(tempfile.mkdtemp(prefix="bench-media-"))
    lab = EmbeddedMediaLab()
    try:
        clip = home / "clip.mp4"
        make_clip(clip, args.height, args.frames)
        params = InterpolateParams(target_fps=120, chunk_frames=args.chunk)

        async def lab_interpolate(index: int) -> float:
            work = home / f"work-{index}"
            art: Artifact = await lab.interpolate(
                clip, work, home / f"lab-{index}.mp4", params=params, progress=quiet
            )
            shutil.rmtree(work)
            assert art.frames == 2 * args.frames and art.has_audio
            return float(art.frames or 0)

        async def bare(index: int) -> float:
            return float(bare_interpolate(clip, home / f"bare-{index}.mp4"))

        walls, cpus, work = await timed({"lab": lab_interpolate, "bare": bare}, args.rounds)
        width = round(args.height * 16 / 9) // 2 * 2
        out(f"interpolation: {args.frames} frames {width}x{args.height} 60 -> 120 fps, "
            f"chunks of {args.chunk}")  # fmt: skip
        interp = report("interpolate", "output frames/s", walls, cpus, work)
        lab_fps = work["lab"] / statistics.median(walls["lab"])
        bare_fps = work["bare"] / statistics.median(walls["bare"])

        picture = home / "in.png"
        scene(args.side, args.side * 9 // 16 // 8 * 8, 5).save(picture)
        crisp = builtin_preset("crisp").params
        assert isinstance(crisp, UpscaleParams)

        async def lab_upscale(index: int) -> float:
            art = await lab.upscale(
                picture, home / f"up-{index}.png", factor=crisp.factor, params=crisp,
                progress=quiet,
            )  # fmt: skip
            return art.width * art.height / 1e6

        async def bare_up(index: int) -> float:
            w, h = bare_upscale(picture, home / f"bare-up-{index}.png", crisp)
            return w * h / 1e6

        walls, cpus, work = await timed({"lab": lab_upscale, "bare": bare_up}, args.rounds)
        out(f"upscale: {args.side}x{args.side * 9 // 16 // 8 * 8} PNG, 2x, crisp preset")
        up = report("upscale", "output MP/s", walls, cpus, work)
        out(
            f"summary: interpolation {lab_fps:.2f} output frames/s through the Media Lab vs "
            f"{bare_fps:.2f} bare (x{interp:.3f}, machinery {100 * (interp - 1):+.1f}%); upscale "
            f"{work['lab'] / statistics.median(walls['lab']):.2f} MP/s vs "
            f"{work['bare'] / statistics.median(walls['bare']):.2f} MP/s by Pillow alone "
            f"(x{up:.3f}, {100 * (up - 1):+.1f}%); goal: under +5%"
        )
    finally:
        shutil.rmtree(home, ignore_errors=True)


def media_argparser(prog: str, doc: str | None) -> argparse.ArgumentParser:
    """The Media Lab benchmarks' parser (`bench.media`, `bench.media_jobs`): the clip, the
    upscale input and the rounds."""
    parser = argparser(prog, doc, server=False)
    parser.add_argument("--height", type=int, default=360, help="video frame height (16:9)")
    parser.add_argument("--frames", type=int, default=60, help="source frames at 60 fps")
    parser.add_argument("--chunk", type=int, default=30, help="source frames per chunk")
    parser.add_argument("--side", type=int, default=1280, help="upscale input width (16:9)")
    parser.add_argument("--rounds", type=int, default=5, help="turns of each driver")
    return parser


def cli() -> None:
    run(main(media_argparser("bench.media", __doc__).parse_args()))


if __name__ == "__main__":
    cli()
