"""The ComfyUI animator against the loopback server: `img2vid` runs when the server has a video
model (capability-checked like every template); without one the shot falls back to the
built-in camera move and its label says why."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from adapters.comfyui import Capabilities, ComfyUIImageGenerator, prompt_id_for
from adapters.comfyui.animator import ComfyUIAnimator
from adapters.comfyui.binder import bind
from adapters.comfyui.templates import load_template
from adapters.media.cut import decode, probe
from adapters.specs import GenerationSpec
from tests.comfyui_server import LoopbackComfyUI

pytestmark = pytest.mark.anyio
W, H, FPS = 192, 112, 8
STATS = {"system": {"comfyui_version": "0.3.64"}, "devices": []}


def spec() -> GenerationSpec:
    return GenerationSpec.model_validate(
        {"deliverable": "s1", "prompt": "a desk lamp on an oak desk", "width": 256,
         "height": 144, "seed": 5}
    )  # fmt: skip


def keyframe() -> bytes:
    ramp = np.linspace(0, 255, 256, dtype=np.uint8)[None, :, None]
    pixels = np.broadcast_to(ramp, (144, 256, 3)).copy()
    pixels[60:90, 110:150] = (240, 200, 40)  # a lamp-coloured block: the push in grows it
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG")
    return out.getvalue()


def test_img2vid_is_checked_like_every_template() -> None:
    bare = Capabilities.from_responses(STATS, LoopbackComfyUI().object_info())
    missing = bare.check_template("img2vid")
    assert [(m.kind, m.blocking) for m in missing] == [("video_model", True)]
    assert "img2vid" not in bare.runnable_templates()  # never offered for a still
    assert bare.report()["templates"]["img2vid"]["runnable"] is False
    served = LoopbackComfyUI(video_models=("svd_xt_1_1.safetensors",)).object_info()
    caps = Capabilities.from_responses(STATS, served)
    assert caps.video_models == ("svd_xt_1_1.safetensors",)
    assert "svd_xt_1_1.safetensors" not in caps.checkpoints  # not offered to text-to-image
    assert [m.blocking for m in caps.check_template("img2vid")] == [False]  # substituted
    bound = bind(
        spec().model_copy(update={"template": "img2vid"}), seed=1, prompt_id="p", caps=caps,
        references=["k.png"], extra={"video_frames": 16, "fps": 8},
    )  # fmt: skip
    assert bound.params["video_model"] == "svd_xt_1_1.safetensors"
    video = next(n for n in bound.workflow.values() if n["_meta"]["title"] == "video")
    assert (video["inputs"]["video_frames"], video["inputs"]["fps"]) == (16, 8)
    assert "ImageOnlyCheckpointLoader" in {
        n["class_type"] for n in load_template("img2vid").values()
    }


async def test_the_loopback_server_animates_a_keyframe_with_img2vid() -> None:
    async with LoopbackComfyUI(video_models=("svd_xt.safetensors",)) as server:
        async with ComfyUIImageGenerator(server.base_url, stall_timeout_s=5) as generator:
            animator = ComfyUIAnimator(generator, max_frames=12)
            clip = await animator.animate(
                keyframe(), spec(), move="push_in", seconds=2.0, fps=FPS, width=W, height=H,
                layered=False, job_id="t1:video-clip-s1:1:0",
            )  # fmt: skip
            queued = server.posts("/prompt")
    assert len(queued) == 1
    workflow = queued[0]["prompt"]
    assert {n["class_type"] for n in workflow.values()} >= {
        "SVD_img2vid_Conditioning", "SaveAnimatedWEBP"
    }  # fmt: skip
    assert queued[0]["prompt_id"] == prompt_id_for("t1:video-clip-s1:1:0")
    assert any(name.endswith(".webp") for (_, _, name) in server.files)
    found = probe(clip.mp4)
    assert (found.width, found.height, found.frames, found.fps) == (W, H, 16, FPS)
    assert found.video_codec == "h264"
    assert clip.engine.startswith("ComfyUI 0.3.64 image-to-video (img2vid, svd_xt.safetensors")
    frames = list(decode(clip.mp4))
    assert np.abs(frames[0].astype(int) - frames[-1].astype(int)).mean() > 2  # it moves


async def test_without_a_video_model_the_shot_falls_back_to_the_camera_move() -> None:
    async with LoopbackComfyUI() as server:
        async with ComfyUIImageGenerator(server.base_url, stall_timeout_s=5) as generator:
            clip = await ComfyUIAnimator(generator).animate(
                keyframe(), spec(), move="pan_left", seconds=1.0, fps=FPS, width=W, height=H,
                layered=False, job_id="t1:video-clip-s1:1:0",
            )  # fmt: skip
            assert server.posts("/prompt") == []
    assert clip.engine.startswith("built-in camera move (pan left")
    assert "fallback: ComfyUI 0.3.64 has no image-to-video" in clip.engine
    assert "video_model 'svd_xt.safetensors' is missing" in clip.engine
    assert probe(clip.mp4).frames == FPS


def test_a_stopped_cut_ends_at_the_next_scene_boundary() -> None:
    import threading

    from adapters.media.cut import Shot, Stopped, cut, encode

    still = np.zeros((H, W, 3), np.uint8)
    clip = encode(iter([still] * 4), fps=FPS, width=W, height=H)
    stop = threading.Event()
    stop.set()
    with pytest.raises(Stopped, match="before scene 1 of 2"):
        cut([Shot(clip, 0.5), Shot(clip, 0.5)], fps=FPS, width=W, height=H, voice=None, stop=stop)


async def test_a_cancelled_clip_cancels_its_comfyui_job() -> None:
    import asyncio

    async with LoopbackComfyUI(video_models=("svd_xt.safetensors",)) as server:
        server.scenario.hang_at_node = "KSampler"
        async with ComfyUIImageGenerator(server.base_url, stall_timeout_s=30) as generator:
            job = "t2:video-clip-s1:1:0"
            task = asyncio.create_task(
                ComfyUIAnimator(generator).animate(
                    keyframe(),
                    spec(),
                    move="hold",
                    seconds=1.0,
                    fps=FPS,
                    width=W,
                    height=H,
                    layered=False,
                    job_id=job,
                )  # fmt: skip
            )
            await server.wait_for(lambda: server.running is not None)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await generator.cancel(job)  # what animate_scenes does on a stop
            await server.wait_for(lambda: server.running is None and not server.queued_ids())
