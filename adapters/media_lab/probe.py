"""Check an upload by its content (magic bytes, then a real decode) and describe it.

Images (PNG, JPEG, WebP) are decoded with Pillow; videos (MP4, WebM, MOV) are opened with PyAV,
their packets demuxed to the end and the first frame decoded. Anything else, anything that does
not decode, a decompression bomb, or anything over an `UploadLimits` value raises `UploadRejected`
whose `limit` names the check (the API answers 422 naming it). The file name is never trusted.
"""

from __future__ import annotations

import hashlib
import io
import math
import struct
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

import av
from PIL import Image

from adapters.media_lab.errors import UploadRejected

IMAGE_MIMES = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
VIDEO_MIMES = ("video/mp4", "video/webm", "video/quicktime")
BOMB_RATIO = 200
"""Decoded bytes per file byte above which an over-limit image counts as a decompression bomb."""


@dataclass(frozen=True)
class UploadLimits:
    """Upload limits; the field names are the `limit` names in errors."""

    max_bytes: int = 256 * 1024 * 1024
    max_pixels: int = 50_000_000
    """Image width x height."""
    max_video_pixels: int = 3840 * 2160
    """Video frame width x height."""
    max_duration_s: float = 600.0
    max_frames: int = 72_000
    max_fps: float = 240.0


@dataclass(frozen=True)
class UploadInfo:
    """What an accepted upload is, measured from its content."""

    kind: Literal["image", "video"]
    mime: str
    width: int
    height: int
    fps: float | None
    frames: int | None
    duration_s: float | None
    has_audio: bool
    sha256: str
    size_bytes: int

    @property
    def extension(self) -> str:
        return {
            "image/png": ".png",
            "image/jpeg": ".jpg",
            "image/webp": ".webp",
            "video/mp4": ".mp4",
            "video/webm": ".webm",
            "video/quicktime": ".mov",
        }[self.mime]


