"""The Media Lab on a ComfyUI server, through the studio's ComfyUI client.

- upscale: `UpscaleModelLoader` + `ImageUpscaleWithModel` (then `ImageScale` to exactly 2x/4x)
  when the server lists an upscale model and `use_model` is on; otherwise the model-free
  `ImageScaleBy` (lanczos). The label says which.
- from_references: img2img: `LoadImage` per reference (several are first averaged with
  `ImageBlend`), `ImageScale` to the size, `VAEEncode`, `KSampler(denoise=strength)`,
  `VAEDecode`. Needs a checkpoint.
- blend: `LoadImage` per source and a chain of `ImageBlend` nodes whose `blend_factor`s fold the
  weights (the same fold as the embedded path).
- interpolate: with a frame-interpolation node (`RIFE VFI`, `FILM VFI`, ... from
  ComfyUI-Frame-Interpolation) and `ImageBatch`, each chunk's frames (plus the next chunk's
  first) are uploaded, batched, interpolated by `multiplier` and saved; the frames come back
  over `/view` and are encoded, checkpointed and joined here (PyAV, audio kept) exactly as on
  the embedded path. A server without such a node gets the embedded optical-flow pipeline,
  and the artifact says so (`backend` embedded, `backend_detail.fallback_from`); the same
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
import io
import json
import logging
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from adapters.comfyui.capabilities import Capabilities
from adapters.comfyui.client import ComfyUIClient, Timeouts
from adapters.comfyui.lifecycle import Absent, Finished, JobWatch, cancel_prompt, reconcile
from adapters.comfyui.outcomes import (
    ImageRef,
    image_size,
    outcome_error,
    output_images,
    was_interrupted,
)
from adapters.errors import GenerationCancelled, GenerationFailed, InvalidWorkflow
from adapters.media_lab import images as img
from adapters.media_lab.embedded import (
    OUTPUT_LIMITS,
    ChunkedVideo,
    EmbeddedMediaLab,
    check_upscale_size,
    chunk_path,
    image_artifact,
    resume_point,
    run_in_thread,
    video_artifact,
)
from adapters.media_lab.errors import MediaInvalidInput
from adapters.media_lab.params import (
    BlendParams,
    InterpolateParams,
    ReferenceParams,
    UpscaleParams,
    check_target_fps,
    normalise_weights,
)
from adapters.media_lab.probe import probe
from adapters.media_lab.protocol import Artifact, MediaLab, OnChunk, Progress
from adapters.media_lab.video import join_chunks
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

    @property
    def backend(self) -> str:
        return f"comfyui {self.client.base_url}"

    async def aclose(self) -> None:
        await self.client.aclose()

    async def capabilities(self, *, refresh: bool = False) -> Capabilities:
        """What the server can run (the client's cache; `refresh` asks again)."""
        return await self.client.capabilities(refresh=refresh)

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
        """Run the workflow and write its one output image to `out`."""
        prompt_id, entry = await self._execute(
            workflow, out, kind=kind, progress=progress, start=start, end=0.95
        )
        refs = output_images(entry)
        data = await self.client.view(refs[0])
        image_size(data, refs[0].filename)
        await asyncio.to_thread(_write, out, data)
        return prompt_id, entry

    async def _execute(
        self,
        workflow: dict[str, Any],
        key: Path,
        *,
        kind: str,
        progress: Progress,
        start: float,
        end: float,
    ) -> tuple[str, dict[str, Any]]:
        """Queue (or re-attach to) the prompt for `key` (the file it makes), follow it to its
        end, and return its id and finished history entry (which saved at least one image)."""
        prompt_id = prompt_id_for(key, workflow)
        loop = asyncio.get_running_loop()
        pending: set[asyncio.Task[None]] = set()
        best = [start]

        async def send(value: float) -> None:
            await progress(value, f"ComfyUI {kind}")

        def on_progress(fraction: float, _preview: bytes | None) -> None:
            value = start + (end - start) * max(0.0, min(1.0, fraction))
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
                    extra = {_JOB_KEY: f"media:{kind}:{key.name}"}
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
            if not output_images(entry_done):
                raise GenerationFailed("ComfyUI finished the workflow but saved no image.")
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
        node = next((n for n in INTERPOLATION_NODES if n in caps.node_classes), None)
        if node is None or "ImageBatch" not in caps.node_classes:
            reason = (
                "the server lists no frame-interpolation node"
                if node is None
                else "the server lacks ImageBatch"
            )
            await self._unsupported("interpolate", reason)
            art = await self.embedded.interpolate(
                src, work, out, params=params, progress=progress, done_chunks=done_chunks,
                on_chunk=on_chunk,
            )  # fmt: skip
            return self._fell_back(art, reason)
        info = await asyncio.to_thread(probe, src, OUTPUT_LIMITS)
        if info.kind != "video" or info.fps is None or info.frames is None:
            raise MediaInvalidInput("src", "interpolation takes a video")
        multiple = check_target_fps(info.fps, params.target_fps)
        job = await asyncio.to_thread(ChunkedVideo, src, params, multiple, info.frames)
        prompt_ids: list[str] = []
        model = None
        try:
            first = await asyncio.to_thread(resume_point, work, done_chunks, job.total)
            await run_in_thread(job.skip_to, first)
            for index in range(first, job.total):
                frames, following = await run_in_thread(job.read_chunk)
                inputs = [*frames, following] if following is not None else frames
                names = [await self._upload_frame(frame) for frame in inputs]
                workflow, model = _interpolation_workflow(caps, node, names, multiple, index)
                span = (index / job.total * 0.95, (index + 1) / job.total * 0.95)
                path = chunk_path(work, index)
                prompt_id, entry = await self._execute(
                    workflow, path, kind="interpolate", progress=progress, start=span[0],
                    end=span[1],
                )  # fmt: skip
                prompt_ids.append(prompt_id)
                made = [await self._frame(ref, job) for ref in output_images(entry)]
                wanted = len(frames) * multiple
                if following is None:  # the last frame is held for its in-between slots
                    made = made[: (len(frames) - 1) * multiple + 1]
                    made += [made[-1]] * (multiple - 1)
                if len(made) < wanted:
                    raise GenerationFailed(
                        f"{node} returned {len(made)} frames for a chunk that needs {wanted}"
                    )
                await run_in_thread(job.write_frames, path, made[:wanted])
                if on_chunk is not None:
                    await on_chunk(index + 1, job.total)
                await progress(span[1], f"chunk {index + 1}/{job.total}")
        finally:
            await asyncio.to_thread(job.reader.close)
        chunks = [chunk_path(work, index) for index in range(job.total)]
        await progress(0.96, "joining chunks, adding audio")
        audio = await run_in_thread(join_chunks, chunks, src, out, job.rate)
        await progress(1.0, "done")
        detail = {
            "method": node,
            "model": model,
            "prompt_ids": prompt_ids,
            "source_fps": info.fps,
            "multiple": multiple,
            "chunks": job.total,
            "chunk_frames": params.chunk_frames,
            "resumed_at_chunk": first,
            **audio,
        }
        label = (
            f"comfyui: {node} frame interpolation ({model}), x{multiple}, in chunks of "
            f"{params.chunk_frames} frames; video joined and audio kept with PyAV here"
        )
        return await asyncio.to_thread(video_artifact, out, label, detail, self.backend)

    async def _upload_frame(self, frame: np.ndarray[Any, Any]) -> str:
        data = await asyncio.to_thread(_png, frame)
        digest = hashlib.sha256(data).hexdigest()[:16]
        return await self.client.upload_image(data, f"studio_media_frame_{digest}.png")

    async def _frame(self, ref: ImageRef, job: ChunkedVideo) -> np.ndarray[Any, Any]:
        data = await self.client.view(ref)
        return await asyncio.to_thread(_decode_frame, data, job.reader.width, job.reader.height)

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


def _interpolation_workflow(
    caps: Capabilities, node: str, names: list[str], multiple: int, index: int
) -> tuple[dict[str, Any], str | None]:
    """LoadImage per frame, an ImageBatch chain into one batch, the interpolation node (its
    inputs filled from /object_info: our frames and multiplier, a model, the defaults), and
    SaveImage. Returns the workflow and the model file it uses."""
    workflow: dict[str, Any] = {}
    for offset, name in enumerate(names):
        workflow[str(1 + offset)] = _node("LoadImage", f"frame {offset + 1}", image=name)
    batch: list[Any] = ["1", 0]
    for offset in range(1, len(names)):
        node_id = str(1 + len(names) + offset)
        workflow[node_id] = _node(
            "ImageBatch", f"batch {offset}", image1=batch, image2=[str(1 + offset), 0]
        )
        batch = [node_id, 0]
    inputs: dict[str, Any] = {}
    model = None
    required = ((caps.object_info.get(node) or {}).get("input") or {}).get("required") or {}
    for name in required:
        spec = caps.input_spec(node, name)
        if name == "frames":
            inputs[name] = batch
        elif name == "multiplier":
            inputs[name] = multiple
        elif name == "ckpt_name":
            options = spec.options if spec is not None else ()
            default = spec.default if spec is not None else None
            model = str(default) if default in options else (options[0] if options else None)
            inputs[name] = model
        elif name == "clear_cache_after_n_frames":
            inputs[name] = 10
        elif spec is not None and spec.default is not None:
            inputs[name] = spec.default
        elif spec is not None and spec.options:
            inputs[name] = spec.options[0]
    workflow["9000"] = _node(node, "interpolate", **inputs)
    workflow["9001"] = _node(
        "SaveImage", "output", images=["9000", 0], filename_prefix=f"studio_media/vfi_{index:04d}"
    )
    return workflow, model


def _png(frame: np.ndarray[Any, Any]) -> bytes:
    out = io.BytesIO()
    Image.fromarray(frame).save(out, format="PNG", compress_level=1)
    return out.getvalue()


def _decode_frame(data: bytes, width: int, height: int) -> np.ndarray[Any, Any]:
    with Image.open(io.BytesIO(data)) as image:
        rgb = image.convert("RGB")
        if rgb.size != (width, height):
            rgb = rgb.resize((width, height), Image.Resampling.LANCZOS)
        return np.asarray(rgb, np.uint8)


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
