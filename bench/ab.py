"""Before/after: this working tree's server against another revision's, taking turns.

    python -m bench.ab REV [--graph trivial|studio] [--rounds 30]

On these noisy machines two runs of one benchmark an hour apart can differ by more than a
change is worth, so compare in one run: REV is checked out (`git worktree`, in a temporary
directory) and both servers run at once, each in a process of its own (`bench.harness
serve`, from its own tree) on a database of its own in the same Postgres. One client drives
them in turns with the same session through `langgraph-sdk`, a round at a time, alternating
which goes first, so a change in the machine's load hits both alike. Sessions: `trivial` is
`bench.api`'s (create, run to the gate, resume to the end; 10 per round), `studio` is
`bench.overhead`'s (the real graph, brief to approved outputs; 1 per round). Prints each
server's median and mean session time and the ratio of the medians (below 1: this tree is
faster). REV must have the same `bench.harness serve` command, and since accounts one that
makes the home's admin (7fd1751 or later): the client signs in with the home's owner token.
"""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:  # `python bench/ab.py`: bench/api.py would shadow the `api` package
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse
import asyncio
import contextlib
import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import psycopg
from langgraph_sdk import get_client
from psycopg.conninfo import make_conninfo

from bench.harness import (
    BENCH_LIMITS,
    ROOT,
    TOPIC,
    admin_auth,
    argparser,
    database,
    free_port,
    header,
    out,
    run,
    server_command,
    spawn,
    wait_ok,
)
from bench.overhead import APPROVE, MODES, start

PER_ROUND = {"trivial": 10, "studio": 1}
WARMUP = 3


@contextlib.contextmanager
def checkout(rev: str) -> Any:
    """REV in a temporary `git worktree` (removed after)."""
    where = Path(tempfile.mkdtemp(prefix="studio-ab-")) / "tree"
    git = ["git", "-C", str(ROOT)]
    subprocess.run([*git, "worktree", "add", "--detach", "-q", str(where), rev], check=True)
    try:
        yield where
    finally:
        subprocess.run([*git, "worktree", "remove", "--force", str(where)], check=False)


@contextlib.asynccontextmanager
async def own_database(url: str, name: str) -> AsyncIterator[str]:
    """A fresh database `name` in `url`'s Postgres (dropped after); yields its URL."""
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as admin:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_conninfo(url, dbname=name)
    finally:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as admin:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.asynccontextmanager
async def server(tree: Path, graph: str, url: str, home: Path) -> AsyncIterator[Any]:
    """`bench.harness serve` from `tree` on `url`; yields an SDK client signed in as the
    home's admin (its owner token)."""
    await asyncio.to_thread(home.mkdir, parents=True, exist_ok=True)
    port, log = free_port(), home / "server.log"
    command = server_command(graph, port, home, None)
    env = {**BENCH_LIMITS, **os.environ, "DATABASE_URL": url}  # limits off, whatever REV does
    process = spawn(command, env, log, cwd=tree)
    base = f"http://127.0.0.1:{port}"
    try:
        await wait_ok(base, process, log)
        # as the home's admin (`bench.harness serve` made it): creating a thread needs one
        client = get_client(url=base, headers=admin_auth(home), timeout=120)
        yield client
        await client.aclose()
    finally:
        process.terminate()
        await asyncio.to_thread(process.wait, 30)


async def trivial(client: Any) -> None:
    tid = (await client.threads.create())["thread_id"]
    async for _ in client.runs.stream(tid, "studio", input=TOPIC):
        pass
    command = {"resume": {"action": "approve"}}
    async for _ in client.runs.stream(tid, "studio", command=command):
        pass


async def studio(client: Any) -> None:
    tid = (await client.threads.create())["thread_id"]
    kwargs: dict[str, Any] = {"input": start()}
    while True:
        last: Any = None
        async for part in client.runs.stream(tid, "studio", stream_mode=MODES, **kwargs):
            if part.event == "values":
                last = part.data
        if not last or "__interrupt__" not in last:
            return
        kwargs = {"command": {"resume": APPROVE}}


SESSIONS: dict[str, Callable[[Any], Awaitable[None]]] = {"trivial": trivial, "studio": studio}


async def main(args: argparse.Namespace) -> None:
    header(f"ab: this tree vs {args.rev}, {args.graph} sessions, taking turns", args)
    session, per_round = SESSIONS[args.graph], PER_ROUND[args.graph]
    names = ("this tree", args.rev)
    async with database() as db:
        with checkout(args.rev) as tree:
            async with (
                own_database(db.url, "bench_ab_this") as this_url,
                own_database(db.url, "bench_ab_rev") as rev_url,
                server(ROOT, args.graph, this_url, db.home / "this") as this_client,
                server(tree, args.graph, rev_url, db.home / "rev") as rev_client,
            ):
                clients = dict(zip(names, (this_client, rev_client), strict=True))
                for client in clients.values():
                    for _ in range(WARMUP):
                        await session(client)
                times: dict[str, list[float]] = {name: [] for name in names}
                for round_ in range(args.rounds):
                    for name in names if round_ % 2 == 0 else reversed(names):
                        for _ in range(per_round):
                            began = time.perf_counter()
                            await session(clients[name])
                            times[name].append(time.perf_counter() - began)
    for name, spent in times.items():
        out(
            f"{name:<12} median {statistics.median(spent) * 1000:8.2f} ms   mean "
            f"{statistics.mean(spent) * 1000:8.2f} ms   ({len(spent)} sessions)"
        )
    ratio = statistics.median(times[names[0]]) / statistics.median(times[names[1]])
    out(
        f"summary: ab this tree / {args.rev} median session x{ratio:.3f} ({args.graph}, "
        f"{len(times[names[0]])} sessions each, in turns of {per_round}; below 1: faster)"
    )


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparser("bench.ab", __doc__, server=False)
    parser.add_argument("rev", help="the revision to compare with (a commit, tag or branch)")
    parser.add_argument("--graph", choices=sorted(SESSIONS), default="trivial")
    parser.add_argument("--rounds", type=int, default=30, help="turns each server gets")
    return parser.parse_args(argv)


if __name__ == "__main__":
    run(main(parse()))
