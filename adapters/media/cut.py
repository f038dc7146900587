"""Encode and cut video with PyAV (FFmpeg's libraries): H.264 clips, the final H.264 + AAC MP4.

Every function here is synchronous CPU work; callers run it in a thread.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, cast

import av
import numpy as np
from numpy.typing import NDArray

from adapters.media.captions import Cue, Overlay, burn, overlay
from adapters.media.motion import Frame, frame_count

AUDIO_RATE = 44_100
"""The cut's audio rate: AAC at 44.1 kHz, mono (a voice track)."""
VIDEO_CODEC = "libx264"
X264 = {"preset": "veryfast", "crf": "23", "tune": "stillimage"}
ENCODER = f"PyAV {av.__version__} (FFmpeg libx264 + AAC)"
"""What encodes, for labels and lineage."""


def _video_stream(container: Any, fps: int, width: int, height: int) -> Any:
    stream = container.add_stream(VIDEO_CODEC, rate=fps)
    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
    stream.codec_context.time_base = Fraction(1, fps)
    stream.codec_context.options = dict(X264)
    return stream


def even(value: int) -> int:
    """H.264 in 4:2:0 needs even sides."""
    return max(2, value - value % 2)


def encode(
    frames: Iterable[Frame],
    *,
    fps: int,
    width: int,
    height: int,
    audio: tuple[NDArray[np.int16], int] | None = None,
) -> bytes:
    """Frames (and an optional mono voice track: samples, rate) as an MP4: H.264, AAC."""
    out = io.BytesIO()
    with av.open(out, mode="w", format="mp4") as container:
        video = _video_stream(container, fps, even(width), even(height))
        sound = container.add_stream("aac", rate=AUDIO_RATE, layout="mono") if audio else None
        for index, frame in enumerate(frames):
            picture = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
            picture.pts = index
            container.mux(video.encode(picture))
        container.mux(video.encode(None))
        if sound is not None and audio is not None:
            _encode_audio(container, sound, *audio)
    return out.getvalue()


def _encode_audio(container: Any, stream: Any, samples: NDArray[np.int16], rate: int) -> None:
    resampler = av.AudioResampler(format="fltp", layout="mono", rate=AUDIO_RATE)
    block = 4096
    for start in range(0, max(1, len(samples)), block):
        chunk = np.ascontiguousarray(samples[start : start + block].reshape(1, -1))
        if chunk.size == 0:
            break
        frame = av.AudioFrame.from_ndarray(chunk, format="s16", layout="mono")
        frame.sample_rate = rate
        for converted in resampler.resample(frame):
            container.mux(stream.encode(converted))
    for converted in resampler.resample(None):
        container.mux(stream.encode(converted))
    container.mux(stream.encode(None))


def decode(data: bytes) -> Iterator[Frame]:
    """The video frames of an MP4, as RGB arrays."""
    with av.open(io.BytesIO(data), mode="r") as container:
        for frame in container.decode(video=0):
            picture: Frame = np.asarray(frame.to_ndarray(format="rgb24"), np.uint8)
            yield picture


class Stopped(Exception):
    """The cut was asked to stop (its run was cancelled); nothing was written."""


@dataclass(frozen=True)
class Shot:
    """One scene of the cut: its clip (MP4 bytes) and how long it holds in the cut."""

    clip: bytes
    seconds: float


def _fitted(shot: Shot, fps: int) -> Iterator[Frame]:
    """The clip's frames over exactly the shot's length: cut short, or its last frame held."""
    wanted, last = frame_count(shot.seconds, fps), None
    count = 0
    for frame in decode(shot.clip):
        if count >= wanted:
            break
        last = frame
        count += 1
        yield frame
    while last is not None and count < wanted:
        count += 1
        yield last


