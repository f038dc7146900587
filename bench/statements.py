"""Statements per trivial session: what the server sends Postgres for one `bench.api` session.

    python -m bench.statements [--sessions 40] [--top 30]

The same session as `bench.api` (create a thread, `runs.stream` to the gate, `runs.stream`
resuming to the end, through the unmodified `langgraph-sdk`, as the home's admin, the bench's
limits off), served in this process so that every statement the server's psycopg executes is
counted (`AsyncCursor.execute` and `executemany`; a statement in a pipeline counts, though it
shares its round trip). The server's background work in the same time (the cluster's sweep)
is counted too. Unlike CPU, the count does not depend on the machine's load: a deterministic
figure to set beside `bench.api`'s CPU per session.
"""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:  # `python bench/statements.py`: keep the `api` package importable
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse
from collections import Counter
from typing import Any

import psycopg

from bench.api import http_session, sdk_client
from bench.harness import database, header, out, run, serve
from people.home_token import home_token

WARMUP = 3


class Count:
    """The statements psycopg executes in this process while `on`, by their first words."""

    def __init__(self) -> None:
        self.on = False
        self.seen: Counter[str] = Counter()

    def install(self) -> None:
        execute, many = psycopg.AsyncCursor.execute, psycopg.AsyncCursor.executemany
        count = self

        async def counted(self: Any, query: Any, params: Any = None, **kwargs: Any) -> Any:
            if count.on:
                count.seen[" ".join(str(query).split())[:100]] += 1
            return await execute(self, query, params, **kwargs)

        async def counted_many(self: Any, query: Any, params: Any, **kwargs: Any) -> Any:
            if count.on:
                count.seen["(executemany) " + " ".join(str(query).split())[:86]] += 1
            return await many(self, query, params, **kwargs)

        psycopg.AsyncCursor.execute = counted  # type: ignore[method-assign]
        psycopg.AsyncCursor.executemany = counted_many  # type: ignore[method-assign]


async def main(args: argparse.Namespace) -> None:
    header("statements: trivial-graph sessions through the HTTP API", args)
    count = Count()
    count.install()
    async with database() as db, serve("trivial", db, db.home, inproc=True) as server:
        client = sdk_client(server.url, home_token(db.home))
        try:
            for _ in range(WARMUP):
                await http_session(client)
            count.on = True
            for _ in range(args.sessions):
                await http_session(client)
            count.on = False
        finally:
            await client.aclose()
    total = sum(count.seen.values())
    for statement, n in count.seen.most_common(args.top):
        out(f"{n / args.sessions:6.2f}  {statement}")
    out(
        f"summary: statements, trivial-graph session (create -> runs.stream to the gate -> "
        f"runs.stream resuming to the end): {total / args.sessions:.1f} a session "
        f"({args.sessions} sessions, the server's psycopg)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.statements", description=__doc__)
    parser.add_argument("--sessions", type=int, default=40, help="sessions counted")
    parser.add_argument("--top", type=int, default=30, help="statements listed")
    run(main(parser.parse_args()))
