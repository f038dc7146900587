"""The embedded Media Lab on real media: interpolation (flow, fps, frames, duration, audio,
chunk resume, cancel), upscale, blend and generation from references."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Literal

import av
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from adapters.errors import InvalidInput
from adapters.media_lab.embedded import EmbeddedMediaLab, chunk_path
from adapters.media_lab.errors import MediaInvalidInput, ReferenceUnreadable
from adapters.media_lab.flow import FlowEstimator, in_between
from adapters.media_lab.images import cover
from adapters.media_lab.params import (
    BlendParams,
    InterpolateParams,
    ReferenceParams,
    UpscaleParams,
    builtin_preset,
)
from adapters.media_lab.probe import probe
from tests.media_lab_helpers import (
    audio_seconds,
    background,
    decode_video,
    half_red_mask,
    moving_square,
    noise_image,
    red_mask,
    square_frame,
    write_video,
)

pytestmark = pytest.mark.anyio
LAB = EmbeddedMediaLab()


async def quiet(fraction: float, stage: str) -> None:
    assert 0.0 <= fraction <= 1.0


def centre_x(mask: np.ndarray) -> float:
    return float(np.nonzero(mask)[1].mean())


def pixels(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image)


def mode_of(path: Path) -> str:
    with Image.open(path) as image:
        return image.mode


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / (a | b).sum())


# --- interpolation -------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["dis", "farneback"])
def test_the_moving_square_lands_at_the_midpoint_once(
    method: Literal["dis", "farneback"], tmp_path: Path
) -> None:
    bg = background(112, 192)
    start, end = 30.0, 40.0  # 10 px a frame: fast for 60 fps, under half the square
    frame0, frame1 = square_frame(start, 40, bg), square_frame(end, 40, bg)
    truth = square_frame((start + end) / 2, 40, bg)
    [mid] = in_between(FlowEstimator(method), frame0, frame1, 2)
    Image.fromarray(np.vstack([frame0, mid, truth, frame1])).save(tmp_path / f"{method}.png")
    crossfade = ((frame0.astype(np.float32) + frame1) / 2).astype(np.uint8)
    # the square sits at the midpoint ...
    assert abs(centre_x(red_mask(mid)) - centre_x(red_mask(truth))) <= 1.0
    # ... once, with its full rim, where a cross-fade shows two half-strength squares
    assert iou(red_mask(mid), red_mask(truth)) >= 0.85
    assert iou(red_mask(crossfade), red_mask(truth)) < 0.75
    assert half_red_mask(crossfade, bg).sum() > 150
    assert half_red_mask(mid, bg).sum() < 0.2 * half_red_mask(crossfade, bg).sum()
    error = np.abs(mid.astype(int) - truth.astype(int)).mean()
    assert error < 0.5 * np.abs(crossfade.astype(int) - truth.astype(int)).mean()


def test_three_times_places_two_frames_at_thirds() -> None:
    bg = background(112, 192)
    frame0, frame1 = square_frame(30, 40, bg), square_frame(39, 40, bg)
    first, second = in_between(FlowEstimator(), frame0, frame1, 3)
    assert abs(centre_x(red_mask(first)) - centre_x(red_mask(square_frame(33, 40, bg)))) <= 1.0
    assert abs(centre_x(red_mask(second)) - centre_x(red_mask(square_frame(36, 40, bg)))) <= 1.0


async def test_60_to_120_doubles_frames_keeps_duration_and_audio(tmp_path: Path) -> None:
    src = write_video(tmp_path / "in.mp4", moving_square(24, step=4), 60)
    seen: list[tuple[int, int]] = []

    async def on_chunk(done: int, total: int) -> None:
        assert chunk_path(tmp_path / "work", done - 1).is_file()
        seen.append((done, total))

    params = InterpolateParams(target_fps=120, chunk_frames=8)
    out = tmp_path / "out.mp4"
    art = await LAB.interpolate(
        src, tmp_path / "work", out, params=params, progress=quiet, on_chunk=on_chunk
    )
    assert seen == [(1, 3), (2, 3), (3, 3)]
    assert (art.fps, art.frames, art.duration_s, art.has_audio) == (120.0, 48, 0.4, True)
    assert art.mime == "video/mp4" and art.backend == "embedded"
    assert "optical flow" in art.label and "not frame duplication" in art.label
    with av.open(str(out)) as container:  # what the file itself says
        stream = container.streams.video[0]
        assert stream.average_rate == 120 and stream.frames == 48
        assert stream.duration is not None and stream.time_base is not None
        assert float(stream.duration * stream.time_base) == pytest.approx(0.4)
        assert container.streams.audio[0].codec_context.name == "aac"
    frames = decode_video(out)
    assert len(frames) == 48
    assert audio_seconds(out) == pytest.approx(audio_seconds(src), abs=0.03)
    # frame 2k is source frame k, frame 2k+1 sits halfway to source frame k+1
    source = decode_video(src)
    for k in (3, 10, 17):
        a, b = centre_x(red_mask(source[k])), centre_x(red_mask(source[k + 1]))
        mid = centre_x(red_mask(frames[2 * k + 1]))
        assert abs(mid - (a + b) / 2) <= 1.0
        assert abs(centre_x(red_mask(frames[2 * k])) - a) <= 1.0  # re-encoding moves edges
    # the last source frame is held for its in-between slot (duration stays the source's)
    assert np.abs(frames[-1].astype(int) - frames[-2].astype(int)).max() <= 6
    assert art.backend_detail["audio"] == "copied aac"


async def test_30_to_90_from_webm_triples_and_reencodes_opus(tmp_path: Path) -> None:
    src = write_video(tmp_path / "in.webm", moving_square(9, step=3), 30, container="webm")
    out = tmp_path / "out.mp4"
    params = InterpolateParams(target_fps=90, chunk_frames=8)
    art = await LAB.interpolate(src, tmp_path / "w", out, params=params, progress=quiet)
    assert (art.fps, art.frames, art.has_audio) == (90.0, 27, True)
    assert art.duration_s == pytest.approx(0.3)
    assert len(decode_video(out)) == 27
    assert art.backend_detail["audio"] == "re-encoded opus to aac"


async def test_a_video_without_audio_stays_silent(tmp_path: Path) -> None:
    src = write_video(tmp_path / "in.mov", moving_square(6), 60, audio=False, container="mov")
    art = await LAB.interpolate(
        src, tmp_path / "w", tmp_path / "o.mp4", params=InterpolateParams(), progress=quiet
    )
    assert (art.frames, art.has_audio, art.backend_detail["audio"]) == (12, False, "none")


@pytest.mark.parametrize("target", [90.0, 60.0, 600.0, 100.0])
async def test_a_target_that_is_not_a_supported_multiple_is_refused(
    target: float, tmp_path: Path
) -> None:
    src = write_video(tmp_path / "in.mp4", moving_square(4), 60, audio=False)
    params = InterpolateParams.model_construct(target_fps=target, chunk_frames=8)
    with pytest.raises(MediaInvalidInput) as caught:
        await LAB.interpolate(
            src, tmp_path / "w", tmp_path / "o.mp4", params=params, progress=quiet
        )
    assert caught.value.field == "target_fps" and isinstance(caught.value, InvalidInput)
    assert not (tmp_path / "o.mp4").exists()


class Crash(Exception):
    pass


async def test_resume_after_two_of_four_chunks_gives_the_same_video(tmp_path: Path) -> None:
    src = write_video(tmp_path / "in.mp4", moving_square(30, step=3), 60)
    params = InterpolateParams(target_fps=120, chunk_frames=8)
    whole = await LAB.interpolate(
        src, tmp_path / "w1", tmp_path / "whole.mp4", params=params, progress=quiet
    )

    async def crash_after_two(done: int, total: int) -> None:
        assert total == 4
        if done == 2:
            raise Crash

    with pytest.raises(Crash):
        await LAB.interpolate(
            src, tmp_path / "w2", tmp_path / "resumed.mp4", params=params, progress=quiet,
            on_chunk=crash_after_two,
        )  # fmt: skip
    assert sorted(p.name for p in (tmp_path / "w2").iterdir()) == [
        "chunk-0000.mp4",
        "chunk-0001.mp4",
    ]
    kept = [chunk_path(tmp_path / "w2", i).stat().st_mtime_ns for i in (0, 1)]
    seen: list[tuple[int, int]] = []

    async def record(done: int, total: int) -> None:
        seen.append((done, total))

    resumed = await LAB.interpolate(
        src, tmp_path / "w2", tmp_path / "resumed.mp4", params=params, progress=quiet,
        done_chunks=2, on_chunk=record,
    )  # fmt: skip
    assert seen == [(3, 4), (4, 4)]  # chunks 0 and 1 were not made again
    assert [chunk_path(tmp_path / "w2", i).stat().st_mtime_ns for i in (0, 1)] == kept
    assert resumed.backend_detail["resumed_at_chunk"] == 2
    assert (resumed.frames, resumed.fps, resumed.duration_s) == (60, 120.0, 0.5)
    a, b = decode_video(tmp_path / "whole.mp4"), decode_video(tmp_path / "resumed.mp4")
    assert len(a) == len(b) == whole.frames == 60
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


async def test_a_checkpointed_chunk_that_is_gone_is_made_again(tmp_path: Path) -> None:
    src = write_video(tmp_path / "in.mp4", moving_square(16), 60, audio=False)
    params = InterpolateParams(target_fps=120, chunk_frames=8)
    await LAB.interpolate(src, tmp_path / "w", tmp_path / "a.mp4", params=params, progress=quiet)
    chunk_path(tmp_path / "w", 1).unlink()
    seen: list[int] = []

    async def record(done: int, total: int) -> None:
        seen.append(done)

    art = await LAB.interpolate(
        src, tmp_path / "w", tmp_path / "b.mp4", params=params, progress=quiet, done_chunks=2,
        on_chunk=record,
    )  # fmt: skip
    assert seen == [2] and art.frames == 32


KILL_SCRIPT = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from adapters.media_lab.embedded import EmbeddedMediaLab
    from adapters.media_lab.params import InterpolateParams

    src, work, out, done = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4])
    checkpoint = work.parent / "checkpoint"

    async def progress(fraction, stage):
        pass

    async def on_chunk(done, total):
        checkpoint.write_text(str(done))  # what the job stores in Postgres
        print(f"chunk {done}/{total}", flush=True)

    asyncio.run(EmbeddedMediaLab().interpolate(
        src, work, out, params=InterpolateParams(target_fps=120, chunk_frames=8),
        progress=progress, done_chunks=done, on_chunk=on_chunk))
    print("finished", flush=True)
    """
)


