"""What a Media Lab job adds to the processing: interpolation frames/s and upscale megapixels/s
as jobs on the run engine (a run of the `media` graph: queued, claimed, checkpointed to
Postgres after every step and chunk, progress in the event log, the artifact stored and
indexed with its lineage) against `EmbeddedMediaLab` called alone, in the same run.

    python -m bench.media_jobs [--height 360] [--frames 60] [--chunk 30] [--side 1280] [--rounds 5]

`bench.media` compares `EmbeddedMediaLab` with the libraries alone; this one measures the layer
above it. Each pair takes turns, a round at a time. `job`: `MediaJobs.submit` (the upload is
stored beforehand, once) and wait for the job's run to end; `lab`: the backend's own call with
the same parameters. The summary gives job / lab (the goal: the job machinery adds under 5%).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from adapters.media_lab.embedded import EmbeddedMediaLab
from adapters.media_lab.params import InterpolateParams, UpscaleParams, builtin_preset
from adapters.media_lab.probe import probe
from adapters.threads import ThreadRegistry
from bench.harness import database, header, make_context, out, run
from bench.media import make_clip, media_argparser, quiet, scene, timed
from engine.manager import open_engine
from engine.media_jobs import Actor
from engine.media_lab import MediaLab, media_services
from engine.media_requests import JobRequest
from engine.settings import Settings
from engine.studio import Studio
from graph.builder import build_graph
from store.uploads import UploadRecord


async def chunks(path: Path) -> AsyncIterator[bytes]:
    yield await asyncio.to_thread(path.read_bytes)


async def stored(lab: MediaLab, path: Path) -> UploadRecord:
    staged = await lab.services.uploads.stage(chunks(path), max_bytes=1 << 31)
    return await lab.services.uploads.put(
        staged, probe(staged.path), owner="bench", filename=path.name
    )


async def finished(lab: MediaLab, actor: Actor, request: JobRequest) -> dict[str, Any]:
    """Submit and wait for the run's end marker in the event log (no polling)."""
    job = await lab.jobs.submit(actor, request)
    log = lab.jobs.manager.log
    async for _ in log.follow(job["id"], 0, channels=("control",), run_id=job["run_id"]):
        break
    job = await lab.jobs.show(actor, str(job["id"]))
    assert job["status"] == "SUCCEEDED", job
    artifact = job["artifact"]
    assert isinstance(artifact, dict)
    return artifact


def ratio(walls: dict[str, list[float]]) -> float:
    return statistics.median(walls["job"]) / statistics.median(walls["lab"])


def report(what: str, unit: str, walls: dict[str, list[float]], cpus: dict[str, list[float]],
           work: dict[str, float]) -> None:  # fmt: skip
    for name in ("lab", "job"):
        wall, used = statistics.median(walls[name]), statistics.median(cpus[name])
        out(
            f"{what} {name}: {work[name] / wall:.2f} {unit} (median of {len(walls[name])}: "
            f"{wall:.2f} s, {min(walls[name]):.2f}-{max(walls[name]):.2f}); CPU {used:.2f} s "
            f"(x{used / statistics.median(cpus['lab']):.3f} of lab)"
        )


async def main(args: argparse.Namespace) -> None:
    header("media lab: jobs on the run engine vs the embedded backend alone", args)
    home = Path(tempfile.mkdtemp(prefix="bench-media-jobs-"))
    backend = EmbeddedMediaLab()
    settings = Settings(home=home)
    try:
        async with database() as db:
            context = make_context(db, home)
            studio = Studio(
                build_graph(checkpointer=db.saver),
                context,
                ThreadRegistry(db.pool),
                {"database": db.label, "models": "offline", "images": "bench"},
                media=media_services(context.assets, backend),
            )
            async with open_engine(studio, settings) as engine:
                lab = await MediaLab.open(engine.manager, studio.media, settings)
                actor = Actor("bench", admin=True)
                clip = home / "clip.mp4"
                make_clip(clip, args.height, args.frames)
                video = await stored(lab, clip)
                params = InterpolateParams(target_fps=120, chunk_frames=args.chunk)

                async def lab_interpolate(index: int) -> float:
                    work = home / f"work-{index}"
                    art = await backend.interpolate(
                        clip, work, home / f"lab-{index}.mp4", params=params, progress=quiet
                    )
                    shutil.rmtree(work)
                    return float(art.frames or 0)

                async def job_interpolate(index: int) -> float:
                    request = JobRequest(
                        kind="interpolate",
                        inputs=[video.id],
                        target_fps=120,
                        params={"chunk_frames": args.chunk},
                    )
                    art = await finished(lab, actor, request)
                    return float(art["frames"])

                drivers: dict[str, Callable[[int], Awaitable[float]]] = {
                    "lab": lab_interpolate,
                    "job": job_interpolate,
                }
                walls, cpus, work = await timed(drivers, args.rounds)
                out(f"interpolation: {args.frames} frames 60 -> 120 fps, chunks of {args.chunk}")
                report("interpolate", "output frames/s", walls, cpus, work)
                interp = ratio(walls)

                picture = home / "in.png"
                scene(args.side, args.side * 9 // 16 // 8 * 8, 5).save(picture)
                image = await stored(lab, picture)
                crisp = builtin_preset("crisp").params
                assert isinstance(crisp, UpscaleParams)

                async def lab_upscale(index: int) -> float:
                    art = await backend.upscale(
                        picture, home / f"up-{index}.png", factor=2, params=crisp, progress=quiet
                    )
                    return art.width * art.height / 1e6

                async def job_upscale(index: int) -> float:
                    request = JobRequest(kind="upscale", inputs=[image.id], preset="crisp")
                    art = await finished(lab, actor, request)
                    return int(art["width"]) * int(art["height"]) / 1e6

                walls2, cpus2, work2 = await timed(
                    {"lab": lab_upscale, "job": job_upscale}, args.rounds
                )
                out(f"upscale: {args.side} wide PNG, 2x, crisp preset")
                report("upscale", "output MP/s", walls2, cpus2, work2)
                up = ratio(walls2)
                out(
                    f"summary: interpolation as a job x{interp:.3f} of the backend alone "
                    f"({100 * (interp - 1):+.1f}%); upscale as a job x{up:.3f} "
                    f"({100 * (up - 1):+.1f}%); goal: under +5%"
                )
    finally:
        shutil.rmtree(home, ignore_errors=True)


def cli() -> None:
    run(main(media_argparser("bench.media_jobs", __doc__).parse_args()))


if __name__ == "__main__":
    cli()
