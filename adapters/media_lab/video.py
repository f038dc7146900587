"""Video I/O with PyAV for the Media Lab: decode to RGB frames, encode chunk files, and join
chunks into one MP4 (H.264) that carries the source's audio.

Chunks are H.264 in MP4 with no B-frames and one keyframe at their start, encoded with the same
settings, so joining them is a remux (no second encode): packets are renumbered one frame apart
at the output rate. Audio is copied when MP4 can carry its codec (AAC, MP3, ALAC) and re-encoded
to AAC otherwise (Opus/Vorbis from WebM).
"""

from __future__ import annotations

import heapq
import os
import threading
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt

from adapters.media_lab.errors import MediaFailed

U8 = npt.NDArray[np.uint8]
CHUNK_CODEC_OPTIONS = {"crf": "16", "preset": "veryfast", "bf": "0", "g": "1000000"}
"""x264 settings of every chunk (identical, so chunks remux into one stream)."""
COPYABLE_AUDIO = frozenset({"aac", "mp3", "alac"})


class Stopped(Exception):
    """The worker thread saw its stop flag (the task was cancelled)."""


def check_stop(stop: threading.Event | None) -> None:
    if stop is not None and stop.is_set():
        raise Stopped


def even(n: int) -> int:
    return n - n % 2


class FrameReader:
    """Decodes a video's first stream to RGB frames (cropped to even sides for yuv420p)."""

    def __init__(self, path: Path) -> None:
        self.container = av.open(str(path), mode="r")
        stream = self.container.streams.video[0]
        stream.thread_type = "AUTO"
        rate = stream.average_rate or stream.guessed_rate
        if not rate:
            raise MediaFailed(f"{path.name}: the video has no frame rate")
        self.rate = Fraction(rate)
        self.width = even(stream.codec_context.width)
        self.height = even(stream.codec_context.height)
        self._frames = self.container.decode(video=0)

    def next(self) -> U8 | None:
        for frame in self._frames:
            array = frame.to_ndarray(format="rgb24")
            return np.ascontiguousarray(array[: self.height, : self.width])
        return None

    def close(self) -> None:
        self.container.close()


class ChunkWriter:
    """Writes RGB frames to one H.264 chunk file at `rate`, atomically (tmp name, then rename)."""

    def __init__(self, path: Path, width: int, height: int, rate: Fraction) -> None:
        self.path = path
        self.tmp = path.with_name(path.name + ".part")
        self.container = av.open(str(self.tmp), mode="w", format="mp4")
        self.stream = self.container.add_stream("libx264", rate=rate, options=CHUNK_CODEC_OPTIONS)
        self.stream.width, self.stream.height, self.stream.pix_fmt = width, height, "yuv420p"
        self.count = 0

    def write(self, rgb: U8) -> None:
        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        frame.pts = self.count
        self.count += 1
        for packet in self.stream.encode(frame):
            self.container.mux(packet)

    def finish(self) -> None:
        for packet in self.stream.encode():
            self.container.mux(packet)
        self.container.close()
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        try:
            self.container.close()
        finally:
            self.tmp.unlink(missing_ok=True)


def _video_packets(chunks: list[Path], rate: Fraction) -> Iterator[tuple[float, int, Any]]:
    """The chunks' packets renumbered one frame apart at `rate`, with their time in seconds."""
    index = 0
    base = Fraction(1) / rate
    for chunk in chunks:
        with av.open(str(chunk), mode="r") as container:
            for packet in container.demux(video=0):
                if packet.size == 0:
                    continue
                packet.pts = packet.dts = index
                packet.time_base = base
                packet.duration = 1
                yield float(index * base), 0, packet
                index += 1


def _audio_packets(src: Path, out: Any, copy: bool) -> Iterator[tuple[float, int, Any]]:
    with av.open(str(src), mode="r") as container:
        audio = container.streams.audio[0]
        if copy:
            for packet in container.demux(audio):
                if packet.size == 0 or packet.dts is None:
                    continue
                seconds = float(packet.dts * packet.time_base) if packet.time_base else 0.0
                yield seconds, 1, packet
            return
        resampler = av.AudioResampler(format="fltp", layout=out.layout.name, rate=out.rate)
        for frame in container.decode(audio):
            for resampled in resampler.resample(frame):
                for packet in out.encode(resampled):
                    yield float(packet.pts * packet.time_base), 1, packet
        for resampled in resampler.resample(None):
            for packet in out.encode(resampled):
                yield float(packet.pts * packet.time_base), 1, packet
        for packet in out.encode(None):
            yield float((packet.pts or 0) * packet.time_base), 1, packet


def join_chunks(
    chunks: list[Path], src: Path, out: Path, rate: Fraction, stop: threading.Event | None = None
) -> dict[str, Any]:
    """Remux `chunks` (in order) into `out` at `rate` with `src`'s first audio stream.

    Returns what was done with the audio (`copied <codec>` / `re-encoded <codec> to aac` / none).
    """
    if not chunks:
        raise MediaFailed("no chunks to join")
    extradata = set()
    for chunk in chunks:
        with av.open(str(chunk), mode="r") as container:
            extradata.add(bytes(container.streams.video[0].codec_context.extradata or b""))
    if len(extradata) != 1:
        raise MediaFailed("the chunks were encoded with different settings and cannot be joined")
    with av.open(str(src), mode="r") as source:
        audio_in = source.streams.audio[0] if source.streams.audio else None
        audio_codec = audio_in.codec_context.name if audio_in is not None else None
        audio_rate = audio_in.codec_context.sample_rate if audio_in is not None else 0
        audio_layout = audio_in.codec_context.layout.name if audio_in is not None else "stereo"
    tmp = out.with_name(out.name + ".part")
    try:
        with (
            av.open(str(chunks[0]), mode="r") as first,
            av.open(str(tmp), "w", format="mp4") as dst,
        ):
            video_out = dst.add_stream_from_template(first.streams.video[0])
            video_out.time_base = Fraction(1) / rate
            streams: list[Iterator[tuple[float, int, Any]]] = [_video_packets(chunks, rate)]
            detail: dict[str, Any] = {"audio": "none"}
            if audio_codec is not None:
                with av.open(str(src), mode="r") as source:
                    copy = audio_codec in COPYABLE_AUDIO
                    if copy:
                        audio_out = dst.add_stream_from_template(source.streams.audio[0])
                        detail["audio"] = f"copied {audio_codec}"
                    else:
                        audio_out = dst.add_stream("aac", rate=audio_rate or 48000)
                        audio_out.layout = (
                            audio_layout if audio_layout in ("mono", "stereo") else "stereo"
                        )
                        detail["audio"] = f"re-encoded {audio_codec} to aac"
                streams.append(_audio_packets(src, audio_out, copy))
            else:
                audio_out = None
            for _, kind, packet in heapq.merge(*streams, key=lambda item: (item[0], item[1])):
                check_stop(stop)
                packet.stream = video_out if kind == 0 else audio_out
                dst.mux(packet)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, out)
    return detail
