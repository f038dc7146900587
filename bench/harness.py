"""What every benchmark shares: the database, the graphs under test, the server, SSE, figures.

The scripts run the server the way `studio serve` does (uvicorn, uvloop, httptools) in a
separate process (`python -m bench.harness serve ...`), so the clients' own CPU is not charged
to it; `--inproc` runs it in the benchmark's own event loop instead. Each script measures its
baseline in the same run: these machines are noisy, so only ratios are comparable across runs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import io
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypedDict

if Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    # `python bench/NAME.py` puts bench/ first on sys.path, where bench/api.py would shadow
    # the `api` package: look in the repository root instead.
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import httpx
import uvicorn
from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    AnyMessage,
    BaseMessage,
    HumanMessage,
)
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.types import interrupt
from PIL import Image

from adapters.assets import AssetStore
from adapters.images import GeneratedImage, ProgressFn
from adapters.llm import RoleModels
from adapters.renderer import Renderer
from adapters.specs import GenerationSpec
from adapters.threads import ThreadRegistry
from api.http.app import create_app
from engine.settings import Settings
from engine.studio import Studio
from graph.builder import build_graph
from graph.context import StudioContext
from people.bootstrap import ensure_home_admin
from people.home_token import home_token
from store.database import Database
from tests.wire import Sse as Sse  # the wire helpers tests and benches share
from tests.wire import free_port as free_port
from tests.wire import sse_events as sse_events

ROOT = Path(__file__).resolve().parent.parent
GRAPHS = ("trivial", "studio", "tokens", "ticker")
BRIEF = "cyberpunk street scene at night, neon signs"


# -- the graphs under test ------------------------------------------------------------------


class TrivialState(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]
    log: list[str]


TOPIC = {"messages": [{"role": "user", "content": "cats"}]}
"""The trivial graph's input: a topic as the person's message (the server checks run input
with the studio's own schema, which takes messages)."""


async def draft(state: TrivialState) -> dict[str, Any]:
    topic = state["messages"][-1].content if state.get("messages") else ""
    return {"log": [f"draft:{topic}"]}


async def approve(state: TrivialState) -> dict[str, Any]:
    decision = interrupt({"gate": "plan", "actions": ["approve"]})
    return {"log": [*state.get("log", []), f"gate:{decision.get('action')}"]}


async def finish(state: TrivialState) -> dict[str, Any]:
    return {"log": [*state.get("log", []), "done"]}


def trivial_graph(checkpointer: Any) -> Any:
    """Three nodes and one gate: draft -> approve (interrupt) -> finish."""
    builder = StateGraph(TrivialState)
    builder.add_node("draft", draft)
    builder.add_node("approve", approve)
    builder.add_node("finish", finish)
    builder.add_edge(START, "draft")
    builder.add_edge("draft", "approve")
    builder.add_edge("approve", "finish")
    builder.add_edge("finish", END)
    return builder.compile(checkpointer=checkpointer, name="studio")


class FakeStreamingChat(BaseChatModel):
    """A zero-latency chat model: answers `n` chunks (`t0 t1 ...`) for a prompt `n`; a prompt
    `n pause` sleeps `pause` seconds after every 100 chunks (a run that lasts a while)."""

    @property
    def _llm_type(self) -> str:
        return "bench-fake"

    def _chunks(self, messages: list[BaseMessage]) -> tuple[list[str], float]:
        count, _, pause = str(messages[-1].content).partition(" ")
        return [f"t{i} " for i in range(int(count or 0))], float(pause or 0)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        text = "".join(self._chunks(messages)[0])
        return ChatResult(generations=[ChatGeneration(message=AIMessage(text))])

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        texts, pause = self._chunks(messages)
        for i, text in enumerate(texts):
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=text))
            if run_manager is not None:
                await run_manager.on_llm_new_token(text, chunk=chunk)
            yield chunk
            if pause and i % 100 == 99:
                await asyncio.sleep(pause)