def cut(
    shots: Sequence[Shot],
    *,
    fps: int,
    width: int,
    height: int,
    voice: tuple[NDArray[np.int16], int] | None,
    captions: Sequence[Cue] = (),
    stop: threading.Event | None = None,
) -> bytes:
    """The final cut: the shots in order at their lengths, captions burned in where given, the
    voice track under it (padded with silence or trimmed to the picture). A set `stop` ends the
    cut at the next scene boundary (`Stopped`): a stopped run's encoder does not go on."""
    overlays: dict[int, Overlay] = {}

    def frames() -> Iterator[Frame]:
        index = 0
        for number, shot in enumerate(shots):
            if stop is not None and stop.is_set():
                raise Stopped(f"the cut was stopped before scene {number + 1} of {len(shots)}")
            for frame in _fitted(shot, fps):
                t = (index + 0.5) / fps
                active = next((i for i, c in enumerate(captions) if c.start <= t < c.end), None)
                if active is not None:
                    if active not in overlays:
                        overlays[active] = overlay(captions[active].text, width, height)
                    frame = burn(frame, overlays[active])
                index += 1
                yield frame

    total = sum(frame_count(s.seconds, fps) for s in shots) / fps
    track = None
    if voice is not None:
        samples, rate = voice
        length = int(round(total * rate))
        fitted = np.zeros(length, np.int16)
        fitted[: min(length, len(samples))] = samples[:length]
        track = (fitted, rate)
    return encode(frames(), fps=fps, width=width, height=height, audio=track)


@dataclass(frozen=True)
class Probe:
    """What a real decoder finds in a media file."""

    seconds: float
    """Duration of the longest stream, from the decoded frames."""
    fps: float
    width: int
    height: int
    frames: int
    video_codec: str
    audio_codec: str | None
    sample_rate: int | None
    audio_seconds: float
    container: str


def probe(data: bytes) -> Probe:
    """Decode every frame and sample of `data` and report what is there."""
    with av.open(io.BytesIO(data), mode="r") as container:
        video = container.streams.video[0]
        audio = container.streams.audio[0] if container.streams.audio else None
        frames, last_pts, samples = 0, 0.0, 0
        for packet_frame in container.decode(*[s for s in (video, audio) if s is not None]):
            if isinstance(packet_frame, av.VideoFrame):
                frames += 1
                last_pts = max(last_pts, float(packet_frame.time or 0.0))
            else:
                samples += cast(av.AudioFrame, packet_frame).samples
        rate = float(video.average_rate or video.guessed_rate or 0)
        video_seconds = frames / rate if rate else last_pts
        audio_rate = audio.codec_context.sample_rate if audio is not None else None
        audio_seconds = samples / audio_rate if audio_rate else 0.0
        return Probe(
            seconds=max(video_seconds, audio_seconds),
            fps=rate,
            width=video.codec_context.width,
            height=video.codec_context.height,
            frames=frames,
            video_codec=video.codec_context.name,
            audio_codec=audio.codec_context.name if audio is not None else None,
            sample_rate=audio_rate,
            audio_seconds=audio_seconds,
            container=container.format.name,
        )


def decode_audio(data: bytes) -> tuple[NDArray[np.int16], int] | None:
    """The first audio stream of `data` as mono 16-bit samples and their rate (None: no audio),
    so Lens measures the cut's own sound (its silent gaps), not the track it was made from."""
    with av.open(io.BytesIO(data), mode="r") as container:
        if not container.streams.audio:
            return None
        stream = container.streams.audio[0]
        parts = []
        for frame in container.decode(stream):
            block = frame.to_ndarray().astype(np.float32)
            if frame.format.name.startswith(("s16", "s32")):
                block /= 32768.0 if frame.format.name.startswith("s16") else 2147483648.0
            if not frame.format.is_planar:
                block = block.reshape(-1, len(frame.layout.channels)).T
            parts.append(block.mean(axis=0))
        rate = int(stream.codec_context.sample_rate or 0)
        joined = np.concatenate(parts) if parts else np.zeros(0, np.float32)
        return (np.clip(joined * 32767, -32768, 32767).astype(np.int16), rate)
