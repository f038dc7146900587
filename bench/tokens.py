"""LLM token chunks/s delivered over SSE, with replay intact, against the graph in-process.

    python -m bench.tokens [--chunks 20000] [--inproc]

One node calls a zero-latency fake chat model (`bench.harness.FakeStreamingChat`) that
streams `--chunks` tokens; LangGraph's `messages` stream mode carries them. Over HTTP a
client streams the run with the unmodified `langgraph-sdk` (`runs.stream`,
stream_mode=messages-tuple, `stream_resumable=True`, so each event has an id and goes through
the Postgres event log) and counts chunks/s from the request to the stream's end; the
baseline is `graph.astream(stream_mode="messages")` on the same saver in this process.
Then replay: a second client reads half of a run's chunks, drops the connection, rejoins with
`Last-Event-ID` (`runs.join_stream(last_event_id=...)`) and must receive the rest exactly once.
Anchors: in-process ~3,000/s, aegra ~590/s; goal >= 2,500/s. `DATABASE_URL` picks the
Postgres, else an embedded one.
"""

from __future__ import annotations

import argparse
import re
import time
import uuid
from typing import Any

import httpx
from langgraph_sdk import get_client

from bench.harness import (
    argparser,
    database,
    header,
    make_graph,
    out,
    run,
    serve,
    tokens_input,
)
from people.home_token import home_token

CHUNK = re.compile(r"t(\d+) ")


def chunk_index(data: Any) -> int | None:
    """The index of a `messages` event's token chunk (`t17 ` -> 17), else None."""
    if isinstance(data, list) and data and isinstance(data[0], dict):
        found = CHUNK.fullmatch(str(data[0].get("content", "")))
        if found and data[0].get("type") == "AIMessageChunk":
            return int(found.group(1))
    return None


async def raw_rate(url: str, token: str, n: int) -> float:
    """Chunks/s read with a bare httpx stream that only counts `messages` events (no JSON
    decoding): what the server delivers, with little of the client's own cost in it."""
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=120) as client:
        tid = (await client.post("/threads", json={})).json()["thread_id"]
        body = {"assistant_id": "studio", "input": tokens_input(n),
                "stream_mode": "messages-tuple", "stream_resumable": True}  # fmt: skip
        started, seen = time.perf_counter(), 0
        async with client.stream("POST", f"/threads/{tid}/runs/stream", json=body) as response:
            async for line in response.aiter_lines():
                seen += line == "event: messages"
        elapsed = time.perf_counter() - started
    assert seen >= n, seen  # the node's finished message may follow the chunks
    return n / elapsed


async def main(args: argparse.Namespace) -> None:
    header("tokens: LLM token chunks/s over SSE (messages stream), replay intact", args)
    n: int = args.chunks
    async with database() as db:
        graph = make_graph("tokens", db.saver)

        async def in_process() -> float:
            config: Any = {"configurable": {"thread_id": str(uuid.uuid4())}}
            started, count = time.perf_counter(), 0
            async for chunk, _meta in graph.astream(
                tokens_input(n), config, stream_mode="messages"
            ):
                count += CHUNK.fullmatch(str(chunk.content)) is not None
            assert count == n, count
            return n / (time.perf_counter() - started)

        async with serve("tokens", db, db.home, inproc=args.inproc, profile=args.profile) as srv:
            token = home_token(db.home)  # the home's admin: creating threads needs a creator
            client = get_client(
                url=srv.url, headers={"Authorization": f"Bearer {token}"}, timeout=120
            )

            async def over_sdk() -> float:
                tid = (await client.threads.create())["thread_id"]
                started, seen = time.perf_counter(), []
                async for part in client.runs.stream(
                    tid, "studio", input=tokens_input(n), stream_mode="messages-tuple",
                    stream_resumable=True,
                ):  # fmt: skip
                    if (index := chunk_index(part.data)) is not None:
                        seen.append(index)
                assert seen == list(range(n)), "every chunk once, in order"
                return n / (time.perf_counter() - started)

            rates: dict[str, list[float]] = {"in-process": [], "HTTP, SDK": [], "HTTP, raw": []}
            for _ in range(args.repeat):  # taking turns: load changes hit all three alike
                rates["in-process"].append(await in_process())
                rates["HTTP, SDK"].append(await over_sdk())
                rates["HTTP, raw"].append(await raw_rate(srv.url, token, n))

            # replay: a run that lasts (a pause every 100 chunks); drop the connection halfway
            # through it, rejoin with Last-Event-ID
            tid = (await client.threads.create())["thread_id"]
            before: list[int] = []
            run_id, last_id = "", ""
            live = tokens_input(n, args.pause)
            async for part in client.runs.stream(
                tid, "studio", input=live, stream_mode="messages-tuple", stream_resumable=True
            ):
                if part.event == "metadata":
                    run_id = part.data["run_id"]
                if (index := chunk_index(part.data)) is not None:
                    before.append(index)
                    last_id = str(part.id)
                if len(before) >= n // 2:
                    break  # the client goes away mid-run
            status = (await client.runs.get(tid, run_id))["status"]
            after: list[int] = []
            async for part in client.runs.join_stream(
                tid, run_id, last_event_id=last_id, stream_mode="messages-tuple"
            ):
                if (index := chunk_index(part.data)) is not None:
                    after.append(index)
            await client.aclose()

    together = before + after
    lost = len(set(range(n)) - set(together))
    duplicated = len(together) - len(set(together))
    in_order = together == sorted(together)
    best = {name: max(values) for name, values in rates.items()}
    for name, values in rates.items():
        runs = ", ".join(f"{r:.0f}" for r in values)
        out(f"{name:<11} {best[name]:8.0f} chunks/s (best of {args.repeat}: {runs})")
    base = best["in-process"]
    out(f"HTTP / in-process: SDK client {best['HTTP, SDK'] / base:.2f}, "
        f"raw client {best['HTTP, raw'] / base:.2f}")  # fmt: skip
    out(f"replay: {len(before)} chunks before the drop (run {status} then), {len(after)} "
        f"after rejoining with Last-Event-ID; lost {lost}, duplicated {duplicated}, "
        f"in order: {in_order}")  # fmt: skip
    intact = "intact" if lost == duplicated == 0 and in_order else "BROKEN"
    sdk = best["HTTP, SDK"]
    verdict = "meets" if sdk >= 2500 else "misses"
    out(
        f"summary: tokens {sdk:.0f} chunks/s over SSE to the SDK ({verdict} goal >= 2500; raw "
        f"client {best['HTTP, raw']:.0f}/s; in-process {base:.0f}/s); replay {intact} "
        f"(dropped while {status}: lost {lost}, duplicated {duplicated})"
    )


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparser("bench.tokens", __doc__)
    parser.add_argument("--chunks", type=int, default=20000, help="token chunks per run")
    parser.add_argument("--repeat", type=int, default=3, help="runs per side (best counts)")
    parser.add_argument(
        "--pause", type=float, default=0.005, help="replay run: pause (s) every 100 chunks"
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    run(main(parse()))
