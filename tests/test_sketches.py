"""Sketches say so: the built-in renderer and model-free ComfyUI templates mark their recipes,
say per template whether they sketch and use a sampler, and `studio check` shows it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from adapters.comfyui import Capabilities, ComfyUIImageGenerator
from adapters.comfyui.templates import TEMPLATES, traits
from adapters.images import MODEL_TRAITS, TemplateTraits, template_traits
from adapters.renderer import Renderer, read_recipe
from adapters.specs import GenerationSpec
from api.cli.main import print_check
from tests.comfyui_server import LoopbackComfyUI

STATS = {"system": {"comfyui_version": "0.3.64"}, "devices": []}


def spec(**overrides: object) -> GenerationSpec:
    fields: dict[str, object] = {"deliverable": "hero-a", "prompt": "a lighthouse at dusk"}
    return GenerationSpec.model_validate({**fields, "width": 512, "height": 384, **overrides})


def test_each_template_says_whether_it_sketches_and_samples() -> None:
    assert traits("compose") == TemplateTraits(sketch=True, sampler=False)
    assert traits("txt2img") == traits("txt2img_sdxl") == MODEL_TRAITS
    assert traits("img2img") == TemplateTraits(sketch=False, sampler=True)
    # Model-free but made from the person's own images: not a layout sketch.
    assert traits("upscale") == traits("blend") == TemplateTraits(sketch=False, sampler=False)
    assert traits("no-such-template") == MODEL_TRAITS
    assert {name for name in TEMPLATES if traits(name).sketch} == {"compose"}


def test_template_traits_asks_the_generator_and_defaults_to_a_model() -> None:
    renderer = Renderer()
    assert template_traits(renderer, "txt2img") == TemplateTraits(sketch=True, sampler=False)
    comfyui = ComfyUIImageGenerator("http://127.0.0.1:9")
    assert template_traits(comfyui, "compose").sketch
    assert not template_traits(comfyui, "txt2img").sketch

    class Bare:  # a test double that predates traits
        name = "fake"

    assert template_traits(Bare(), "compose") == MODEL_TRAITS


def test_capabilities_report_marks_sketch_templates() -> None:
    report = Capabilities.from_responses(STATS, LoopbackComfyUI().object_info()).report()
    compose, txt2img = report["templates"]["compose"], report["templates"]["txt2img"]
    assert (compose["sketch"], compose["sampler"]) == (True, False)
    assert (txt2img["sketch"], txt2img["sampler"]) == (False, True)


@pytest.fixture
async def generator() -> AsyncIterator[ComfyUIImageGenerator]:
    async with LoopbackComfyUI() as server:
        server.scenario.step_delay_s = 0.0
        async with ComfyUIImageGenerator(server.base_url, stall_timeout_s=5) as generator:
            yield generator


@pytest.mark.anyio
async def test_comfyui_recipes_say_whether_the_image_is_a_sketch(
    generator: ComfyUIImageGenerator,
) -> None:
    def nothing(fraction: float, preview: bytes | None) -> None:
        pass

    [layout] = await generator.generate(
        spec(template="compose"), job_id="t1:a:0:0", on_progress=nothing
    )
    [picture] = await generator.generate(spec(steps=4), job_id="t1:b:0:0", on_progress=nothing)
    assert layout.recipe["sketch"] is True and picture.recipe["sketch"] is False


@pytest.mark.anyio
async def test_renderer_recipe_and_report_say_sketch() -> None:
    renderer = Renderer()
    [image] = await renderer.generate(spec(), job_id="j", on_progress=lambda f, p: None)
    assert image.recipe["sketch"] is True and read_recipe(image.png)["sketch"] is True
    described = await renderer.describe()
    assert described["templates"]["txt2img"] == {
        "runnable": True,
        "missing": [],
        "sketch": True,
        "sampler": False,
    }


@pytest.mark.anyio
async def test_check_lists_the_renderer_vocabulary_and_sketch_templates(
    capsys: pytest.CaptureFixture[str],
) -> None:
    images: dict[str, Any] = {"ok": True, **await Renderer().describe()}
    report = {
        "database": {"detail": "embedded"},
        "models": {"ok": True, "detail": "offline", "assigned": {}},
        "images": images,
    }
    print_check(report)
    out = " ".join(capsys.readouterr().out.split())
    assert "template txt2img runs (sketch, no sampler)" in out
    assert "cat: cat, kitten, kitty" in out
    assert "rain x1.8: heavy rain, downpour" in out
    assert "warmer: warm" in out and "orange glow" in out
    assert "a giraffe" in out and "the ComfyUI prompt carries it" in out
