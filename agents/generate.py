"""Generation: one job per deliverable, fanned out with `Send`, exactly once per job id."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import Send
from typing_extensions import TypedDict

from adapters.errors import GenerationCancelled, OutOfMemory
from adapters.specs import GenerationSpec, downscaled
from graph.context import StudioContext, resolve
from graph.emit import emit, notice
from graph.state import Generation, StudioState

PREVIEW_MAX_BYTES = 48_000
"""Previews larger than this are announced without their bytes (the event log stays small)."""


class GenerateTask(TypedDict):
    """What one generation job needs (the `Send` payload)."""

    deliverable: str
    spec: dict[str, Any]
    iteration: int


def generation_sends(
    state: StudioState, deliverables: list[str], iteration: int, max_generations: int
) -> list[Send]:
    """One `Send` per deliverable to generate, carrying its current spec — no more than the
    generation budget has left (the manager then ends the session and says why)."""
    specs = state.get("specs") or {}
    left = max(0, max_generations - (state.get("usage") or {}).get("generations", 0))
    return [
        Send("generate", GenerateTask(deliverable=d, spec=specs[d], iteration=iteration))
        for d in deliverables
        if d in specs
    ][:left]


def job_id(thread_id: str, deliverable: str, iteration: int, attempt: int) -> str:
    """The exactly-once key of a generation job."""
    return f"{thread_id}:{deliverable}:{iteration}:{attempt}"


def _progress(deliverable: str, job: str) -> Any:
    last = [-1.0]

    def report(fraction: float, preview: bytes | None) -> None:
        fraction = max(0.0, min(1.0, fraction))
        if fraction - last[0] < 0.01 and preview is None and fraction < 1.0:
            return  # throttle: at most one event per percent
        last[0] = fraction
        data: dict[str, Any] = {
            "deliverable": deliverable,
            "job_id": job,
            "fraction": round(fraction, 3),
        }
        if preview is not None and len(preview) <= PREVIEW_MAX_BYTES:
            data["preview"] = base64.b64encode(preview).decode("ascii")
        emit("progress", **data)

    return report


async def generate(task: GenerateTask, runtime: Runtime[StudioContext]) -> dict[str, Any]:
    """Generate one deliverable; reuse the stored asset if this job already finished."""
    context = resolve(runtime)
    thread_id = runtime.execution_info.thread_id if runtime.execution_info else None
    thread = thread_id or "local"
    spec = GenerationSpec.model_validate(task["spec"])
    deliverable, iteration = task["deliverable"], task["iteration"]
    attempt = 0
    while True:
        job = job_id(thread, deliverable, iteration, attempt)
        record = await context.assets.by_job(job)
        if record is not None:
            break  # finished before a crash: collect it, never generate it twice
        try:
            async with context.generation_slots:
                emit("progress", deliverable=deliverable, job_id=job, fraction=0.0)
                images = await context.images.generate(
                    spec, job_id=job, on_progress=_progress(deliverable, job)
                )
        except OutOfMemory:
            if attempt >= context.defaults.oom_retries:
                raise
            smaller = downscaled(spec, limits=context.limits)
            notice(
                f"{deliverable}: out of memory at {spec.width}x{spec.height}; Pixel is "
                f"retrying at {smaller.width}x{smaller.height}.",
                code="out_of_memory",
            )
            spec, attempt = smaller, attempt + 1
            continue
        except (asyncio.CancelledError, GenerationCancelled):
            await asyncio.shield(context.images.cancel(job))  # leave no orphan job behind
            raise
        record = await context.assets.put(
            images[0],
            thread_id=thread,
            job_id=job,
            deliverable=deliverable,
            iteration=iteration,
            attempt=attempt,
            seed=spec.seed,
            spec=spec.model_dump(),
        )
        break
    emit(
        "asset",
        asset_id=record.id,
        deliverable=deliverable,
        iteration=iteration,
        path=str(record.path),
        generator=record.generator,
    )
    generation = Generation(
        asset_id=record.id,
        deliverable=deliverable,
        iteration=iteration,
        attempt=attempt,
        seed=record.seed,
        generator=record.generator,
        path=str(record.path),
    )
    return {"generations": [generation], "usage": {"generations": 1}, "phase": "generating"}
