"""The Media Lab on a ComfyUI server, through the studio's ComfyUI client.

- upscale: `UpscaleModelLoader` + `ImageUpscaleWithModel` (then `ImageScale` to exactly 2x/4x)
  when the server lists an upscale model and `use_model` is on; otherwise the model-free
  `ImageScaleBy` (lanczos). The label says which.
- from_references: img2img: `LoadImage` per reference (several are first averaged with
  `ImageBlend`), `ImageScale` to the size, `VAEEncode`, `KSampler(denoise=strength)`,
  `VAEDecode`. Needs a checkpoint.
- blend: `LoadImage` per source and a chain of `ImageBlend` nodes whose `blend_factor`s fold the
  weights (the same fold as the embedded path).
- interpolate: this adapter does not drive ComfyUI frame-interpolation nodes (`RIFE VFI` and
  kin need custom nodes and video plumbing); it runs the embedded optical-flow pipeline and
  says so in the artifact (`backend` embedded, `backend_detail.fallback_from`). The same
  labelled fallback serves generation when the server has no checkpoint. With
  `fallback=False` both raise `MediaBackendUnsupported` instead.

Images reach ComfyUI through `/upload/image`, named by content. Each operation queues one
prompt whose id is derived from its output path and workflow, so a job restarted after a crash
re-attaches to its prompt (or collects its result) instead of queueing it twice. Cancelling the
task cancels exactly that prompt (deleted if pending, interrupted by id if running).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from adapters.comfyui.capabilities import Capabilities
from adapters.comfyui.client import ComfyUIClient, Timeouts
from adapters.comfyui.lifecycle import Absent, Finished, JobWatch, cancel_prompt, reconcile
from adapters.comfyui.outcomes import image_size, outcome_error, output_images, was_interrupted
from adapters.errors import GenerationCancelled, GenerationFailed, InvalidWorkflow
from adapters.media_lab import images as img
from adapters.media_lab.embedded import EmbeddedMediaLab, check_upscale_size, image_artifact
from adapters.media_lab.errors import MediaInvalidInput
from adapters.media_lab.params import (
    BlendParams,
    InterpolateParams,
    ReferenceParams,
    UpscaleParams,
    normalise_weights,
)
from adapters.media_lab.protocol import Artifact, MediaLab, OnChunk, Progress
from adapters.specs import BASE_NEGATIVE

logger = logging.getLogger(__name__)
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "creative-studio/media-lab/prompt")
_JOB_KEY = "studio_job"
INTERPOLATION_NODES = ("RIFE VFI", "FILM VFI", "GMFSS Fortuna VFI")
"""Frame-interpolation node classes (ComfyUI-Frame-Interpolation) a server may list."""
COMFY_BLEND_MODE = {"average": "normal"}
IMG2IMG_NODES = ("CheckpointLoaderSimple", "CLIPTextEncode", "VAEEncode", "KSampler", "VAEDecode")


class MediaBackendUnsupported(InvalidWorkflow):
    """The ComfyUI server cannot run this kind and fallback to the embedded path is off."""

    code = "media_backend_unsupported"


def _node(class_type: str, title: str, **inputs: Any) -> dict[str, Any]:
    return {"class_type": class_type, "inputs": inputs, "_meta": {"title": title}}


def prompt_id_for(out: Path, workflow: Mapping[str, Any]) -> str:
    """The prompt id of one operation: its output path and exact workflow (stable across a
    restart of the same job, new for a retry, which writes elsewhere)."""
    digest = hashlib.sha256(json.dumps(workflow, sort_keys=True).encode()).hexdigest()
    return str(uuid.uuid5(_NAMESPACE, f"{out.resolve()}:{digest}"))


class ComfyUIMediaLab:
    """Media Lab jobs on one ComfyUI server (implements `MediaLab`)."""

    name = "comfyui"

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        client: ComfyUIClient | None = None,
        fallback: bool = True,
        embedded: MediaLab | None = None,
        stall_timeout_s: float = 120.0,
        poll_interval_s: float = 1.0,
        cancel_timeout_s: float = 30.0,
        timeouts: Timeouts | None = None,
    ) -> None:
        self.client = client or ComfyUIClient(base_url, token=token, timeouts=timeouts)
        self.fallback = fallback
        self.embedded: MediaLab = embedded or EmbeddedMediaLab()
        self._stall_s, self._poll_s, self._cancel_s = (
            stall_timeout_s,
            poll_interval_s,
            cancel_timeout_s,
        )
        self._caps: Capabilities | None = None

    @property
    def backend(self) -> str:
        return f"comfyui {self.client.base_url}"

    async def aclose(self) -> None:
        await self.client.aclose()

    async def capabilities(self, *, refresh: bool = False) -> Capabilities:
        if self._caps is None or refresh:
            stats, info = await asyncio.gather(
                self.client.system_stats(), self.client.object_info()
            )
            self._caps = Capabilities.from_responses(stats, info)
        return self._caps

    # -- running one prompt ------------------------------------------------------------------
    async def _upload(self, path: Path, data: bytes) -> str:
        suffix = (
            path.suffix.lower() if path.suffix.lower() in (".jpg", ".jpeg", ".webp") else ".png"
        )
        digest = hashlib.sha256(data).hexdigest()[:16]
        return await self.client.upload_image(data, f"studio_media_{digest}{suffix}")

    async def _run(
        self,
        workflow: dict[str, Any],
        out: Path,
        *,
        kind: str,
        progress: Progress,
        start: float,
    ) -> tuple[str, dict[str, Any]]:
        """Queue (or re-attach to) the prompt, follow it, write its one output image to `out`.

        Returns the prompt id and the finished history entry."""
        prompt_id = prompt_id_for(out, workflow)
        loop = asyncio.get_running_loop()
        pending: set[asyncio.Task[None]] = set()
        best = [start]

        async def send(value: float) -> None:
            await progress(value, f"ComfyUI {kind}")

        def on_progress(fraction: float, _preview: bytes | None) -> None:
            value = start + (0.95 - start) * max(0.0, min(1.0, fraction))
            if value > best[0]:
                best[0] = value
                task = loop.create_task(send(value))
                pending.add(task)
                task.add_done_callback(pending.discard)

        events = self.client.events
        queue = events.subscribe(prompt_id)
        queued = False
        try:
            await events.start()
            state = await reconcile(self.client, prompt_id)
            if isinstance(state, Finished) and was_interrupted(state.entry):
                await self.client.delete_history([prompt_id])  # a new request, not a replay
                state = await reconcile(self.client, prompt_id)
            if not isinstance(state, Finished):
                streaming = True
                if isinstance(state, Absent):
                    extra = {_JOB_KEY: f"media:{kind}:{out.name}"}
                    queued = True
                    errors = await self.client.queue_prompt(
                        workflow, prompt_id=prompt_id, extra_data=extra, template=f"media {kind}"
                    )
                    if errors:
                        raise InvalidWorkflow(f"ComfyUI dropped part of the workflow: {errors}")
                else:  # queued by an earlier run of this job: events only if it was ours
                    streaming = state.entry.client_id == self.client.client_id
                queued = True
                watch = JobWatch(
                    self.client, prompt_id, queue, workflow, on_progress,
                    streaming=streaming, stall_s=self._stall_s, poll_s=self._poll_s,
                )  # fmt: skip
                result = await watch.run()
                if not isinstance(result, dict):
                    raise GenerationCancelled("The job's prompt was removed from ComfyUI.")
                entry_done = result
            else:
                entry_done = state.entry
            error = outcome_error(entry_done)
            if error is not None:
                raise error
            refs = output_images(entry_done)
            if not refs:
                raise GenerationFailed("ComfyUI finished the workflow but saved no image.")
            data = await self.client.view(refs[0])
            image_size(data, refs[0].filename)
            await asyncio.to_thread(_write, out, data)
            await asyncio.gather(*pending, return_exceptions=True)
            return prompt_id, entry_done
        except asyncio.CancelledError:
            if queued:
                # exactly this prompt: deleted if pending, interrupted by id if running
                await asyncio.shield(cancel_prompt(self.client, prompt_id, within_s=self._cancel_s))
            raise
        finally:
            events.unsubscribe(prompt_id, queue)
            for task in pending:
                task.cancel()

    def _artifact(
        self, out: Path, label: str, prompt_id: str, workflow: dict[str, Any], **detail: Any
    ) -> Artifact:
        nodes = sorted({str(n["class_type"]) for n in workflow.values()})
        record = {"prompt_id": prompt_id, "nodes": nodes, **detail}
        return image_artifact(out, label, record, self.backend)

    async def _unsupported(self, kind: str, reason: str) -> None:
        if not self.fallback:
            raise MediaBackendUnsupported(
                f"ComfyUI at {self.client.base_url} cannot run {kind}: {reason}."
            )

    def _fell_back(self, art: Artifact, reason: str) -> Artifact:
        art.backend_detail = {
            **art.backend_detail,
            "fallback_from": self.backend,
            "fallback_reason": reason,
        }
        art.label = f"embedded fallback ({reason}): {art.label}"
        return art

    # -- the four kinds ----------------------------------------------------------------------
    async def upscale(
        self, src: Path, out: Path, *, factor: int, params: UpscaleParams, progress: Progress
    ) -> Artifact:
        [source] = await asyncio.to_thread(img.load_images, [src], "src")
        width, height = source.size
        check_upscale_size(width, height, factor)
        caps = await self.capabilities()
        data = await asyncio.to_thread(src.read_bytes)
        await progress(0.05, "uploading to ComfyUI")
        name = await self._upload(src, data)
        workflow: dict[str, Any] = {"1": _node("LoadImage", "source", image=name)}
        model = _pick_upscale_model(caps.upscale_models, factor) if params.use_model else None
        if model is not None:
            workflow["2"] = _node("UpscaleModelLoader", "upscale model", model_name=model)
            workflow["3"] = _node(
                "ImageUpscaleWithModel", "upscale", upscale_model=["2", 0], image=["1", 0]
            )
            workflow["4"] = _node(
                "ImageScale", "resize", image=["3", 0], upscale_method="lanczos",
                width=width * factor, height=height * factor, crop="disabled",
            )  # fmt: skip
            last = "4"
            label = (
                f"comfyui: learned upscale model {model} (ImageUpscaleWithModel), resized to "
                f"exactly {factor}x with ImageScale (lanczos)"
            )
        else:
            workflow["2"] = _node(
                "ImageScaleBy", "upscale", image=["1", 0], upscale_method="lanczos",
                scale_by=float(factor),
            )  # fmt: skip
            last = "2"
            why = "use_model is off" if not params.use_model else "the server lists none"
            label = (
                f"comfyui: model-free scale (ImageScaleBy, lanczos): resampling only, no "
                f"sharpening, not a learned upscaler ({why})"
            )
        workflow["9"] = _node(
            "SaveImage", "output", images=[last, 0], filename_prefix="studio_media/upscale"
        )
        prompt_id, _ = await self._run(workflow, out, kind="upscale", progress=progress, start=0.1)
        await progress(1.0, "done")
        method = "model" if model is not None else "model-free scale"
        return self._artifact(
            out, label, prompt_id, workflow, method=method, model=model, factor=factor,
            source_size=[width, height],
        )  # fmt: skip

    async def interpolate(
        self,
        src: Path,
        work: Path,
        out: Path,
        *,
        params: InterpolateParams,
        progress: Progress,
        done_chunks: int = 0,
        on_chunk: OnChunk | None = None,
    ) -> Artifact:
        caps = await self.capabilities()
        listed = [n for n in INTERPOLATION_NODES if n in caps.node_classes]
        reason = (
            f"the server lists {listed[0]}, which this adapter does not drive yet"
            if listed
            else "the server lists no frame-interpolation node"
        )
        await self._unsupported("interpolate", reason)
        art = await self.embedded.interpolate(
            src, work, out, params=params, progress=progress, done_chunks=done_chunks,
            on_chunk=on_chunk,
        )  # fmt: skip
        return self._fell_back(art, reason)

    async def from_references(
        self,
        refs: list[Path],
        out: Path,
        *,
        prompt: str,
        params: ReferenceParams,
        progress: Progress,
    ) -> Artifact:
        if not refs:
            raise MediaInvalidInput("refs", "at least one reference image is needed")
        await asyncio.to_thread(img.load_images, refs, "refs")  # the same typed error first
        caps = await self.capabilities()
        lacking = [
            n for n in (*IMG2IMG_NODES, "ImageScale", "ImageBlend") if n not in caps.node_classes
        ]
        if lacking or not caps.checkpoints:
            reason = (
                f"the server lacks {', '.join(lacking)}"
                if lacking
                else "the server has no checkpoint"
            )
            await self._unsupported("generation from references", reason)
            art = await self.embedded.from_references(
                refs, out, prompt=prompt, params=params, progress=progress
            )
            return self._fell_back(art, reason)
        await progress(0.05, "uploading references to ComfyUI")
        names = [await self._upload(p, await asyncio.to_thread(p.read_bytes)) for p in refs]
        checkpoint = caps.checkpoints[0]
        samplers = caps.options("KSampler", "sampler_name")
        schedulers = caps.options("KSampler", "scheduler")
        workflow: dict[str, Any] = {
            "1": _node("CheckpointLoaderSimple", "checkpoint", ckpt_name=checkpoint),
            "2": _node("CLIPTextEncode", "positive", text=prompt, clip=["1", 1]),
            "3": _node("CLIPTextEncode", "negative", text=BASE_NEGATIVE, clip=["1", 1]),
        }
        picture = _load_and_fold(workflow, names, [1.0 / len(names)] * len(names), "normal", 10)
        workflow["30"] = _node(
            "ImageScale", "resize", image=picture, upscale_method="lanczos",
            width=params.width, height=params.height, crop="center",
        )  # fmt: skip
        workflow["31"] = _node("VAEEncode", "encode", pixels=["30", 0], vae=["1", 2])
        workflow["32"] = _node(
            "KSampler", "sampler", seed=params.seed, steps=params.steps, cfg=params.cfg,
            sampler_name="dpmpp_2m" if "dpmpp_2m" in samplers or not samplers else samplers[0],
            scheduler="karras" if "karras" in schedulers or not schedulers else schedulers[0],
            denoise=params.strength, model=["1", 0], positive=["2", 0], negative=["3", 0],
            latent_image=["31", 0],
        )  # fmt: skip
        workflow["33"] = _node("VAEDecode", "decode", samples=["32", 0], vae=["1", 2])
        workflow["34"] = _node(
            "SaveImage", "output", images=["33", 0], filename_prefix="studio_media/generate"
        )
        prompt_id, _ = await self._run(workflow, out, kind="generate", progress=progress, start=0.1)
        await progress(1.0, "done")
        label = (
            f"comfyui: img2img from {len(refs)} reference(s)"
            + (" averaged with ImageBlend" if len(refs) > 1 else "")
            + f", VAEEncode + KSampler denoise {params.strength:g} with {checkpoint}"
        )
        return self._artifact(
            out, label, prompt_id, workflow, method="img2img", checkpoint=checkpoint,
            references=len(refs), denoise=params.strength, seed=params.seed,
        )  # fmt: skip

    async def blend(
        self,
        srcs: list[Path],
        out: Path,
        *,
        weights: list[float],
        params: BlendParams,
        progress: Progress,
    ) -> Artifact:
        normalised = normalise_weights(weights, len(srcs))
        sources = await asyncio.to_thread(img.load_images, srcs, "srcs")
        await progress(0.05, "uploading to ComfyUI")
        names = [await self._upload(p, await asyncio.to_thread(p.read_bytes)) for p in srcs]
        mode = COMFY_BLEND_MODE.get(params.mode, params.mode)
        workflow: dict[str, Any] = {}
        result = _load_and_fold(workflow, names, normalised, mode, 1)
        workflow["99"] = _node(
            "SaveImage", "output", images=result, filename_prefix="studio_media/blend"
        )
        prompt_id, _ = await self._run(workflow, out, kind="blend", progress=progress, start=0.1)
        await progress(1.0, "done")
        label = f"comfyui: ImageBlend ({mode}) chained over {len(srcs)} sources with weights"
        return self._artifact(
            out, label, prompt_id, workflow, method="ImageBlend chain", mode=params.mode,
            weights=normalised, blend_factors=img.blend_factors(normalised),
            size=[sources[0].width, sources[0].height],
        )  # fmt: skip


def _load_and_fold(
    workflow: dict[str, Any], names: list[str], weights: list[float], mode: str, first_id: int
) -> list[Any]:
    """`LoadImage` per name and an `ImageBlend` chain folding them; the last output link."""
    ids = [str(first_id + i) for i in range(len(names))]
    for index, (node_id, name) in enumerate(zip(ids, names, strict=True)):
        workflow[node_id] = _node("LoadImage", f"source {index + 1}", image=name)
    acc: list[Any] = [ids[0], 0]
    for index, factor in enumerate(img.blend_factors(weights)):
        node_id = str(first_id + len(names) + index)
        workflow[node_id] = _node(
            "ImageBlend", f"blend {index + 1}", image1=acc, image2=[ids[index + 1], 0],
            blend_factor=round(factor, 6), blend_mode=mode,
        )  # fmt: skip
        acc = [node_id, 0]
    return acc


def _pick_upscale_model(models: tuple[str, ...], factor: int) -> str | None:
    """A model whose name says this factor (`x2`, `2x`), else the first one; None when none."""
    for model in models:
        lowered = model.lower()
        if f"x{factor}" in lowered or f"{factor}x" in lowered:
            return model
    return models[0] if models else None


def _write(out: Path, data: bytes) -> None:
    tmp = out.with_name(out.name + ".part")
    tmp.write_bytes(data)
    tmp.replace(out)
