"""Full sessions/s through the HTTP API against the same graph in-process.

    python -m bench.api [--sessions 200] [--clients 10] [--servers 1] [--client-procs N]
                        [--call stream|wait] [--inproc] [--profile FILE] [--phases N] [--bare]

A session is what aegra was measured on, on a trivial three-node graph with one gate: create a
thread, stream a run to the gate (`runs.stream`, stream_mode=values), resume it
(`command={"resume": ...}`) and stream to the end, all through the unmodified
`langgraph-sdk`. The baseline is the same graph driven with `graph.astream` (same modes, same
durability) on the same Postgres saver, in this process. `--call wait` makes both runs
`runs.wait` instead (the answer is the final values, nothing streamed), against
`graph.ainvoke` in-process. So the figures measure the shell:
HTTP, SSE, run manager, Postgres event log and run table. The two take turns, a round of
`--clients` sessions at a time, so a change in the machine's load hits both alike. The server
runs in a process of its own, as `studio serve` runs it (uvicorn, uvloop, httptools);
`--servers N` starts N of them on the one Postgres, the scale-out a deployment adds cores with;
`--client-procs N` drives the HTTP sessions from N client processes (as real clients are
separate programs) instead of this one, whose single core then no longer caps the rate.
`DATABASE_URL` picks the Postgres, else an embedded one in a temporary directory.

The headline is CPU per session, by process group (`bench.harness.CpuMeter`: the clients,
the servers, the embedded Postgres), measured in the same run for both drivers: the server's
CPU per HTTP session next to the graph's own CPU per in-process session (this process runs
the graph then), and their ratio. Goal (issue #20 point 7): the server at most 12 ms a
session. Sessions/s are printed too, but on 2 shared cores they are bounded by the SDK
client's own CPU and the graph's (the "ceilings" line: the rates a server that cost nothing
would still be held to). The older rate goals (>= 60 sessions/s sequential, >= 200/s with 10
clients) are above those ceilings here. Reference, not measured here: aegra 0.6.0, side by
side with the same graph (issue #20): 15.7-16.3 sessions/s with `runs.wait`, 3.6/s with
`runs.stream`, 40-46 ms of server CPU a session.

`--bare` adds a third driver, taking turns with the other two: `bench.bare`'s server, the same
graph and saver behind FastAPI and SSE with nothing of the studio in it (no accounts, run
table, claim or event log), the least a server of this shape can spend: the floor.

`--phases N` then splits the server's CPU by step of N more sequential sessions: creating the
thread, the run to the gate, the resume to the end, and the idle time after (the background:
the cluster's sweep). The server's CPU is read after each step and a pause of 30 ms (the
step's background work, such as the event log's last write, lands in it), so the steps add
up to the session; the clock is the kernel's (10 ms ticks), hence the many sessions.
"""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:  # `python bench/api.py`: this file would shadow the `api` package
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse
import asyncio
import multiprocessing
import os
import uuid
from concurrent.futures import ProcessPoolExecutor
from contextlib import AsyncExitStack
from typing import Any

from langgraph.types import Command
from langgraph_sdk import get_client

from bench.harness import (
    TOPIC,
    CpuMeter,
    alternate,
    argparser,
    database,
    header,
    make_graph,
    median_ms,
    out,
    postmaster_pid,
    run,
    serve,
)
from people.home_token import home_token

WARMUP = 5


def sdk_client(url: str, token: str) -> Any:
    return get_client(url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60)


SHAPES = {
    "stream": "create -> runs.stream to the gate -> runs.stream resuming to the end",
    "wait": "create -> runs.wait to the gate -> runs.wait resuming to the end",
}
"""The session each `--call` measures (3 requests; the in-process driver runs the same two
runs with `graph.astream`, or `graph.ainvoke` for `wait`)."""
BARE = "bare shape"
"""The `--bare` driver: sessions against `bench.bare`'s server."""
AEGRA = {"stream": "3.6/s", "wait": "15.7-16.3/s"}
"""aegra 0.6.0's sessions/s on this session shape, side by side with the same graph (issue #20
point 7): a reference quoted, not measured here."""


