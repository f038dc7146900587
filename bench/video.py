"""Video render cost: seconds of rendering per second of video, the embedded final cut vs the
same encode done by PyAV alone.

    python -m bench.video [--seconds 16] [--scenes 4] [--fps 24] [--height 360] [--rounds 5]

The inputs are made once on the embedded path, as a video thread makes them: a keyframe per
scene from the built-in renderer, a clip per scene from the parallax animator (H.264), a voice
track from eSpeak NG and one caption per scene. Then three encoders take turns, a round at a
time, so a change in the machine's load hits them alike:

- `cut`: `adapters.media.cut.cut`, what the render stage runs: decode each clip, fit it to its
  scene's length, burn the captions in, encode H.264 + AAC (mono, 44.1 kHz) into an MP4;
- `encode`: the project's encoder (`adapters.media.cut.encode`) on those frames, already
  decoded, fitted and captioned, in memory;
- `pyav`: the baseline, the same frames and voice encoded by a bare PyAV loop written here with
  the same codec settings (libx264 veryfast, CRF 23, tune stillimage; AAC mono 44.1 kHz).

Each prints its median wall time per video second and its CPU (user + system of this process,
all threads: libx264 encodes on several) per video second; the ratios are to `pyav`. Nothing
else runs in the process meanwhile. The render stage also reads the clips from the asset store,
stores the cut and probes it; those are not counted here. No database is used.
"""

from __future__ import annotations

import argparse
import io
import resource
import statistics
import time
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import av
import numpy as np
from numpy.typing import NDArray

from adapters.media.captions import Cue, burn, overlay
from adapters.media.cut import AUDIO_RATE, X264, Shot, cut, decode, encode, probe
from adapters.media.kit import ParallaxAnimator
from adapters.media.motion import Frame, frame_count
from adapters.media.speech import ESpeakSpeech
from adapters.renderer import Renderer
from adapters.specs import GenerationSpec
from bench.harness import argparser, header, out, run

MOVES = ("push_in", "pan_left", "parallax", "pull_out")
SCENES = (
    ("a brass desk lamp on an oak desk at dusk", "Meet Lumen, the brass desk lamp."),
    ("a reading nook lit by a warm lamp", "Warm light for long evenings."),
    ("a lamp on a workbench at night", "Built to last, made by hand."),
    ("a window at golden hour, a lamp beside it", "Lumen. Light that stays."),
)


def cpu() -> float:
    """User + system CPU seconds of this process (every thread)."""
    used = resource.getrusage(resource.RUSAGE_SELF)
    return used.ru_utime + used.ru_stime


async def inputs(
    args: argparse.Namespace, width: int
) -> tuple[list[Shot], NDArray[np.int16], int, list[Cue]]:
    """Clips, voice and captions made on the embedded path."""
    each = args.seconds / args.scenes
    shots, lines = [], []
    animator, renderer, speech = ParallaxAnimator(), Renderer(), ESpeakSpeech()
    for index in range(args.scenes):
        prompt, line = SCENES[index % len(SCENES)]
        spec = GenerationSpec.model_validate(
            {
                "deliverable": f"s{index + 1}",
                "prompt": prompt,
                "subject": "desk lamp",
                "width": width,
                "height": args.height,
                "seed": 7 + index,
            }
        )
        images = await renderer.generate(spec, job_id=f"k{index}", on_progress=lambda f, p: None)
        clip = await animator.animate(
            images[0].png,
            spec,
            move=MOVES[index % len(MOVES)],
            seconds=each,
            fps=args.fps,
            width=width,
            height=args.height,
            layered=True,
        )
        shots.append(Shot(clip.mp4, each))
        lines.append(line)
    track = np.zeros(int(args.seconds * 22050), np.int16)
    cues = []
    for index, line in enumerate(lines):
        spoken = await speech.say(line)
        start = int(index * each * spoken.sample_rate)
        piece = spoken.samples[: max(0, len(track) - start)]
        track[start : start + len(piece)] = piece
        cues.append(Cue(index * each, (index + 1) * each, line))
    return shots, track, 22050, cues


def prepared(shots: list[Shot], fps: int, width: int, height: int, cues: list[Cue]) -> list[Frame]:
    """The frames the cut encodes (decoded, fitted, captioned), as `cut` makes them."""
    frames: list[Frame] = []
    overlays = {i: overlay(c.text, width, height) for i, c in enumerate(cues)}
    for shot in shots:
        wanted = frame_count(shot.seconds, fps)
        decoded = list(decode(shot.clip))[:wanted]
        decoded += [decoded[-1]] * (wanted - len(decoded))
        for frame in decoded:
            t = (len(frames) + 0.5) / fps
            active = next((i for i, c in enumerate(cues) if c.start <= t < c.end), None)
            frames.append(burn(frame, overlays[active]) if active is not None else frame)
    return frames


