"""`studio`: run, resume, steer and list creative sessions from the terminal."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any

import typer
import uvicorn
from pydantic import ValidationError
from rich.console import Console

from adapters.deliverables import parse_deliverables
from adapters.errors import InvalidGateAction, InvalidInput, StudioError
from api.app import create_app
from api.database import Database
from api.export import collect, current_set, file_stem, is_approved, write_folder
from api.gate_prompt import ask_gate
from api.live import LiveView
from api.resume import check_answer
from api.settings import Settings
from api.studio import Studio, ThreadView, open_studio
from graph.launch_settings import FORMATS
from graph.state import ROLES, ThreadSettings

app = typer.Typer(
    help="Creative Studio: a team of AI specialists turns your brief into approved images.\n\n"
    "Runs on embedded defaults (embedded Postgres, built-in offline model, built-in renderer) "
    "unless DATABASE_URL, OLLAMA_URL or COMFYUI_URL are set.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",  # help paragraphs reflow to the terminal's width
)
logger = logging.getLogger("studio")

AutoApprove = Annotated[bool, typer.Option("--auto-approve", help="Approve every gate.")]
JsonOut = Annotated[
    bool,
    typer.Option(
        "--json", help="Print one JSON object at the end on stdout; the live view goes to stderr."
    ),
]


def answer_gate(console: Console, value: dict[str, Any]) -> dict[str, Any] | None:
    """Ask at the gate until the answer is one it accepts (a refused answer saves nothing)."""
    while True:
        decision = ask_gate(console, value)
        if decision is None:
            return None
        try:
            check_answer(value, decision, field=None)
        except InvalidGateAction as exc:
            console.print(exc.message, style="red", markup=False, highlight=False)
            continue
        return decision


class Session:
    """One CLI command's conversation with a thread: stream, ask at gates, report."""

    def __init__(self, studio: Studio, *, auto_approve: bool, as_json: bool) -> None:
        self.studio = studio
        self.auto_approve = auto_approve
        self.as_json = as_json
        self.console = Console(stderr=as_json)
        self.interactive = not as_json or sys.stdin.isatty()

    async def drive(self, thread_id: str, payload: Any) -> ThreadView:
        """Stream runs until the thread finishes or waits at a gate nobody here can answer."""
        while True:
            live = LiveView(self.console)
            try:
                async for event in self.studio.stream(thread_id, payload):
                    live.show(event)
            finally:
                live.close()
            view = await self.studio.view(thread_id)
            if not view.interrupts:
                return view
            value = view.interrupts[0]["value"]
            if self.auto_approve and (value.get("experiment") or {}).get("simulated"):
                decision: dict[str, Any] | None = {"action": "observe"}  # next simulated poll
            elif self.auto_approve and "approve" in value.get("actions", []):
                decision = {"action": "approve"}
            elif self.interactive:
                decision = answer_gate(self.console, value)
            else:
                decision = None
            if decision is None:
                return view
            payload = Studio.resume_payload(decision)

    def report(self, view: ThreadView) -> None:
        """The final summary: thread id, status and asset paths (JSON with --json)."""
        values = view.values
        scores = {c["asset_id"]: c["score"] for c in values.get("critiques", [])}
        chosen = set(current_set(values).values())  # what the gate shows and approve keeps
        shown = [g for g in values.get("generations", []) if g["asset_id"] in chosen]
        assets = [
            {
                "path": g["path"],
                "deliverable": g["deliverable"],
                "score": scores.get(g["asset_id"]),
                "sketch": bool(g.get("sketch")) or g["generator"] == "renderer",
            }
            for g in shown
        ]
        result = {
            "thread_id": view.thread_id,
            "status": view.status,
            "phase": view.phase,
            "iterations": values.get("iteration", 0),
            "stop_reason": values.get("stop_reason"),
            "assets": assets,
        }
        if self.as_json:
            typer.echo(json.dumps(result))
            return
        # soft wrap: ids and paths stay whole on their lines, to copy or to parse
        self.console.print(
            f"\n[bold]Thread[/] {view.thread_id}  [bold]status[/] {view.status}  "
            f"[bold]phase[/] {view.phase}",
            soft_wrap=True,
        )
        if view.interrupts:
            gate = view.interrupts[0]["value"].get("gate")
            self.console.print(
                f"Waiting at the {gate} gate: run `studio resume {view.thread_id}` to answer it.",
                soft_wrap=True,
            )
        if assets:
            self.console.print("Approved set:" if is_approved(values) else "Current variants:")
        for item in assets:
            sketch = ", sketch" if item["sketch"] else ""
            line = f"  {item['deliverable']}: {item['path']} (score {item['score']}{sketch})"
            self.console.print(line, soft_wrap=True, markup=False, highlight=False)
        if assets:
            names = ", ".join(f"{file_stem(a['deliverable'])}.png" for a in assets)
            self.console.print(
                f"Readable copies ({names}, with specs, brief and discussion): "
                f"`studio export {view.thread_id}`",
                soft_wrap=True,
                markup=False,
                highlight=False,
            )