async def http_session(client: Any, call: str = "stream") -> None:
    """One session over HTTP: create a thread, run to the gate, resume to the end (`call`:
    `runs.stream` or `runs.wait`)."""
    thread = await client.threads.create()
    tid = thread["thread_id"]
    if call == "wait":
        await client.runs.wait(tid, "studio", input=TOPIC)
        resume = {"resume": {"action": "approve"}}
        values = await client.runs.wait(tid, "studio", command=resume)
        assert isinstance(values, dict) and values["log"][-1] == "done", values
        return
    async for _ in client.runs.stream(tid, "studio", input=TOPIC, stream_mode="values"):
        pass
    last: Any = None
    async for part in client.runs.stream(
        tid, "studio", command={"resume": {"action": "approve"}}, stream_mode="values"
    ):
        if part.event == "values":
            last = part.data
    assert last is not None and last["log"][-1] == "done", last


# -- `--client-procs`: sessions driven from client processes of their own ---------------------
_WORKER: dict[str, Any] = {}
"""A client process's event loop and SDK clients (one per server), made by `_start_worker`."""


def _start_worker(servers: list[tuple[str, str]], call: str = "stream") -> None:
    loop: asyncio.AbstractEventLoop
    try:
        import uvloop

        loop = uvloop.new_event_loop()
    except ImportError:
        loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    clients = [sdk_client(url, token) for url, token in servers]
    _WORKER.update(loop=loop, clients=clients, call=call)


def _worker_session(index: int) -> None:
    clients = _WORKER["clients"]
    session = http_session(clients[index % len(clients)], _WORKER["call"])
    _WORKER["loop"].run_until_complete(session)


PHASE_PAUSE_S = 0.03


async def phases(client: Any, server_pid: int, sessions: int) -> None:
    """The server's CPU per step of a session (`--phases`), sequential sessions."""
    import psutil  # type: ignore[import-untyped]  # pgserver depends on it

    server = psutil.Process(server_pid)

    def cpu_s() -> float:
        times = server.cpu_times()
        return float(times.user + times.system)

    used: dict[str, float] = {}

    async def step(label: str, work: Any) -> Any:
        before = cpu_s()
        result = None if work is None else await work
        await asyncio.sleep(PHASE_PAUSE_S)
        used[label] = used.get(label, 0.0) + cpu_s() - before
        return result

    async def drain(parts: Any) -> None:
        async for _ in parts:
            pass

    resume = {"resume": {"action": "approve"}}
    for _ in range(sessions):
        await asyncio.sleep(PHASE_PAUSE_S)
        tid = (await step("create the thread", client.threads.create()))["thread_id"]
        runs = client.runs
        await step("run to the gate", drain(runs.stream(tid, "studio", input=TOPIC)))
        await step("resume to the end", drain(runs.stream(tid, "studio", command=resume)))
        await step(f"idle {PHASE_PAUSE_S * 1000:.0f} ms", None)
    total = sum(used.values())
    out(f"server CPU per step ({sessions} sequential sessions, each step + {PHASE_PAUSE_S}s):")
    for label, seconds in used.items():
        out(f"  {label:<20} {seconds * 1000 / sessions:6.2f} ms")
    out(f"  {'session':<20} {total * 1000 / sessions:6.2f} ms")


def ceilings_of(seq: CpuMeter, conc: CpuMeter, graph_ms: float) -> tuple[float, float]:
    """What HTTP sessions/s could reach here if the server added nothing to the graph: the
    graph's own work and the SDK client's CPU are left either way.

    Sequential: the client waits for the server and the server for the client, so a session
    takes at least the in-process session (`graph_ms`) plus the client's CPU. With clients
    in parallel the machine's cores are the limit: the in-process session's CPU (Postgres's
    included) plus the client's, spread over every core."""
    client_seq = seq.per_session_ms("HTTP + SDK")["clients"] or 0.0
    client_conc = conc.per_session_ms("HTTP + SDK")["clients"] or 0.0
    graph_cpu = sum(ms or 0.0 for ms in conc.per_session_ms("in-process").values())
    sequential = 1000 / (graph_ms + client_seq)
    parallel = (os.cpu_count() or 1) * 1000 / (graph_cpu + client_conc)
    out(
        f"ceilings if the server added nothing to the graph: sequential {sequential:.0f} "
        f"sessions/s (the in-process session {graph_ms:.1f} ms + the SDK client's CPU "
        f"{client_seq:.1f} ms); parallel {parallel:.0f}/s ({os.cpu_count()} cores over the "
        f"in-process session's CPU {graph_cpu:.1f} ms + the client's {client_conc:.1f} ms)"
    )
    return sequential, parallel


