"""ComfyUI adapter errors: rejected workflows, runtime failures, out-of-memory, capabilities."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from adapters.comfyui import Capabilities, ComfyUIImageGenerator, Missing, downscaled
from adapters.comfyui.outcomes import ComfyUIExecutionError, ComfyUIRejection
from adapters.errors import GenerationFailed, InvalidWorkflow, OutOfMemory
from adapters.specs import GenerationSpec
from tests.comfyui_server import LoopbackComfyUI

pytestmark = pytest.mark.anyio


@pytest.fixture
async def server() -> AsyncIterator[LoopbackComfyUI]:
    async with LoopbackComfyUI() as server:
        yield server


@pytest.fixture
async def generator(server: LoopbackComfyUI) -> AsyncIterator[ComfyUIImageGenerator]:
    async with ComfyUIImageGenerator(server.base_url, stall_timeout_s=5) as generator:
        yield generator


def spec(**overrides: object) -> GenerationSpec:
    fields: dict[str, object] = {"deliverable": "hero-a", "prompt": "a lighthouse", "steps": 4}
    return GenerationSpec.model_validate({**fields, "width": 512, "height": 512, **overrides})


def ignore(fraction: float, preview: bytes | None) -> None:
    """Progress is not what these tests look at."""


async def test_rejected_workflow_names_node_and_input_then_next_attempt_substitutes(
    server: LoopbackComfyUI, generator: ComfyUIImageGenerator
) -> None:
    await generator.capabilities()
    server.checkpoints = ("dreamshaper_8.safetensors",)  # the model went away after startup

    with pytest.raises(InvalidWorkflow) as info:
        await generator.generate(spec(), job_id="t:a:0:0", on_progress=ignore)
    message = info.value.message
    assert "'checkpoint' (CheckpointLoaderSimple), input 'ckpt_name'" in message
    assert "v1-5-pruned-emaonly.safetensors" in message
    assert isinstance(info.value.__cause__, ComfyUIRejection)
    assert server.queued_ids() == [] and server.history == {}

    [image] = await generator.generate(spec(), job_id="t:a:0:1", on_progress=ignore)
    assert image.recipe["params"]["checkpoint"] == "dreamshaper_8.safetensors"
    assert any("ckpt_name" in note for note in image.recipe["adjustments"])


async def test_execution_error_carries_comfyui_exception_message(
    server: LoopbackComfyUI, generator: ComfyUIImageGenerator
) -> None:
    server.scenario.fail_node = "VAEDecode"

    with pytest.raises(GenerationFailed) as info:
        await generator.generate(spec(), job_id="t:a:0:0", on_progress=ignore)

    error = info.value
    assert not isinstance(error, OutOfMemory)
    assert "VAEDecode" in error.message and "mat1 and mat2 shapes" in error.message
    assert isinstance(error.__cause__, ComfyUIExecutionError)
    assert error.__cause__.payload["exception_type"] == "RuntimeError"


async def test_out_of_memory_is_recognised_and_a_downscaled_spec_then_fits(
    server: LoopbackComfyUI, generator: ComfyUIImageGenerator
) -> None:
    server.scenario.oom_above_pixels = 400_000
    big = spec(width=768, height=768)

    with pytest.raises(OutOfMemory, match="CUDA out of memory") as info:
        await generator.generate(big, job_id="t:a:0:0", on_progress=ignore)
    assert "TIPS" not in info.value.message and info.value.code == "out_of_memory"

    smaller = downscaled(big)
    assert (smaller.width, smaller.height) == (576, 576)
    [image] = await generator.generate(smaller, job_id="t:a:0:1", on_progress=ignore)
    assert (image.width, image.height) == (576, 576)


def test_downscaled_keeps_multiples_of_eight_and_stops_at_256() -> None:
    odd = spec(width=1000, height=600)
    assert [(s.width, s.height) for s in (downscaled(odd), downscaled(odd, 0.5))] == [
        (744, 448),
        (496, 296),
    ]
    floor = spec(width=256, height=264)
    assert downscaled(floor) == floor.model_copy(update={"height": 256})
    assert downscaled(downscaled(floor)) == downscaled(floor)  # cannot shrink: stop retrying


async def test_capabilities_report_missing_models_and_nodes_with_alternatives(
    server: LoopbackComfyUI,
) -> None:
    server.checkpoints = ("dreamshaper_8.safetensors", "juggernautXL_v9.safetensors")
    server.upscale_models = ()
    async with ComfyUIImageGenerator(server.base_url) as generator:
        caps = await generator.capabilities()

    assert caps.version == "0.3.64" and caps.devices[0].type == "cuda"
    [ckpt] = caps.check_template("txt2img_sdxl")
    assert ckpt == Missing("checkpoint", "sd_xl_base_1.0.safetensors", caps.checkpoints)
    assert not ckpt.blocking  # an installed checkpoint can stand in
    [upscaler] = caps.check_template("upscale_model")
    assert upscaler.kind == "upscale_model" and upscaler.blocking
    assert "upscale_model" not in caps.runnable_templates()
    assert {"compose", "upscale", "blend", "txt2img"} <= set(caps.runnable_templates())

    info = dict(caps.object_info)
    info["KSamplerAdvanced"] = info.pop("KSampler")
    trimmed = Capabilities.from_responses({"system": {"comfyui_version": "0.3.64"}}, info)
    assert Missing("node", "KSampler", ("KSamplerAdvanced",)) in trimmed.check_template("txt2img")
    assert "txt2img" not in trimmed.runnable_templates()


async def test_template_the_server_cannot_run_is_refused_before_queueing(
    server: LoopbackComfyUI,
) -> None:
    server.upscale_models = ()
    async with ComfyUIImageGenerator(server.base_url) as generator:
        with pytest.raises(InvalidWorkflow) as info:
            await generator.generate(
                spec(template="upscale_model"), job_id="t:u:0:0", on_progress=ignore
            )

    assert "RealESRGAN_x4plus.pth" in info.value.message
    assert "Templates it can run" in info.value.message and "compose" in info.value.message
    assert server.posts("/prompt") == [] and server.posts("/upload/image") == []


async def test_template_needing_references_says_so(generator: ComfyUIImageGenerator) -> None:
    with pytest.raises(InvalidWorkflow, match="needs 2 reference"):
        await generator.generate(spec(template="blend"), job_id="t:b:0:0", on_progress=ignore)
    with pytest.raises(InvalidWorkflow, match="no ComfyUI template named 'video'"):
        await generator.generate(spec(template="video"), job_id="t:v:0:0", on_progress=ignore)


async def test_the_director_is_offered_only_templates_the_server_can_run(
    server: LoopbackComfyUI,
) -> None:
    async with ComfyUIImageGenerator(server.base_url) as generator:
        assert await generator.templates() == ["txt2img", "txt2img_sdxl", "compose"]
    server.checkpoints = ()  # no checkpoint at all: only the model-free layout sketch runs
    async with ComfyUIImageGenerator(server.base_url) as generator:
        assert await generator.templates() == ["compose"]