def bare_pyav(frames: list[Frame], fps: int, samples: NDArray[np.int16], rate: int) -> bytes:
    """The baseline: the same frames and voice, H.264 + AAC, with PyAV and nothing else."""
    height, width = frames[0].shape[:2]
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as container:
        video = container.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.codec_context.time_base = Fraction(1, fps)
        video.codec_context.options = dict(X264)
        audio = container.add_stream("aac", rate=AUDIO_RATE, layout="mono")
        for index, frame in enumerate(frames):
            picture = av.VideoFrame.from_ndarray(frame, format="rgb24")
            picture.pts = index
            container.mux(video.encode(picture))
        container.mux(video.encode(None))
        length = int(round(len(frames) / fps * rate))
        fitted = np.zeros(length, np.int16)
        fitted[: min(length, len(samples))] = samples[:length]
        whole = av.AudioFrame.from_ndarray(fitted.reshape(1, -1), format="s16", layout="mono")
        whole.sample_rate = rate
        resampler = av.AudioResampler(format="fltp", layout="mono", rate=AUDIO_RATE)
        for converted in [*resampler.resample(whole), *resampler.resample(None)]:
            container.mux(audio.encode(converted))
        container.mux(audio.encode(None))
    return buffer.getvalue()


async def main(args: argparse.Namespace) -> None:
    header("video render: embedded cut vs PyAV alone", args, db=False)
    width = int(round(args.height * 16 / 9)) // 2 * 2
    began = time.monotonic()
    shots, samples, rate, cues = await inputs(args, width)
    frames = prepared(shots, args.fps, width, args.height, cues)
    video_seconds = len(frames) / args.fps
    out(
        f"inputs: {args.scenes} clips, {video_seconds:g} s at {width}x{args.height}, "
        f"{args.fps} fps, voice and {len(cues)} captions, made in {time.monotonic() - began:.1f} s"
    )
    encoders: dict[str, Callable[[], bytes]] = {
        "cut": lambda: cut(
            shots,
            fps=args.fps,
            width=width,
            height=args.height,
            voice=(samples, rate),
            captions=cues,
        ),
        "encode": lambda: encode(
            iter(frames), fps=args.fps, width=width, height=args.height, audio=(samples, rate)
        ),
        "pyav": lambda: bare_pyav(frames, args.fps, samples, rate),
    }
    walls: dict[str, list[float]] = {name: [] for name in encoders}
    cpus: dict[str, list[float]] = {name: [] for name in encoders}
    made: dict[str, Any] = {}
    for _ in range(args.rounds):
        for name, make in encoders.items():
            c0, t0 = cpu(), time.perf_counter()
            data = make()
            walls[name].append(time.perf_counter() - t0)
            cpus[name].append(cpu() - c0)
            made[name] = probe(data)
    base_wall = statistics.median(walls["pyav"])
    base_cpu = statistics.median(cpus["pyav"])
    for name in encoders:
        wall, used, found = (
            statistics.median(walls[name]),
            statistics.median(cpus[name]),
            made[name],
        )
        out(
            f"{name:>6}: {wall / video_seconds:.3f} s per video second (median of {args.rounds}; "
            f"{min(walls[name]):.2f}-{max(walls[name]):.2f} s a cut), CPU "
            f"{used / video_seconds:.3f} s per video second; x{wall / base_wall:.2f} wall, "
            f"x{used / base_cpu:.2f} CPU of pyav; output {found.seconds:.2f} s, "
            f"{found.frames} frames, {found.video_codec} + {found.audio_codec}"
        )
    ratio = statistics.median(walls["cut"]) / base_wall
    out(
        f"summary: video render {statistics.median(walls['cut']) / video_seconds:.3f} s per video "
        f"second embedded (cut: decode, fit, captions, H.264 + AAC) vs "
        f"{base_wall / video_seconds:.3f} s by PyAV alone (x{ratio:.2f}); the project's encoder "
        f"on the same frames x{statistics.median(walls['encode']) / base_wall:.2f}; "
        f"{video_seconds:g} s at {width}x{args.height}, {args.fps} fps"
    )


def cli() -> None:
    parser = argparser("bench.video", __doc__, server=False)
    parser.add_argument("--seconds", type=float, default=16.0, help="video length")
    parser.add_argument("--scenes", type=int, default=4, help="clips in the cut")
    parser.add_argument("--fps", type=int, default=24)
    parser.add_argument("--height", type=int, default=360, help="frame height (16:9)")
    parser.add_argument("--rounds", type=int, default=5, help="turns of each encoder")
    run(main(parser.parse_args()))


if __name__ == "__main__":
    cli()