def test_kill_9_mid_interpolation_resumes_from_the_last_checkpointed_chunk(
    tmp_path: Path,
) -> None:
    src = write_video(tmp_path / "in.mp4", moving_square(40, step=2), 60)
    script = tmp_path / "run.py"
    script.write_text(KILL_SCRIPT)
    work, out = tmp_path / "work", tmp_path / "out.mp4"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    args = [sys.executable, str(script), str(src), str(work), str(out)]
    proc = subprocess.Popen([*args, "0"], stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    for line in proc.stdout:  # kill it as soon as two chunks are checkpointed
        if line.startswith("chunk 2/5"):
            os.kill(proc.pid, signal.SIGKILL)
            break
    proc.wait()
    proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL and not out.exists()
    done = int((tmp_path / "checkpoint").read_text())
    assert done >= 2
    rerun = subprocess.run([*args, str(done)], capture_output=True, text=True, env=env, check=True)
    assert f"chunk {done}/5" not in rerun.stdout and "chunk 5/5" in rerun.stdout
    info = probe(out)
    assert (info.fps, info.frames, info.has_audio) == (120.0, 80, True)
    assert info.duration_s == pytest.approx(40 / 60, abs=1e-5)
    frames = decode_video(out)
    source = decode_video(src)
    k = 30  # a frame made after the restart: the square halfway between source 30 and 31
    mid = centre_x(red_mask(frames[2 * k + 1]))
    assert abs(mid - (centre_x(red_mask(source[k])) + centre_x(red_mask(source[k + 1]))) / 2) <= 1


async def test_cancelling_stops_at_a_safe_point_and_leaves_no_partial_file(
    tmp_path: Path,
) -> None:
    src = write_video(tmp_path / "in.mp4", moving_square(48, step=1), 60, audio=False)
    params = InterpolateParams(target_fps=120, chunk_frames=8)
    first_chunk = asyncio.Event()

    async def on_chunk(done: int, total: int) -> None:
        first_chunk.set()

    task = asyncio.create_task(
        LAB.interpolate(
            src,
            tmp_path / "w",
            tmp_path / "o.mp4",
            params=params,
            progress=quiet,
            on_chunk=on_chunk,
        )  # fmt: skip
    )
    await first_chunk.wait()
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    names = sorted(p.name for p in (tmp_path / "w").iterdir())
    assert names and all(n.startswith("chunk-") and n.endswith(".mp4") for n in names)
    assert len(names) < 6 and not (tmp_path / "o.mp4").exists()


# --- upscale -------------------------------------------------------------------------------


def edge_energy(path: Path) -> float:
    with Image.open(path) as image:
        edges = image.convert("L").filter(ImageFilter.FIND_EDGES)
        return float(np.asarray(edges, np.float32).mean())


async def test_upscale_2x_and_4x_with_presets_that_change_the_sharpening(tmp_path: Path) -> None:
    source = Image.new("RGB", (80, 60), "#203040")
    ImageDraw.Draw(source).ellipse((10, 10, 60, 50), fill="#f0c040", outline="#ffffff")
    source.save(tmp_path / "in.png")
    results = {}
    for preset_id in ("crisp", "soft", "crisp-4x"):
        preset = builtin_preset(preset_id)
        assert isinstance(preset.params, UpscaleParams)
        out = tmp_path / f"{preset_id}.png"
        art = await LAB.upscale(
            tmp_path / "in.png", out, factor=preset.params.factor, params=preset.params,
            progress=quiet,
        )  # fmt: skip
        results[preset_id] = art
        with Image.open(out) as image:
            assert image.size == (art.width, art.height) and image.format == "PNG"
    assert (results["crisp"].width, results["crisp"].height) == (160, 120)
    assert (results["crisp-4x"].width, results["crisp-4x"].height) == (320, 240)
    assert "not a learned upscaler" in results["crisp"].label
    assert edge_energy(tmp_path / "crisp.png") > 1.1 * edge_energy(tmp_path / "soft.png")
    plain = UpscaleParams(sharpen_percent=0)
    await LAB.upscale(
        tmp_path / "in.png", tmp_path / "p.png", factor=2, params=plain, progress=quiet
    )
    with Image.open(tmp_path / "in.png") as source_image:
        lanczos = source_image.resize((160, 120), Image.Resampling.LANCZOS)
    assert np.array_equal(pixels(tmp_path / "p.png"), np.asarray(lanczos))


async def test_upscale_keeps_transparency_and_refuses_a_huge_output(tmp_path: Path) -> None:
    noise_image(20, 10, mode="RGBA").save(tmp_path / "a.png")
    art = await LAB.upscale(
        tmp_path / "a.png", tmp_path / "o.png", factor=4, params=UpscaleParams(), progress=quiet
    )
    assert mode_of(art.path) == "RGBA" and (art.width, art.height) == (80, 40)
    Image.new("RGB", (4100, 4000)).save(tmp_path / "big.png")
    with pytest.raises(MediaInvalidInput) as caught:
        await LAB.upscale(
            tmp_path / "big.png", tmp_path / "x.png", factor=4, params=UpscaleParams(),
            progress=quiet,
        )  # fmt: skip
    assert caught.value.field == "factor" and not (tmp_path / "x.png").exists()


# --- blend ---------------------------------------------------------------------------------


async def test_blend_average_is_the_weighted_mean_and_records_weights(tmp_path: Path) -> None:
    colours = ["#ff0000", "#00ff00", "#0000ff"]
    paths = []
    for i, colour in enumerate(colours):
        Image.new("RGB", (40, 30), colour).save(paths_i := tmp_path / f"{i}.png")
        paths.append(paths_i)
    art = await LAB.blend(
        paths, tmp_path / "o.png", weights=[2, 1, 1], params=BlendParams(), progress=quiet
    )
    pixel = pixels(art.path)[5, 5]
    assert np.abs(pixel.astype(int) - [128, 64, 64]).max() <= 1
    assert art.backend_detail["weights"] == [0.5, 0.25, 0.25]
    assert art.backend_detail["mode"] == "average"


@pytest.mark.parametrize(
    ("mode", "expected"),
    [("multiply", 0.25), ("screen", 0.75), ("overlay", 0.5), ("difference", 0.0)],
)
async def test_blend_modes(mode: str, expected: float, tmp_path: Path) -> None:
    Image.new("RGB", (16, 16), (128, 128, 128)).save(tmp_path / "a.png")
    Image.new("RGB", (32, 20), (128, 128, 128)).save(tmp_path / "b.png")  # other size: resized
    art = await LAB.blend(
        [tmp_path / "a.png", tmp_path / "b.png"], tmp_path / "o.png", weights=[0, 1],
        params=BlendParams.model_validate({"mode": mode}), progress=quiet,
    )  # fmt: skip
    assert (art.width, art.height) == (16, 16)
    value = pixels(art.path)[8, 8, 0] / 255
    assert value == pytest.approx(expected, abs=0.01)


async def test_blend_refuses_bad_sets(tmp_path: Path) -> None:
    Image.new("RGB", (8, 8)).save(tmp_path / "a.png")
    (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    cases = [
        ([tmp_path / "a.png"], [1.0], "srcs"),
        ([tmp_path / "a.png"] * 9, None, "srcs"),
        ([tmp_path / "a.png"] * 2, [1.0], "weights"),
        ([tmp_path / "a.png"] * 2, [-1.0, 1.0], "weights"),
        ([tmp_path / "a.png", tmp_path / "gone.png"], None, "srcs[1]"),
        ([tmp_path / "a.png", tmp_path / "a.png", tmp_path / "bad.png"], None, "srcs[2]"),
    ]
    for srcs, weights, field in cases:
        with pytest.raises(MediaInvalidInput) as caught:
            await LAB.blend(
                srcs, tmp_path / "o.png", weights=weights or [], params=BlendParams(),
                progress=quiet,
            )  # fmt: skip
        assert caught.value.field == field, (srcs, weights)
    assert not (tmp_path / "o.png").exists()


# --- generation from references ------------------------------------------------------------


def reference(path: Path) -> Path:
    image = Image.new("RGB", (320, 240), "#1d3557")
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 150, 320, 240), fill="#e9c46a")
    draw.ellipse((200, 60, 280, 170), fill="#e63946")
    image.save(path)
    return path