class TokensState(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]


def tokens_input(chunks: int, pause_s: float = 0.0) -> dict[str, Any]:
    """A tokens run's input: `CHUNKS PAUSE` as the person's message (the studio's schema)."""
    return {"messages": [{"role": "user", "content": f"{chunks} {pause_s}"}]}


_FAKE_CHAT = FakeStreamingChat()


async def speak(state: TokensState) -> dict[str, Any]:
    asked = [m for m in state.get("messages", []) if isinstance(m, HumanMessage)]
    prompt = str(asked[-1].content) if asked else "0 0.0"
    reply = await _FAKE_CHAT.ainvoke([HumanMessage(prompt)])
    return {"messages": [AIMessage(str(reply.content), name="luna", id=reply.id)]}


def tokens_graph(checkpointer: Any) -> Any:
    """One node whose chat model streams `chunks` tokens (the `messages` stream mode)."""
    builder = StateGraph(TokensState)
    builder.add_node("speak", speak)
    builder.add_edge(START, "speak")
    builder.add_edge("speak", END)
    return builder.compile(checkpointer=checkpointer, name="studio")


class TickerState(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]


def ticker_input(count: int, interval_s: float) -> dict[str, Any]:
    """A ticker run's input: `COUNT INTERVAL` as the person's message (the server checks run
    input with the studio's own schema, which takes messages)."""
    return {"messages": [{"role": "user", "content": f"{count} {interval_s}"}]}


async def tick(state: TickerState) -> dict[str, Any]:
    """Custom `tick` events stamped with their creation time (wall clock, as all processes
    on the machine share it)."""
    writer = get_stream_writer()
    count, interval_s = str(state["messages"][-1].content).split()
    for i in range(int(count)):
        writer({"event": "tick", "i": i, "t": time.time()})
        await asyncio.sleep(float(interval_s))
    return {}


def ticker_graph(checkpointer: Any) -> Any:
    builder = StateGraph(TickerState)
    builder.add_node("tick", tick)
    builder.add_edge(START, "tick")
    builder.add_edge("tick", END)
    return builder.compile(checkpointer=checkpointer, name="studio")


class FakeImages(Renderer):
    """A zero-latency `ImageGenerator`: one small PNG per job, distinct per job id. It is the
    built-in renderer with `generate` replaced, so the rest of the protocol stays in step."""

    name = "bench-fake"
    label = "zero-latency fake generator (bench)"

    def __init__(self) -> None:
        super().__init__()
        out = io.BytesIO()
        Image.new("RGB", (64, 48), (200, 60, 120)).save(out, format="PNG")
        self._png = out.getvalue()

    async def generate(
        self, spec: GenerationSpec, *, job_id: str, on_progress: ProgressFn
    ) -> list[GeneratedImage]:
        on_progress(1.0, None)
        # trailing bytes after IEND keep the file a valid PNG and its hash unique per job
        png = self._png + job_id.encode()
        return [GeneratedImage(png, 64, 48, self.name, {"job_id": job_id})]


def make_graph(name: str, checkpointer: Any) -> Any:
    """A graph by name: `trivial`, `studio` (the real one), `tokens`, `ticker`."""
    if name == "studio":
        return build_graph(checkpointer=checkpointer)
    factories: dict[str, Callable[[Any], Any]] = {
        "trivial": trivial_graph,
        "tokens": tokens_graph,
        "ticker": ticker_graph,
    }
    return factories[name](checkpointer)


def make_context(database: Database, home: Path) -> StudioContext:
    """The studio's dependencies at zero latency: the built-in offline model (token delay 0)
    for every role, and the fake image generator."""
    return StudioContext(
        models=RoleModels.offline(7),
        images=FakeImages(),
        assets=AssetStore(database.pool, home / "assets"),
        generation_slots=asyncio.Semaphore(2),
    )


