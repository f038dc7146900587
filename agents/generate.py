"""Generation: one job per deliverable, fanned out with `Send`, exactly once per job id."""

from __future__ import annotations

import asyncio
import base64
from typing import TYPE_CHECKING, Any

from langgraph.runtime import Runtime
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_delay,
    wait_exponential,
)

from adapters.errors import (
    GenerationCancelled,
    GenerationFailed,
    InvalidWorkflow,
    OutOfMemory,
    ServiceUnavailable,
)
from adapters.images import GeneratedImage
from adapters.specs import GenerationSpec, downscaled, spec_dump
from graph.context import StudioContext
from graph.emit import asset_made, emit, notice
from graph.fanout import GenerateTask
from graph.state import Failure, Generation
from store.uploads import UploadStore

if TYPE_CHECKING:
    from adapters.comfyui.generator import ComfyUIImageGenerator

PREVIEW_MAX_BYTES = 48_000
"""Previews larger than this are announced without their bytes (the event log stays small)."""
OOM_RETRIES = 2
"""Retries, each at a smaller size, after the image server runs out of memory."""


def job_id(thread_id: str, deliverable: str, iteration: int, attempt: int) -> str:
    """The exactly-once key of a generation job."""
    return f"{thread_id}:{deliverable}:{iteration}:{attempt}"


def progress_events(deliverable: str, job: str) -> Any:
    """A generation's `on_progress` as `progress` events (one per percent, with previews)."""
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


async def _when_reachable(
    context: StudioContext, spec: GenerationSpec, job: str, deliverable: str
) -> list[GeneratedImage]:
    """Generate; while the image server is unreachable the job waits, queued, and the person
    is told once. After `generator_wait_s` the error stands (the run stops, resumable)."""

    def queued(state: RetryCallState) -> None:
        if state.attempt_number == 1 and state.outcome is not None:
            error = state.outcome.exception()
            detail = error.message if isinstance(error, ServiceUnavailable) else str(error)
            notice(
                f"{deliverable} is queued: {detail}",
                level="warning",
                code="generation_queued",
            )

    retrying = AsyncRetrying(
        retry=retry_if_exception_type(ServiceUnavailable),
        stop=stop_after_delay(context.defaults.generator_wait_s),
        wait=wait_exponential(multiplier=0.5, max=30.0),
        before_sleep=queued,
        reraise=True,
    )
    async for attempt in retrying:
        with attempt:
            comfyui = _comfyui(context.images) if spec.references else None
            if comfyui is not None:
                # img2img: the first reference is the init image (the renderer reads the
                # references' palette and layout from the spec instead)
                images = await comfyui.generate(
                    spec,
                    job_id=job,
                    on_progress=progress_events(deliverable, job),
                    references=await _reference_bytes(context, spec),
                    params={"denoise": spec.reference_strength},
                )
            else:
                images = await context.images.generate(
                    spec, job_id=job, on_progress=progress_events(deliverable, job)
                )
            if attempt.retry_state.attempt_number > 1:
                notice(
                    f"The image server is back; generating {deliverable}.",
                    code="generation_resumed",
                )
            return images
    raise AssertionError("unreachable: tenacity either returns or re-raises")


def _comfyui(images: object) -> ComfyUIImageGenerator | None:
    """`images` when it is a ComfyUI generator (it takes reference images), else None."""
    from adapters.comfyui.generator import ComfyUIImageGenerator

    return images if isinstance(images, ComfyUIImageGenerator) else None


async def _reference_bytes(context: StudioContext, spec: GenerationSpec) -> list[bytes]:
    """The spec's first reference image, as its upload's bytes (the img2img init image)."""
    uploads = UploadStore(context.assets.pool, context.assets.root)
    record = await uploads.get(spec.references[0]["upload_id"])
    if record is None:
        raise GenerationFailed(f"{spec.deliverable}: its reference image is gone")
    return [await asyncio.to_thread(record.path.read_bytes)]


def _failed(
    deliverable: str, iteration: int, exc: InvalidWorkflow | GenerationFailed
) -> dict[str, Any]:
    """Record a generation that failed for good; the other deliverables carry on.

    Retrying would fail the same way, so the job counts against the generation budget and the
    person hears what happened (a server that is unreachable is different: that error is
    retryable and the run stays resumable)."""
    notice(f"{deliverable}: {exc.message}", level="error", code=exc.code)
    failure = Failure(
        deliverable=deliverable, iteration=iteration, code=exc.code, message=exc.message
    )
    return {"failures": [failure], "usage": {"generations": 1}, "phase": "generating"}


def _seed_used(recipe: dict[str, object], planned: int) -> int:
    """The seed the generator actually used (ComfyUI varies it on a requeue), else the plan's."""
    seed = recipe.get("seed")
    return seed if isinstance(seed, int) else planned


async def generate(task: GenerateTask, runtime: Runtime[StudioContext]) -> dict[str, Any]:
    """Generate one deliverable; reuse the stored asset if this job already finished."""
    context = runtime.context
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
                images = await _when_reachable(context, spec, job, deliverable)
        except OutOfMemory as exc:
            if attempt >= OOM_RETRIES:
                return _failed(deliverable, iteration, exc)
            smaller = downscaled(spec, limits=context.spec_limits)
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
        except (InvalidWorkflow, GenerationFailed) as exc:
            return _failed(deliverable, iteration, exc)
        record = await context.assets.put(
            images[0],
            thread_id=thread,
            job_id=job,
            deliverable=deliverable,
            iteration=iteration,
            attempt=attempt,
            seed=_seed_used(images[0].recipe, spec.seed),
            spec=spec_dump(spec),
        )
        break
    asset_made(record)
    generation = Generation(
        asset_id=record.id,
        deliverable=deliverable,
        iteration=iteration,
        attempt=attempt,
        seed=record.seed,
        generator=record.generator,
        path=str(record.path),
    )
    if task.get("requested"):
        generation["requested"] = True
    return {"generations": [generation], "usage": {"generations": 1}, "phase": "generating"}
