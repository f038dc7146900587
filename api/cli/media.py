"""`studio upload` and `studio media …`: the Media Lab from the terminal, in process on the run
engine like every other command (the job runs here unless another process holds it), acting
as the home's admin."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from adapters.errors import InvalidInput
from adapters.media_lab.probe import probe
from api.cli.local import LocalClient
from engine.media_jobs import Actor
from engine.media_lab import MediaLab
from engine.media_requests import JobRequest
from people.accounts import caller_of
from people.audit import audited
from people.bootstrap import ensure_home_admin

media_app = typer.Typer(
    help="The Media Lab: upscale, interpolate, generate from references, blend, as jobs.",
    no_args_is_help=True,
)
JsonOut = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]
NoWait = Annotated[bool, typer.Option("--no-wait", help="Queue the job and return at once.")]
KINDS = {"upscale": "upscale", "interpolate": "interpolate", "references": "generate"}
KINDS.update(generate="generate", blend="blend")
"""`studio media submit KIND`: `references` is the `generate` kind (from references)."""


def _run(body: Callable[[LocalClient, MediaLab, Actor], Awaitable[None]], hint: str = "") -> None:
    from api.cli.local import open_local
    from api.cli.main import run_main
    from engine.settings import Settings

    settings = Settings()

    async def main() -> None:
        async with open_local(settings) as client:
            lab = await MediaLab.open(client.manager, client.studio.media, settings)
            who = client.caller
            if who is None:
                admin = await ensure_home_admin(client.studio.threads.pool, settings.home)
                who = caller_of(admin.user, "local")
            await body(client, lab, Actor(who.user_id, admin=who.is_admin(), caller=who))

    run_main(settings, main, hint)


def _emit(data: dict[str, Any], as_json: bool, lines: list[str]) -> None:
    if as_json:
        typer.echo(json.dumps(data, indent=2, default=str))
        return
    console = Console()
    for line in lines:
        console.print(line, markup=False, highlight=False, soft_wrap=True)


def upload(
    file: Annotated[
        Path, typer.Argument(help="An image (PNG, JPEG, WebP) or video (MP4, WebM, MOV).")
    ],
    as_json: JsonOut = False,
) -> None:
    """Upload a file to the Media Lab (checked by content; stored once by its SHA-256)."""

    async def body(client: LocalClient, lab: MediaLab, actor: Actor) -> None:
        if not await asyncio.to_thread(file.is_file):
            raise InvalidInput(f"{file}: no such file")
        staged = await lab.services.uploads.stage(_read(file), max_bytes=lab.max_upload_bytes)
        try:
            probed = await asyncio.to_thread(probe, staged.path, lab.limits)
        except BaseException:
            staged.discard()
            raise
        record = await lab.services.uploads.put(
            staged, probed, owner=actor.user_id, filename=file.name
        )
        shape = f"{record.width}x{record.height}"
        if record.kind == "video":
            shape += f", {record.fps:g} fps, {record.frames} frames, {record.duration_s:g} s"
            shape += ", audio" if record.has_audio else ", no audio"
        _emit(
            record.json(), as_json, [f"{record.id}  {record.mime}  {shape}  {record.bytes} bytes"]
        )

    _run(body)


async def _read(path: Path) -> AsyncIterator[bytes]:
    with path.open("rb") as f:
        while block := await asyncio.to_thread(f.read, 1 << 20):
            yield block


@media_app.command()
def submit(
    kind: Annotated[
        str, typer.Argument(help="upscale, interpolate, references (or generate), blend")
    ],
    inputs: Annotated[
        list[str], typer.Argument(help="Upload ids (`studio upload FILE` prints one).")
    ],
    preset: Annotated[
        str | None, typer.Option(help="Preset id (`crisp`, `smooth-120`, …).")
    ] = None,
    preset_version: Annotated[
        int | None, typer.Option(help="Its version; default its latest.")
    ] = None,
    factor: Annotated[int | None, typer.Option(help="upscale: 2 or 4.")] = None,
    fps: Annotated[float | None, typer.Option(help="interpolate: the target frame rate.")] = None,
    prompt: Annotated[str | None, typer.Option(help="references: what to make.")] = None,
    strength: Annotated[
        float | None, typer.Option(help="references: 0 keeps them, 1 ignores them.")
    ] = None,
    weights: Annotated[
        str | None, typer.Option(help="blend: comma-separated, one per image.")
    ] = None,
    mode: Annotated[
        str | None,
        typer.Option(help="blend: average, multiply, screen, overlay, soft_light, difference."),
    ] = None,
    thread: Annotated[
        str | None, typer.Option(help="A studio thread the result joins (references: its brief).")
    ] = None,
    deliverable: Annotated[str | None, typer.Option(help="With --thread: which one.")] = None,
    out: Annotated[Path | None, typer.Option(help="Copy the result into this folder.")] = None,
    no_wait: NoWait = False,
    as_json: JsonOut = False,
) -> None:
    """Submit a job and follow it with a progress bar to its end (exit 1 if it fails)."""
    if kind not in KINDS:
        raise typer.BadParameter(f"KIND must be one of {', '.join(KINDS)}", param_hint="KIND")
    fields: dict[str, Any] = {
        "kind": KINDS[kind],
        "inputs": inputs,
        "preset": preset,
        "preset_version": preset_version,
        "factor": factor,
        "target_fps": fps,
        "prompt": prompt,
        "strength": strength,
        "mode": mode,
        "thread_id": thread,
        "deliverable": deliverable,
    }
    if weights is not None:
        try:
            fields["weights"] = [float(w) for w in weights.split(",")]
        except ValueError:
            raise typer.BadParameter("comma-separated numbers", param_hint="--weights") from None
    try:
        request = JobRequest.model_validate({k: v for k, v in fields.items() if v is not None})
    except ValidationError as exc:
        typer.echo(f"error: {_usage_problem(exc)}", err=True)
        raise typer.Exit(2) from None

    async def body(client: LocalClient, lab: MediaLab, actor: Actor) -> None:
        pool = client.studio.threads.pool
        await lab.check_quota(actor.user_id)
        async with audited(pool, actor=actor.caller, action="media.job.submitted") as entry:
            job = await lab.jobs.submit(actor, request)
            entry.target = job["id"]
            entry.detail.update(kind=job["kind"], preset=job["preset"], via="cli")
        await _finish(client, lab, actor, job, no_wait=no_wait, as_json=as_json, out=out)

    _run(body)


FLAGS = {"inputs": "INPUTS", "target_fps": "--fps", "thread_id": "--thread"}
"""A JobRequest field to the argument of `studio media submit` that sets it."""


def _usage_problem(exc: ValidationError) -> str:
    """The first problem of a refused request as one line naming the argument at fault."""
    err = exc.errors()[0]
    field = str(err["loc"][0]) if err["loc"] else "KIND"
    name = FLAGS.get(field, "--" + field.replace("_", "-"))
    msg = str(err.get("msg", "")).removeprefix("Value error, ")
    if field == "inputs" and err.get("type") == "string_pattern_mismatch":
        msg = "an upload id (`studio upload FILE` prints one)"
    elif field == "factor":
        msg = "must be 2 or 4"
    return f"{name}: {msg}; got {err.get('input')!r}"


async def _finish(
    client: LocalClient,
    lab: MediaLab,
    actor: Actor,
    job: dict[str, Any],
    *,
    no_wait: bool,
    as_json: bool,
    out: Path | None,
) -> None:
    if not no_wait:
        await _follow(client, job)
        job = await lab.jobs.show(actor, job["id"])
    lines = _describe(job)
    if out is not None and job.get("artifact"):
        row = await lab.jobs.row(actor, job["id"])
        src = lab.services.jobs.artifact_path(row["artifact"])
        await asyncio.to_thread(out.mkdir, parents=True, exist_ok=True)
        dest = out / job["artifact"]["name"]
        await asyncio.to_thread(shutil.copyfile, src, dest)
        lines.append(f"copied to {dest}")
        job["copied_to"] = str(dest)
    _emit(job, as_json, lines)
    if job["status"] == "FAILED":
        raise typer.Exit(1)


async def _follow(client: LocalClient, job: dict[str, Any]) -> None:
    """The job's progress as a bar on stderr until its run ends (it executes in this process
    unless another holds it; if that process dies, this one resumes it)."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
    )
    console = Console(stderr=True)
    with Progress(*columns, TimeElapsedColumn(), console=console, transient=True) as bar:
        task = bar.add_task(f"{job['kind']} {job['id'][-8:]}", total=1.0)
        async for record in client.follow(job["id"], job["run_id"]):
            if record.event == "progress":
                data = json.loads(record.data)
                bar.update(
                    task,
                    completed=float(data.get("fraction", 0)),
                    description=f"{job['kind']}: {data.get('stage', '')}",
                )


