"""The Media Lab's ComfyUI backend against the loopback ComfyUI (real HTTP, websocket, uploads
and model-free nodes computing real pixels)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageDraw

from adapters.media_lab.comfyui import ComfyUIMediaLab, MediaBackendUnsupported
from adapters.media_lab.embedded import EmbeddedMediaLab
from adapters.media_lab.errors import MediaInvalidInput, ReferenceUnreadable
from adapters.media_lab.params import BlendParams, InterpolateParams, ReferenceParams, UpscaleParams
from tests.comfyui_server import LoopbackComfyUI
from tests.media_lab_helpers import decode_video, moving_square, write_video

pytestmark = pytest.mark.anyio


@pytest.fixture
async def server() -> AsyncIterator[LoopbackComfyUI]:
    async with LoopbackComfyUI() as server:
        yield server


@pytest.fixture
async def lab(server: LoopbackComfyUI) -> AsyncIterator[ComfyUIMediaLab]:
    lab = ComfyUIMediaLab(server.base_url, stall_timeout_s=5, poll_interval_s=0.05)
    yield lab
    await lab.aclose()


async def quiet(fraction: float, stage: str) -> None:
    assert 0.0 <= fraction <= 1.0


def pixels(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"), np.int32)


def picture(path: Path, size: tuple[int, int] = (60, 40), colour: str = "#224466") -> Path:
    image = Image.new("RGB", size, colour)
    ImageDraw.Draw(image).ellipse((8, 6, size[0] - 8, size[1] - 6), fill="#f0c040")
    image.save(path)
    return path


def workflow_of(server: LoopbackComfyUI) -> dict[str, dict[str, Any]]:
    return dict(server.posts("/prompt")[-1]["prompt"])


async def test_upscale_with_the_servers_model(
    server: LoopbackComfyUI, lab: ComfyUIMediaLab, tmp_path: Path
) -> None:
    src = picture(tmp_path / "in.png")
    fractions: list[float] = []

    async def progress(fraction: float, stage: str) -> None:
        fractions.append(fraction)

    art = await lab.upscale(
        src, tmp_path / "o.png", factor=2, params=UpscaleParams(), progress=progress
    )
    assert (art.width, art.height) == (120, 80)
    assert art.backend == f"comfyui {server.base_url}"
    assert art.backend_detail["model"] == "RealESRGAN_x4plus.pth"
    assert art.backend_detail["prompt_id"] == server.posts("/prompt")[-1]["prompt_id"]
    assert "learned upscale model" in art.label
    classes = {n["class_type"] for n in workflow_of(server).values()}
    assert {"LoadImage", "UpscaleModelLoader", "ImageUpscaleWithModel", "ImageScale"} <= classes
    uploads = [k for k in server.files if k[0] == "input"]
    assert len(uploads) == 1 and server.files[uploads[0]] == src.read_bytes()
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


async def test_upscale_without_a_model_is_the_model_free_scale(tmp_path: Path) -> None:
    async with LoopbackComfyUI(upscale_models=()) as server:
        lab = ComfyUIMediaLab(server.base_url, stall_timeout_s=5)
        try:
            src = picture(tmp_path / "in.png")
            art = await lab.upscale(
                src, tmp_path / "o.png", factor=4, params=UpscaleParams(factor=4), progress=quiet
            )
        finally:
            await lab.aclose()
        assert (art.width, art.height) == (240, 160)
        assert (
            art.backend_detail["method"] == "model-free scale"
            and art.backend_detail["model"] is None
        )
        assert "model-free" in art.label and "not a learned upscaler" in art.label
        node = next(n for n in workflow_of(server).values() if n["class_type"] == "ImageScaleBy")
        assert node["inputs"] == {"image": ["1", 0], "upscale_method": "lanczos", "scale_by": 4.0}
        # the server's pixels: plain Lanczos, as ComfyUI computes it
        with Image.open(src) as image:
            expected = np.asarray(image.resize((240, 160), Image.Resampling.LANCZOS), np.int32)
        assert np.array_equal(pixels(art.path), expected)


async def test_blend_chains_image_blend_with_the_weights(
    server: LoopbackComfyUI, lab: ComfyUIMediaLab, tmp_path: Path
) -> None:
    paths = []
    for index, colour in enumerate(["#ff0000", "#00ff00", "#0000ff"]):
        Image.new("RGB", (40, 30) if index == 0 else (80, 50), colour).save(
            tmp_path / f"{index}.png"
        )
        paths.append(tmp_path / f"{index}.png")
    art = await lab.blend(
        paths, tmp_path / "o.png", weights=[2, 1, 1], params=BlendParams(), progress=quiet
    )
    assert (art.width, art.height) == (40, 30)
    assert np.abs(pixels(art.path)[10, 10] - [128, 64, 64]).max() <= 1
    blends = [n for n in workflow_of(server).values() if n["class_type"] == "ImageBlend"]
    assert [b["inputs"]["blend_factor"] for b in blends] == pytest.approx([1 / 3, 1 / 4])
    assert {b["inputs"]["blend_mode"] for b in blends} == {"normal"}
    assert art.backend_detail["weights"] == [0.5, 0.25, 0.25]
    # the embedded path folds the same way
    same = await EmbeddedMediaLab().blend(
        paths, tmp_path / "e.png", weights=[2, 1, 1], params=BlendParams(), progress=quiet
    )
    assert np.abs(pixels(same.path) - pixels(art.path)).max() <= 1


@pytest.mark.parametrize("mode", ["multiply", "screen", "overlay", "soft_light", "difference"])
async def test_blend_modes_agree_with_the_embedded_path(
    mode: str, lab: ComfyUIMediaLab, tmp_path: Path
) -> None:
    a = picture(tmp_path / "a.png", (48, 32), "#406080")
    b = picture(tmp_path / "b.png", (48, 32), "#c08020")
    params = BlendParams.model_validate({"mode": mode})
    art = await lab.blend([a, b], tmp_path / "c.png", weights=[1, 3], params=params, progress=quiet)
    local = await EmbeddedMediaLab().blend(
        [a, b], tmp_path / "e.png", weights=[1, 3], params=params, progress=quiet
    )
    assert np.abs(pixels(art.path) - pixels(local.path)).max() <= 1


async def test_from_references_is_img2img_with_denoise_strength(
    server: LoopbackComfyUI, lab: ComfyUIMediaLab, tmp_path: Path
) -> None:
    refs = [picture(tmp_path / "a.png"), picture(tmp_path / "b.png", colour="#883322")]
    params = ReferenceParams(strength=0.35, seed=9, width=320, height=256, steps=4)
    art = await lab.from_references(
        refs, tmp_path / "o.png", prompt="a lighthouse", params=params, progress=quiet
    )
    assert (art.width, art.height) == (320, 256)
    workflow = workflow_of(server)
    sampler = next(n for n in workflow.values() if n["class_type"] == "KSampler")
    assert sampler["inputs"]["denoise"] == 0.35 and sampler["inputs"]["seed"] == 9
    classes = [n["class_type"] for n in workflow.values()]
    assert classes.count("LoadImage") == 2 and "VAEEncode" in classes and "ImageBlend" in classes
    assert art.backend_detail["checkpoint"] == "v1-5-pruned-emaonly.safetensors"
    assert "img2img" in art.label and "denoise 0.35" in art.label


async def test_a_missing_reference_fails_before_anything_reaches_comfyui(
    server: LoopbackComfyUI, lab: ComfyUIMediaLab, tmp_path: Path
) -> None:
    ref = picture(tmp_path / "a.png")
    with pytest.raises(ReferenceUnreadable) as caught:
        await lab.from_references(
            [ref, tmp_path / "gone.png"], tmp_path / "o.png", prompt="x",
            params=ReferenceParams(), progress=quiet,
        )  # fmt: skip
    assert caught.value.field == "refs[1]"
    with pytest.raises(MediaInvalidInput) as bad_weights:
        await lab.blend(
            [ref, ref], tmp_path / "o.png", weights=[1.0], params=BlendParams(), progress=quiet
        )
    assert bad_weights.value.field == "weights"
    assert not server.posts("/prompt") and not server.posts("/upload/image")


async def test_without_a_checkpoint_generation_falls_back_labelled(tmp_path: Path) -> None:
    async with LoopbackComfyUI(checkpoints=()) as server:
        lab = ComfyUIMediaLab(server.base_url)
        strict = ComfyUIMediaLab(server.base_url, fallback=False)
        try:
            ref = picture(tmp_path / "a.png", (320, 256))
            art = await lab.from_references(
                [ref], tmp_path / "o.png", prompt="x", params=ReferenceParams(), progress=quiet
            )
            with pytest.raises(MediaBackendUnsupported):
                await strict.from_references(
                    [ref], tmp_path / "p.png", prompt="x", params=ReferenceParams(), progress=quiet
                )
        finally:
            await lab.aclose()
            await strict.aclose()
        assert art.backend == "embedded" and art.label.startswith("embedded fallback (")
        assert art.backend_detail["fallback_from"] == f"comfyui {server.base_url}"
        assert "no checkpoint" in art.backend_detail["fallback_reason"]
        assert not server.posts("/prompt")


async def test_interpolation_runs_embedded_and_says_so(
    server: LoopbackComfyUI, lab: ComfyUIMediaLab, tmp_path: Path
) -> None:
    src = write_video(tmp_path / "in.mp4", moving_square(8), 60)
    art = await lab.interpolate(
        src, tmp_path / "w", tmp_path / "o.mp4", params=InterpolateParams(), progress=quiet
    )
    assert (art.fps, art.frames, art.has_audio) == (120.0, 16, True)
    assert art.backend == "embedded"
    assert art.backend_detail["fallback_reason"] == "the server lists no frame-interpolation node"
    assert "optical flow" in art.label and art.label.startswith("embedded fallback")
    strict = ComfyUIMediaLab(server.base_url, fallback=False)
    try:
        with pytest.raises(MediaBackendUnsupported):
            await strict.interpolate(
                src, tmp_path / "w2", tmp_path / "p.mp4", params=InterpolateParams(), progress=quiet
            )
    finally:
        await strict.aclose()


async def test_interpolation_with_rife_vfi_runs_chunk_by_chunk_on_the_server(
    tmp_path: Path,
) -> None:
    src = write_video(tmp_path / "in.mp4", moving_square(12, step=8), 60)
    params = InterpolateParams(target_fps=120, chunk_frames=8)
    async with LoopbackComfyUI(frame_interpolation=True) as server:
        lab = ComfyUIMediaLab(server.base_url, stall_timeout_s=5, poll_interval_s=0.05)

        class Crash(Exception):
            pass

        async def crash_after_one(done: int, total: int) -> None:
            assert total == 2
            raise Crash

        try:
            with pytest.raises(Crash):
                await lab.interpolate(
                    src, tmp_path / "w", tmp_path / "o.mp4", params=params, progress=quiet,
                    on_chunk=crash_after_one,
                )  # fmt: skip
            assert len(server.posts("/prompt")) == 1
            art = await lab.interpolate(
                src, tmp_path / "w", tmp_path / "o.mp4", params=params, progress=quiet,
                done_chunks=1,
            )  # fmt: skip
        finally:
            await lab.aclose()
        prompts = server.posts("/prompt")
        assert len(prompts) == 2  # the checkpointed chunk was not sent again
        vfi = [n for n in prompts[0]["prompt"].values() if n["class_type"] == "RIFE VFI"]
        assert vfi[0]["inputs"]["multiplier"] == 2 and vfi[0]["inputs"]["ckpt_name"] == "rife47.pth"
        loads = [
            len([n for n in p["prompt"].values() if n["class_type"] == "LoadImage"])
            for p in prompts
        ]
        assert loads == [9, 4]  # 8 frames and the next chunk's first; then the last 4
    assert (art.fps, art.frames, art.has_audio) == (120.0, 24, True)
    assert art.duration_s == pytest.approx(0.2)
    assert art.backend == f"comfyui {server.base_url}" and "RIFE VFI" in art.label
    assert art.backend_detail["prompt_ids"] == [prompts[1]["prompt_id"]]
    assert art.backend_detail["resumed_at_chunk"] == 1
    # the in-between frames are the server's (its simulated model cross-fades)
    out, source = decode_video(tmp_path / "o.mp4"), decode_video(src)
    region = (slice(36, 68), slice(80, 120))  # where the square is in source frames 9 and 10
    mid = out[19][region].astype(np.int32)
    crossfade = (source[9][region].astype(np.int32) + source[10][region]) / 2
    error = np.abs(mid - crossfade).mean()
    assert error < 0.5 * min(np.abs(mid - source[k][region]).mean() for k in (9, 10))


async def test_cancelling_cancels_exactly_its_own_prompt(
    server: LoopbackComfyUI, lab: ComfyUIMediaLab, tmp_path: Path
) -> None:
    src = picture(tmp_path / "in.png")
    server.scenario.hang_at_node = "ImageScaleBy"
    task = asyncio.create_task(
        lab.upscale(
            src, tmp_path / "o.png", factor=2, params=UpscaleParams(use_model=False), progress=quiet
        )
    )
    await server.wait_for(lambda: server.running is not None)
    prompt_id = server.running[1] if server.running else ""
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    interrupts = server.posts("/interrupt")
    assert interrupts == [{"prompt_id": prompt_id}]
    assert prompt_id not in server.history and not server.queued_ids()
    assert not (tmp_path / "o.png").exists()


async def test_a_pending_prompt_is_deleted_not_interrupted(
    server: LoopbackComfyUI, lab: ComfyUIMediaLab, tmp_path: Path
) -> None:
    server.scenario.hold_queue = True
    src = picture(tmp_path / "in.png")
    task = asyncio.create_task(
        lab.upscale(src, tmp_path / "o.png", factor=2, params=UpscaleParams(), progress=quiet)
    )
    await server.wait_for(lambda: len(server.queued_ids()) == 1)
    [prompt_id] = server.queued_ids()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert server.posts("/queue")[-1] == {"delete": [prompt_id]}
    assert not server.posts("/interrupt") and not server.queued_ids()


async def test_a_restarted_job_collects_its_finished_prompt_instead_of_queueing_again(
    server: LoopbackComfyUI, lab: ComfyUIMediaLab, tmp_path: Path
) -> None:
    src = picture(tmp_path / "in.png")
    out = tmp_path / "o.png"
    first = await lab.upscale(src, out, factor=2, params=UpscaleParams(), progress=quiet)
    out.unlink()  # the process died after ComfyUI finished, before the job recorded it
    again = ComfyUIMediaLab(server.base_url)
    try:
        second = await again.upscale(src, out, factor=2, params=UpscaleParams(), progress=quiet)
    finally:
        await again.aclose()
    assert len(server.posts("/prompt")) == 1
    assert second.backend_detail["prompt_id"] == first.backend_detail["prompt_id"]
    assert out.is_file()
