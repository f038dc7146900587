"""Image generation jobs as metrics and spans: `instrument(images)` wraps a generator's
`generate` on the instance, so the object stays what it is (type checks on ComfyUI's generator
still hold) and every caller is counted, whichever node or format calls it."""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from telemetry import metrics, traces

G = TypeVar("G")


def backend_of(images: object) -> str:
    """The `backend` label: `embedded` for the built-in renderer, else the generator's name
    (`comfyui`, for one server or a pool)."""
    name = str(getattr(images, "name", type(images).__name__))
    return "embedded" if name == "renderer" else name


def instrument(images: G) -> G:
    """Count and trace each `images.generate(...)` call (`studio_generations_total`,
    `studio_generation_failures_total`, `studio_generation_duration_seconds`, an
    `image.generate` span). Instrumenting twice changes nothing."""
    generate: Callable[..., Awaitable[Any]] | None = getattr(images, "generate", None)
    if generate is None or getattr(generate, "__studio_observed__", False):
        return images
    backend = backend_of(images)

    @functools.wraps(generate)
    async def observed(spec: Any, *, job_id: str, **kwargs: Any) -> Any:
        attributes = {
            "studio.backend": backend,
            "studio.job_id": job_id,
            "studio.template": getattr(spec, "template", None),
            "studio.width": getattr(spec, "width", None),
            "studio.height": getattr(spec, "height", None),
        }
        started = time.perf_counter()
        with traces.span("image.generate", attributes) as span:
            try:
                made = await generate(spec, job_id=job_id, **kwargs)
            except asyncio.CancelledError:
                metrics.GENERATION_FAILURES.labels(backend, "cancelled").inc()
                raise
            except Exception as exc:
                code = getattr(exc, "code", None)
                metrics.GENERATION_FAILURES.labels(backend, str(code or "internal")).inc()
                raise
            finally:
                elapsed = time.perf_counter() - started
                metrics.GENERATION_SECONDS.labels(backend).observe(elapsed)
            metrics.GENERATIONS.labels(backend).inc()
            span.set_attribute("studio.images", len(made) if isinstance(made, list) else 1)
            return made

    observed.__studio_observed__ = True  # type: ignore[attr-defined]
    setattr(images, "generate", observed)  # noqa: B010 - on the instance, not the class
    return images