def sniff(head: bytes) -> str | None:
    """The MIME type the first bytes announce, or None (not a type we take)."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "video/webm" if b"webm" in head[:64] else None
    if head[4:8] == b"ftyp":
        return "video/quicktime" if head[8:12] == b"qt  " else "video/mp4"
    if head[4:8] in (b"moov", b"wide", b"mdat", b"free", b"skip"):
        return "video/quicktime"
    return None


def probe(data_or_path: bytes | Path, limits: UploadLimits | None = None) -> UploadInfo:
    """Check and describe an upload given as bytes or a file path."""
    limits = limits or UploadLimits()
    if isinstance(data_or_path, Path):
        try:
            size = data_or_path.stat().st_size
        except OSError as exc:
            raise UploadRejected("corrupt", f"cannot read the file ({exc.strerror})") from exc
        if size > limits.max_bytes:
            raise UploadRejected("max_bytes", _too_big(size, limits.max_bytes))
        data = data_or_path.read_bytes()
    else:
        data = data_or_path
    size = len(data)
    if size > limits.max_bytes:
        raise UploadRejected("max_bytes", _too_big(size, limits.max_bytes))
    if size == 0:
        raise UploadRejected("corrupt", "the file is empty")
    mime = sniff(data[:64])
    if mime is None:
        raise UploadRejected(
            "type", "not a PNG, JPEG, WebP, MP4, WebM or MOV file (checked by content, not name)"
        )
    digest = hashlib.sha256(data).hexdigest()
    if mime.startswith("image/"):
        return _probe_image(data, mime, digest, limits)
    return _probe_video(io.BytesIO(data), mime, digest, size, limits)


def _too_big(size: int, limit: int) -> str:
    return f"{size / 1e6:.1f} MB is over the {limit / 1e6:.1f} MB limit"


def _probe_image(data: bytes, mime: str, digest: str, limits: UploadLimits) -> UploadInfo:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise UploadRejected("decompression_bomb", f"refused to decode: {exc}") from exc
        except (OSError, SyntaxError, ValueError, struct.error, EOFError) as exc:
            raise UploadRejected("corrupt", f"the {mime} does not decode ({exc})") from exc
        with image:
            if IMAGE_MIMES.get(str(image.format)) != mime:
                raise UploadRejected("type", f"content is {image.format}, not {mime}")
            width, height = image.size
            pixels = width * height
            if pixels > limits.max_pixels:
                decoded = pixels * max(1, len(image.getbands()))
                if decoded > BOMB_RATIO * len(data):
                    raise UploadRejected(
                        "decompression_bomb",
                        f"{len(data)} bytes would decode to {width}x{height} "
                        f"({decoded / 1e6:.0f} MB); refused",
                    )
                raise UploadRejected(
                    "max_pixels",
                    f"{width}x{height} = {pixels / 1e6:.1f} MP is over the "
                    f"{limits.max_pixels / 1e6:.1f} MP limit",
                )
            try:
                image.load()
            except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
                raise UploadRejected("decompression_bomb", f"refused to decode: {exc}") from exc
            except (OSError, SyntaxError, ValueError, struct.error, EOFError) as exc:
                raise UploadRejected("corrupt", f"the {mime} does not decode ({exc})") from exc
    return UploadInfo("image", mime, width, height, None, None, None, False, digest, len(data))


def _probe_video(
    stream: IO[bytes], mime: str, digest: str, size: int, limits: UploadLimits
) -> UploadInfo:
    try:
        container = av.open(stream, mode="r")
    except (av.FFmpegError, ValueError, OSError) as exc:
        raise UploadRejected("corrupt", f"the {mime} does not open ({exc})") from exc
    with container:
        fmt = container.format.name
        if mime == "video/webm" and "webm" not in fmt or mime != "video/webm" and "mp4" not in fmt:
            raise UploadRejected("type", f"container is {fmt!r}, not {mime}")
        if not container.streams.video:
            raise UploadRejected("type", "the file has no video stream")
        video = container.streams.video[0]
        width, height = video.codec_context.width, video.codec_context.height
        if width <= 0 or height <= 0:
            raise UploadRejected("corrupt", "the video stream has no frame size")
        if width * height > limits.max_video_pixels:
            raise UploadRejected(
                "max_pixels",
                f"{width}x{height} frames: over the {limits.max_video_pixels / 1e6:.1f} MP limit",
            )
        rate = video.average_rate or video.guessed_rate
        fps = float(rate) if rate else 0.0
        if not (fps > 0 and math.isfinite(fps)):
            raise UploadRejected("corrupt", "the video stream has no frame rate")
        if fps > limits.max_fps:
            raise UploadRejected("max_fps", f"{fps:g} fps is over the {limits.max_fps:g} fps limit")
        duration = _duration(container, video)
        if duration is not None and duration > limits.max_duration_s:
            raise UploadRejected(
                "max_duration_s",
                f"{duration:.1f} s is over the {limits.max_duration_s:g} s limit",
            )
        has_audio = bool(container.streams.audio)
        try:
            first = next(container.decode(video=0), None)
        except (av.FFmpegError, ValueError) as exc:
            raise UploadRejected(
                "corrupt", f"the first video frame does not decode ({exc})"
            ) from exc
        if first is None:
            raise UploadRejected("corrupt", "the video has no decodable frame")
        frames, span = _count_frames(stream, limits)
    if duration is None:
        duration = span if span > 0 else frames / fps
        if duration > limits.max_duration_s:
            raise UploadRejected(
                "max_duration_s", f"{duration:.1f} s is over the {limits.max_duration_s:g} s limit"
            )
    return UploadInfo(
        "video", mime, width, height, fps, frames, round(duration, 6), has_audio, digest, size
    )


def _duration(container: av.container.InputContainer, video: av.VideoStream) -> float | None:
    """The video stream's own duration when the container records one (MP4/MOV); None when
    only the packets can tell (WebM: the container's duration includes the audio)."""
    if video.duration is not None and video.time_base is not None:
        return float(video.duration * video.time_base)
    return None


def _count_frames(stream: IO[bytes], limits: UploadLimits) -> tuple[int, float]:
    """Video packets to the end of the file (demuxing reads it all, so truncation shows), and
    the time from the first frame's start to the last one's end."""
    stream.seek(0)
    count = 0
    first: float | None = None
    end = 0.0
    try:
        with av.open(stream, mode="r") as container:
            for packet in container.demux(video=0):
                if packet.size:
                    count += 1
                    if packet.pts is not None and packet.time_base is not None:
                        start = float(packet.pts * packet.time_base)
                        first = start if first is None else min(first, start)
                        length = float((packet.duration or 0) * packet.time_base)
                        end = max(end, start + length)
                    if count > limits.max_frames:
                        raise UploadRejected(
                            "max_frames", f"more than the {limits.max_frames} frame limit"
                        )
    except av.FFmpegError as exc:
        raise UploadRejected("corrupt", f"the video does not demux to the end ({exc})") from exc
    if count == 0:
        raise UploadRejected("corrupt", "the video has no frames")
    return count, end - (first or 0.0)
