"""The image-generator protocol: ComfyUI and the built-in renderer both implement it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from adapters.specs import GenerationSpec

ProgressFn = Callable[[float, bytes | None], None]
"""Called with the fraction done (0..1) and, when the generator has one, a preview image."""


@dataclass(frozen=True)
class GeneratedImage:
    """One finished image: PNG bytes with the recipe embedded, plus what made it."""

    png: bytes
    width: int
    height: int
    generator: str
    """`renderer` (built-in) or `comfyui`."""
    recipe: dict[str, object] = field(default_factory=dict)
    """Everything needed to make it again: spec, seed, template, prompt id, server version;
    and `sketch` (bool): True when no generative model made it (see `TemplateTraits`)."""


@dataclass(frozen=True)
class TemplateTraits:
    """What kind of image a template makes, so specs and labels say the truth about it."""

    sketch: bool
    """A layout sketch drawn without a generative model (the built-in renderer, ComfyUI's
    `compose`): label it as a sketch in specs, the gallery, the CLI and the lineage."""
    sampler: bool
    """Whether steps, cfg, sampler and scheduler reach the image; when False a spec must
    not show them."""


MODEL_TRAITS = TemplateTraits(sketch=False, sampler=True)
"""A text-to-image model behind a sampler: what a generator is taken to be unless it says."""


@runtime_checkable
class DescribesTemplates(Protocol):
    """A generator that can say, per template, whether it sketches and uses a sampler."""

    def traits(self, template: str) -> TemplateTraits:
        """The traits of `template` (no I/O; unknown templates count as model-based)."""
        ...


def template_traits(images: object, template: str) -> TemplateTraits:
    """Whether `template` on generator `images` makes a sketch and uses a sampler.

    The one question the director and the labels ask. Generators without `traits` (test
    doubles) are taken as model-based.
    """
    if isinstance(images, DescribesTemplates):
        return images.traits(template)
    return MODEL_TRAITS


class ImageGenerator(Protocol):
    """Something that turns a `GenerationSpec` into images."""

    name: str
    """Short label shown to people and stored in lineage (`renderer`, `comfyui`)."""

    async def generate(
        self, spec: GenerationSpec, *, job_id: str, on_progress: ProgressFn
    ) -> list[GeneratedImage]:
        """Make the images for `spec`. `job_id` is stable across retries (exactly-once)."""
        ...

    async def cancel(self, job_id: str) -> None:
        """Cancel the job if it is queued or running; a no-op when it is not."""
        ...

    async def templates(self) -> list[str]:
        """The templates a spec may name that this generator can run now, preferred first."""
        ...

    async def describe(self) -> dict[str, Any]:
        """What the generator is and can do now, as plain data (startup log, `studio check`).
        Raises `ServiceUnavailable` when its server cannot be reached."""
        ...