def thread_settings(
    models: list[str], auto_approve: bool, budgets: dict[str, Any]
) -> ThreadSettings:
    """Thread settings from CLI options; `--model ROLE=NAME` is checked against the role ids."""
    settings: ThreadSettings = {}
    assigned: dict[str, str] = {}
    for item in models:
        role, _, name = item.partition("=")
        if role not in ROLES or not name:
            raise InvalidInput(
                f"--model expects ROLE=NAME with ROLE one of {', '.join(ROLES)}; got {item!r}"
            )
        assigned[role] = name
    if assigned:
        settings["models"] = assigned
    if auto_approve:
        settings["auto_approve"] = True
    chosen = {k: v for k, v in budgets.items() if v is not None}
    if chosen:
        settings["budgets"] = chosen  # type: ignore[typeddict-item]
    return settings


def run_command(body: Callable[[Studio], Awaitable[None]], thread_hint: str = "") -> None:
    """Open the studio, run `body`, and turn every failure into one clear line."""
    settings = Settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(
        filename=settings.home / "studio.log",
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )

    async def main() -> None:
        async with open_studio(settings) as studio:
            await body(studio)

    resume_hint = f" Run `studio resume {thread_hint}` to continue." if thread_hint else ""
    try:
        asyncio.run(main())
    except typer.Exit:
        raise
    except StudioError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None
    except ValidationError as exc:
        problems = "; ".join(
            str(e.get("msg", "")).removeprefix("Value error, ") for e in exc.errors()
        )
        typer.echo(f"error: {problems}", err=True)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        typer.echo(f"stopped; your work is saved.{resume_hint}", err=True)
        raise typer.Exit(130) from None
    except Exception:
        logger.exception("command failed (thread %s)", thread_hint or "-")
        typer.echo(
            f"error: something went wrong; your work is saved.{resume_hint} "
            f"Details: {settings.home / 'studio.log'}",
            err=True,
        )
        raise typer.Exit(1) from None


@app.command()
def run(
    brief: Annotated[str, typer.Argument(help='What you want, e.g. "neon street at night".')],
    auto_approve: AutoApprove = False,
    as_json: JsonOut = False,
    model: Annotated[
        list[str], typer.Option("--model", help="ROLE=NAME (Ollama model for a role); repeatable.")
    ] = [],  # noqa: B006
    max_iterations: Annotated[int | None, typer.Option(min=1, help="Iteration budget.")] = None,
    max_generations: Annotated[int | None, typer.Option(min=1, help="Image budget.")] = None,
    max_seconds: Annotated[float | None, typer.Option(min=1, help="Work-time budget.")] = None,
    max_tokens: Annotated[int | None, typer.Option(min=1, help="LLM token budget.")] = None,
    thread_id: Annotated[str | None, typer.Option(help="Use this thread id.")] = None,
    deliverable: Annotated[
        list[str],
        typer.Option(
            "--deliverable",
            help='Exactly these images, NAME [ASPECT], e.g. "hero 16:9"; repeatable. '
            "Wins over the counts and formats in the brief.",
        ),
    ] = [],  # noqa: B006
    format_: Annotated[
        str | None,
        typer.Option(
            "--format",
            help="images (default), launch: a video's launch kit (scripts, thumbnails, an "
            "A/B test; a brief starting 'launch a video about' chooses it too), or video: a "
            "short video made stage by stage, a gate after each (a brief such as 'a 20-second "
            "product ad for ...' chooses it too).",
        ),
    ] = None,
) -> None:
    """Start a session from a brief and follow it live until it finishes or waits for you."""
    tid = thread_id or str(uuid.uuid4())
    if format_ is not None and format_ not in FORMATS:
        typer.echo(
            f"error: --format: expected one of {', '.join(FORMATS)}; got {format_!r}", err=True
        )
        raise typer.Exit(2)
    try:
        parse_deliverables(deliverable)  # refused here, before a thread exists
    except ValueError as exc:
        typer.echo(f"error: --deliverable: {exc}", err=True)
        raise typer.Exit(2) from None
    budgets = {
        "max_iterations": max_iterations,
        "max_generations": max_generations,
        "max_seconds": max_seconds,
        "max_tokens": max_tokens,
    }

    async def body(studio: Studio) -> None:
        settings = thread_settings(model, auto_approve, budgets)
        if deliverable:
            settings["deliverables"] = [" ".join(d.split()) for d in deliverable]
        if format_ is not None:
            settings["format"] = format_  # type: ignore[typeddict-item]
        # a model that is not installed is refused before the thread exists ("ollama pull")
        await studio.context.models.check(settings.get("models"))
        await studio.threads.upsert(tid, title=brief[:120], status="idle", phase="created")
        session = Session(studio, auto_approve=auto_approve, as_json=as_json)
        session.console.print(
            f"[dim]thread {tid} · {studio.labels['models']} · "
            f"{studio.labels['images']} · {studio.labels['database']}[/]"
        )
        session.report(await session.drive(tid, Studio.start_payload(brief, settings)))

    run_command(body, tid)


