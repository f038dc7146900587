"""Bounded, defaulted parameters for each Media Lab job kind, and the built-in versioned presets.

Every field has bounds and a default; unknown fields are rejected (no free-form input). Parse
untrusted JSON with `parse_params(kind, data)`: it raises `MediaInvalidInput` naming the field,
which the API maps to 422. A `Preset` is an immutable (id, version, kind, params) record; the
jobs layer stores new versions and checks them with the same models.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from adapters.media_lab.errors import MediaInvalidInput

Kind = Literal["upscale", "interpolate", "generate", "blend"]
KINDS: tuple[Kind, ...] = ("upscale", "interpolate", "generate", "blend")
"""Job kinds. `generate` is generation from references (`MediaLab.from_references`)."""

SUPPORTED_MULTIPLES = (2, 3, 4)
"""Interpolation raises the frame rate by one of these integer factors (60 -> 120 is 2x)."""

BlendMode = Literal["average", "multiply", "screen", "overlay", "soft_light", "difference"]
BLEND_MODES: tuple[BlendMode, ...] = (
    "average",
    "multiply",
    "screen",
    "overlay",
    "soft_light",
    "difference",
)
MIN_SOURCES, MAX_SOURCES = 2, 8


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class UpscaleParams(_Params):
    """Upscale by 2 or 4. The sharpening fields are the quality preset (unsharp mask after the
    resampling on the embedded path; ignored by a learned ComfyUI upscale model)."""

    factor: Literal[2, 4] = 2
    sharpen_radius: float = Field(1.2, ge=0.0, le=5.0, description="unsharp mask radius, px")
    sharpen_percent: int = Field(80, ge=0, le=300, description="unsharp mask strength, %")
    sharpen_threshold: int = Field(2, ge=0, le=32, description="levels below which no sharpening")
    use_model: bool = Field(
        True, description="ComfyUI: use a learned upscale model when the server lists one"
    )


class InterpolateParams(_Params):
    """Raise a video's frame rate by motion-compensated interpolation."""

    target_fps: float = Field(120.0, gt=0.0, le=240.0)
    chunk_frames: int = Field(120, ge=8, le=600, description="source frames per checkpoint")
    flow: Literal["dis", "farneback"] = "dis"
    flow_preset: Literal["ultrafast", "fast", "medium"] = Field(
        "medium", description="DIS optical flow quality (ignored by Farneback)"
    )

    def multiple_for(self, source_fps: float) -> int:
        """The integer factor from `source_fps` to `target_fps`; else `MediaInvalidInput`."""
        return check_target_fps(source_fps, self.target_fps)


class ReferenceParams(_Params):
    """Generation from reference images: how far to move from them, seed and output size."""

    strength: float = Field(0.55, ge=0.0, le=1.0, description="0 keeps the reference, 1 ignores it")
    seed: int = Field(0, ge=0, le=2**32 - 1)
    width: int = Field(768, ge=256, le=1536, multiple_of=8)
    height: int = Field(768, ge=256, le=1536, multiple_of=8)
    steps: int = Field(20, ge=1, le=60, description="ComfyUI sampler steps")
    cfg: float = Field(7.0, ge=1.0, le=15.0, description="ComfyUI classifier-free guidance")


class BlendParams(_Params):
    """Blend 2-8 images. Sources are folded left: acc = lerp(acc, mode(acc, src_i), w_i / W_i)
    with W_i the running weight sum, so `average` is the exact weighted mean. Sources are
    resized to the first one's size (cover, centre crop, bicubic), as ComfyUI's ImageBlend does."""

    mode: BlendMode = "average"


ParamsModel = UpscaleParams | InterpolateParams | ReferenceParams | BlendParams
MODEL_BY_KIND: dict[Kind, type[ParamsModel]] = {
    "upscale": UpscaleParams,
    "interpolate": InterpolateParams,
    "generate": ReferenceParams,
    "blend": BlendParams,
}


def _field_of(error: Any) -> str:
    loc = [str(part) for part in error.get("loc", ())]
    return ".".join(loc) if loc else "params"


def parse_params(kind: str, data: dict[str, Any] | None) -> ParamsModel:
    """Validate untrusted parameters for `kind`; `MediaInvalidInput` names the first bad field."""
    if kind not in MODEL_BY_KIND:
        raise MediaInvalidInput("kind", f"{kind!r} is not one of {', '.join(KINDS)}")
    model = MODEL_BY_KIND[kind]
    if data is not None and not isinstance(data, dict):
        raise MediaInvalidInput("params", "must be a JSON object")
    try:
        return model.model_validate(data or {})
    except ValidationError as exc:
        first = exc.errors()[0]
        raise MediaInvalidInput(
            _field_of(first), str(first.get("msg", "invalid")).removeprefix("Value error, ")
        ) from exc


