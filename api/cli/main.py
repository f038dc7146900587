"""`studio`: run, resume, steer and list creative sessions from the terminal."""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import re
import shutil
import signal
import sys
import tempfile
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, cast

import psycopg
import typer
from pydantic import TypeAdapter, ValidationError
from rich.console import Console

from adapters.deliverables import parse_deliverables
from adapters.errors import (
    INTERNAL_MESSAGE,
    Conflict,
    InvalidGateAction,
    InvalidInput,
    NotFound,
    StudioError,
)
from api.cli.audit import audit_command
from api.cli.gate_prompt import ask_gate
from api.cli.launch_options import launch_options
from api.cli.live import LiveView
from api.cli.local import LocalClient, ThreadBusy, busy_message, local_caller, open_local
from api.cli.media import media_app, upload
from api.cli.users import SERVED_AT, users_app
from engine.branches import branch
from engine.inputs import THREAD_ID_PATTERN, ThreadCreate, video_brief_problem
from engine.resume import check_answer, gate_name
from engine.settings import Settings
from engine.studio import Studio, ThreadView, open_studio
from graph.launch_settings import FORMATS
from graph.state import GATE_ACTIONS, ROLES, Budgets, ThreadSettings
from people.accounts import create_link, link_url
from people.audit import record
from people.bootstrap import ensure_home_admin
from store.database import (
    Database,
    describe_url,
    running_embedded,
    stop_embedded_postgres,
    studio_processes,
)
from store.export import collect, current_set, file_stem, is_approved, write_folder
from telemetry import logs