def _describe(job: dict[str, Any]) -> list[str]:
    preset = f"preset {job['preset']['id']} v{job['preset']['version']}"
    lines = [f"{job['id']}  {job['kind']}  {job['status']}  {preset}"]
    if job.get("retry_of"):
        lines.append(f"retry of {job['retry_of']}")
    if job.get("error"):
        lines.append(f"error [{job['error']['code']}]: {job['error']['message']}")
    artifact = job.get("artifact")
    if artifact:
        shape = f"{artifact['width']}x{artifact['height']}"
        if artifact.get("fps"):
            shape += f", {artifact['fps']:g} fps, {artifact['frames']} frames"
            shape += f", {artifact['duration_s']:g} s"
        digest = artifact["sha256"][:12]
        lines.append(f"result: {artifact['name']}  {artifact['mime']}  {shape}  sha256 {digest}")
        lines.append(f"made by: {artifact['label'] or artifact['backend']}")
    return lines


@media_app.command("list")
def list_jobs(
    status: Annotated[
        str | None, typer.Option(help="QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED")
    ] = None,
    kind: Annotated[str | None, typer.Option(help="upscale, interpolate, generate, blend")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100)] = 20,
    cursor: Annotated[
        str | None, typer.Option(help="The next_cursor a previous page gave.")
    ] = None,
    as_json: JsonOut = False,
) -> None:
    """Jobs, newest first."""

    async def body(client: LocalClient, lab: MediaLab, actor: Actor) -> None:
        page = await lab.jobs.list(actor, status=status, kind=kind, cursor=cursor, limit=limit)
        lines = [
            f"{j['id']}  {j['kind']:<11} {j['status']:<9} {j['progress'] * 100:>3.0f}%"
            f"  {j['created_at'][:19]}"
            for j in page["jobs"]
        ] or ["no media jobs"]
        if page["next_cursor"]:
            lines.append(f"more: studio media list --cursor {page['next_cursor']}")
        _emit(page, as_json, lines)

    _run(body)