async def test_from_references_takes_palette_and_layout(tmp_path: Path) -> None:
    ref = reference(tmp_path / "ref.png")
    params = ReferenceParams(strength=0.8, width=512, height=384, seed=5)
    art = await LAB.from_references(
        [ref], tmp_path / "o.png", prompt="a lighthouse at dusk", params=params, progress=quiet
    )
    detail = art.backend_detail
    assert (art.width, art.height) == (512, 384)
    assert detail["palette"][:3] == ["#1d3557", "#e9c46a", "#e63946"]
    assert detail["horizon"] == pytest.approx(150 / 240, abs=0.03)
    assert detail["subject_x"] == pytest.approx(0.75, abs=0.03)
    assert detail["subject_y"] == pytest.approx(115 / 240, abs=0.05)
    assert detail["spec"]["palette"][0] == "#1d3557"
    assert "does not copy" in art.label
    assert detail["sketch"] is True and detail["cannot_draw"] == []  # a lighthouse is drawn
    balloon = await LAB.from_references(  # D1: nothing said the balloon was not drawn
        [ref], tmp_path / "b.png", prompt="a red balloon over a lake", params=params, progress=quiet
    )
    assert balloon.backend_detail["cannot_draw"] == ["balloon"]
    assert "The built-in renderer cannot draw a balloon" in balloon.label
    again = await LAB.from_references(
        [ref], tmp_path / "o2.png", prompt="a lighthouse at dusk", params=params, progress=quiet
    )
    assert (tmp_path / "o.png").read_bytes() == (tmp_path / "o2.png").read_bytes()
    keep = ReferenceParams(strength=0.0, width=640, height=480)
    same = await LAB.from_references(
        [ref], tmp_path / "k.png", prompt="anything", params=keep, progress=quiet
    )
    with Image.open(ref) as ref_image:  # strength 0 keeps the reference
        kept = cover(ref_image, 640, 480)
    assert np.array_equal(pixels(same.path), np.asarray(kept))
    assert again.width == 512


async def test_a_missing_or_unreadable_reference_fails_the_same_way_every_time(
    tmp_path: Path,
) -> None:
    ref = reference(tmp_path / "ref.png")
    (tmp_path / "junk.png").write_bytes(b"GIF89a nonsense")
    for refs, field in [
        ([ref, tmp_path / "gone.png"], "refs[1]"),
        ([tmp_path / "junk.png", tmp_path / "gone.png"], "refs[0]"),
        ([], "refs"),
    ]:
        for _ in range(2):
            with pytest.raises(MediaInvalidInput) as caught:
                await LAB.from_references(
                    refs, tmp_path / "o.png", prompt="x", params=ReferenceParams(), progress=quiet
                )
            assert caught.value.field == field
            assert isinstance(caught.value, ReferenceUnreadable) == (field != "refs")