app = typer.Typer(
    help="Creative Studio: a team of AI specialists turns your brief into approved images.\n\n"
    "Runs on embedded defaults (embedded Postgres, built-in offline model, built-in renderer) "
    "unless DATABASE_URL, OLLAMA_URL or COMFYUI_URL are set.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
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


class Stopped(Exception):
    """Ctrl-C stopped the run this terminal drives (at the next safe point)."""


class Session:
    """One CLI command's conversation with a thread: follow its runs in the event log, ask
    at gates, report. Runs go through the run engine, as the HTTP API's do."""

    def __init__(self, client: LocalClient, *, auto_approve: bool, as_json: bool) -> None:
        self.client = client
        self.auto_approve = auto_approve
        self.as_json = as_json
        self.console = Console(stderr=as_json)
        self.interactive = not as_json or sys.stdin.isatty()

    async def drive(self, thread_id: str, run: dict[str, Any] | None) -> ThreadView:
        """Follow `run` (and whatever runs the thread has next, and the answers given here at
        its gates) until the thread finishes or waits at a gate nobody here can answer."""
        while True:
            if run is not None:
                await self.follow(thread_id, run)
            view = await self.client.view(thread_id)
            if view.status == "busy":  # another run was queued meanwhile (here or elsewhere)
                run = await self.client.current_run(thread_id)
                continue
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
            try:  # keyed by the id of the gate shown: a stale answer is refused, not applied
                run = await self.client.answer(thread_id, view.interrupts[0].get("id"), decision)
            except Conflict:
                self.console.print(
                    f"[yellow]The {gate_name(value)} gate was already answered elsewhere; "
                    "your answer was not sent. Where the thread stands now:[/]"
                )
                run = await self.client.current_run(thread_id)

    async def follow(self, thread_id: str, run: dict[str, Any]) -> None:
        """Show the run's events until it ends; its error (if it failed) is raised. Ctrl-C
        stops it at the next safe point, wherever it executes (twice: leave at once; the stop
        the first one asked for holds, and `studio resume` goes on from the last checkpoint)."""
        live = LiveView(self.console)
        loop = asyncio.get_running_loop()
        me = asyncio.current_task()
        stopping: list[asyncio.Task[list[str]]] = []
        failure: dict[str, Any] | None = None

        def interrupted() -> None:
            if stopping and me is not None:
                me.cancel()
                return
            live.close()
            self.console.print(
                "[yellow]stopping at the next safe point... (Ctrl-C again to leave now)[/]"
            )
            stopping.append(asyncio.create_task(self.client.stop(thread_id)))

        loop.add_signal_handler(signal.SIGINT, interrupted)
        try:
            async for record in self.client.follow(thread_id, run["run_id"]):
                data = live.show(record)
                if record.event == "error":
                    failure = data
        except asyncio.CancelledError:
            if stopping:
                raise KeyboardInterrupt from None
            raise
        finally:
            loop.remove_signal_handler(signal.SIGINT)
            live.close()
        if stopping:
            await stopping[0]
            raise Stopped
        if failure is not None:
            error = StudioError(str(failure.get("message") or INTERNAL_MESSAGE))
            error.code = str(failure.get("code") or "internal")
            raise error

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
        elif view.next and view.status != "busy":
            self.console.print(
                f"Stopped before the end: `studio resume {view.thread_id}` continues it.",
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
                f"--model: expects ROLE=NAME with ROLE one of {', '.join(ROLES)}; got {item!r}"
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

    async def main() -> None:
        async with open_studio(settings) as studio:
            await body(studio)

    run_main(settings, main, thread_hint)


def run_engine_command(
    body: Callable[[LocalClient], Awaitable[None]], thread_hint: str = ""
) -> None:
    """Open the studio and its run engine (as `studio serve` does), run `body` as a client of
    it, and turn every failure into one clear line."""
    settings = Settings()

    async def main() -> None:
        async with open_local(settings) as client:
            await body(client)

    run_main(settings, main, thread_hint)


def run_main(
    settings: Settings, main: Callable[[], Coroutine[Any, Any, None]], thread_hint: str = ""
) -> None:
    settings.home.mkdir(parents=True, exist_ok=True)
    logs.configure(settings.log_format, filename=settings.home / "studio.log")
    resume_hint = f" Run `studio resume {thread_hint}` to continue." if thread_hint else ""
    try:
        asyncio.run(main())
    except typer.Exit:
        raise
    except Stopped:
        typer.echo(f"stopped; your work is saved.{resume_hint}", err=True)
        raise typer.Exit(130) from None
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
    max_seconds: Annotated[
        float | None, typer.Option(help="Work-time budget, seconds (at least 1).")
    ] = None,
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
    niche: Annotated[
        str | None, typer.Option(help="Launch kit: the channel's niche, e.g. 'home coffee'.")
    ] = None,
    audience: Annotated[
        str | None, typer.Option(help="Launch kit: who watches, e.g. 'beginners on a budget'.")
    ] = None,
    keyword: Annotated[
        list[str],
        typer.Option("--keyword", help="Launch kit: a keyword you know people search; repeatable."),
    ] = [],  # noqa: B006
    trends: Annotated[
        Path | None,
        typer.Option(
            help="Launch kit: a CSV of your search/view figures, header keyword,searches,views "
            "(searches or views may be left out); the only numbers the trend step shows."
        ),
    ] = None,
) -> None:
    """Start a session from a brief and follow it live until it finishes or waits for you.

    The thread is yours and the web UI's alike: `studio serve` on the same home shows it."""
    tid = thread_id or str(uuid.uuid4())
    try:  # with the API's own schema: a thread the page and the API can reach
        ThreadCreate(thread_id=tid)
    except ValidationError as exc:
        why = "a letter or digit, then at most 199 letters, digits, '.', '_' or '-'"
        if re.fullmatch(THREAD_ID_PATTERN, tid):  # the pattern holds: another rule refused it
            why = str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
        typer.echo(f"error: --thread-id: {why}; got {tid!r}", err=True)
        raise typer.Exit(2) from None
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
    try:  # the launch kit's options (they choose the launch format unless --format names one)
        launch = launch_options(niche, audience, keyword, trends)
        if launch and format_ not in (None, "launch"):
            raise ValueError("--niche, --audience, --keyword and --trends are for --format launch")
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    if max_seconds is not None and not (math.isfinite(max_seconds) and max_seconds >= 1):
        why = "must be at least 1" if math.isfinite(max_seconds) else "must be a number of seconds"
        typer.echo(f"error: --max-seconds: {why}; got {max_seconds}", err=True)
        raise typer.Exit(2)
    budgets = {
        "max_iterations": max_iterations,
        "max_generations": max_generations,
        "max_seconds": max_seconds,
        "max_tokens": max_tokens,
    }
    try:  # refused here, as the other usage errors, before a thread exists
        TypeAdapter(Budgets).validate_python({k: v for k, v in budgets.items() if v is not None})
    except ValidationError as exc:
        err = exc.errors()[0]
        flag = "--" + str(err["loc"][0]).replace("_", "-")
        typer.echo(f"error: {flag}: {err['msg']}; got {err['input']}", err=True)
        raise typer.Exit(2) from None
    try:  # a malformed --model ROLE=NAME is a usage error too: one line, exit 2
        thread_settings(model, auto_approve, budgets)
    except InvalidInput as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(2) from None
    fmt = "launch" if launch else format_
    chosen = cast(ThreadSettings, {"format": fmt} if fmt else {})
    if problem := video_brief_problem(brief, chosen):  # "a 3 hour video": before any work
        typer.echo(f"error: brief: {problem}", err=True)
        raise typer.Exit(2)

    async def body(client: LocalClient) -> None:
        studio = client.studio
        settings = thread_settings(model, auto_approve, budgets)
        if deliverable:
            settings["deliverables"] = [" ".join(d.split()) for d in deliverable]
        if format_ is not None:
            settings["format"] = format_  # type: ignore[typeddict-item]
        if launch:
            settings["format"], settings["launch"] = "launch", launch
        # a model that is not installed is refused before the thread exists ("ollama pull")
        await studio.context.models.check(settings.get("models"))
        payload = Studio.start_payload(brief, settings)
        await client.register(tid, title=brief[:120])
        session = Session(client, auto_approve=auto_approve, as_json=as_json)
        session.console.print(f"[dim]thread {tid} · {header(studio)}[/]", soft_wrap=True)
        first = await client.submit(tid, input=payload)
        session.report(await session.drive(tid, first))

    run_engine_command(body, tid)


def header(studio: Studio) -> str:
    """What serves the session; says that an embedded Postgres outlives the command."""
    labels = studio.labels
    database = labels["database"]
    if database.startswith("embedded"):
        database += " (stays running after studio exits; `studio db stop` stops it)"
    return f"{labels['models']} · {labels['images']} · {database}"


@app.command()
def resume(
    thread_id: Annotated[str, typer.Argument(help="The thread to continue.")],
    auto_approve: AutoApprove = False,
    as_json: JsonOut = False,
    action: Annotated[
        str | None,
        typer.Option(
            help="Answer the waiting gate: approve, revise, regenerate, pick, stop or answer. "
            "On a busy thread, `stop` stops its run at the next safe point."
        ),
    ] = None,
    feedback: Annotated[str | None, typer.Option(help="Feedback for revise/regenerate.")] = None,
    deliverable: Annotated[str | None, typer.Option(help="Limit regenerate to one.")] = None,
    asset_id: Annotated[str | None, typer.Option(help="Asset to pick.")] = None,
    answer: Annotated[str | None, typer.Option(help="Answer to a question gate.")] = None,
) -> None:
    """Continue a paused or crashed thread (answer its gate, or pick up where it stopped).

    On a thread that is running (in this or another terminal, or in `studio serve`), follow
    its run; `--action stop` stops it."""
    known = sorted({a for actions in GATE_ACTIONS.values() for a in actions})
    if action is not None and action not in known:  # refused whatever the thread's state
        typer.echo(f"error: --action: expected one of {', '.join(known)}; got {action!r}", err=True)
        raise typer.Exit(2)

    async def body(client: LocalClient) -> None:
        view = await client.view(thread_id)
        if not await client.exists(view):
            raise InvalidInput(f"no thread {thread_id!r} here; `studio threads` lists them")
        session = Session(client, auto_approve=auto_approve, as_json=as_json)
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
        if view.status == "busy":
            if decision == {"action": "stop"}:
                stopped = await client.stop(thread_id)
                session.console.print(f"stopped {len(stopped)} run(s) of thread {thread_id}")
                session.report(await client.view(thread_id))
                return
            if decision:
                raise ThreadBusy(busy_message(thread_id))
            session.report(await session.drive(thread_id, await client.current_run(thread_id)))
            return
        if view.interrupts:
            value = view.interrupts[0]["value"]
            if not decision and auto_approve and "approve" in value.get("actions", []):
                decision = {"action": "approve"}
            if decision:
                try:  # a refused answer saves nothing: the thread stays at the gate
                    check_answer(value, decision, field=None)
                except InvalidGateAction as exc:
                    gate = value.get("gate")
                    error = {"code": exc.code, "message": exc.message}
                    refused = {"answer": decision, "error": error}
                    await client.audit(
                        "gate.answered", thread_id, outcome="refused", detail=refused
                    )
                    typer.echo(f"error: {exc.message} (still waiting at the {gate} gate)", err=True)
                    raise typer.Exit(2) from None
            elif session.interactive:  # asks until the gate accepts the answer; an answer
                # to a gate answered elsewhere meanwhile is refused and the gate waiting now
                # is shown (the drive loop's), not an error
                session.report(await session.drive(thread_id, None))
                return
            if not decision:
                session.report(view)
                return
            run = await client.answer(thread_id, view.interrupts[0].get("id"), decision)
        elif view.next and decision == {"action": "stop"}:  # already stopped: keep it so
            session.console.print(
                f"nothing is running on thread {thread_id}: it is stopped already "
                f"(phase {view.phase}); `studio resume {thread_id}` continues it",
                soft_wrap=True,
            )
            session.report(view)
            return
        elif view.next:
            run = await client.submit(thread_id)  # stopped mid-run: on from the last checkpoint
        elif decision and decision["action"] != "stop":  # nothing waits: say so (exit 1)
            raise Conflict(_not_waiting(view, decision["action"]))
        else:
            session.report(view)
            return
        session.report(await session.drive(thread_id, run))

    run_engine_command(body, thread_id)


def _not_waiting(view: ThreadView, action: str) -> str:
    """Why an answer to a thread that waits at no gate was not sent."""
    test = (view.values.get("launch") or {}).get("experiment") or {}
    if test and test.get("status") != "running":
        how = f"{test['winner']} won" if test.get("winner") else str(test.get("status"))
        return (
            f"the A/B test already ended ({how}); --action {action} was not sent. "
            f"`studio export {view.thread_id}` has its results."
        )
    return (
        f"thread {view.thread_id} waits at no gate (phase {view.phase}); --action {action} "
        "was not sent."
    )


@app.command()
def say(
    thread_id: Annotated[str, typer.Argument(help="The thread to steer.")],
    message: Annotated[str, typer.Argument(help='Your direction, e.g. "more rain".')],
    auto_approve: AutoApprove = False,
    as_json: JsonOut = False,
) -> None:
    """Interject: the specialists it concerns answer, and the session continues with it.

    On a running thread the run stops at the next safe point and the message is taken next."""

    async def body(client: LocalClient) -> None:
        view = await client.view(thread_id)
        if not await client.exists(view):
            raise InvalidInput(f"no thread {thread_id!r} here; `studio threads` lists them")
        if not message.strip():
            raise InvalidInput("the message is empty; say what should change")
        session = Session(client, auto_approve=auto_approve, as_json=as_json)
        # the flag holds for what follows: without it, the new outputs wait at the gate to be
        # seen, even on a thread started with --auto-approve
        payload = Studio.say_payload(message, ThreadSettings(auto_approve=auto_approve))
        run = await client.submit(thread_id, input=payload, strategy="interrupt")
        session.report(await session.drive(thread_id, run))

    run_engine_command(body, thread_id)


@app.command()
def fork(
    thread_id: Annotated[str, typer.Argument(help="The thread to branch.")],
    at: Annotated[
        str | None,
        typer.Option(
            "--at",
            help="The checkpoint to branch at (`studio history` lists them); "
            "default: where the thread stands now.",
        ),
    ] = None,
    as_json: JsonOut = False,
) -> None:
    """Branch a thread: a new thread with its state at a checkpoint, its history up to there
    and its images; answer its gate or say something else there. The thread is untouched."""

    async def body(client: LocalClient) -> None:
        parent = await client.studio.threads.get(thread_id)
        if parent is None:
            view = await client.view(thread_id)
            if not view.values:
                raise InvalidInput(f"no thread {thread_id!r} here; `studio threads` lists them")
            parent = {"thread_id": thread_id, "title": None, "metadata": {}}
        new_id = str(uuid.uuid4())
        try:
            row = await branch(
                client.studio,
                parent,
                thread_id=new_id,
                owner_hash=client.owner_hash,
                checkpoint_id=at,
            )
        except NotFound:
            if at is None:
                raise
            raise InvalidInput(
                f"no checkpoint {at!r} in thread {thread_id}; `studio history {thread_id}` "
                "lists them"
            ) from None
        copied = {"thread_id": thread_id, "checkpoint_id": at}
        await client.audit("thread.created", new_id, detail={"copied_from": copied, "via": "cli"})
        session = Session(client, auto_approve=False, as_json=as_json)
        view = await client.view(new_id)
        if not as_json:
            at_id = row["metadata"]["forked_from"]["checkpoint_id"]
            session.console.print(
                f"branched {thread_id} at checkpoint {at_id}: `studio resume {new_id}` goes on "
                "from there",
                soft_wrap=True,
                markup=False,
                highlight=False,
            )
        session.report(view)

    run_engine_command(body, thread_id)


@app.command()
def history(
    thread_id: Annotated[str, typer.Argument(help="The thread whose checkpoints to list.")],
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many.")] = 50,
    as_json: JsonOut = False,
) -> None:
    """A thread's checkpoints, newest first: id, step, phase and what runs next (a gate's
    name while it waits); `studio fork THREAD --at ID` branches at one."""

    async def body(studio: Studio) -> None:
        config = studio.config(thread_id)
        found = []
        async for snapshot in studio.graph.aget_state_history(config, limit=limit):
            values = snapshot.values or {}
            found.append(
                {
                    "checkpoint_id": snapshot.config["configurable"]["checkpoint_id"],
                    "step": (snapshot.metadata or {}).get("step"),
                    "phase": values.get("phase", "created"),
                    "next": list(snapshot.next),
                    "gate": next((i.value.get("gate") for i in snapshot.interrupts), None),
                    "messages": len(values.get("messages", [])),
                }
            )
        if not found:
            raise InvalidInput(f"no thread {thread_id!r} here; `studio threads` lists them")
        if as_json:
            typer.echo(json.dumps(found))
            return
        console = Console()
        for item in found:
            waiting = f"gate {item['gate']}" if item["gate"] else ",".join(item["next"]) or "-"
            console.print(
                f"{item['checkpoint_id']}  step {item['step']!s:<4} {item['phase']:<24} "
                f"{item['messages']:>3} messages  next {waiting}",
                soft_wrap=True,
                markup=False,
                highlight=False,
            )

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
                # a thread made over HTTP before its title was kept in the column: metadata's
                "title": str(r["title"] or (r["metadata"] or {}).get("title") or "(no title)"),
            }
            for r in rows  # Media Lab jobs are left out: `studio media` lists them
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
        branches = {r["thread_id"] for r in rows if (r["metadata"] or {}).get("forked_from")}
        for r in listed:  # one line per thread, whatever the terminal's width
            # a branch keeps its source's title: marked, as the page marks it, to tell them apart
            mark = " (branch)" if r["thread_id"] in branches else ""
            console.print(
                f"{r['thread_id']}  {r['status']:<11} {r['phase']:<22} "
                f"{r['updated_at'][:19]}  {r['title'][:50]}{mark}",
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
        typer.Option(
            help="Folder to write to; default ./creative-studio-TITLE-ID/ (a short title and "
            "the thread id's first 8 characters)."
        ),
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
        try:
            written = await asyncio.to_thread(write_folder, package, folder)
        except OSError as exc:  # the folder, not the thread: nothing to resume
            why = "it is a file, not a folder" if folder.is_file() else exc.strerror or str(exc)
            where = "--out" if out is not None else "the export folder"
            typer.echo(f"error: {where}: cannot write to {folder}: {why}", err=True)
            raise typer.Exit(2 if out is not None else 1) from None
        await record(
            studio.threads.pool,
            actor=await local_caller(studio.threads.pool, Settings().home),
            action="export.downloaded",
            target=f"thread/{thread_id}",
            thread_id=thread_id,
            outcome="ok",
            detail={"kind": "folder", "folder": str(folder), "files": len(written), "via": "cli"},
        )
        console = Console()
        console.print(package.status_line(), soft_wrap=True, markup=False, highlight=False)
        console.print(f"Wrote {len(written)} files to {folder}:", soft_wrap=True, markup=False)
        for path in written:
            console.print(f"  {path.name}", markup=False, highlight=False)

    run_command(body, thread_id)


@app.command()
def critique(
    images: Annotated[
        list[Path], typer.Argument(help="Image files to score (PNG, JPEG, WebP ...).")
    ],
    brief: Annotated[
        str, typer.Option(help='What the images should be, e.g. "a lighthouse at dusk, lonely".')
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Score images you bring against a brief, as Lens scores the studio's own outputs.

    Per image: the score, each measurement with its target, the reasons, what is missing and
    what could not be checked; for the set: how far it drifts and which image drifts."""
    from agents.lens import critique_images, open_image  # only this command needs Lens

    loaded: list[tuple[str, bytes]] = []
    try:
        for path in images:
            data = path.read_bytes()
            open_image(path.name, data)  # refuse a bad file before starting anything
            loaded.append((path.name, data))
    except OSError as exc:
        typer.echo(f"error: cannot read {exc.filename or ''}: {exc.strerror}", err=True)
        raise typer.Exit(1) from None
    except StudioError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None

    async def body(studio: Studio) -> None:
        result = await critique_images(studio.context, brief, loaded)
        if as_json:
            typer.echo(json.dumps(result))
        else:
            print_critique(result)

    run_command(body)


def print_critique(result: dict[str, Any]) -> None:
    console = Console()

    def say(text: str, style: str | None = None) -> None:
        console.print(text, style=style, soft_wrap=True, markup=False, highlight=False)

    for image in result["images"]:
        sketch = " (layout sketch)" if image["sketch"] else ""
        say(f"{image['name']}: {image['score']}/10{sketch}", "bold")
        for name, value in image["measurements"].items():
            target = "" if value["target"] is None else f"  target {value['target']:.2f}"
            say(f"  {name:<17} {value['measured']:.2f}{target}")
        for reason in image["reasons"]:
            say(f"  - {reason}")
        if image["missing"]:
            say(f"  missing: {', '.join(image['missing'])}", "red")
        if image["unchecked"]:
            say(f"  could not check: {'; '.join(image['unchecked'])}", "yellow")
    spread = result["drift"]
    if len(result["images"]) > 1:
        who = f"; {spread['drifts']} drifts from the rest" if spread["drifts"] else ""
        say(f"set drift {spread['drift']:.2f}{who}", "bold")
        for flag in spread["flags"]:
            say(f"  {flag}")


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
    import uvicorn  # the HTTP app is imported by `serve` alone, never by `studio --help`

    from api.http.app import create_app

    settings = Settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    logs.configure(settings.log_format)  # until uvicorn applies the same format
    try:  # here, once: uvicorn would only log a failed startup as a traceback (one per worker)
        first = asyncio.run(prepare_database(settings))
    except StudioError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None
    shown = "localhost" if host in ("127.0.0.1", "::1", "0.0.0.0", "::") else host
    base = settings.public_url or f"http://{shown}:{port}"
    # `studio users add|reset` print sign-in links under the address this home is served at
    (settings.home / SERVED_AT).write_text(base + "\n")
    if first is not None:
        name, code = first
        typer.echo(
            f"made {name}, this studio's first admin: on this machine the browser and the CLI "
            f"act as {name} without signing in. Elsewhere, sign in once with this one-time "
            f"link (24 h): {link_url(base, code)}\n"
            "Add people with `studio users add NAME --role creator`."
        )
    options: dict[str, Any] = {"host": host, "port": port, "timeout_graceful_shutdown": 5}
    # uvicorn's lines and ours alike: STUDIO_LOG_FORMAT, with context, secrets redacted
    config = logs.uvicorn_log_config(settings.log_format)
    if workers == 1:
        uvicorn.run(create_app(settings), log_level="info", log_config=config, **options)
        return
    # each worker process builds its own app (and opens its own studio) from the factory; they
    # add up their metrics in one fresh directory, so /metrics from any of them covers all
    with metrics_dir(settings) as shared:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(shared)  # read by each worker at start
        uvicorn.run(
            "api.http.app:create_app",
            factory=True,
            workers=workers,
            log_level="info",
            log_config=config,
            **options,
        )


@contextmanager
def metrics_dir(settings: Settings) -> Iterator[Path]:
    """`PROMETHEUS_MULTIPROC_DIR` as set, else a fresh directory removed at exit (values of
    an earlier server must not be added to this one's)."""
    if settings.prometheus_multiproc_dir is not None:
        yield settings.prometheus_multiproc_dir
        return
    made = Path(tempfile.mkdtemp(prefix="studio-metrics-"))
    try:
        yield made
    finally:
        shutil.rmtree(made, ignore_errors=True)


async def prepare_database(settings: Settings) -> tuple[str, str] | None:
    """Start the embedded Postgres (it outlives this process) or reach `DATABASE_URL`, apply
    the migrations, and make sure the home's owner token is an admin's (`people/bootstrap.py`).
    On a studio's very first start: the new admin's name and a one-time sign-in code."""
    async with Database(settings.database_url, settings.home) as db:
        admin = await ensure_home_admin(db.pool, settings.home)
        if not admin.created:
            return None
        return admin.user["name"], await create_link(db.pool, admin.user["user_id"])


db_app = typer.Typer(
    help="The studio's Postgres. Without DATABASE_URL it is an embedded server under "
    "STUDIO_HOME/pg: the first studio command on a home starts it, and it keeps running after "
    "every studio command exits (so the next one starts at once) until `studio db stop`.",
    no_args_is_help=True,
)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.command("audit")(audit_command)
app.command("upload")(upload)
app.add_typer(media_app, name="media")


@db_app.command("status")
def db_status(as_json: JsonOut = False) -> None:
    """Which Postgres the studio uses; for the embedded one, whether it runs and which studio
    processes are connected to it."""
    settings = Settings()
    report: dict[str, Any]
    if settings.database_url is not None:
        report = {"embedded": False, "database": describe_url(settings.database_url)}
    else:
        pgdata = settings.home / "pg"
        server = running_embedded(pgdata)
        report = {"embedded": True, "data": str(pgdata), "running": server is not None}
        if server is not None:
            report |= {"pid": server.pid, "started": server.started.isoformat()}
            report["studio_processes"] = _connected(server.url)
    if as_json:
        typer.echo(json.dumps(report))
        return
    if not report["embedded"]:
        typer.echo(f"{report['database']} (DATABASE_URL): not managed by the studio")
    elif not report["running"]:
        typer.echo(
            f"embedded Postgres in {report['data']}: not running "
            "(the next studio command starts it)"
        )
    else:
        users = report["studio_processes"]
        who = ", ".join(f"pid {pid}" for pid in users) or "none"
        typer.echo(
            f"embedded Postgres in {report['data']}: running (pid {report['pid']}, since "
            f"{report['started'][:19]}); studio processes connected: {who}. It stays running "
            "after studio commands exit; `studio db stop` stops it."
        )


@db_app.command("stop")
def db_stop(
    force: Annotated[
        bool, typer.Option("--force", help="Stop it even while studio processes use it.")
    ] = False,
) -> None:
    """Stop the embedded Postgres (refused while studio processes use it, unless --force)."""
    settings = Settings()
    if settings.database_url is not None:
        typer.echo(
            f"{describe_url(settings.database_url)} (DATABASE_URL) is not the studio's to stop",
            err=True,
        )
        raise typer.Exit(1)
    pgdata = settings.home / "pg"
    server = running_embedded(pgdata)
    if server is None:
        typer.echo(f"embedded Postgres in {pgdata}: not running")
        return
    users = _connected(server.url)
    if users and not force:
        pids = ", ".join(str(pid) for pid in users)
        typer.echo(
            f"error: studio processes still use it (pid {pids}); stop them first, or pass "
            "--force (their runs resume when a studio process starts again)",
            err=True,
        )
        raise typer.Exit(1)
    stop_embedded_postgres(pgdata)
    typer.echo(f"stopped the embedded Postgres in {pgdata}")


def _connected(url: str) -> list[int]:
    try:
        return sorted(studio_processes(url))
    except psycopg.Error:
        return []


def main() -> None:
    """Console-script entry point."""
    app()
