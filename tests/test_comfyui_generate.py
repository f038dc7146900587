"""ComfyUI adapter against the loopback server: generation, progress, previews, PNG lineage."""

from __future__ import annotations

import io
import json
import socket
import time
from collections.abc import AsyncIterator

import numpy as np
import pytest
from PIL import Image

from adapters.comfyui import ComfyUIImageGenerator, prompt_id_for
from adapters.errors import InvalidInput, ServiceUnavailable
from adapters.specs import GenerationSpec
from tests.comfyui_server import LoopbackComfyUI

pytestmark = pytest.mark.anyio
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
async def server() -> AsyncIterator[LoopbackComfyUI]:
    async with LoopbackComfyUI() as server:
        server.scenario.step_delay_s = 0.01
        yield server


@pytest.fixture
async def generator(server: LoopbackComfyUI) -> AsyncIterator[ComfyUIImageGenerator]:
    async with ComfyUIImageGenerator(server.base_url, stall_timeout_s=5) as generator:
        yield generator


def spec(**overrides: object) -> GenerationSpec:
    fields: dict[str, object] = {"deliverable": "hero-a", "prompt": "neon street at night"}
    fields.update({"width": 512, "height": 384, "steps": 8, **overrides})
    return GenerationSpec.model_validate(fields)


def reference_png(colour: tuple[int, int, int], size: tuple[int, int] = (320, 240)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format="PNG")
    return out.getvalue()


async def test_generation_streams_monotonic_progress_and_decoded_previews(
    server: LoopbackComfyUI, generator: ComfyUIImageGenerator
) -> None:
    updates: list[tuple[float, bytes | None]] = []
    images = await generator.generate(
        spec(), job_id="t1:hero-a:0:0", on_progress=lambda f, p: updates.append((f, p))
    )

    fractions = [f for f, _ in updates]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and fractions.count(1.0) == 1
    assert len({f for f in fractions if f < 1.0}) >= 8  # nodes and every sampler step
    previews = [p for _, p in updates if p is not None]
    assert len(previews) == 8 and all(p.startswith(PNG) for p in previews)  # JPEG -> PNG
    [image] = images
    assert (image.width, image.height, image.generator) == (512, 384, "comfyui")
    assert Image.open(io.BytesIO(image.png)).size == (512, 384)
    [posted] = server.posts("/prompt")
    assert posted["prompt_id"] == prompt_id_for("t1:hero-a:0:0")
    assert posted["client_id"] == generator.client.client_id


async def test_png_keeps_comfyui_prompt_chunk_and_recipe_lineage(
    server: LoopbackComfyUI, generator: ComfyUIImageGenerator
) -> None:
    [image] = await generator.generate(spec(), job_id="t1:hero-a:0:0", on_progress=lambda *_: None)

    text = Image.open(io.BytesIO(image.png)).text  # type: ignore[attr-defined]
    prompt = json.loads(text["prompt"])  # ComfyUI reopens the image with this workflow
    assert prompt == server.posts("/prompt")[0]["prompt"]
    assert {node["class_type"] for node in prompt.values()} >= {"KSampler", "SaveImage"}
    recipe = image.recipe
    assert json.loads(text["studio"])["prompt_id"] == recipe["prompt_id"]
    assert recipe["template"] == "txt2img" and recipe["server_version"] == "0.3.64"
    assert recipe["prompt_id"] == prompt_id_for("t1:hero-a:0:0")
    assert recipe["job_id"] == "t1:hero-a:0:0" and recipe["cached"] is False
    params = recipe["params"]
    assert isinstance(params, dict)
    assert params["seed"] == recipe["seed"] and params["steps"] == 8
    assert params["checkpoint"] == "v1-5-pruned-emaonly.safetensors"


async def test_prompt_fully_served_from_cache_still_yields_its_images(
    server: LoopbackComfyUI, generator: ComfyUIImageGenerator
) -> None:
    [first] = await generator.generate(spec(), job_id="t1:hero-a:0:0", on_progress=print_nothing)
    # The identical workflow queued again is answered from ComfyUI's cache: no `executing`,
    # `executed` replays the old file (g_cached.json). The adapter still returns the image.
    workflow = server.posts("/prompt")[0]["prompt"]
    again = prompt_id_for("t1:hero-a:0:1")
    await generator.client.queue_prompt(
        workflow, prompt_id=again, extra_data={}, template="txt2img"
    )
    progress: list[float] = []
    [cached] = await generator.generate(
        spec(), job_id="t1:hero-a:0:1", on_progress=lambda f, _: progress.append(f)
    )

    assert cached.recipe["cached"] is True
    assert cached.recipe["filename"] == first.recipe["filename"]
    assert cached.png == first.png and progress[-1] == 1.0
    assert len(server.posts("/prompt")) == 2  # the adapter re-attached; it queued nothing


