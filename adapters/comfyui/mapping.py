"""The spec → ComfyUI parameter table (the seed's mapping), with every value within bounds.

| spec | ComfyUI |
| --- | --- |
| style_intensity | cfg (scales the spec's cfg), img2img denoise, blend factor |
| quality | steps, sampler/scheduler, resolution |
| prompt, subject, mood, lighting, weather, camera, palette, key | positive prompt |
| negative_prompt | negative prompt |
| palette, horizon, subject position and scale | the model-free `compose` layout |
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from adapters.colours import colour_name, hex_int
from adapters.specs import DEFAULT_PALETTE, GenerationSpec, SpecLimits


@dataclass(frozen=True)
class QualityPreset:
    """How a quality level changes sampling."""

    steps_factor: float
    sampler: str | None
    """None keeps the spec's sampler."""
    scheduler: str | None
    size_factor: float


QUALITY: dict[str, QualityPreset] = {
    "draft": QualityPreset(0.5, "euler", "normal", 0.75),
    "standard": QualityPreset(1.0, None, None, 1.0),
    "high": QualityPreset(1.5, "dpmpp_2m_sde", "karras", 1.0),
}
_LIGHTING = {
    "daylight": "natural daylight",
    "golden hour": "golden hour light",
    "dawn": "soft dawn light",
    "dusk": "dusk light",
    "night": "night scene",
    "overcast": "overcast diffuse light",
    "studio": "studio lighting",
    "neon": "neon lighting",
}
_CAMERA = {
    "low": "low angle shot",
    "eye": "eye-level shot",
    "high": "high angle shot",
    "overhead": "overhead shot",
}
_WEATHER = {"rain": "rainy weather", "fog": "foggy atmosphere", "snow": "falling snow"}


def _clip(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def _side(value: float, limits: SpecLimits) -> int:
    side = int(_clip(value, limits.min_side, limits.max_side))
    return max(limits.min_side, side - side % 8)


def positive_prompt(spec: GenerationSpec, limits: SpecLimits) -> str:
    """The spec's prompt with subject, mood, light, weather, camera, key and palette folded in."""
    fragments = [spec.prompt, spec.subject]
    if spec.mood and spec.mood != "neutral":
        fragments.append(f"{spec.mood} mood")
    fragments.append(_LIGHTING.get(spec.lighting, spec.lighting))
    fragments.append(_WEATHER.get(spec.weather, ""))
    fragments.append(_CAMERA.get(spec.camera, ""))
    if spec.brightness >= 0.7:
        fragments.append("bright high-key image")
    elif spec.brightness <= 0.3:
        fragments.append("dark low-key image")
    if spec.contrast >= 0.7:
        fragments.append("high contrast")
    elif spec.contrast <= 0.3:
        fragments.append("soft low contrast")
    names = list(dict.fromkeys(colour_name(c) for c in spec.palette))
    if names:
        fragments.append("colour palette of " + ", ".join(names))
    kept: list[str] = []
    for fragment in (" ".join(f.split()) for f in fragments):
        if fragment and not any(fragment.lower() in k.lower() for k in kept):
            kept.append(fragment)
    return ", ".join(kept)[: limits.max_prompt_chars]


def cfg_for(spec: GenerationSpec, limits: SpecLimits) -> float:
    """Style intensity scales the spec's cfg: 0.5 keeps it, 0 gives 60 %, 1 gives 140 %."""
    return round(_clip(spec.cfg * (0.6 + 0.8 * spec.style_intensity), limits.min_cfg,
                       limits.max_cfg), 2)  # fmt: skip


def size_for(spec: GenerationSpec, limits: SpecLimits) -> tuple[int, int]:
    """Resolution after the quality factor: multiples of 8, within sides and pixel budget."""
    factor = QUALITY.get(spec.quality, QUALITY["standard"]).size_factor
    width, height = _side(spec.width * factor, limits), _side(spec.height * factor, limits)
    while width * height > limits.max_pixels:
        width, height = _side(width * 0.9, limits), _side(height * 0.9, limits)
    return width, height


def sampling_for(spec: GenerationSpec, limits: SpecLimits) -> dict[str, Any]:
    """Steps, sampler and scheduler for the spec's quality level."""
    preset = QUALITY.get(spec.quality, QUALITY["standard"])
    steps = int(_clip(round(spec.steps * preset.steps_factor), limits.min_steps, limits.max_steps))
    return {
        "steps": steps,
        "sampler": preset.sampler or spec.sampler,
        "scheduler": preset.scheduler or spec.scheduler,
    }


def layout_for(spec: GenerationSpec, width: int, height: int) -> dict[str, int]:
    """Boxes and colours for the model-free `compose` template."""
    palette = spec.palette or list(DEFAULT_PALETTE)
    horizon = int(_clip(round(spec.horizon * height), 1, height - 1))
    subject_h = int(_clip(round(spec.subject_scale * height), 8, height))
    subject_w = int(_clip(round(subject_h * 0.45), 8, width))
    return {
        "background_color": hex_int(palette[0]),
        "subject_color": hex_int(palette[1 % len(palette)]),
        "ground_color": hex_int(palette[2 % len(palette)]),
        "horizon_y": horizon,
        "ground_height": height - horizon,
        "subject_width": subject_w,
        "subject_height": subject_h,
        "subject_left": int(_clip(round(spec.subject_x * width - subject_w / 2), 0, width - 1)),
        "subject_top": int(_clip(round(spec.subject_y * height - subject_h / 2), 0, height - 1)),
    }


def spec_params(spec: GenerationSpec, *, seed: int, limits: SpecLimits) -> dict[str, Any]:
    """Every parameter a template may bind, computed from the spec."""
    width, height = size_for(spec, limits)
    return {
        "positive": positive_prompt(spec, limits),
        "negative": " ".join(spec.negative_prompt.split())[: limits.max_negative_chars],
        "width": width,
        "height": height,
        "cfg": cfg_for(spec, limits),
        "seed": seed,
        "denoise": round(0.3 + 0.5 * _clip(spec.style_intensity, 0.0, 1.0), 2),
        "blend_factor": round(_clip(spec.style_intensity, 0.0, 1.0), 2),
        **sampling_for(spec, limits),
        **layout_for(spec, width, height),
    }


def slug(text: str) -> str:
    """A filename-safe fragment (for `filename_prefix`)."""
    return re.sub(r"[^a-z0-9_-]+", "-", text.lower()).strip("-")[:40] or "image"