def make_studio(name: str, database: Database, home: Path) -> Studio:
    context = make_context(database, home)
    labels = {"database": database.label, "models": context.models.label, "images": "bench"}
    return Studio(make_graph(name, database.saver), context, ThreadRegistry(database.pool), labels)


# -- the database -------------------------------------------------------------------------
@asynccontextmanager
async def database(home: Path | None = None) -> AsyncIterator[Database]:
    """`DATABASE_URL`, else an embedded Postgres in a temporary directory (stopped after)."""
    url = os.environ.get("DATABASE_URL")
    own = home is None
    home = home or Path(tempfile.mkdtemp(prefix="studio-bench-"))
    try:
        async with Database(url, home) as db:
            try:
                yield db
            finally:
                if url is None and own:
                    await db.stop_embedded()
    finally:
        if own:
            shutil.rmtree(home, ignore_errors=True)


# -- the server ---------------------------------------------------------------------------
def uvicorn_config(app: Any, port: int) -> uvicorn.Config:
    """As `studio serve` runs it (uvloop and httptools when installed), access log off."""
    return uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=1,
    )


@dataclass
class Server:
    """A running bench server: its URL and, when it is a process of its own, its pid."""

    url: str
    pid: int | None = None
    log: Path | None = None


@asynccontextmanager
async def serve(
    graph: str,
    db: Database,
    home: Path,
    *,
    inproc: bool = False,
    profile: Path | None = None,
    env: dict[str, str] | None = None,
    bare: bool = False,
) -> AsyncIterator[Server]:
    """The app on `graph` (over `db`), in a process of its own unless `inproc` (`env`: extra
    environment of that process); `bare`: the trivial graph in `bench.bare`'s server (the
    shape with nothing of the studio in it) instead."""
    if inproc and not bare:
        for name, value in BENCH_LIMITS.items():
            os.environ.setdefault(name, value)
        await ensure_home_admin(db.pool, home)
        app = create_app(Settings(home=home), studio=make_studio(graph, db, home))
        server = uvicorn.Server(uvicorn_config(app, 0))
        task = asyncio.create_task(server.serve())
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        try:
            yield Server(f"http://127.0.0.1:{port}", os.getpid())
        finally:
            server.should_exit = True
            await task
        return
    port = free_port()
    log = home / f"server-{port}.log"
    command = server_command(graph, port, home, profile)
    if bare:
        command = [sys.executable, "-m", "bench.bare", "--port", str(port), "--home", str(home)]
    process = spawn(command, {**os.environ, **(env or {}), "DATABASE_URL": db.url}, log)
    url = f"http://127.0.0.1:{port}"
    try:
        await wait_ok(url, process, log)
        yield Server(url, process.pid, log)
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                await asyncio.to_thread(process.wait, 30)
            except subprocess.TimeoutExpired:
                process.kill()
                await asyncio.to_thread(process.wait)


def server_command(graph: str, port: int, home: Path, profile: Path | None) -> list[str]:
    """`python -m bench.harness serve ...` (its cwd is the repository root)."""
    command = [sys.executable, "-m", "bench.harness", "serve", graph, "--port", str(port)]
    command += ["--home", str(home)]
    if profile is not None:
        command += ["--profile", str(profile.resolve())]
    return command


def spawn(
    command: list[str], env: dict[str, str], log: Path, *, cwd: Path = ROOT
) -> subprocess.Popen[bytes]:
    """Start `command` from the repository root (or `cwd`), its output appended to `log`."""
    with open(log, "ab") as sink:
        return subprocess.Popen(command, cwd=cwd, env=env, stdout=sink, stderr=sink)


def tail(log: Path) -> str:
    return log.read_text(errors="replace")[-2000:]


