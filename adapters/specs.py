"""What to generate: the `GenerationSpec` every image generator honours, and its safe bounds.

The technical director proposes a `SpecProposal` (loose types, whatever a model returns) and
`clamp_spec` turns it into a `GenerationSpec` within `SpecLimits`, noting every adjustment.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, get_args

from pydantic import BaseModel, Field

from adapters.colours import normal_hex

Lighting = Literal["daylight", "golden hour", "dawn", "dusk", "night", "overcast", "studio", "neon"]
Camera = Literal["low", "eye", "high", "overhead"]
Weather = Literal["clear", "rain", "fog", "snow"]
Quality = Literal["draft", "standard", "high"]

LIGHTINGS: tuple[str, ...] = get_args(Lighting)
CAMERAS: tuple[str, ...] = get_args(Camera)
WEATHERS: tuple[str, ...] = get_args(Weather)
QUALITIES: tuple[str, ...] = get_args(Quality)
SAMPLERS: tuple[str, ...] = (
    "euler",
    "euler_ancestral",
    "dpmpp_2m",
    "dpmpp_2m_sde",
    "dpmpp_sde",
    "ddim",
    "uni_pc",
)
SCHEDULERS: tuple[str, ...] = ("normal", "karras", "exponential", "sgm_uniform", "simple")
DEFAULT_PALETTE: tuple[str, ...] = ("#2b2d42", "#8d99ae", "#edf2f4")
"""The palette of a spec that names none (slate, grey-blue, off-white)."""
BASE_NEGATIVE = "blurry, lowres, watermark, text, signature, jpeg artifacts, deformed"


class SpecProposal(BaseModel):
    """What a model proposes for one deliverable; loose on purpose, clamped afterwards."""

    # The fields every spec has, declared once: `GenerationSpec` narrows the choices and adds
    # its own. Loose here (any text for the choices, no bounds, an empty negative prompt or
    # palette); the docstring and fields are the JSON schema the technical director is asked for.

    deliverable: str
    """Deliverable id from the plan, e.g. `hero-a`."""
    prompt: str
    negative_prompt: str = ""
    template: str = "txt2img"
    """Workflow template (ComfyUI) or drawing mode (built-in renderer)."""
    width: int = 768
    height: int = 512
    steps: int = 24
    cfg: float = 6.5
    sampler: str = "dpmpp_2m"
    scheduler: str = "karras"
    seed: int = 0
    palette: list[str] = Field(default_factory=list)
    lighting: str = "daylight"
    brightness: float = 0.5
    """Overall key of the image, 0 (black) to 1 (white)."""
    contrast: float = 0.5
    mood: str = "neutral"
    subject: str = "figure"
    subject_x: float = 0.5
    """Horizontal centre of the subject, 0 (left) to 1 (right)."""
    subject_y: float = 0.6
    subject_scale: float = 0.35
    """Subject height as a fraction of the image height."""
    horizon: float = 0.55
    """Horizon line, 0 (top) to 1 (bottom)."""
    camera: str = "eye"
    weather: str = "clear"
    style_intensity: float = 0.5
    """How strongly the style is pushed; maps to cfg on ComfyUI."""
    quality: str = "standard"


class GenerationSpec(SpecProposal):
    """One image to make: a `SpecProposal` within safe bounds (`clamp_spec`), its choices
    narrowed to the known ones, plus what the studio adds (sketch, directions, references).
    Checkpoint-safe via `model_dump()`."""

    negative_prompt: str = BASE_NEGATIVE
    palette: list[str] = Field(default_factory=lambda: list(DEFAULT_PALETTE))
    """Target palette as `#rrggbb`, dominant colour first."""
    lighting: Lighting = "daylight"
    camera: Camera = "eye"
    weather: Weather = "clear"
    quality: Quality = "standard"
    sketch: bool = False
    """Made by a template with no generative model (a layout sketch): no sampler settings."""
    directions: list[str] = Field(default_factory=list)
    """The person's directions this spec carries (words, scope, source), for the lineage."""
    references: list[dict[str, str]] = Field(default_factory=list)
    """Reference images (`upload_id`, `sha256`) from the thread's settings; the first is the
    `img2img` template's init image. Empty: none (and not shown)."""
    reference_strength: float = 0.6
    """How far the result may move from the first reference: 0 keeps it, 1 ignores it."""
    colours: dict[str, str] = Field(default_factory=dict)
    """The colour the person named for a thing (`{"fox": "#c62828"}` from "a red fox"); the
    built-in renderer paints that thing in it. Empty: none named (and not shown)."""


_DEFAULTS: dict[str, Any] = {
    name: field.get_default(call_default_factory=True)
    for name, field in GenerationSpec.model_fields.items()
    if not field.is_required()
}
"""Each `GenerationSpec` field's default, what the clamp falls back to (declared on the field)."""

REFERENCE_FIELDS = frozenset({"references", "reference_strength"})
"""Shown only when a spec has references, so a spec without any reads as it always did."""

SAMPLER_FIELDS = frozenset({"steps", "cfg", "sampler", "scheduler"})
"""Settings only a sampler uses: a sketch's spec does not show them."""


def spec_dump(spec: GenerationSpec) -> dict[str, Any]:
    """The spec as stored and shown (state, lineage, recipes, exports): a sketch's without the
    sampler settings it does not use."""
    hidden = set(SAMPLER_FIELDS) if spec.sketch else set()
    if not spec.references:
        hidden |= REFERENCE_FIELDS
    if not spec.colours:
        hidden.add("colours")
    return spec.model_dump(exclude=hidden or None)


