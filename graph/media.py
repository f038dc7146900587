"""The `media` graph: one Media Lab job (upscale, interpolate, generate from references, blend)
as a run on the studio's run engine, checkpointed to Postgres like a studio thread.

prepare -> upscale | interpolate (one chunk per step, looping) | generate | blend -> record

Each node returns a partial update, so LangGraph Studio shows the intermediates: the resolved
sources, the chunks done and each chunk's file, the produced file, the indexed artifact. An
interpolation checkpoints after every chunk: a process killed mid-video resumes from the last
finished chunk.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime
from langgraph.types import RetryPolicy

from adapters.errors import InvalidInput, StudioError
from adapters.media_lab.params import (
    BlendParams,
    InterpolateParams,
    ReferenceParams,
    UpscaleParams,
    normalise_weights,
    parse_params,
)
from adapters.media_lab.protocol import Artifact
from graph.emit import emit
from graph.media_sources import resolve_sources, sha256_of
from graph.media_state import MediaInput, MediaServices, MediaState, SourceThread
from store.media_jobs import NewJob

MediaGraph = CompiledStateGraph[MediaState, MediaServices, MediaInput, MediaState]
RETRY = RetryPolicy(
    max_attempts=3,
    initial_interval=1.0,
    retry_on=lambda exc: isinstance(exc, StudioError) and exc.retryable,
)
"""Transient failures (a ComfyUI server that dropped, a busy database) are retried; bad input
and failed processing are not."""
_default: MediaServices | None = None
STUDIO_OWNER = "langgraph-studio"
"""Who owns a job that a LangGraph Studio run made (not submitted through the API or CLI)."""
INPUT_KEYS = ("upload_id", "asset_id", "sha256", "kind", "mime")


def set_default_services(services: MediaServices | None) -> None:
    """Register the services for runs that bring none: `langgraph dev`'s (its entry,
    `api/langgraph_app.py`, hands them to every run; nodes only read `runtime.context`)."""
    global _default
    _default = services


def default_services() -> MediaServices:
    """The registered default, else a clear error."""
    if _default is None:
        raise RuntimeError("no MediaServices: pass context= to the media graph")
    return _default


def job_of(state: MediaState, runtime: Any) -> str:
    """The job id: the input's, else the run's thread id."""
    info = getattr(runtime, "execution_info", None)
    return state.get("job_id") or str(getattr(info, "thread_id", None) or "local")


class _Progress:
    """The adapter's progress callback: a `progress` event for the stream, and the job's row
    now and then (at most twice a second, and at each new stage)."""

    def __init__(self, svc: MediaServices, job_id: str) -> None:
        self.svc, self.job_id = svc, job_id
        self.written_at, self.stage = 0.0, ""

    async def __call__(self, fraction: float, stage: str) -> None:
        overall = max(0.0, min(1.0, fraction))
        emit("progress", job_id=self.job_id, fraction=round(overall, 4), stage=stage)
        now = time.monotonic()
        if stage != self.stage or now - self.written_at >= 0.5:
            self.written_at, self.stage = now, stage
            await self.svc.jobs.progress(self.job_id, overall, stage)


async def prepare(state: MediaState, runtime: Runtime[MediaServices]) -> dict[str, Any]:
    """Check the job and resolve its inputs (files, hashes), preset and parameters."""
    svc = runtime.context
    job_id = job_of(state, runtime)
    kind = state["kind"]
    preset_ref = state.get("preset")
    preset_params: dict[str, Any] = {}
    preset_out: dict[str, Any] | None = None
    if preset_ref is not None:
        stored = await svc.presets.get(kind, preset_ref["id"], preset_ref.get("version"))
        preset_params = stored.params
        preset_out = {"id": stored.preset_id, "version": stored.version}
    params = parse_params(kind, {**preset_params, **(state.get("params") or {})})
    sources = await resolve_sources(svc, state["inputs"], kind)
    if kind == "blend":
        normalise_weights(state.get("weights"), len(sources))
    if kind == "generate" and not (state.get("prompt") or "").strip():
        raise InvalidInput("prompt: say what to make from the references")
    if kind == "interpolate":
        assert isinstance(params, InterpolateParams)
        params.multiple_for(float(sources[0].get("fps") or 0.0))
    await svc.jobs.create(  # a run started from LangGraph Studio: recorded here
        NewJob(
            job_id=job_id,
            owner=STUDIO_OWNER,
            kind=kind,
            inputs=[{k: v for k, v in s.items() if k in INPUT_KEYS} for s in sources],
            preset_id=preset_out["id"] if preset_out else "",
            preset_version=preset_out["version"] if preset_out else 0,
            params=params.model_dump(mode="json"),
            request={k: state[k] for k in ("prompt", "weights") if k in state},
        ),
        if_missing=True,
    )
    await svc.jobs.started(job_id, "prepared")
    emit("progress", job_id=job_id, fraction=0.0, stage="prepared")
    update: dict[str, Any] = {
        "job_id": job_id,
        "sources": sources,
        "params": params.model_dump(mode="json"),
        "stage": "prepared",
        "started_at": datetime.now(UTC).isoformat(),
    }
    if preset_out is not None:
        update["preset"] = preset_out
    return update


def route(state: MediaState) -> Literal["upscale", "interpolate", "generate", "blend"]:
    kind = state["kind"]
    if kind in ("upscale", "interpolate", "generate", "blend"):
        return kind  # type: ignore[return-value]
    raise InvalidInput(f"kind: {kind!r} is not one of upscale, interpolate, generate, blend")


async def _out(svc: MediaServices, job_id: str, suffix: str) -> Path:
    """Where the backend writes the job's result (its work folder, made off the event loop)."""
    return await asyncio.to_thread(svc.jobs.work_dir, job_id) / f"output{suffix}"