@app.command()
def resume(
    thread_id: Annotated[str, typer.Argument(help="The thread to continue.")],
    auto_approve: AutoApprove = False,
    as_json: JsonOut = False,
    action: Annotated[
        str | None,
        typer.Option(
            help="Answer the waiting gate: approve, revise, regenerate, pick, stop or answer."
        ),
    ] = None,
    feedback: Annotated[str | None, typer.Option(help="Feedback for revise/regenerate.")] = None,
    deliverable: Annotated[str | None, typer.Option(help="Limit regenerate to one.")] = None,
    asset_id: Annotated[str | None, typer.Option(help="Asset to pick.")] = None,
    answer: Annotated[str | None, typer.Option(help="Answer to a question gate.")] = None,
) -> None:
    """Continue a paused or crashed thread (answer its gate, or pick up where it stopped)."""

    async def body(studio: Studio) -> None:
        view = await studio.view(thread_id)
        if not view.values:
            raise InvalidInput(f"no thread {thread_id!r} here; `studio threads` lists them")
        session = Session(studio, auto_approve=auto_approve, as_json=as_json)
        decision = {
            k: v
            for k, v in {
                "action": action,
                "feedback": feedback,
                "deliverable": deliverable,
                "asset_id": asset_id,
                "answer": answer,
            }.items()
            if v is not None
        }
        if view.interrupts:
            value = view.interrupts[0]["value"]
            if not decision:
                if auto_approve and "approve" in value.get("actions", []):
                    decision = {"action": "approve"}
                elif session.interactive:
                    decision = answer_gate(session.console, value) or {}
            if not decision:
                session.report(view)
                return
            try:  # a refused answer saves nothing: the thread stays at the gate
                check_answer(value, decision, field=None)
            except InvalidGateAction as exc:
                gate = value.get("gate")
                typer.echo(f"error: {exc.message} (still waiting at the {gate} gate)", err=True)
                raise typer.Exit(2) from None
            payload: Any = Studio.resume_payload(decision)
        elif view.next:
            payload = None  # crashed mid-run: continue from the last checkpoint
        else:
            session.report(view)
            return
        session.report(await session.drive(thread_id, payload))

    run_command(body, thread_id)


@app.command()
def say(
    thread_id: Annotated[str, typer.Argument(help="The paused thread to steer.")],
    message: Annotated[str, typer.Argument(help='Your direction, e.g. "more rain".')],
    auto_approve: AutoApprove = False,
    as_json: JsonOut = False,
) -> None:
    """Interject: the specialists it concerns answer, and the session continues with it."""

    async def body(studio: Studio) -> None:
        view = await studio.view(thread_id)
        if not view.values:
            raise InvalidInput(f"no thread {thread_id!r} here; `studio threads` lists them")
        if not message.strip():
            raise InvalidInput("the message is empty; say what should change")
        session = Session(studio, auto_approve=auto_approve, as_json=as_json)
        session.report(await session.drive(thread_id, Studio.say_payload(message)))

    run_command(body, thread_id)


@app.command()
def threads(
    as_json: JsonOut = False,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many to list.")] = 50,
) -> None:
    """List threads, newest first."""

    async def body(studio: Studio) -> None:
        rows = await studio.threads.list(limit=limit)
        listed = [
            {
                "thread_id": r["thread_id"],
                "status": r["status"],
                "phase": r["phase"],
                "updated_at": r["updated_at"].isoformat(),
                "title": r.get("title") or "",
            }
            for r in rows
        ]
        if as_json:
            typer.echo(
                json.dumps(
                    [
                        {k: r[k] for k in ("thread_id", "status", "phase", "updated_at")}
                        for r in listed
                    ]
                )
            )
            return
        console = Console()
        for r in listed:  # one line per thread, whatever the terminal's width
            console.print(
                f"{r['thread_id']}  {r['status']:<11} {r['phase']:<22} "
                f"{r['updated_at'][:19]}  {r['title'][:50]}",
                soft_wrap=True,
                markup=False,
                highlight=False,
            )
        if not listed:
            console.print('No threads yet. Start one with `studio run "your brief"`.')

    run_command(body)


