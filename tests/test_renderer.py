"""The built-in renderer draws what the spec asks for, embeds its recipe, reports and cancels."""

from __future__ import annotations

import asyncio
import io
from typing import Any

import numpy as np
import pytest
from PIL import Image

from adapters.errors import GenerationCancelled, GenerationFailed
from adapters.pixels import PALETTE_ACCEPTABLE, measure, palette_distance
from adapters.render_canvas import new_canvas
from adapters.render_scene import draw_scenery, draw_sky
from adapters.render_subject import draw_subject
from adapters.renderer import RECIPE_KEY, Renderer, read_recipe, render
from adapters.specs import GenerationSpec

NEON = ["#0b0f2a", "#ff2e88", "#00e5ff", "#7b2cbf"]
MEADOW = ["#f4a259", "#8cb369", "#f4e285", "#5b8e7d"]


def spec(**changes: Any) -> GenerationSpec:
    base: dict[str, Any] = {
        "deliverable": "hero-a",
        "prompt": "golden hour meadow, a lone walker",
        "width": 384,
        "height": 256,
        "seed": 7,
        "palette": MEADOW,
        "lighting": "golden hour",
    }
    return GenerationSpec(**{**base, **changes})


def pixels(image: Image.Image) -> np.ndarray[Any, np.dtype[np.float64]]:
    return np.asarray(image, dtype=np.float64) / 255


def test_same_spec_renders_identical_pixels_and_other_seed_differs() -> None:
    first, again, other = render(spec()), render(spec()), render(spec(seed=8))
    assert first.tobytes() == again.tobytes()
    assert np.abs(pixels(first) - pixels(other)).mean() > 0.01


@pytest.mark.parametrize(("width", "height"), [(384, 256), (256, 512), (520, 312)])
def test_size_is_honoured(width: int, height: int) -> None:
    assert render(spec(width=width, height=height)).size == (width, height)


@pytest.mark.parametrize(
    ("lighting", "prompt"),
    [
        ("daylight", "forest in daylight"),
        ("night", "city at night"),
        ("neon", "cyberpunk street"),
        ("studio", "product shot"),
    ],
)
def test_brightness_tracks_the_spec(lighting: str, prompt: str) -> None:
    measured = [
        measure(render(spec(lighting=lighting, prompt=prompt, brightness=b))).brightness
        for b in (0.25, 0.5, 0.75)
    ]
    assert measured == sorted(measured)
    for target, got in zip((0.25, 0.5, 0.75), measured, strict=True):
        assert abs(got - target) < 0.08


def test_contrast_tracks_the_spec() -> None:
    flat = measure(render(spec(contrast=0.2))).contrast
    punchy = measure(render(spec(contrast=0.8))).contrast
    assert punchy > flat + 0.3


@pytest.mark.parametrize(
    ("prompt", "lighting", "palette"),
    [
        ("cyberpunk street at night", "neon", NEON),
        ("golden hour meadow", "golden hour", MEADOW),
        ("lake at dawn", "dawn", ["#cdb4db", "#a2d2ff", "#ffc8dd"]),
    ],
)
def test_palette_is_followed(prompt: str, lighting: str, palette: list[str]) -> None:
    reds = ["#9d0208", "#d00000", "#e85d04"]
    dominant = measure(render(spec(prompt=prompt, lighting=lighting, palette=palette))).dominant
    own, contrasting = palette_distance(dominant, palette), palette_distance(dominant, reds)
    assert own < PALETTE_ACCEPTABLE
    assert contrasting > own + 0.25


def test_subject_x_moves_the_measured_subject() -> None:
    left = measure(render(spec(subject_x=0.25))).subject_x
    right = measure(render(spec(subject_x=0.75))).subject_x
    assert abs(left - 0.25) < 0.1
    assert abs(right - 0.75) < 0.1


@pytest.mark.parametrize("prompt", ["golden hour meadow", "city street at dusk"])
def test_horizon_moves_the_measured_horizon(prompt: str) -> None:
    for horizon in (0.4, 0.7):
        assert abs(measure(render(spec(prompt=prompt, horizon=horizon))).horizon - horizon) < 0.05


