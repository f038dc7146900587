"""State and services of the `media` graph (Media Lab jobs): plain, checkpoint-safe data."""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, NotRequired

from typing_extensions import TypedDict

if TYPE_CHECKING:
    from adapters.assets import AssetStore
    from adapters.media_lab.protocol import MediaLab
    from store.media_jobs import MediaJobStore
    from store.media_presets import PresetStore
    from store.uploads import UploadStore


class SourceRef(TypedDict):
    """One input of a job: an upload (`upload_id`) or a studio image (`asset_id`, a job asked
    for in a thread), resolved by `prepare` to its file, hash and shape."""

    upload_id: NotRequired[str]
    asset_id: NotRequired[str]
    sha256: NotRequired[str]
    path: NotRequired[str]
    kind: NotRequired[str]
    mime: NotRequired[str]
    width: NotRequired[int]
    height: NotRequired[int]
    fps: NotRequired[float | None]


class PresetRef(TypedDict):
    id: str
    version: NotRequired[int]


class SourceThread(TypedDict):
    """A job asked for in a studio thread: its result joins that thread's outputs."""

    thread_id: str
    asset_id: str
    deliverable: str


class MediaInput(TypedDict):
    """A job: its kind, inputs, preset and parameters. The HTTP API and CLI send it checked
    and resolved; from LangGraph Studio, `prepare` resolves what is missing (preset version,
    parameters from the preset, upload hashes)."""

    kind: str
    """`upscale`, `interpolate`, `generate` (from references) or `blend`."""
    inputs: list[SourceRef]
    preset: NotRequired[PresetRef]
    params: NotRequired[dict[str, Any]]
    """The kind's parameters (`adapters.media_lab.params`), over the preset's."""
    prompt: NotRequired[str]
    """`generate` only: what to make from the references."""
    weights: NotRequired[list[float]]
    """`blend` only: one weight per source (normalised); equal when absent."""
    job_id: NotRequired[str]
    """The job's id (= its thread id); the thread id when absent."""
    source: NotRequired[SourceThread]
    """Set when the person asked in a studio thread ("upscale hero-b 2x")."""


class MediaState(MediaInput):
    stage: NotRequired[str]
    """What the job is doing, in a few words (`prepared`, `chunk 3/8`, `done`)."""
    sources: NotRequired[list[SourceRef]]
    """The inputs, resolved: path, sha256, kind, mime, size, fps."""
    started_at: NotRequired[str]
    chunks_total: NotRequired[int]
    """Interpolation: how many chunks the video is processed in."""
    chunks_done: NotRequired[int]
    """Interpolation: chunks finished and checkpointed; a restart resumes after the last."""
    chunk_outputs: NotRequired[Annotated[list[str], operator.add]]
    """Interpolation: each finished chunk's file, in order (append-only)."""
    output: NotRequired[dict[str, Any]]
    """The produced file (`path`) and what it is (`Artifact.lineage()`), before indexing."""
    artifact: NotRequired[dict[str, Any]]
    """The indexed artifact: id, sha256, mime, size, fps, and its lineage."""


@dataclass(frozen=True, kw_only=True)
class MediaServices:
    """What the `media` graph's nodes use: the processing backend and the stores."""

    lab: MediaLab
    """ComfyUI when `COMFYUI_URL` is set, else the embedded CPU pipelines (labelled)."""
    uploads: UploadStore
    jobs: MediaJobStore
    presets: PresetStore
    assets: AssetStore | None = None
    """The studio's images, for jobs asked for in a thread."""