@media_app.command()
def show(job_id: str, as_json: JsonOut = False) -> None:
    """A job: status, progress, error, result and its lineage."""

    async def body(client: LocalClient, lab: MediaLab, actor: Actor) -> None:
        job = await lab.jobs.show(actor, job_id)
        _emit(job, as_json, _describe(job))

    _run(body, job_id)


@media_app.command()
def cancel(job_id: str, as_json: JsonOut = False) -> None:
    """Cancel a queued or running job (it stops at its next safe point)."""

    async def body(client: LocalClient, lab: MediaLab, actor: Actor) -> None:
        client.manager.adopt(job_id)
        pool = client.studio.threads.pool
        async with audited(pool, actor=actor.caller, action="media.job.cancelled", target=job_id):
            job = await lab.jobs.cancel(actor, job_id)
        _emit(job, as_json, _describe(job))

    _run(body, job_id)


@media_app.command()
def retry(job_id: str, no_wait: NoWait = False, as_json: JsonOut = False) -> None:
    """Run a failed or cancelled job again as a new job (same inputs, preset version and
    parameters)."""

    async def body(client: LocalClient, lab: MediaLab, actor: Actor) -> None:
        pool = client.studio.threads.pool
        async with audited(
            pool, actor=actor.caller, action="media.job.retried", target=job_id
        ) as e:
            job = await lab.jobs.retry(actor, job_id)
            e.detail["new_job"] = job["id"]
        await _finish(client, lab, actor, job, no_wait=no_wait, as_json=as_json, out=None)

    _run(body, job_id)