def check_target_fps(source_fps: float, target_fps: float) -> int:
    """The supported integer multiple taking `source_fps` to `target_fps` (1% tolerance, so
    29.97 -> 119.88 is 4x), else `MediaInvalidInput("target_fps", ...)`."""
    if not (source_fps > 0 and math.isfinite(source_fps)):
        raise MediaInvalidInput("target_fps", "the source video has no usable frame rate")
    ratio = target_fps / source_fps
    multiple = round(ratio)
    if multiple in SUPPORTED_MULTIPLES and abs(ratio - multiple) <= 0.01 * multiple:
        return multiple
    allowed = ", ".join(f"{source_fps * m:g}" for m in SUPPORTED_MULTIPLES)
    raise MediaInvalidInput(
        "target_fps",
        f"{target_fps:g} fps is not a supported multiple "
        f"({'/'.join(f'{m}x' for m in SUPPORTED_MULTIPLES)}) of the source's {source_fps:g} fps; "
        f"choose one of {allowed}",
    )


def normalise_weights(weights: list[float] | None, count: int) -> list[float]:
    """Weights for `count` blend sources summing to 1 (equal when `weights` is None/empty).

    `MediaInvalidInput` names `srcs` (count outside 2-8) or `weights` (wrong length, negative,
    not finite, all zero)."""
    if not MIN_SOURCES <= count <= MAX_SOURCES:
        raise MediaInvalidInput(
            "srcs", f"a blend takes {MIN_SOURCES} to {MAX_SOURCES} images, not {count}"
        )
    if not weights:
        return [1.0 / count] * count
    if len(weights) != count:
        raise MediaInvalidInput("weights", f"{len(weights)} weights for {count} images")
    if any(not math.isfinite(w) or w < 0 or w > 1000 for w in weights):
        raise MediaInvalidInput("weights", "each weight is a number from 0 to 1000")
    total = math.fsum(weights)
    if total <= 0:
        raise MediaInvalidInput("weights", "at least one weight must be above 0")
    return [w / total for w in weights]


@dataclass(frozen=True)
class Preset:
    """An immutable, versioned parameter set for one kind. A job records (id, version)."""

    id: str
    version: int
    kind: Kind
    params: ParamsModel
    description: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "version": self.version,
            "kind": self.kind,
            "params": self.params.model_dump(mode="json"),
            "description": self.description,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Preset:
        """A preset from untrusted JSON (a Studio run's input); checked by the models."""
        kind = str(data.get("kind", ""))
        params = parse_params(kind, data.get("params"))
        preset_id = data.get("id")
        if (
            not isinstance(preset_id, str)
            or not (1 <= len(preset_id) <= 64)
            or not all(c.isalnum() or c in "-_." for c in preset_id)
        ):
            raise MediaInvalidInput("id", "1-64 letters, digits, '-', '_' or '.'")
        version = data.get("version", 1)
        if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= 10_000:
            raise MediaInvalidInput("version", "an integer from 1 to 10000")
        description = data.get("description", "")
        if not isinstance(description, str) or len(description) > 500:
            raise MediaInvalidInput("description", "text of at most 500 characters")
        return cls(preset_id, version, cast(Kind, kind), params, description)


BUILTIN_PRESETS: tuple[Preset, ...] = (
    Preset(
        "crisp",
        1,
        "upscale",
        UpscaleParams(factor=2, sharpen_radius=1.4, sharpen_percent=120, sharpen_threshold=2),
        "2x, strong unsharp mask: edges and line art",
    ),
    Preset(
        "soft",
        1,
        "upscale",
        UpscaleParams(factor=2, sharpen_radius=0.8, sharpen_percent=35, sharpen_threshold=4),
        "2x, gentle sharpening: skin, painterly images",
    ),
    Preset(
        "crisp-4x",
        1,
        "upscale",
        UpscaleParams(factor=4, sharpen_radius=2.0, sharpen_percent=110, sharpen_threshold=2),
        "4x, strong unsharp mask",
    ),
    Preset(
        "smooth-120",
        1,
        "interpolate",
        InterpolateParams(target_fps=120, chunk_frames=120, flow="dis", flow_preset="medium"),
        "60 -> 120 fps, DIS optical flow",
    ),
    Preset(
        "smooth-60",
        1,
        "interpolate",
        InterpolateParams(target_fps=60, chunk_frames=120, flow="dis", flow_preset="medium"),
        "30 -> 60 fps, DIS optical flow",
    ),
    Preset(
        "from-reference",
        1,
        "generate",
        ReferenceParams(strength=0.55, seed=0, width=768, height=768),
        "keep the references' palette and layout, moderate change",
    ),
    Preset("moodboard", 1, "blend", BlendParams(mode="average"), "weighted average of the set"),
    Preset("moodboard-screen", 1, "blend", BlendParams(mode="screen"), "light, airy overlay"),
)


def builtin_preset(preset_id: str, version: int | None = None) -> Preset:
    """A built-in preset (latest version when `version` is None); `MediaInvalidInput("preset")`."""
    found = [p for p in BUILTIN_PRESETS if p.id == preset_id and version in (None, p.version)]
    if not found:
        raise MediaInvalidInput(
            "preset",
            f"no built-in preset {preset_id!r}"
            + (f" version {version}" if version is not None else ""),
        )
    return max(found, key=lambda p: p.version)
