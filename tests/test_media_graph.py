"""The `media` graph on the embedded backend and a real Postgres: each kind end to end, the
intermediates in its state, and an interpolation that resumes from its last finished chunk."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import av
import pytest
from PIL import Image

from adapters.errors import ServiceUnavailable
from adapters.media_lab.embedded import EmbeddedMediaLab
from adapters.media_lab.errors import MediaInvalidInput, ReferenceUnreadable
from adapters.media_lab.probe import probe
from graph.media import build_media_graph
from graph.media_state import MediaServices
from store.media_jobs import MediaJobStore, NewJob, job_json
from store.media_presets import PresetStore, builtin_versions
from store.uploads import UploadRecord, UploadStore
from tests.media_helpers import mp4_bytes, png_bytes

pytestmark = pytest.mark.anyio


@pytest.fixture
async def services(database, tmp_path: Path) -> MediaServices:
    root = tmp_path / "assets"
    presets = PresetStore(database.pool)
    await presets.merge_builtins(builtin_versions())
    return MediaServices(
        lab=EmbeddedMediaLab(),
        uploads=UploadStore(database.pool, root),
        jobs=MediaJobStore(database.pool, root),
        presets=presets,
    )


async def upload(svc: MediaServices, data: bytes, name: str = "x.png") -> UploadRecord:
    async def body() -> Any:
        yield data

    staged = await svc.uploads.stage(body(), max_bytes=1 << 24)
    return await svc.uploads.put(staged, probe(staged.path), owner="u1", filename=name)


async def new_job(svc: MediaServices, kind: str, uploads: list[UploadRecord], **request) -> str:
    job_id = f"media-{uuid.uuid4()}"
    await svc.jobs.create(
        NewJob(
            job_id=job_id,
            owner="u1",
            kind=kind,
            inputs=[{"upload_id": u.id, "sha256": u.sha256} for u in uploads],
            preset_id="x",
            preset_version=1,
            params={},
            request=request,
        )
    )
    return job_id


def graph_input(job_id: str, kind: str, uploads: list[UploadRecord], **extra) -> dict[str, Any]:
    return {
        "job_id": job_id,
        "kind": kind,
        "inputs": [{"upload_id": u.id, "sha256": u.sha256} for u in uploads],
        **extra,
    }


def config(job_id: str) -> Any:
    return {"configurable": {"thread_id": job_id}}


async def test_upscale_resolves_the_preset_and_indexes_the_artifact(services, database) -> None:
    src = await upload(services, png_bytes((64, 48)))
    job_id = await new_job(services, "upscale", [src])
    graph = build_media_graph(checkpointer=database.saver)
    state = await graph.ainvoke(
        graph_input(job_id, "upscale", [src], preset={"id": "crisp"}, params={"factor": 4}),
        config(job_id),
        context=services,
    )
    assert state["preset"] == {"id": "crisp", "version": 1}
    assert state["params"]["factor"] == 4 and state["params"]["sharpen_percent"] == 120
    assert state["sources"][0]["sha256"] == src.sha256 and state["stage"] == "done"
    row = await services.jobs.get(job_id)
    assert row is not None and row["status"] == "SUCCEEDED"
    artifact = job_json(row)["artifact"]
    assert (artifact["width"], artifact["height"], artifact["mime"]) == (256, 192, "image/png")
    assert artifact["backend"] == "embedded" and "not a learned upscaler" in artifact["label"]
    lineage = artifact["lineage"]
    assert lineage["inputs"] == [{"upload_id": src.id, "sha256": src.sha256}]
    assert lineage["preset"] == {"id": "crisp", "version": 1} and lineage["job"] == job_id
    assert lineage["timings"]["seconds"] is not None
    stored = services.jobs.artifact_path(row["artifact"])
    with Image.open(stored) as image:
        assert image.size == (256, 192)
    assert stored.name.startswith(artifact["sha256"])
    assert not (services.jobs.root / "media" / "work" / job_id).exists()  # D2: no copy kept


async def test_blend_and_generate_record_their_sources(services, database) -> None:
    a = await upload(services, png_bytes((64, 48), (200, 30, 30)))
    b = await upload(services, png_bytes((64, 48), (30, 30, 200)))
    graph = build_media_graph(checkpointer=database.saver)
    job_id = await new_job(services, "blend", [a, b])
    state = await graph.ainvoke(
        graph_input(job_id, "blend", [a, b], preset={"id": "moodboard"}, weights=[3, 1]),
        config(job_id),
        context=services,
    )
    lineage = state["artifact"]["lineage"]
    assert lineage["weights"] == [0.75, 0.25]
    assert [i["upload_id"] for i in lineage["inputs"]] == [a.id, b.id]
    row = await services.jobs.get(job_id)
    with Image.open(services.jobs.artifact_path(row["artifact"])) as image:  # type: ignore[index]
        r, _, bl = image.convert("RGB").getpixel((2, 2))
    assert r > bl  # mostly the red source, by its weight

    job_id = await new_job(services, "generate", [a])
    state = await graph.ainvoke(
        graph_input(job_id, "generate", [a], prompt="a lighthouse at dusk"),
        config(job_id),
        context=services,
    )
    assert state["artifact"]["mime"] == "image/png"
    assert state["artifact"]["lineage"]["prompt"] == "a lighthouse at dusk"


async def test_bad_inputs_fail_deterministically(services, database) -> None:
    image = await upload(services, png_bytes())
    graph = build_media_graph(checkpointer=database.saver)
    job_id = await new_job(services, "blend", [image])
    with pytest.raises(MediaInvalidInput, match="inputs: blend takes 2 to 8"):
        await graph.ainvoke(graph_input(job_id, "blend", [image]), config(job_id), context=services)
    job_id = await new_job(services, "generate", [])
    missing = {
        "job_id": job_id,
        "kind": "generate",
        "prompt": "x",
        "inputs": [{"upload_id": str(uuid.uuid4())}],
    }
    with pytest.raises(ReferenceUnreadable, match=r"inputs\[0\]: no upload"):
        await graph.ainvoke(missing, config(job_id), context=services)
    job_id = await new_job(services, "interpolate", [image])
    with pytest.raises(MediaInvalidInput, match=r"inputs\[0\]: interpolate takes a video"):
        await graph.ainvoke(
            graph_input(job_id, "interpolate", [image]), config(job_id), context=services
        )


async def test_interpolation_checkpoints_each_chunk_and_resumes_after_the_last(
    services, database, tmp_path: Path
) -> None:
    video = await upload(services, mp4_bytes(tmp_path / "in.mp4", fps=60, frames=24), "in.mp4")
    job_id = await new_job(services, "interpolate", [video])
    first = build_media_graph(checkpointer=database.saver)
    job = graph_input(job_id, "interpolate", [video], params={"target_fps": 120, "chunk_frames": 8})
    await first.ainvoke(job, config(job_id), context=services, interrupt_after=["interpolate"])
    paused = (await first.aget_state(config(job_id))).values
    assert (paused["chunks_done"], paused["chunks_total"]) == (1, 3)
    assert len(paused["chunk_outputs"]) == 1 and Path(paused["chunk_outputs"][0]).is_file()
    assert "output" not in paused
    made_first = Path(paused["chunk_outputs"][0]).stat().st_mtime_ns

    kept: list[int] = []
    drop_work = services.jobs.drop_work

    def dropped(job: str) -> None:  # the chunks as they were when the job was done
        kept.append(Path(paused["chunk_outputs"][0]).stat().st_mtime_ns)
        drop_work(job)

    services.jobs.drop_work = dropped  # type: ignore[method-assign]
    restarted = build_media_graph(checkpointer=database.saver)  # a new process, same database
    state = await restarted.ainvoke(None, config(job_id), context=services)
    assert state["chunks_done"] == 3 and len(state["chunk_outputs"]) == 3
    artifact = state["artifact"]
    assert artifact["backend_detail"]["resumed_at_chunk"] == 2  # one chunk per step
    assert state["chunk_outputs"][0] == paused["chunk_outputs"][0]
    assert kept == [made_first]  # not made again
    # D2: the result is stored content-addressed; the work folder (chunks, output) is gone
    assert not (services.jobs.root / "media" / "work" / job_id).exists()
    again = await restarted.ainvoke(None, config(job_id), context=services)
    assert again["stage"] == "done"  # a finished job's run does nothing more
    assert artifact["fps"] == 120 and artifact["frames"] == 48 and artifact["has_audio"]
    row = await services.jobs.get(job_id)
    with av.open(str(services.jobs.artifact_path(row["artifact"]))) as out:  # type: ignore[index]
        stream = out.streams.video[0]
        assert float(stream.average_rate) == 120  # type: ignore[arg-type]
        assert sum(1 for _ in out.decode(video=0)) == 48
        assert out.streams.audio


class FlakyOnce:
    """The embedded backend behind a server that drops the first call (a transient failure)."""

    def __init__(self) -> None:
        self.inner = EmbeddedMediaLab()
        self.name = "flaky"
        self.calls = 0

    async def upscale(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        if self.calls == 1:
            raise ServiceUnavailable("cannot reach the media server (dropped)")
        return await self.inner.upscale(*args, **kwargs)


async def test_a_transient_failure_is_retried_by_policy(services, database) -> None:
    flaky = FlakyOnce()
    retrying = MediaServices(
        lab=flaky,  # type: ignore[arg-type]
        uploads=services.uploads,
        jobs=services.jobs,
        presets=services.presets,
    )
    src = await upload(services, png_bytes())
    job_id = await new_job(services, "upscale", [src])
    graph = build_media_graph(checkpointer=database.saver)
    state = await graph.ainvoke(
        graph_input(job_id, "upscale", [src]), config(job_id), context=retrying
    )
    assert flaky.calls == 2 and state["artifact"]["width"] == 128