def _produced(artifact: Artifact) -> dict[str, Any]:
    return {"path": str(artifact.path), **artifact.lineage()}


async def upscale(state: MediaState, runtime: Runtime[MediaServices]) -> dict[str, Any]:
    """Upscale the image by the job's factor."""
    svc, job_id = runtime.context, job_of(state, runtime)
    params = UpscaleParams.model_validate(state["params"])
    src = Path(state["sources"][0]["path"])
    artifact = await svc.lab.upscale(
        src,
        await _out(svc, job_id, ".png"),
        factor=params.factor,
        params=params,
        progress=_Progress(svc, job_id),
    )
    return {"output": _produced(artifact), "stage": "upscaled"}


class ChunkBoundary(BaseException):
    """Raised from `on_chunk` after one new chunk is on disk, so the node returns and the
    graph checkpoints it (a BaseException, so no `except Exception` in a backend swallows
    it)."""

    def __init__(self, done: int, total: int) -> None:
        super().__init__(f"chunk {done}/{total}")
        self.done, self.total = done, total


async def interpolate(state: MediaState, runtime: Runtime[MediaServices]) -> dict[str, Any]:
    """Interpolate the next chunk of the video; when it was the last, join the chunks into
    the output (with the source's audio). One chunk per step, each checkpointed."""
    svc, job_id = runtime.context, job_of(state, runtime)
    params = InterpolateParams.model_validate(state["params"])
    done = int(state.get("chunks_done") or 0)
    total = int(state.get("chunks_total") or 0)
    work = await asyncio.to_thread(svc.jobs.work_dir, job_id) / "chunks"

    async def on_chunk(count: int, of: int) -> None:
        if count < of:
            raise ChunkBoundary(count, of)

    try:
        artifact = await svc.lab.interpolate(
            Path(state["sources"][0]["path"]),
            work,
            await _out(svc, job_id, ".mp4"),
            params=params,
            progress=_Progress(svc, job_id),  # the backend reports the whole video's fraction
            done_chunks=done,
            on_chunk=on_chunk,
        )
    except ChunkBoundary as boundary:
        stage = f"chunk {boundary.done}/{boundary.total}"
        await svc.jobs.progress(job_id, boundary.done / boundary.total, stage)
        return {
            "chunks_done": boundary.done,
            "chunks_total": boundary.total,
            "chunk_outputs": [await asyncio.to_thread(_chunk_file, work, boundary.done - 1)],
            "stage": stage,
        }
    last = int(artifact.backend_detail.get("chunks") or max(total, done + 1))
    return {
        "chunks_done": last,
        "chunks_total": last,
        "chunk_outputs": (
            [await asyncio.to_thread(_chunk_file, work, last - 1)] if last > done else []
        ),
        "output": _produced(artifact),
        "stage": "interpolated",
    }


def _chunk_file(work: Path, index: int) -> str:
    found = sorted(work.glob(f"chunk-{index:04d}.*"))
    return str(found[0]) if found else str(work / f"chunk-{index:04d}")


def after_interpolate(state: MediaState) -> Literal["interpolate", "record"]:
    return "record" if state.get("output") else "interpolate"


async def generate(state: MediaState, runtime: Runtime[MediaServices]) -> dict[str, Any]:
    """Make an image from the reference images and the prompt."""
    svc, job_id = runtime.context, job_of(state, runtime)
    artifact = await svc.lab.from_references(
        [Path(s["path"]) for s in state["sources"]],
        await _out(svc, job_id, ".png"),
        prompt=state.get("prompt") or "",
        params=ReferenceParams.model_validate(state["params"]),
        progress=_Progress(svc, job_id),
    )
    return {"output": _produced(artifact), "stage": "generated"}


async def blend(state: MediaState, runtime: Runtime[MediaServices]) -> dict[str, Any]:
    """Blend the sources with their weights in the preset's mode."""
    svc, job_id = runtime.context, job_of(state, runtime)
    sources = state["sources"]
    artifact = await svc.lab.blend(
        [Path(s["path"]) for s in sources],
        await _out(svc, job_id, ".png"),
        weights=normalise_weights(state.get("weights"), len(sources)),
        params=BlendParams.model_validate(state["params"]),
        progress=_Progress(svc, job_id),
    )
    return {"output": _produced(artifact), "stage": "blended"}


