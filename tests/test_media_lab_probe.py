"""Uploads are checked by content: what each accepted type reports, and every rejection."""

from __future__ import annotations

import hashlib
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from adapters.errors import InvalidInput
from adapters.media_lab.errors import UploadRejected
from adapters.media_lab.probe import UploadInfo, UploadLimits, probe, sniff
from tests.media_lab_helpers import moving_square, noise_image, png_bytes, write_video


def test_images_are_described_by_content() -> None:
    image = noise_image(64, 48)
    for fmt, mime, ext in [
        ("PNG", "image/png", ".png"),
        ("JPEG", "image/jpeg", ".jpg"),
        ("WEBP", "image/webp", ".webp"),
    ]:
        data = png_bytes(image, fmt)
        info = probe(data)
        assert info == UploadInfo(
            "image", mime, 64, 48, None, None, None, False, hashlib.sha256(data).hexdigest(),
            len(data),
        )  # fmt: skip
        assert info.extension == ext


@pytest.mark.parametrize(
    ("container", "fps", "audio", "mime"),
    [
        ("mp4", 60, True, "video/mp4"),
        ("mov", 30, False, "video/quicktime"),
        ("webm", 24, True, "video/webm"),
    ],
)
def test_videos_report_fps_frames_duration_and_audio(
    container: str, fps: int, audio: bool, mime: str, tmp_path: Path
) -> None:
    path = write_video(
        tmp_path / f"v.{container}", moving_square(12), fps, audio=audio, container=container
    )
    info = probe(path)
    assert (info.kind, info.mime, info.width, info.height) == ("video", mime, 192, 112)
    assert (info.fps, info.frames, info.has_audio) == (fps, 12, audio)
    assert info.duration_s == pytest.approx(12 / fps, abs=0.002)
    assert info.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert probe(path.read_bytes()) == info  # bytes or path, the same answer


def rejected(data: bytes | Path, limits: UploadLimits | None = None) -> UploadRejected:
    with pytest.raises(UploadRejected) as caught:
        probe(data, limits)
    error = caught.value
    assert isinstance(error, InvalidInput) and error.code == "invalid_input"
    assert error.field == error.limit and error.message.startswith(f"{error.limit}: ")
    return error


def test_wrong_types_are_refused_whatever_the_name(tmp_path: Path) -> None:
    gif = png_bytes(noise_image(8, 8).convert("P"), "GIF")
    bmp = png_bytes(noise_image(8, 8), "BMP")
    (tmp_path / "cat.png").write_bytes(b"#!/bin/sh\necho not an image\n")
    for data in (gif, bmp, b"hello world", tmp_path / "cat.png"):
        assert rejected(data).limit == "type"
    assert sniff(b"\x1a\x45\xdf\xa3" + b"\x00" * 20 + b"matroska") is None  # MKV, not WebM


def test_corrupt_files_are_refused(tmp_path: Path) -> None:
    png = png_bytes(noise_image(64, 64))
    jpeg = png_bytes(noise_image(64, 64), "JPEG")
    video = write_video(tmp_path / "v.mp4", moving_square(10), 60).read_bytes()
    for data in (
        b"",
        png[:40],
        png[:200] + b"\x00" * 100,
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 64,
        jpeg[:30],
        b"RIFF\x10\x00\x00\x00WEBPVP8 garbage!",
        video[: len(video) // 3],
        video[:48] + b"\x00" * 2000,
    ):
        assert rejected(data).limit == "corrupt", data[:16]
    assert rejected(tmp_path / "missing.png").limit == "corrupt"


def bomb_png(width: int, height: int) -> bytes:
    """A valid 1-bit PNG of `width` x `height` zeros, a few hundred KB compressed."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    row = b"\x00" * (1 + (width + 7) // 8)
    packer = zlib.compressobj(9)
    compressed = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", compressed)
        + chunk(b"IEND", b"")
    )  # fmt: skip


def test_a_decompression_bomb_is_refused_before_it_is_decoded() -> None:
    data = bomb_png(12_000, 12_000)  # 144 MP from a few hundred KB
    assert len(data) < 1_000_000
    assert rejected(data).limit == "decompression_bomb"
    # past Pillow's own bomb threshold too, whatever our limit
    assert rejected(bomb_png(20_000, 20_000), UploadLimits(max_pixels=10**12)).limit == (
        "decompression_bomb"
    )


def test_limits_are_named(tmp_path: Path) -> None:
    noisy = png_bytes(noise_image(400, 300))  # incompressible: over-size, not a bomb
    assert rejected(noisy, UploadLimits(max_pixels=100_000)).limit == "max_pixels"
    assert rejected(noisy, UploadLimits(max_bytes=1000)).limit == "max_bytes"
    video = write_video(tmp_path / "v.mp4", moving_square(30), 60)
    assert rejected(video, UploadLimits(max_bytes=1000)).limit == "max_bytes"
    assert rejected(video, UploadLimits(max_duration_s=0.25)).limit == "max_duration_s"
    assert rejected(video, UploadLimits(max_frames=10)).limit == "max_frames"
    assert rejected(video, UploadLimits(max_fps=30)).limit == "max_fps"
    assert rejected(video, UploadLimits(max_video_pixels=192 * 100)).limit == "max_pixels"
    error = rejected(video, UploadLimits(max_duration_s=0.25))
    assert "0.5 s is over the 0.25 s limit" in error.message
    assert probe(video, UploadLimits(max_duration_s=0.5, max_frames=30, max_fps=60)).frames == 30


def test_a_big_image_within_the_limits_is_accepted() -> None:
    data = png_bytes(Image.new("RGB", (3000, 2000), "#336699"))
    info = probe(data, UploadLimits(max_pixels=6_000_000))
    assert (info.width, info.height) == (3000, 2000)