def test_low_camera_looms_and_high_camera_shrinks_the_subject() -> None:
    def coverage(camera: str) -> float:
        canvas = new_canvas(spec(camera=camera))
        rng = np.random.default_rng(0)
        for stage in (draw_sky, draw_scenery, draw_subject):
            stage(canvas, rng)
        return float(canvas.subject.sum())

    assert coverage("low") > coverage("eye") > coverage("high")


def test_weather_changes_pixels_measurably() -> None:
    street = {"prompt": "city street", "lighting": "overcast"}
    clear, rain, fog, snow = (
        render(spec(**street, weather=weather)) for weather in ("clear", "rain", "fog", "snow")
    )
    assert np.abs(pixels(rain) - pixels(clear)).mean() > 0.015
    assert measure(rain).edge_density > 1.3 * measure(clear).edge_density  # streaks
    assert measure(snow).edge_density > 1.3 * measure(clear).edge_density  # flakes
    assert measure(fog).contrast < measure(clear).contrast - 0.1  # haze flattens
    assert measure(fog).edge_density < measure(clear).edge_density


async def generate(renderer: Renderer, job_id: str = "job-1", **changes: Any) -> Any:
    progress: list[tuple[float, bytes | None]] = []
    images = await renderer.generate(
        spec(**changes), job_id=job_id, on_progress=lambda f, p: progress.append((f, p))
    )
    return images, progress


@pytest.mark.anyio
async def test_recipe_round_trips_through_png_metadata() -> None:
    wanted = spec(seed=42)
    (image,), _ = await generate(Renderer(), seed=42)
    recipe = read_recipe(image.png)
    assert recipe == image.recipe
    assert recipe["generator"] == image.generator == "renderer"
    assert recipe["job_id"] == "job-1"
    assert GenerationSpec.model_validate(recipe["spec"]) == wanted
    with Image.open(io.BytesIO(image.png)) as png:
        assert png.size == (image.width, image.height) == (384, 256)
        text = png.text
    assert RECIPE_KEY in text
    assert text["parameters"].startswith(wanted.prompt + "\nNegative prompt: ")
    assert (
        "Seed: 42, Size: 384x256, Generator: creative-studio built-in renderer"
        in text["parameters"]
    )
    assert text["Software"].startswith("Creative Studio built-in renderer")


@pytest.mark.anyio
async def test_same_job_gives_identical_png_bytes() -> None:
    (first,), _ = await generate(Renderer())
    (again,), _ = await generate(Renderer())
    assert first.png == again.png


def test_plain_png_has_no_recipe() -> None:
    out = io.BytesIO()
    Image.new("RGB", (8, 8)).save(out, format="PNG")
    assert read_recipe(out.getvalue()) == {}


@pytest.mark.anyio
async def test_progress_increases_to_one_with_previews() -> None:
    _, progress = await generate(Renderer())
    fractions = [f for f, _ in progress]
    assert len(fractions) >= 5
    assert fractions == sorted(set(fractions))
    assert fractions[-1] == 1.0
    previews = [p for _, p in progress if p is not None]
    assert previews
    with Image.open(io.BytesIO(previews[-1])) as preview:
        assert max(preview.size) <= 192


@pytest.mark.anyio
async def test_cancel_mid_job_raises_generation_cancelled() -> None:
    renderer = Renderer(stage_delay_s=0.05)
    started = asyncio.Event()
    task = asyncio.create_task(
        renderer.generate(spec(), job_id="job-9", on_progress=lambda f, p: started.set())
    )
    await started.wait()
    await renderer.cancel("job-9")
    with pytest.raises(GenerationCancelled):
        await task


@pytest.mark.anyio
async def test_cancelling_an_unknown_job_does_not_cancel_it_later() -> None:
    renderer = Renderer()
    await renderer.cancel("job-1")
    (image,), _ = await generate(renderer, job_id="job-1")
    assert image.width == 384


@pytest.mark.anyio
async def test_cancelling_the_task_stops_the_job() -> None:
    renderer = Renderer(stage_delay_s=0.05)
    started = asyncio.Event()
    task = asyncio.create_task(
        renderer.generate(spec(), job_id="job-3", on_progress=lambda f, p: started.set())
    )
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert renderer._jobs == {}


@pytest.mark.anyio
async def test_a_spec_that_cannot_be_drawn_fails_as_generation_failed() -> None:
    with pytest.raises(GenerationFailed, match="could not draw 'hero-a'"):
        await generate(Renderer(), width=0)