async def record(state: MediaState, runtime: Runtime[MediaServices]) -> dict[str, Any]:
    """Store the output content-addressed and index it with its lineage (once per job)."""
    svc, job_id = runtime.context, job_of(state, runtime)
    output = dict(state["output"])
    produced = Path(output.pop("path"))
    if not await asyncio.to_thread(produced.exists):  # resumed after its work folder went
        done = await svc.jobs.get(job_id)
        if done is not None and done.get("artifact") is not None:
            emit("progress", job_id=job_id, fraction=1.0, stage="done")
            kept = {k: v for k, v in done["artifact"].items() if k != "path"}
            return {"artifact": kept, "stage": "done"}
    sha256 = await asyncio.to_thread(sha256_of, produced)
    relative = await asyncio.to_thread(svc.jobs.keep_file, produced, sha256)
    size = (await asyncio.to_thread((svc.jobs.root / relative).stat)).st_size
    finished = datetime.now(UTC)
    started = state.get("started_at")
    seconds = (finished - datetime.fromisoformat(started)).total_seconds() if started else None
    lineage = {
        "job": job_id,
        "kind": state["kind"],
        "inputs": [
            {k: s[k] for k in ("upload_id", "asset_id", "sha256") if k in s}
            for s in state["sources"]
        ],
        "preset": state.get("preset"),
        "params": state.get("params"),
        "prompt": state.get("prompt"),
        "weights": (
            normalise_weights(state.get("weights"), len(state["sources"]))
            if state["kind"] == "blend"
            else None
        ),
        "backend": output.get("backend"),
        "backend_detail": output.get("backend_detail"),
        "source": state.get("source"),
        "timings": {
            "started_at": started,
            "finished_at": finished.isoformat(),
            "seconds": round(seconds, 3) if seconds is not None else None,
            "chunks": state.get("chunks_total"),
        },
    }
    artifact = {
        "job_id": job_id,
        "kind": state["kind"],
        "sha256": sha256,
        "path": str(relative),
        "mime": output["mime"],
        "width": output["width"],
        "height": output["height"],
        "fps": output.get("fps"),
        "frames": output.get("frames"),
        "duration_s": output.get("duration_s"),
        "has_audio": bool(output.get("has_audio")),
        "bytes": size,
        "backend": str(output.get("backend") or "embedded"),
        "backend_detail": output.get("backend_detail") or {},
        "label": str(output.get("label") or ""),
        "lineage": lineage,
    }
    # the thread's output first: a job reads SUCCEEDED only once its result is where it says
    # (the clean-clone CI run saw SUCCEEDED, then the thread's outputs without the upscale)
    if (source := state.get("source")) is not None:
        await join_thread(svc, source, artifact, svc.jobs.root / relative)
    await svc.jobs.succeed(artifact)
    # the result is stored content-addressed: its chunks and output copy in the work folder
    # are scratch now (kept until here so a restart resumes from them)
    await asyncio.to_thread(svc.jobs.drop_work, job_id)
    emit("progress", job_id=job_id, fraction=1.0, stage="done")
    shown = {k: v for k, v in artifact.items() if k != "path"}
    return {"artifact": shown, "stage": "done"}


async def join_thread(
    svc: MediaServices, source: SourceThread, artifact: dict[str, Any], path: Path
) -> None:
    """Store the result in the studio thread that asked for it, as a new output of the same
    deliverable (exactly once per job), its recipe the job's lineage."""
    if svc.assets is None or not artifact["mime"].startswith("image/"):
        return
    before = await svc.assets.get(source["asset_id"]) if source["asset_id"] else None
    await svc.assets.put_media(
        await asyncio.to_thread(path.read_bytes),
        content_type=artifact["mime"],
        width=artifact["width"],
        height=artifact["height"],
        generator=f"media lab {artifact['kind']} ({artifact['backend']})",
        recipe={"media_lab": artifact["lineage"], "label": artifact["label"]},
        thread_id=source["thread_id"],
        job_id=f"{artifact['job_id']}:result",
        deliverable=source["deliverable"],
        iteration=before.iteration if before else 0,
        spec=before.spec if before else {},
        seed=before.seed if before else 0,
    )


def build_media_graph(*, checkpointer: Any = None) -> MediaGraph:
    """Wire the `media` graph; the caller picks the checkpointer (Postgres, or memory)."""
    builder = StateGraph(MediaState, context_schema=MediaServices, input_schema=MediaInput)
    builder.add_node(prepare, retry_policy=RETRY)
    for node in (upscale, interpolate, generate, blend):
        builder.add_node(node, retry_policy=RETRY)
    builder.add_node(record, retry_policy=RETRY)
    builder.add_edge(START, "prepare")
    builder.add_conditional_edges("prepare", route)
    for name in ("upscale", "generate", "blend"):
        builder.add_edge(name, "record")
    builder.add_conditional_edges("interpolate", after_interpolate)
    builder.add_edge("record", END)
    return builder.compile(checkpointer=checkpointer, name="media")
