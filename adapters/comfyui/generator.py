"""`ComfyUIImageGenerator`: exactly-once generation through ComfyUI, with precise cancel."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from adapters.comfyui.binder import Bound, bind
from adapters.comfyui.capabilities import Capabilities
from adapters.comfyui.client import ComfyUIClient, Timeouts
from adapters.comfyui.events import Event
from adapters.comfyui.jobs import prompt_id_for, seed_for, thread_of
from adapters.comfyui.lifecycle import (
    Absent,
    Finished,
    GenerationStalled,
    JobWatch,
    PromptLocks,
    cancel_prompt,
    reconcile,
)
from adapters.comfyui.outcomes import (
    image_size,
    outcome_error,
    output_images,
    queued_extra,
    served_from_cache,
    was_interrupted,
)
from adapters.comfyui.progress import monotonic
from adapters.comfyui.templates import TEMPLATES, traits
from adapters.errors import (
    GenerationCancelled,
    GenerationFailed,
    InvalidInput,
    InvalidWorkflow,
    ServiceUnavailable,
)
from adapters.images import GeneratedImage, ProgressFn, TemplateTraits
from adapters.specs import GenerationSpec, SpecLimits

logger = logging.getLogger(__name__)
_JOB_KEY = "studio_job"
"""`extra_data` key naming the job: `/queue` shows it, so a stop can find a thread's jobs."""