class SpecBatch(BaseModel):
    """The technical director's answer: one proposal per deliverable, and a short rationale."""

    specs: list[SpecProposal]
    rationale: str = ""


@dataclass(frozen=True)
class SpecLimits:
    """Safe bounds for generation parameters; every proposed value is clamped into them."""

    min_side: int = 256
    max_side: int = 2048
    max_pixels: int = 1536 * 1536
    min_steps: int = 4
    max_steps: int = 80
    min_cfg: float = 1.0
    max_cfg: float = 15.0
    max_prompt_chars: int = 2000
    max_negative_chars: int = 1000
    max_palette: int = 6


def _clip(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def _side(value: int, limits: SpecLimits) -> int:
    value = int(_clip(value, limits.min_side, limits.max_side))
    return max(limits.min_side, value - value % 8)


def _choice(value: str, allowed: tuple[str, ...], default: str) -> str:
    value = value.strip().lower().replace("-", " ") if value else ""
    if value in allowed:
        return value
    for option in allowed:  # "golden-hour light" -> "golden hour"
        if option in value:
            return option
    return default


def _palette(colours: list[str], limits: SpecLimits) -> list[str]:
    cleaned: list[str] = []
    for colour in colours:
        hex_colour = normal_hex(colour)
        if hex_colour and hex_colour not in cleaned:
            cleaned.append(hex_colour)
    return cleaned[: limits.max_palette] or list(DEFAULT_PALETTE)


def clamp_spec(
    proposal: SpecProposal | dict[str, Any], limits: SpecLimits | None = None
) -> tuple[GenerationSpec, list[str]]:
    """Bring a proposal within `limits`; return the safe spec and a note per adjustment."""
    limits = limits or SpecLimits()
    raw = proposal if isinstance(proposal, SpecProposal) else SpecProposal.model_validate(proposal)
    notes: list[str] = []
    width, height = _side(raw.width, limits), _side(raw.height, limits)
    while width * height > limits.max_pixels:
        width, height = _side(int(width * 0.9), limits), _side(int(height * 0.9), limits)
    if (width, height) != (raw.width, raw.height):
        notes.append(f"size {raw.width}x{raw.height} -> {width}x{height}")
    steps = int(_clip(raw.steps, limits.min_steps, limits.max_steps))
    if steps != raw.steps:
        notes.append(f"steps {raw.steps} -> {steps}")
    cfg = round(_clip(raw.cfg, limits.min_cfg, limits.max_cfg), 2)
    if cfg != raw.cfg:
        notes.append(f"cfg {raw.cfg} -> {cfg}")
    seed = abs(int(raw.seed)) % 2**32
    if seed != raw.seed:
        notes.append(f"seed {raw.seed} -> {seed}")
    prompt = " ".join(raw.prompt.split())[: limits.max_prompt_chars] or raw.subject or "an image"
    negative = " ".join(raw.negative_prompt.split())
    if not negative:
        negative = BASE_NEGATIVE
        notes.append("negative prompt was empty; using the safe default")
    negative = negative[: limits.max_negative_chars]
    sampler = raw.sampler if raw.sampler in SAMPLERS else _DEFAULTS["sampler"]
    scheduler = raw.scheduler if raw.scheduler in SCHEDULERS else _DEFAULTS["scheduler"]
    if sampler != raw.sampler or scheduler != raw.scheduler:
        notes.append(f"sampler {raw.sampler}/{raw.scheduler} -> {sampler}/{scheduler}")
    spec = GenerationSpec.model_validate(
        {
            "deliverable": raw.deliverable.strip() or "image",
            "template": raw.template.strip() or _DEFAULTS["template"],
            "prompt": prompt,
            "negative_prompt": negative,
            "width": width,
            "height": height,
            "steps": steps,
            "cfg": cfg,
            "sampler": sampler,
            "scheduler": scheduler,
            "seed": seed,
            "palette": _palette(raw.palette, limits),
            "lighting": _choice(raw.lighting, LIGHTINGS, _DEFAULTS["lighting"]),
            "brightness": _clip(raw.brightness, 0.02, 0.98),
            "contrast": _clip(raw.contrast, 0.0, 1.0),
            "mood": " ".join(raw.mood.split())[:60] or _DEFAULTS["mood"],
            "subject": " ".join(raw.subject.split())[:120] or _DEFAULTS["subject"],
            "subject_x": _clip(raw.subject_x, 0.05, 0.95),
            "subject_y": _clip(raw.subject_y, 0.05, 0.95),
            "subject_scale": _clip(raw.subject_scale, 0.05, 0.9),
            "horizon": _clip(raw.horizon, 0.05, 0.95),
            "camera": _choice(raw.camera, CAMERAS, _DEFAULTS["camera"]),
            "weather": _choice(raw.weather, WEATHERS, _DEFAULTS["weather"]),
            "style_intensity": _clip(raw.style_intensity, 0.0, 1.0),
            "quality": _choice(raw.quality, QUALITIES, _DEFAULTS["quality"]),
        }
    )
    return spec, notes


def downscaled(
    spec: GenerationSpec, factor: float = 0.75, limits: SpecLimits | None = None
) -> GenerationSpec:
    """The same spec at a lower resolution (after an out-of-memory failure)."""
    limits = limits or SpecLimits()
    width = _side(int(spec.width * factor), limits)
    height = _side(int(spec.height * factor), limits)
    return spec.model_copy(update={"width": width, "height": height})