async def wait_ok(
    url: str, process: subprocess.Popen[bytes], log: Path, within_s: float = 60
) -> None:
    """Wait until `GET /ok` answers (or the process dies: its log is the error)."""
    deadline = time.monotonic() + within_s
    async with httpx.AsyncClient(base_url=url, timeout=5) as client:
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.TransportError):
                if (await client.get("/ok")).status_code == 200:
                    return
            if process.poll() is not None:
                raise RuntimeError(f"the server exited: {tail(log)}")
            await asyncio.sleep(0.02)
    raise RuntimeError(f"the server did not start within {within_s} s: {log}")


def _eventlog_defaults(**defaults: Any) -> None:
    """Experiment only: build the app's `EventLog` with other defaults (it passes none)."""
    from engine.eventlog import EventLog

    original = EventLog.__init__

    def patched(self: EventLog, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **{**defaults, **kwargs})

    EventLog.__init__ = patched  # type: ignore[method-assign]


def _what_if_flush_interval(seconds: float) -> None:
    """Experiment only: run the event log with another flush interval, to show how much of
    the latency the interval is."""
    _eventlog_defaults(flush_interval_s=seconds)


def _what_if_memory_log() -> None:
    """Experiment only: the event log numbers and keeps its batches in this process's memory
    instead of writing them to Postgres (no durability, no other process sees them), to show
    how much of the overhead the durable log is. Followers read from the cache, which keeps
    every event of a thread while this runs (a bench server's threads are small)."""
    from engine.eventlog import EventLog, Pending, Record, Then

    last: dict[str, int] = {}

    async def write(
        self: EventLog, thread_id: str, pending: list[Pending], then: Then | None = None
    ) -> list[Record]:
        if then is not None:  # the run's status and the thread's still go to Postgres
            async with self.pool.connection() as conn:
                await then(conn)
        base = last.get(thread_id, 0)
        last[thread_id] = base + len(pending)
        return [Record(base + 1 + i, *event) for i, event in enumerate(pending)]

    EventLog._write = write  # type: ignore[method-assign]
    _eventlog_defaults(keep=1_000_000)


BENCH_LIMITS = {
    "STUDIO_LIMIT_RATE_PER_MINUTE": "0",
    "STUDIO_LIMIT_CONCURRENT_RUNS": "0",
    "STUDIO_LIMIT_DAILY_GENERATIONS": "0",
}
"""The per-user limits are off on a bench server: its one admin makes thousands of threads."""


async def _serve_main(graph: str, port: int, home: Path, profile: Path | None) -> None:
    if interval := os.environ.get("BENCH_EVENTLOG_FLUSH_S"):
        _what_if_flush_interval(float(interval))
    if os.environ.get("BENCH_EVENTLOG_IN_MEMORY"):
        _what_if_memory_log()
    for name, value in BENCH_LIMITS.items():
        os.environ.setdefault(name, value)
    async with Database(os.environ["DATABASE_URL"], home) as db:
        await ensure_home_admin(db.pool, home)  # as `studio serve` does: the admin the
        # home's owner token signs in (`admin_auth`)
        app = create_app(Settings(home=home), studio=make_studio(graph, db, home))
        server = uvicorn.Server(uvicorn_config(app, port))
        # uvicorn re-raises a captured SIGTERM after serving, which would kill the process
        # before the profile is written: handle the signals here instead.
        server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, setattr, server, "should_exit", True)
        profiler = cProfile.Profile() if profile else None
        if profiler is not None:
            profiler.enable()
        try:
            await server.serve()
        finally:
            if profiler is not None and profile is not None:
                profiler.disable()
                profiler.dump_stats(profile)