class ComfyUIImageGenerator:
    """Generates through one ComfyUI server; implements `adapters.images.ImageGenerator`.

    The prompt id is derived from the job id, so a job is queued at most once: before queueing,
    `/queue` and `/history/{id}` are consulted, a running prompt is re-attached and a finished
    one collected. No wall-clock timeout bounds the GPU work; a stall detector does.
    """

    name = "comfyui"

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        client_id: str | None = None,
        stall_timeout_s: float = 120.0,
        poll_interval_s: float = 1.0,
        cancel_timeout_s: float = 30.0,
        timeouts: Timeouts | None = None,
        limits: SpecLimits | None = None,
    ) -> None:
        self.client = ComfyUIClient(base_url, token=token, client_id=client_id, timeouts=timeouts)
        self._stall_s = stall_timeout_s
        self._poll_s = poll_interval_s
        self._cancel_s = cancel_timeout_s
        self._limits = limits or SpecLimits()
        self._jobs: dict[str, str] = {}
        """Prompt id -> job id of every `generate` in flight in this process."""
        self._cancelled: set[str] = set()
        """Prompt ids cancelled while their `generate` was in flight."""
        self._locks = PromptLocks()
        """Serialise queueing and cancelling of a prompt, so a cancel never races the POST."""

    async def __aenter__(self) -> ComfyUIImageGenerator:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the websocket and HTTP connections."""
        await self.client.aclose()

    async def capabilities(self, *, refresh: bool = False) -> Capabilities:
        """What the server can run (the client's cache; `refresh` asks again)."""
        return await self.client.capabilities(refresh=refresh)

    async def describe(self) -> dict[str, Any]:
        """The server's capabilities, asked afresh."""
        caps = await self.capabilities(refresh=True)
        return {"generator": self.name, "url": self.client.base_url, **caps.report()}

    def traits(self, template: str) -> TemplateTraits:
        """Whether `template` makes a sketch (`compose`) and whether it uses a sampler."""
        return traits(template)

    async def templates(self) -> list[str]:
        """Templates the server can run from a spec alone (those that load reference images
        need references the studio does not plan yet), text-to-image first."""
        caps = await self.capabilities()
        return [name for name in caps.runnable_templates() if TEMPLATES[name].references == 0]

    async def generate(
        self,
        spec: GenerationSpec,
        *,
        job_id: str,
        on_progress: ProgressFn,
        references: Sequence[bytes] = (),
        params: Mapping[str, Any] | None = None,
    ) -> list[GeneratedImage]:
        """Make the images for `spec`, or collect them if this job already ran.

        `references` are PNG/JPEG bytes for templates that load images (img2img, upscale,
        blend, img2vid); `params` are bound beside the spec's (a video's frames and fps).
        Raises `InvalidWorkflow`, `GenerationFailed`, `OutOfMemory`, `GenerationCancelled` or
        `ServiceUnavailable`.
        """
        prompt_id = prompt_id_for(job_id)
        on_progress = monotonic(on_progress)  # a requeue restarts the count; the bar must not
        events = self.client.events
        queue = events.subscribe(prompt_id)
        self._jobs[prompt_id] = job_id
        try:
            await events.start()
            state = await reconcile(self.client, prompt_id)
            if isinstance(state, Finished) and was_interrupted(state.entry):
                # A cancelled job asked for again is a new request (a resumed thread): forget
                # the interrupted record and run it.
                await self.client.delete_history([prompt_id])
                state = Absent()
            bound: Bound | None = None
            known, requeues = False, 0
            while not isinstance(state, Finished):
                if isinstance(state, Absent):
                    if known and not state.after_reconnect:
                        raise GenerationCancelled(
                            "The generation was removed from ComfyUI's queue."
                        )
                    if state.after_reconnect:
                        # Lost across a reconnect: ComfyUI restarted and forgot its queue.
                        requeues += 1
                        if requeues > 2:
                            raise GenerationFailed("ComfyUI keeps losing this job; try later.")
                    bound = bound or await self._bind(spec, job_id, prompt_id, references, params)
                    await self._queue(bound, prompt_id, job_id)
                    workflow, streaming = bound.workflow, True
                else:
                    workflow = state.entry.workflow
                    # Events go to the client id a prompt was queued with; one queued by a
                    # previous process (crash) must be polled (gotchas 1 and 3).
                    streaming = state.entry.client_id == self.client.client_id
                    if state.entry.running and streaming:
                        events.current_prompt = prompt_id
                known = True
                watch = JobWatch(
                    self.client, prompt_id, queue, workflow, on_progress,
                    streaming=streaming, stall_s=self._stall_s, poll_s=self._poll_s,
                )  # fmt: skip
                try:
                    result = await watch.run()
                except GenerationStalled:
                    async with self._locks.hold(prompt_id):
                        await self._cancel_on_server(prompt_id)
                    raise
                state = result if isinstance(result, Absent) else Finished(result)
            images = await self._collect(state.entry, bound, prompt_id, job_id)
            on_progress(1.0, None)
            return images
        finally:
            events.unsubscribe(prompt_id, queue)
            self._jobs.pop(prompt_id, None)
            self._cancelled.discard(prompt_id)

    async def _bind(
        self,
        spec: GenerationSpec,
        job_id: str,
        prompt_id: str,
        references: Sequence[bytes],
        params: Mapping[str, Any] | None = None,
    ) -> Bound:
        caps = await self.capabilities()
        blocking = [m for m in caps.check_template(spec.template) if m.blocking]
        if blocking:
            raise InvalidWorkflow(
                f"ComfyUI {caps.version} cannot run the '{spec.template}' template: "
                + "; ".join(m.describe() for m in blocking)
                + f". Templates it can run: {caps.runnable_templates()}."
            )
        try:
            sizes = [image_size(data, "reference image") for data in references]
        except GenerationFailed as exc:
            raise InvalidInput(exc.message) from exc.__cause__
        names = []
        for data in references:
            # Named by content: the same reference uploads once (the server dedups same bytes).
            digest = hashlib.sha256(data).hexdigest()[:16]
            names.append(await self.client.upload_image(data, f"studio_{digest}.png"))
        return bind(
            spec,
            seed=seed_for(spec.seed, job_id),
            prompt_id=prompt_id,
            references=names,
            reference_sizes=sizes,
            caps=caps,
            limits=self._limits,
            extra=params,
        )

    async def _queue(self, bound: Bound, prompt_id: str, job_id: str) -> None:
        caps = await self.capabilities()
        recipe = {
            "template": bound.template,
            "params": bound.params,
            "seed": bound.seed,
            "prompt_id": prompt_id,
            "job_id": job_id,
            "server_version": caps.version,
            "adjustments": list(bound.adjustments),
            "sketch": traits(bound.template).sketch,
        }
        # SaveImage writes each `extra_pnginfo` key as a PNG text chunk next to `prompt`, so
        # the served file carries its recipe; history and `/queue` keep `extra_data` too.
        extra = {_JOB_KEY: job_id, "extra_pnginfo": {"studio": recipe}}
        # Held while queueing, so a `cancel` arriving meanwhile cleans up after the prompt is in
        # (and finds it) instead of racing the POST.
        async with self._locks.hold(prompt_id):
            if prompt_id in self._cancelled:
                raise GenerationCancelled("The generation was cancelled.")
            try:
                node_errors = await self.client.queue_prompt(
                    bound.workflow, prompt_id=prompt_id, extra_data=extra, template=bound.template
                )
            except InvalidWorkflow:
                self.client.forget_capabilities()  # look again next attempt
                raise
            if node_errors:
                # A 200 with node_errors runs only the valid outputs (gotcha 5): refuse that.
                await self._cancel_on_server(prompt_id)
                raise InvalidWorkflow(f"ComfyUI dropped part of the workflow: {node_errors}")

    async def _collect(
        self, entry: dict[str, Any], bound: Bound | None, prompt_id: str, job_id: str
    ) -> list[GeneratedImage]:
        error = outcome_error(entry)
        if error is not None:
            raise error
        refs = output_images(entry)
        if not refs:
            raise GenerationFailed("ComfyUI finished the workflow but saved no image.")
        stored = queued_extra(entry).get("extra_pnginfo", {}).get("studio")
        recipe: dict[str, Any] = dict(stored) if isinstance(stored, dict) else {}
        if not recipe and bound is not None:
            recipe = {"template": bound.template, "params": bound.params, "seed": bound.seed}
        recipe.update(prompt_id=prompt_id, job_id=job_id, cached=served_from_cache(entry))
        template = recipe.get("template")
        recipe.setdefault("sketch", isinstance(template, str) and traits(template).sketch)
        images: list[GeneratedImage] = []
        for ref in refs:
            png = await self.client.view(ref)
            width, height = image_size(png, ref.filename)
            images.append(
                GeneratedImage(
                    png=png,
                    width=width,
                    height=height,
                    generator=self.name,
                    recipe={**recipe, "filename": ref.filename, "subfolder": ref.subfolder},
                )
            )
        return images

    async def cancel(self, job_id: str) -> None:
        """Cancel one job precisely: delete it if pending, interrupt it (by id) if running,
        then forget its history. Other jobs are never touched; a no-op for unknown jobs.

        Never raises `ServiceUnavailable`: a stop runs in cleanup paths (where a retryable
        error would re-run the node), and an unreachable ComfyUI is logged instead.
        """
        prompt_id = prompt_id_for(job_id)
        if prompt_id in self._jobs:
            self._cancelled.add(prompt_id)
            self.client.events.notify(prompt_id, Event("cancelled"))
        try:
            async with self._locks.hold(prompt_id):
                await self._cancel_on_server(prompt_id)
        except ServiceUnavailable as exc:
            logger.warning("could not cancel job %s on ComfyUI: %s", job_id, exc.message)

    async def cancel_thread(self, thread_id: str) -> list[str]:
        """Cancel every job of a thread, in this process or found in the server's queue.

        Jobs are recognised by the job id queued in `extra_data`, so another process's
        generation for the thread is stopped too, and no other thread's. Returns the job ids.
        """
        job_ids = {job for job in self._jobs.values() if thread_of(job) == thread_id}
        try:
            queued = await self.client.queue()
        except ServiceUnavailable as exc:
            logger.warning("could not list ComfyUI's queue to stop %s: %s", thread_id, exc.message)
            queued = []
        for entry in queued:
            job = entry.extra_data.get(_JOB_KEY)
            if isinstance(job, str) and thread_of(job) == thread_id:
                job_ids.add(job)
        await asyncio.gather(*(self.cancel(job) for job in sorted(job_ids)))
        return sorted(job_ids)

    async def _cancel_on_server(self, prompt_id: str) -> None:
        await cancel_prompt(self.client, prompt_id, within_s=self._cancel_s)
