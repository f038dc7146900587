"""The built-in renderer: draws a real scene from a `GenerationSpec` with Pillow and numpy."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
from collections.abc import Callable
from typing import Any

import numpy as np
from PIL import Image, ImageFilter, PngImagePlugin

from adapters.errors import GenerationCancelled, GenerationFailed, StudioError
from adapters.images import GeneratedImage, ProgressFn, TemplateTraits
from adapters.pixels import CONTRAST_SCALE, FOG_CONTRAST, MEASURE_SIDE, SPREAD_REACH
from adapters.render_canvas import (
    Arr,
    Canvas,
    Rng,
    as_mask,
    asked_disc,
    f32,
    luma,
    mix,
    new_canvas,
    rgb,
    sun_disc,
)
from adapters.render_elements import draw_elements
from adapters.render_scene import draw_scenery, draw_sky
from adapters.render_subject import draw_subject, draw_weather
from adapters.render_text import layout, letter
from adapters.render_vocab import MOODS, pick, undrawable, vocabulary
from adapters.render_words import Reading
from adapters.specs import GenerationSpec, spec_dump

RENDERER_VERSION = "1.5"
RECIPE_KEY = "studio:recipe"
SOFTWARE = f"Creative Studio built-in renderer {RENDERER_VERSION}"
_PREVIEW_SIDE = 192
_TONE_PASSES = 3
_TONE_CLOSE = 0.006  # a tone pass this close (2 x mean miss + spread miss) is kept
_SOLVE_SIDE = 128  # the curve is solved on a sample this size, then checked at full size
_GRADE_SOFTNESS = 0.02  # squared chroma distance over which palette colours blend
_MOOD_STRENGTH = 0.1  # a hint of the mood; the palette must still lead
_WARMTH = np.array([0.16, 0.04, -0.16], np.float32)  # per unit of warmth, on the whole frame
SKETCH = TemplateTraits(sketch=True, sampler=False)
"""Whatever the template, the renderer draws a layout sketch and has no sampler."""


def _bloom(glow: Arr, radius: float) -> Arr:
    """Soft light spill around emitters, blurred at quarter size for speed."""
    h, w = glow.shape[:2]
    img = Image.fromarray((np.clip(glow, 0, 1) * 255).astype(np.uint8))
    small = img.resize((max(1, w // 4), max(1, h // 4)), Image.Resampling.BOX)
    small = small.filter(ImageFilter.GaussianBlur(radius / 4))
    return as_mask(small.resize((w, h), Image.Resampling.BILINEAR))


def _grade(image: Arr, palette: Arr, strength: float) -> Arr:
    """Pull each pixel toward the hues of the palette colours nearest to it, keeping its luma.

    A soft (softmax) choice of palette colour keeps gradients smooth where the nearest colour
    changes; it is made at half resolution, one palette colour at a time on whole planes,
    which is what keeps it fast.
    """
    h, w = image.shape[:2]
    half = image[::2, ::2]
    lum_half, pal_lum = luma(half), luma(palette)
    planes = [np.ascontiguousarray(half[..., i]) - lum_half for i in range(3)]
    scale = f32(palette / np.maximum(pal_lum, 0.03)[:, None])
    dists = []
    for colour, colour_lum in zip(palette, pal_lum, strict=True):
        dist = 0.25 * (lum_half - colour_lum) ** 2
        for plane, value in zip(planes, colour - colour_lum, strict=True):
            dist += (plane - value) ** 2
        dists.append(dist)
    nearest = np.minimum.reduce(dists)
    weights = [np.exp((nearest - d) / _GRADE_SOFTNESS) for d in dists]
    total = np.add.reduce(weights)
    blend = sum(wt[..., None] * s for wt, s in zip(weights, scale, strict=True)) / total[..., None]
    blend = blend.repeat(2, axis=0).repeat(2, axis=1)[:h, :w]
    return mix(image, f32(blend) * luma(image)[..., None], strength)


def _sample(image: Arr, side: int) -> Arr:
    """`image` box-averaged to about `side` on its longer side, lights clipped to white first
    as the 8-bit image will be: at `MEASURE_SIDE` it reads tone as Lens does. (A strided
    sample counts each star and window at full strength where the measurement averages it
    into the dark around it, so a tone aimed at it fell short on the image.)"""
    h, w = image.shape[:2]
    f = max(1, -(-max(h, w) // side))
    hh, ww = h // f * f, w // f * f
    clipped = np.minimum(image[:hh, :ww], 1.0)
    out: Arr = clipped.reshape(hh // f, f, ww // f, f, 3).mean(axis=(1, 3))
    return out


def _tone(image: Arr, mean: float, std: float) -> Arr:
    """Remap luma (contrast about the mean, then a gamma) so it hits `mean` and `std`.

    Colours are scaled by the luma ratio rather than curved per channel, which would wash out
    dark saturated palettes. The knobs interact and the gamut limit moves the mean, so they are
    solved on a small sample (a bisected gamma per contrast, a few rounds); the curve clips
    thin lights and dark rows the sample averages, so the full result is then read the way
    Lens reads it and the aim corrected by what it missed (`_TONE_PASSES` in all).
    """
    base = np.maximum(image, 0.002)
    sub = np.maximum(_sample(image, _SOLVE_SIDE), 0.002)
    pivot = float(luma(sub).mean())
    # Brightness wins over contrast: the spread is capped to what an image with this mean can
    # have, and a contrast that clips too much to reach the mean is backed off.
    std = min(std, SPREAD_REACH * (mean * (1 - mean)) ** 0.5)
    aim_mean, aim_std = mean, std
    best: tuple[float, Arr] = (np.inf, image)
    for _ in range(_TONE_PASSES):
        k, g = _tone_curve(sub, pivot, aim_mean, aim_std)
        out = _tone_apply(base, pivot, k, g)
        got = luma(_sample(out, MEASURE_SIDE))
        miss = 2 * abs(float(got.mean()) - mean) + abs(float(got.std()) - std)
        if miss < best[0]:
            best = (miss, out)
        if miss < _TONE_CLOSE:
            break
        aim_mean = float(np.clip(aim_mean + mean - float(got.mean()), 0.01, 0.99))
        aim_std *= std / max(float(got.std()), 1e-4)
    return best[1]


def _tone_apply(a: Arr, pivot: float, k: float, g: float) -> Arr:
    """The tone curve: luma stretched by `k` about `pivot`, then gamma `g`."""
    lum = luma(a)[..., None]
    new = np.clip(pivot + (lum - pivot) * k, 0.002, 1) ** g
    out = a * (new / lum)
    # Past white, give up saturation rather than luma: hue and brightness both survive.
    peak = out.max(axis=-1, keepdims=True)
    fit = np.where(peak > 1, (1 - new) / np.maximum(peak - new, 1e-6), 1.0)
    result: Arr = np.clip(new + (out - new) * fit, 0, 1)
    return result


def _tone_curve(sub: Arr, pivot: float, mean: float, std: float) -> tuple[float, float]:
    """The stretch and gamma that give `sub` this `mean` (first) and `std` (as near as the
    mean allows)."""

    def gamma_for(k: float) -> float:
        lo, hi = -5.0, 5.0  # log gamma; the mean falls as gamma rises
        for _ in range(16):
            if luma(_tone_apply(sub, pivot, k, float(np.exp((lo + hi) / 2)))).mean() < mean:
                hi = (lo + hi) / 2
            else:
                lo = (lo + hi) / 2
        return float(np.exp((lo + hi) / 2))

    best: tuple[float, float, float, float] = (np.inf, np.inf, 1.0, 1.0)
    k = 1.0
    for _ in range(8):
        g = gamma_for(k)
        lum = luma(_tone_apply(sub, pivot, k, g))
        miss, got = abs(float(lum.mean()) - mean), float(lum.std())
        best = min(best, (round(miss, 2), abs(got - std), k, g))
        k = k * 0.6 if miss > 0.01 else k * (std / max(got, 1e-4)) ** 1.5
        k = float(np.clip(k, 0.1, 8))
    return best[2], best[3]


def _grading(c: Canvas) -> Arr:
    """The palette the image is graded toward: without the colours named for things (a red
    boat's red would pull the lighthouse beside it to red too)."""
    named = [rgb(h) for h in c.words.colours.values()]
    kept = [p for p in c.palette if not any(np.allclose(p, n, atol=0.01) for n in named)]
    return np.stack(kept) if len(kept) >= 2 else c.palette


def finish(c: Canvas, rng: Rng) -> Image.Image:
    """Bloom, tints, saturation and tone to the requested brightness and contrast; 8-bit out."""
    spec, light = c.spec, c.light
    warm = 1 + _WARMTH * c.words.warmth
    glow = c.glow * (1 + 2 * _WARMTH * c.words.warmth)  # lamps and windows warm the most
    image = c.rgb + glow + _bloom(glow, 0.03 * max(c.h, c.w)) * (0.5 + 0.4 * light.emissive)
    image = mix(image, image * rgb(light.tint), 0.35)
    mood = pick(spec.mood, MOODS)
    if mood:
        image = mix(image, image * rgb(mood) * 1.3, _MOOD_STRENGTH)
    graded = _grade(image, _grading(c), 0.5)
    if c.ungraded is not None:
        graded = mix(graded, image, c.ungraded[..., None])
    image = graded * warm
    grey = luma(image)[..., None]
    image = np.maximum(mix(grey, image, 0.8 + 0.6 * spec.style_intensity), 0)
    ys = np.linspace(-1, 1, c.h, dtype=np.float32)[:, None]
    xs = np.linspace(-1, 1, c.w, dtype=np.float32)[None, :]
    image = image * (1 - 0.18 * (xs**2 + ys**2))[..., None]
    std = CONTRAST_SCALE * spec.contrast * (0.9 + 0.2 * spec.style_intensity)
    std *= FOG_CONTRAST if spec.weather == "fog" else 1.0
    image = _tone(image.astype(np.float32), spec.brightness, max(std, 0.01))
    image = image + rng.standard_normal((c.h, c.w, 1), dtype=np.float32) * 0.012
    return Image.fromarray((np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8))


STAGES: tuple[tuple[str, Callable[[Canvas, Rng], object], float], ...] = (
    ("sky", draw_sky, 0.2),
    ("scene", draw_scenery, 0.4),
    ("subject", draw_subject, 0.55),
    ("elements", draw_elements, 0.7),
    ("weather", draw_weather, 0.8),
)


def _rng(spec: GenerationSpec, stage: int) -> Rng:
    # One stream per stage: moving the subject never reshuffles the buildings or the rain.
    return np.random.default_rng([spec.seed, stage])


_COLOURISH = frozenset(
    "light dark deep dusty pale warm cold cool bright soft muted rich hot electric burnt "
    "red orange yellow green blue navy teal cyan magenta purple violet pink rose amber gold "
    "golden brown black white grey gray indigo maroon coral peach cream ivory olive lime "
    "turquoise crimson scarlet charcoal slate silver bronze copper beige mauve lavender lilac "
    "plum ochre rust sand mint jade emerald sapphire ruby burgundy".split()
)


def _scene_words(prompt: str) -> str:
    """The prompt without its palette phrase ("palette of deep navy, dusty rose"): colour names
    are not things to draw."""
    kept, in_palette = [], False
    for phrase in prompt.split(","):
        words = phrase.lower().split()
        if words[:2] == ["palette", "of"]:
            in_palette, words = True, words[2:]
        if in_palette and words and all(w in _COLOURISH for w in words):
            continue
        in_palette = False
        kept.append(phrase)
    return ",".join(kept)


def render(spec: GenerationSpec) -> Image.Image:
    """Draw `spec`; pure and deterministic in the spec (seed included)."""
    canvas = new_canvas(spec)
    for index, (_, stage, _) in enumerate(STAGES):
        stage(canvas, _rng(spec, index))
    return _lettered(finish(canvas, _rng(spec, len(STAGES))), canvas.words, spec)


def _lettered(image: Image.Image, words: Reading, spec: GenerationSpec) -> Image.Image:
    letter(image, spec, words.lettering.text)
    return image


def drawn(words: Reading, spec: GenerationSpec) -> dict[str, object]:
    """What the renderer made of the spec's words, for the recipe and the lineage: where it
    lettered text (`text_box`: left, top, right, bottom in pixels), and what the prompt names
    that it cannot draw (the ComfyUI prompt still carries those)."""
    return {
        "subject": words.subject,
        "elements": [e.kind if e.count == 1 else f"{e.kind} x{e.count}" for e in words.elements],
        "lighting": words.lighting,
        "weather": words.weather,
        "intensity": words.intensity,
        "warmth": words.warmth,
        "text": words.lettering.text,
        "text_box": list(layout(spec, text).box) if (text := words.lettering.text) else None,
        "cannot_draw": [
            *undrawable(f"{spec.subject}, {_scene_words(spec.prompt)}"),
            # a moon asked for where this light has none (overcast, neon, a studio)
            *([] if sun_disc(spec) or not asked_disc(spec.prompt) else ["moon"]),
        ],
    }


def _preview(image: Image.Image | Canvas) -> bytes:
    if isinstance(image, Canvas):
        raw = np.clip(image.rgb + image.glow, 0, 1) * 255
        image = Image.fromarray(raw.astype(np.uint8))
    thumb = image.copy()
    thumb.thumbnail((_PREVIEW_SIDE, _PREVIEW_SIDE))
    out = io.BytesIO()
    thumb.save(out, format="PNG")
    return out.getvalue()


def parameters(spec: GenerationSpec) -> str:
    """The recipe in the A1111 `parameters` style that many image tools read."""
    # No steps, sampler or CFG: the renderer has none, and a sketch must not claim them.
    return (
        f"{spec.prompt}\nNegative prompt: {spec.negative_prompt}\n"
        f"Seed: {spec.seed}, Size: {spec.width}x{spec.height}, "
        f"Generator: creative-studio built-in renderer, Sketch: true"
    )


def encode_png(image: Image.Image, spec: GenerationSpec, recipe: dict[str, object]) -> bytes:
    """PNG bytes with the recipe, the A1111 parameters and the software embedded."""
    info = PngImagePlugin.PngInfo()
    info.add_text(RECIPE_KEY, json.dumps(recipe, sort_keys=True))  # iTXt when not Latin-1
    info.add_text("parameters", parameters(spec))
    info.add_text("Software", SOFTWARE)
    out = io.BytesIO()
    image.save(out, format="PNG", pnginfo=info)
    return out.getvalue()


def read_recipe(png: bytes) -> dict[str, object]:
    """The `studio:recipe` embedded in a PNG; empty when it carries none."""
    with Image.open(io.BytesIO(png)) as img:
        text = img.text if isinstance(img, PngImagePlugin.PngImageFile) else {}
    raw = text.get(RECIPE_KEY)
    if raw is None:
        return {}
    recipe = json.loads(raw)
    return recipe if isinstance(recipe, dict) else {}


class Renderer:
    """The built-in image generator: no model, no network, a real scene drawn from the spec."""

    name = "renderer"

    def __init__(self, *, stage_delay_s: float = 0.0) -> None:
        self.stage_delay_s = stage_delay_s
        """Artificial pause before each stage, so demos and tests can watch or cancel."""
        self._jobs: dict[str, asyncio.Event] = {}

    async def templates(self) -> list[str]:
        """The renderer draws every spec the same way: the plain text-to-image template."""
        return ["txt2img"]

    def traits(self, template: str) -> TemplateTraits:
        """Every image it makes is a sketch, and it has no sampler (steps, cfg) at all."""
        return SKETCH

    async def describe(self) -> dict[str, Any]:
        """Its templates (sketches, no sampler) and the vocabulary it draws from the words."""
        return {
            "generator": self.name,
            "detail": "built-in Pillow renderer (no model, no GPU)",
            "templates": {
                "txt2img": {"runnable": True, "missing": [], "sketch": True, "sampler": False}
            },
            "vocabulary": vocabulary(),
        }

    async def generate(
        self, spec: GenerationSpec, *, job_id: str, on_progress: ProgressFn
    ) -> list[GeneratedImage]:
        """Draw `spec` stage by stage off the event loop, reporting progress with previews.

        `cancel(job_id)` stops it at the next stage with `GenerationCancelled`; cancelling the
        task raises `CancelledError` as usual, so timeouts and task groups keep working.
        """
        cancelled = asyncio.Event()
        self._jobs[job_id] = cancelled
        try:
            return [await self._draw(spec, job_id, on_progress, cancelled)]
        except StudioError:
            raise
        except Exception as exc:
            message = f"The built-in renderer could not draw {spec.deliverable!r}: {exc}"
            raise GenerationFailed(message) from exc
        finally:
            if self._jobs.get(job_id) is cancelled:
                del self._jobs[job_id]

    async def _draw(
        self, spec: GenerationSpec, job_id: str, on_progress: ProgressFn, cancelled: asyncio.Event
    ) -> GeneratedImage:
        canvas = await asyncio.to_thread(new_canvas, spec)
        for index, (_, stage, fraction) in enumerate(STAGES):
            await self._checkpoint(job_id, cancelled)
            await asyncio.to_thread(stage, canvas, _rng(spec, index))
            on_progress(fraction, await asyncio.to_thread(_preview, canvas))
        await self._checkpoint(job_id, cancelled)
        image = await asyncio.to_thread(finish, canvas, _rng(spec, len(STAGES)))
        image = await asyncio.to_thread(_lettered, image, canvas.words, spec)
        on_progress(0.95, None)
        recipe: dict[str, object] = {
            "generator": self.name,
            "renderer_version": RENDERER_VERSION,
            "job_id": job_id,
            "sketch": True,
            "drawn": drawn(canvas.words, spec),
            "spec": spec_dump(spec),
        }
        png = await asyncio.to_thread(encode_png, image, spec, recipe)
        on_progress(1.0, await asyncio.to_thread(_preview, image))
        return GeneratedImage(
            png=png, width=image.width, height=image.height, generator=self.name, recipe=recipe
        )

    async def _checkpoint(self, job_id: str, cancelled: asyncio.Event) -> None:
        if self.stage_delay_s > 0 and not cancelled.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.stage_delay_s):
                    await cancelled.wait()
        if cancelled.is_set():
            raise GenerationCancelled(f"Image generation {job_id} was cancelled.")

    async def cancel(self, job_id: str) -> None:
        """Stop the job between stages; a no-op for a job that is not running."""
        if (event := self._jobs.get(job_id)) is not None:
            event.set()