async def test_cached_sampler_nodes_still_produce_a_fresh_file(
    server: LoopbackComfyUI, generator: ComfyUIImageGenerator
) -> None:
    same_seed = spec(seed=1234)
    [a] = await generator.generate(same_seed, job_id="t1:a:0:0", on_progress=print_nothing)
    [b] = await generator.generate(same_seed, job_id="t2:a:0:0", on_progress=print_nothing)

    # Same seed and prompt: everything up to SaveImage is cached, but the per-prompt filename
    # prefix makes SaveImage write a new file instead of silently replaying the old one.
    assert b.recipe["filename"] != a.recipe["filename"]
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(a.png))),
                          np.asarray(Image.open(io.BytesIO(b.png))))  # fmt: skip


async def test_compose_template_runs_without_models_and_honours_palette_and_layout(
    generator: ComfyUIImageGenerator,
) -> None:
    layout = spec(template="compose", palette=["#102040", "#e0c020", "#30a050"], horizon=0.5,
                  subject_x=0.5, subject_y=0.25, subject_scale=0.3)  # fmt: skip
    [image] = await generator.generate(layout, job_id="t1:c:0:0", on_progress=print_nothing)

    pixels = np.asarray(Image.open(io.BytesIO(image.png)).convert("RGB"), dtype=float)
    sky, ground, subject = pixels[20:60, 20:100], pixels[300:360, 20:100], pixels[80:110, 250:262]
    assert np.allclose(sky.mean(axis=(0, 1)), (0x10, 0x20, 0x40), atol=12)
    assert np.allclose(ground.mean(axis=(0, 1)), (0x30, 0xA0, 0x50), atol=12)
    assert np.allclose(subject.mean(axis=(0, 1)), (0xE0, 0xC0, 0x20), atol=12)


async def test_reference_uploads_use_the_name_the_server_returns(
    server: LoopbackComfyUI, generator: ComfyUIImageGenerator
) -> None:
    red = reference_png((200, 30, 30))
    await generator.generate(
        spec(template="img2img"), job_id="t1:r:0:0", on_progress=print_nothing, references=[red]
    )
    uploaded = server.posts("/prompt")[0]["prompt"]
    name = next(n["inputs"]["image"] for n in uploaded.values() if n["class_type"] == "LoadImage")
    # Different bytes already stored under that name: the server renames the upload.
    server.files[("input", "", name)] = b"someone else's file"
    [image] = await generator.generate(
        spec(template="img2img"), job_id="t1:r:0:1", on_progress=print_nothing, references=[red]
    )

    again = server.posts("/prompt")[1]["prompt"]
    renamed = next(n["inputs"]["image"] for n in again.values() if n["class_type"] == "LoadImage")
    assert renamed == name.replace(".png", " (1).png")
    assert image.recipe["params"]["reference"] == renamed


async def test_blend_and_model_free_upscale_use_their_references(
    generator: ComfyUIImageGenerator,
) -> None:
    red, blue = reference_png((255, 0, 0)), reference_png((0, 0, 255))
    blend = spec(template="blend", width=320, height=240, style_intensity=0.5)
    [mixed] = await generator.generate(
        blend, job_id="t1:b:0:0", on_progress=print_nothing, references=[red, blue]
    )
    upscale = spec(template="upscale", width=640, height=480)
    [bigger] = await generator.generate(
        upscale, job_id="t1:u:0:0", on_progress=print_nothing, references=[red]
    )

    centre = Image.open(io.BytesIO(mixed.png)).convert("RGB").getpixel((160, 120))
    assert centre == pytest.approx((128, 0, 128), abs=2)
    assert (bigger.width, bigger.height) == (640, 480) and bigger.recipe["params"][
        "scale_by"
    ] == 2.0


async def test_bearer_token_goes_on_every_request_and_the_websocket() -> None:
    async with LoopbackComfyUI(token="s3cret") as server:
        async with ComfyUIImageGenerator(server.base_url, token="s3cret") as generator:
            await generator.generate(spec(steps=2), job_id="t:a:0:0", on_progress=print_nothing)
        async with ComfyUIImageGenerator(server.base_url, token="wrong") as intruder:
            with pytest.raises(InvalidInput, match="token"):
                await intruder.generate(spec(), job_id="t:b:0:0", on_progress=print_nothing)

    good = [h for _, _, _, h in server.requests if h.get("authorization") == "Bearer s3cret"]
    assert len(good) >= 5 and len(server.posts("/prompt")) == 1
    sockets = [c["authorization"] for c in server.ws_connections]
    assert sockets[0] == "Bearer s3cret" and "Bearer wrong" in sockets


async def test_unreachable_server_says_what_to_check() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again below: nothing listens there
    started = time.monotonic()
    async with ComfyUIImageGenerator(f"http://127.0.0.1:{port}") as generator:
        with pytest.raises(ServiceUnavailable, match="COMFYUI_URL") as info:
            await generator.generate(spec(), job_id="t:a:0:0", on_progress=print_nothing)
    assert info.value.retryable and time.monotonic() - started < 5


def print_nothing(fraction: float, preview: bytes | None) -> None:
    """A progress callback for tests that do not look at progress."""
