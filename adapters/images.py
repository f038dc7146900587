"""The image-generator protocol: ComfyUI and the built-in renderer both implement it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

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
    """Everything needed to make it again: spec, seed, template, prompt id, server version."""


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