async def main(args: argparse.Namespace) -> None:
    header(f"api: trivial-graph sessions ({SHAPES[args.call]})", args)
    async with database() as db:
        graph = make_graph("trivial", db.saver)

        async def in_process(_index: int) -> None:
            config = {"configurable": {"thread_id": str(uuid.uuid4())}}
            if args.call == "wait":  # what runs.wait answers: the values, nothing streamed
                await graph.ainvoke(TOPIC, config)
                done = await graph.ainvoke(Command(resume={"action": "approve"}), config)
                assert done["log"][-1] == "done", done
                return
            async for _ in graph.astream(TOPIC, config, stream_mode="values"):
                pass
            resume: Command[Any] = Command(resume={"action": "approve"})
            final: Any = None
            async for part in graph.astream(resume, config, stream_mode="values"):
                final = part
            assert final["log"][-1] == "done", final

        async with AsyncExitStack() as stack:
            servers: list[tuple[str, str]] = []
            pids: list[int] = []
            for _ in range(args.servers):  # studio processes on the one Postgres
                server = await stack.enter_async_context(
                    serve("trivial", db, db.home, inproc=args.inproc, profile=args.profile)
                )
                servers.append((server.url, home_token(db.home)))  # the home's admin
                pids += [server.pid] if server.pid is not None else []
            bare_client = None
            if args.bare:  # the shape with nothing of the studio in it: the floor
                bare = await stack.enter_async_context(serve("trivial", db, db.home, bare=True))
                pids += [bare.pid] if bare.pid is not None else []
                bare_client = sdk_client(bare.url, "none")  # bench.bare reads no token
                stack.push_async_callback(bare_client.aclose)
            clients = []
            for url, token in servers:
                client = sdk_client(url, token)
                stack.push_async_callback(client.aclose)
                clients.append(client)

            pool = None
            if args.client_procs:
                pool = ProcessPoolExecutor(
                    args.client_procs,
                    mp_context=multiprocessing.get_context("spawn"),  # no fork of a running loop
                    initializer=_start_worker,
                    initargs=(servers, args.call),
                )
                stack.callback(pool.shutdown)
            loop = asyncio.get_running_loop()

            async def over_http(index: int) -> None:
                if pool is None:  # sessions spread round-robin over the servers
                    await http_session(clients[index % len(clients)], args.call)
                else:
                    await loop.run_in_executor(pool, _worker_session, index)

            drivers = {"in-process": in_process, "HTTP + SDK": over_http}
            if bare_client is not None:

                async def bare_shape(_index: int, client: Any = bare_client) -> None:
                    await http_session(client, args.call)

                drivers[BARE] = bare_shape
            await alternate(drivers, WARMUP, 1)
            if args.client_procs:  # start every client process before measuring
                await alternate(drivers, args.client_procs * 2, args.client_procs)
            # the server's CPU is its own only when it runs in a process of its own
            postmaster = postmaster_pid(db)
            meters = [None, None] if args.inproc else [CpuMeter(pids, postmaster) for _ in range(2)]
            seq = await alternate(drivers, args.sessions, 1, meter=meters[0])
            conc = await alternate(drivers, args.sessions, args.clients, meter=meters[1])
            figures = {name: (seq[name][0], conc[name][0]) for name in drivers}
            for name in drivers:
                out(
                    f"{name:<11} sequential {seq[name][0]:7.1f} sessions/s (median "
                    f"{median_ms(seq[name][1]):5.1f} ms)   {args.clients} clients "
                    f"{conc[name][0]:7.1f} sessions/s"
                )
            ceilings, cpu = None, None
            if meters[0] is not None and meters[1] is not None:
                for line in [
                    *meters[0].lines("sequential"),
                    *meters[1].lines(f"{args.clients} clients"),
                ]:
                    out(line)
                ceilings = ceilings_of(meters[0], meters[1], median_ms(seq["in-process"][1]))
                cpu = server_cpu(meters[0], meters[1], args.clients)
                out(cpu)
            if args.phases and pids and pool is None:
                await phases(clients[0], pids[0], args.phases)

    (ip_seq, ip_conc), (h_seq, h_conc) = figures["in-process"], figures["HTTP + SDK"]
    out(f"HTTP takes {ip_seq / h_seq:.2f}x the in-process time sequential, "
        f"{ip_conc / h_conc:.2f}x with {args.clients} clients")  # fmt: skip
    procs = f", {args.client_procs} client processes" if args.client_procs else ""
    rates = (
        f"{h_seq:.1f} sessions/s sequential, {h_conc:.1f}/s with {args.clients} clients "
        f"(in-process {ip_seq:.1f}/s and {ip_conc:.1f}/s"
        + (
            f"; bounded here by the SDK client's and the graph's own CPU: a server that cost "
            f"nothing would reach {ceilings[0]:.0f}/s and {ceilings[1]:.0f}/s"
            if ceilings is not None
            else ""
        )
        + ")"
    )
    out(
        f"summary: api ({args.servers} server{'s' if args.servers > 1 else ''}{procs}), "
        f"trivial-graph session ({SHAPES[args.call]}): "
        + (f"{cpu}; " if cpu is not None else "CPU not measured (--inproc); ")
        + f"{rates}; aegra 0.6.0 on this shape {AEGRA[args.call]} (issue #20, not measured here)"
    )