@app.command()
def export(
    thread_id: Annotated[str, typer.Argument(help="The thread whose work to take home.")],
    out: Annotated[
        Path | None,
        typer.Option(help="Folder to write to; default ./creative-studio-<title>-<id>/."),
    ] = None,
) -> None:
    """Write a thread's work to a folder: the approved images named by deliverable
    (`hero-a.png`; the current variants while it is not approved, as its README says), each
    image's spec and recipe (`hero-a.json`), the brief and directions, and the discussion."""

    async def body(studio: Studio) -> None:
        package = await collect(studio, thread_id)
        if package is None:
            raise InvalidInput(f"no thread {thread_id!r} here; `studio threads` lists them")
        folder = out or Path.cwd() / package.name
        written = await asyncio.to_thread(write_folder, package, folder)
        console = Console()
        console.print(package.status_line(), soft_wrap=True, markup=False, highlight=False)
        console.print(f"Wrote {len(written)} files to {folder}:", soft_wrap=True, markup=False)
        for path in written:
            console.print(f"  {path.name}", markup=False, highlight=False)

    run_command(body, thread_id)


@app.command()
def check(as_json: JsonOut = False) -> None:
    """Check the configured services and say what needs fixing (exit 1 if anything does).

    The database, the model per role (installed on Ollama?) and the image generator (ComfyUI
    version, devices, which templates it can run and what each lacks)."""

    async def body(studio: Studio) -> None:
        report = await studio.check()
        ok = report["models"]["ok"] and report["images"]["ok"]
        if as_json:
            typer.echo(json.dumps(report))
        else:
            print_check(report)
        if not ok:
            raise typer.Exit(1)

    run_command(body)


def print_check(report: dict[str, Any]) -> None:
    console = Console()
    console.print(f"[bold]database[/] {report['database']['detail']}")
    models = report["models"]
    console.print(f"[bold]models[/] {models['detail']}")
    for role, name in models["assigned"].items():
        console.print(f"  {role:<12} {name}")
    if not models["ok"]:
        console.print(f"  [red]problem:[/] {models['error']}")
    images = report["images"]
    console.print(
        f"[bold]images[/] {' '.join(filter(None, [images['detail'], images.get('version')]))}"
    )
    if not images["ok"]:
        console.print(f"  [red]problem:[/] {images['error']}")
    for device in images.get("devices", []):
        console.print(f"  device {device['name']} ({device['type']})")
    for name, template in images.get("templates", {}).items():
        mark = "[green]runs[/]" if template["runnable"] else "[red]cannot run[/]"
        kind = [
            label
            for label, on in (
                ("sketch", template.get("sketch")),
                ("no sampler", not template.get("sampler", True)),
            )
            if on
        ]
        console.print(f"  template {name:<14} {mark}" + (f" ({', '.join(kind)})" if kind else ""))
        for line in template["missing"]:
            console.print(f"    {line}")
    if vocabulary := images.get("vocabulary"):
        print_vocabulary(console, vocabulary)


def print_vocabulary(console: Console, vocabulary: dict[str, dict[str, list[str]]]) -> None:
    """The built-in renderer's vocabulary: what it draws from a prompt's words, by group."""
    console.print(
        "  draws from the prompt's words (a sketch; a negative-prompt word keeps one out):"
    )
    for group, entries in vocabulary.items():
        text = "; ".join(f"{name}: {', '.join(words)}" for name, words in entries.items())
        console.print(f"    {group}: {text}", markup=False, highlight=False)
    console.print(
        "  anything else a prompt names (a giraffe, a piano) is not drawn; "
        "the ComfyUI prompt carries it",
        highlight=False,
    )


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            help="Server processes on the one port (uvicorn workers). Each is a whole studio "
            "process on the same Postgres: any of them takes any request, each run executes "
            "once (see Scale-out in the README). One process uses one core.",
        ),
    ] = 1,
) -> None:
    """Serve the HTTP API: LangGraph Server threads and runs over SSE, and the web UI.

    On the configured or embedded services; unfinished runs of a previous process are resumed
    at startup."""
    settings = Settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    try:  # here, once: uvicorn would only log a failed startup as a traceback (one per worker)
        asyncio.run(prepare_database(settings))
    except StudioError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None
    options: dict[str, Any] = {"host": host, "port": port, "timeout_graceful_shutdown": 5}
    if workers == 1:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s"
        )
        uvicorn.run(create_app(settings), log_level="info", **options)
        return
    # each worker process builds its own app (and opens its own studio) from the factory
    config = {**uvicorn.config.LOGGING_CONFIG}
    config["loggers"] = {**config["loggers"], "studio": {"handlers": ["default"], "level": "INFO"}}
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        workers=workers,
        log_level="info",
        log_config=config,
        **options,
    )


async def prepare_database(settings: Settings) -> None:
    """Start the embedded Postgres (it outlives this process) or reach `DATABASE_URL`, and
    apply the migrations."""
    async with Database(settings.database_url, settings.home):
        pass


def main() -> None:
    """Console-script entry point."""
    app()
