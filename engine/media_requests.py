"""What a Media Lab job request may say: bounded, defaulted, nothing free-form."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from adapters.media_lab.params import BlendMode

Kind = Literal["upscale", "interpolate", "generate", "blend"]
DEFAULT_PRESETS: dict[str, str] = {
    "upscale": "crisp",
    "interpolate": "smooth-120",
    "generate": "from-reference",
    "blend": "moodboard",
}
"""The preset a request without one runs with (built-ins, `adapters.media_lab.params`)."""
Name = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[\w.-]+$")]
Id = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[0-9a-fA-F-]+$")]


class JobRequest(BaseModel):
    """`POST /media/jobs` and `studio media submit`: the kind, its inputs (upload ids), a
    preset (id, optional version: its latest) and a few overrides of the preset's params."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Kind
    inputs: list[Id] = Field(default_factory=list, max_length=8)
    """Upload ids: 1 image (upscale), 1 video (interpolate), 1-8 references, 2-8 to blend."""
    preset: Name | None = None
    preset_version: int | None = Field(None, ge=1, le=10_000)
    params: dict[str, Any] | None = Field(None, max_length=16)
    """Overrides of the preset's parameters, checked with the kind's parameter model."""
    factor: Literal[2, 4] | None = None
    """upscale: 2x or 4x."""
    target_fps: float | None = Field(None, gt=0, le=240)
    """interpolate: the frame rate wanted, a supported multiple (2x, 3x, 4x) of the source's."""
    prompt: str | None = Field(None, max_length=2000)
    """generate: what to make from the references."""
    strength: float | None = Field(None, ge=0, le=1)
    """generate: 0 keeps the references, 1 ignores them."""
    weights: list[Annotated[float, Field(ge=0, le=1000)]] | None = Field(None, max_length=8)
    """blend: one weight per source (normalised); equal when absent."""
    mode: BlendMode | None = None
    """blend: how the sources combine."""
    thread_id: Annotated[str, StringConstraints(max_length=128, pattern=r"^[\w.-]+$")] | None = None
    """A studio thread the result joins, as a new variant of `deliverable` (for `generate`:
    the reference images attached to that thread; the prompt defaults to its brief)."""
    deliverable: Name | None = None
    """The thread's deliverable the result is a variant of (default: its first)."""

    def overrides(self) -> dict[str, Any]:
        """The params this request sets over its preset's."""
        out = dict(self.params or {})
        for key in ("factor", "target_fps", "strength", "mode"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out

    def recorded(self) -> dict[str, Any]:
        """The request as the job keeps it (what a retry repeats)."""
        return self.model_dump(mode="json", exclude_none=True)