def server_cpu(seq: CpuMeter, conc: CpuMeter, clients: int) -> str:
    """The headline: the server's CPU per HTTP session next to the graph's own CPU per
    in-process session (this process runs the graph then), measured in the same run."""
    parts = []
    for label, meter in (("sequential", seq), (f"{clients} clients", conc)):
        server = meter.per_session_ms("HTTP + SDK")["servers"] or 0.0
        graph = meter.per_session_ms("in-process")["clients"] or 0.0
        ratio = f"x{server / graph:.2f}" if graph else "x?"
        floor = ""
        if BARE in meter.sessions:
            bare = meter.per_session_ms(BARE)["servers"] or 0.0
            floor = f", the bare shape {bare:.1f} ms (x{bare / graph:.2f})" if graph else ""
        parts.append(f"{label} {server:.1f} ms vs {graph:.1f} ms ({ratio}{floor})")
    return (
        "server CPU per session vs the graph alone: "
        + ", ".join(parts)
        + " (goal: server <= 12 ms)"
    )


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparser("bench.api", __doc__)
    parser.add_argument("--sessions", type=int, default=200, help="sessions per measurement")
    parser.add_argument("--clients", type=int, default=10, help="concurrent clients")
    parser.add_argument(
        "--servers",
        type=int,
        default=1,
        help="studio server processes on the one Postgres, sessions spread round-robin "
        "(what `studio serve --workers N` or N machines behind a load balancer give)",
    )
    parser.add_argument(
        "--client-procs",
        type=int,
        default=0,
        metavar="N",
        help="drive the HTTP sessions from N client processes (default 0: from this one); "
        "on a machine with cores to spare, so the clients' CPU does not cap the rate",
    )
    parser.add_argument(
        "--call",
        choices=sorted(SHAPES),
        default="stream",
        help="the runs' call: `runs.stream` (default, against `graph.astream`) or `runs.wait` "
        "(against `graph.ainvoke`)",
    )
    parser.add_argument(
        "--bare",
        action="store_true",
        help="also drive `bench.bare`'s server, the same graph and saver behind FastAPI and "
        "SSE with nothing of the studio (no accounts, run table, event log): the floor the "
        "shape itself sets, taking turns with the other two",
    )
    parser.add_argument(
        "--phases",
        type=int,
        default=0,
        metavar="N",
        help="then split the server's CPU by step (create, run to the gate, resume, idle) "
        "over N more sequential sessions (a server process of its own, one server)",
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    run(main(parse()))