def _serve_cli(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.harness serve")
    parser.add_argument("graph", choices=GRAPHS)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--profile", type=Path, help="write cProfile stats here on exit")
    args = parser.parse_args(argv)
    run(_serve_main(args.graph, args.port, args.home, args.profile))


# -- SSE and figures ----------------------------------------------------------------------
def token_of(thread: Any) -> str:
    """The client token a `POST /threads` answer carries (the SDK's `Thread` type lacks it)."""
    return str(thread["token"])


def admin_auth(home: Path) -> dict[str, str]:
    """The home's admin credential (its owner token, as the CLI uses it): creating a thread
    needs a signed-in creator or admin."""
    return {"Authorization": f"Bearer {home_token(home)}"}


def percentile(values: list[float], q: float) -> float:
    """The `q`-th percentile (0..100), nearest rank."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def median_ms(values: list[float]) -> float:
    return statistics.median(values) * 1000 if values else float("nan")


def machine() -> str:
    """`N cores, CPU model, RAM` of this machine."""
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    ram = ""
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram = f", {int(line.split()[1]) / 1024 / 1024:.1f} GiB RAM"
    return f"{os.cpu_count()} cores, {model}{ram}"


def rss_mib(pid: int) -> float:
    """Resident memory of a process (psutil, which pgserver already brings; else /proc)."""
    try:
        import psutil  # type: ignore[import-untyped]

        return float(psutil.Process(pid).memory_info().rss) / 2**20
    except ImportError:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def argparser(prog: str, doc: str | None, *, server: bool = True) -> argparse.ArgumentParser:
    """A benchmark's parser: its docstring's first paragraph as the description, the rest
    after the second as the epilog; `server` adds `--inproc` and `--profile`."""
    parts = (doc or "").split("\n\n", 2)
    parser = argparse.ArgumentParser(
        prog=f"python -m {prog}",
        description=parts[0] or None,
        epilog=parts[2] if len(parts) > 2 else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    if server:
        parser.add_argument(
            "--inproc",
            action="store_true",
            help="serve in this process (default: a server process)",
        )
        parser.add_argument(
            "--profile", type=Path, help="cProfile the server process; stats written here on exit"
        )
    return parser


def out(line: str = "") -> None:
    """Print a figure (scripts print; they are not the library)."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def header(title: str, args: argparse.Namespace, *, db: bool = True) -> None:
    where = "DATABASE_URL" if os.environ.get("DATABASE_URL") else "embedded Postgres (temp dir)"
    out(f"# {title}")
    out(f"# machine: {machine()}" + (f"; database: {where}" if db else ""))
    out(f"# args: {vars(args)}")


def run(main: Coroutine[Any, Any, None]) -> None:
    """Run a coroutine on uvloop when installed (as `studio serve` runs), else asyncio."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
    else:
        uvloop.run(main)


class CpuMeter:
    """CPU time (user + system) that each driver's sessions cost, per group of processes:
    `clients` (this process and its children other than the servers: the SDK clients, or the
    graph itself when it runs in-process), `servers` and `postgres` (the embedded server's
    postmaster and backends; not measured with `DATABASE_URL`, which may be on another
    host). `alternate` charges each driver the CPU its rounds used; the drivers take turns,
    so nothing else of the benchmark runs meanwhile. The processes are listed between rounds
    (listing them costs milliseconds, reading their times microseconds): a process started
    during a round is counted from the next one."""

    GROUPS = ("clients", "servers", "postgres")

    def __init__(self, server_pids: list[int], postmaster: int | None) -> None:
        import psutil  # type: ignore[import-untyped]  # pgserver depends on it

        self._psutil = psutil
        self.server_pids = set(server_pids)
        self.postmaster = postmaster
        self.used: dict[str, list[float]] = {}
        """Driver -> CPU seconds per group, over `sessions[driver]` sessions."""
        self.sessions: dict[str, int] = {}
        self._processes: list[tuple[int, Any]] = []
        self._list()

    def _list(self) -> None:
        """(group index, process) of every process measured."""
        psutil = self._psutil
        postgres: list[Any] = []
        with contextlib.suppress(psutil.Error):
            if self.postmaster is not None:
                main = psutil.Process(self.postmaster)
                postgres = [main, *main.children(recursive=True)]
        others = self.server_pids | {p.pid for p in postgres}
        me = psutil.Process()
        clients = [me, *(c for c in me.children(recursive=True) if c.pid not in others)]
        servers = []
        for pid in self.server_pids:
            with contextlib.suppress(psutil.Error):
                servers.append(psutil.Process(pid))
        self._processes = [
            (index, process)
            for index, group in enumerate((clients, servers, postgres))
            for process in group
        ]

    def sample(self) -> dict[int, tuple[int, float]]:
        """pid -> (group index, CPU seconds so far)."""
        found = {}
        for index, process in self._processes:
            with contextlib.suppress(self._psutil.Error):
                times = process.cpu_times()
                found[process.pid] = (index, float(times.user + times.system))
        return found

    def charge(self, driver: str, before: dict[int, tuple[int, float]], sessions: int) -> None:
        after = self.sample()
        used = self.used.setdefault(driver, [0.0] * len(self.GROUPS))
        for pid, (index, seconds) in after.items():
            if pid in before:
                used[index] += seconds - before[pid][1]
        self.sessions[driver] = self.sessions.get(driver, 0) + sessions
        self._list()

    def per_session_ms(self, driver: str) -> dict[str, float | None]:
        """CPU milliseconds per session by group (`postgres`: None when not measured)."""
        count = max(self.sessions.get(driver, 0), 1)
        used = self.used.get(driver, [0.0] * len(self.GROUPS))
        figures: dict[str, float | None] = {
            group: 1000 * seconds / count for group, seconds in zip(self.GROUPS, used, strict=True)
        }
        if self.postmaster is None:
            figures["postgres"] = None
        return figures

    def lines(self, label: str) -> list[str]:
        """One line per driver: its CPU ms per session by group, and their sum."""
        found = [f"CPU per session ({label}), milliseconds:"]
        for driver in self.used:
            figures = self.per_session_ms(driver)
            parts = [
                f"{group} {'n/a' if ms is None else f'{ms:6.1f}'}" for group, ms in figures.items()
            ]
            total = sum(ms for ms in figures.values() if ms is not None)
            found.append(f"  {driver:<11} {'   '.join(parts)}   all {total:6.1f}")
        return found


def postmaster_pid(db: Database) -> int | None:
    """The embedded Postgres's postmaster (first line of `postmaster.pid`), else None."""
    if not db.embedded:
        return None
    with contextlib.suppress(OSError, ValueError, IndexError):
        return int((db.pgdata / "postmaster.pid").read_text().splitlines()[0])
    return None


async def alternate(
    drivers: Mapping[str, Callable[[int], Awaitable[Any]]],
    total: int,
    clients: int,
    *,
    meter: CpuMeter | None = None,
) -> dict[str, tuple[float, list[float]]]:
    """Sessions/s of each driver and each session's seconds, `total` sessions each on
    `clients` concurrent workers. The drivers take turns, one round of `clients` sessions at a
    time, so a change in the machine's load (other work on it) hits them alike. `meter`, if
    given, is charged each round's CPU."""
    spent = dict.fromkeys(drivers, 0.0)
    times: dict[str, list[float]] = {name: [] for name in drivers}
    done = 0
    while done < total:
        batch = min(clients, total - done)
        for name, session in drivers.items():

            async def one(index: int, session: Callable[[int], Awaitable[Any]] = session) -> float:
                started = time.perf_counter()
                await session(index)
                return time.perf_counter() - started

            cpu = meter.sample() if meter is not None else {}
            started = time.perf_counter()
            times[name] += await asyncio.gather(*(one(done + i) for i in range(batch)))
            spent[name] += time.perf_counter() - started
            if meter is not None:
                meter.charge(name, cpu, batch)
        done += batch
    return {name: (total / spent[name], times[name]) for name in drivers}


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        _serve_cli(sys.argv[2:])
    else:
        sys.exit("usage: python -m bench.harness serve GRAPH --port PORT --home DIR")
