"""Checkpoint storage per step, and the saver under concurrency: stock saver vs `StudioSaver`.

    python -m bench.checkpoints [--turns 100] [--workers 32] [--ops 40] [--runs 120]

Storage: a chat thread (`add_messages`, persona-named AI replies with usage metadata, about
450 bytes a message) grows a user message and a reply per turn, under `durability="sync"`.
Bytes are logical: the summed `octet_length` of every column of the thread's rows in
`checkpoints` (JSONB as text), `checkpoint_blobs`, `checkpoint_writes` and, for `StudioSaver`,
`checkpoint_lists` and `checkpoint_list_items`. A step is one checkpoint; the bytes of a step
at N messages are those of the turn after the thread reached N, divided by its checkpoints.
Goal: a step at 200 messages <= 1.5x a step at 10, and <= 1 MB for the 200-message thread.

Concurrency: `--workers` tasks, each on its own thread, doing `--ops` rounds of `aput` then
`aget_tuple` on one pool of 10 connections; then `--runs` one-turn graph runs, 8 at a time.
The stock saver serializes every call behind one lock; `StudioSaver` does not on a pool.
Rounds alternate stock/ours three times; the median of each is reported.
`DATABASE_URL` picks the Postgres, else an embedded one in a temporary directory.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage
from langgraph.checkpoint.base import BaseCheckpointSaver, empty_checkpoint
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from typing_extensions import TypedDict

from adapters.assets import AssetStore
from adapters.llm import RoleModels
from adapters.renderer import Renderer
from graph.budgets import SessionDefaults
from graph.builder import build_graph
from graph.context import StudioContext
from store.checkpointer import StudioSaver
from store.database import Database, Pool

TABLE_BYTES = {
    "checkpoints": """octet_length(thread_id) + octet_length(checkpoint_ns)
        + octet_length(checkpoint_id) + coalesce(octet_length(parent_checkpoint_id), 0)
        + coalesce(octet_length(type), 0) + octet_length(checkpoint::text)
        + octet_length(metadata::text)""",
    "checkpoint_blobs": """octet_length(thread_id) + octet_length(checkpoint_ns)
        + octet_length(channel) + octet_length(version) + octet_length(type)
        + coalesce(octet_length(blob), 0)""",
    "checkpoint_writes": """octet_length(thread_id) + octet_length(checkpoint_ns)
        + octet_length(checkpoint_id) + octet_length(task_id) + 4 + octet_length(channel)
        + coalesce(octet_length(type), 0) + octet_length(blob) + octet_length(task_path)""",
    "checkpoint_lists": """octet_length(thread_id) + octet_length(checkpoint_ns)
        + octet_length(channel) + octet_length(version) + coalesce(octet_length(base), 0) + 4
        + coalesce(octet_length(array_to_string(keys, '')), 0)""",
    "checkpoint_list_items": """octet_length(thread_id) + octet_length(checkpoint_ns)
        + octet_length(key) + octet_length(type) + octet_length(blob)""",
}
"""Logical bytes of one row, per table (integers count 4)."""

WORDS = (
    "neon rain glows teal and magenta over wet asphalt; a lone figure under a flickering sign, "
    "low angle, 35mm, shallow depth, steam from the grates, reflections doubled in puddles, "
)


class ChatState(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]


async def reply(state: ChatState) -> dict[str, Any]:
    """Luna answers: a persona-named message with usage metadata, like the studio's."""
    n = len(state["messages"])
    content = f"Turn {n}: " + WORDS * 2
    usage = {"input_tokens": 40 + n, "output_tokens": 80, "total_tokens": 120 + n}
    message = AIMessage(content, name="style", id=f"ai-{n}", usage_metadata=usage)  # type: ignore[arg-type]
    return {"messages": [message]}


def chat_graph(checkpointer: BaseCheckpointSaver[Any]) -> Any:
    """START -> reply -> END over a growing message list."""
    builder = StateGraph(ChatState)
    builder.add_node("reply", reply)
    builder.add_edge(START, "reply")
    builder.add_edge("reply", END)
    return builder.compile(checkpointer=checkpointer)


async def turn(graph: Any, thread_id: str, n: int) -> None:
    """One user message and its reply."""
    message = HumanMessage(f"user turn {n}: make it moodier, more rain", id=f"user-{n}")
    config = {"configurable": {"thread_id": thread_id}}
    await graph.ainvoke({"messages": [message]}, config, durability="sync")


async def thread_bytes(pool: Pool, thread_id: str) -> tuple[int, int]:
    """The thread's logical checkpoint bytes over all tables, and its checkpoint count."""
    total = 0
    async with pool.connection() as conn:
        for table, expression in TABLE_BYTES.items():
            cur = await conn.execute(
                f"SELECT coalesce(sum({expression}), 0) AS n FROM {table} WHERE thread_id = %s",
                (thread_id,),
            )
            row = await cur.fetchone()
            total += int(row["n"]) if row else 0
        cur = await conn.execute(
            "SELECT count(*) AS n FROM checkpoints WHERE thread_id = %s", (thread_id,)
        )
        row = await cur.fetchone()
    return total, int(row["n"]) if row else 0


async def step_bytes(pool: Pool, graph: Any, thread_id: str, n: int) -> float:
    """Bytes per checkpoint of turn `n` on the thread as it stands."""
    before, checkpoints_before = await thread_bytes(pool, thread_id)
    await turn(graph, thread_id, n)
    after, checkpoints_after = await thread_bytes(pool, thread_id)
    return (after - before) / (checkpoints_after - checkpoints_before)


async def growth(pool: Pool, saver: BaseCheckpointSaver[Any], turns: int) -> dict[str, float]:
    """Per-step bytes at 10 and at `2 * turns` messages, and the thread's total there."""
    graph, thread_id = chat_graph(saver), str(uuid.uuid4())
    for n in range(5):
        await turn(graph, thread_id, n)
    at_10 = await step_bytes(pool, graph, thread_id, 5)
    for n in range(6, turns):
        await turn(graph, thread_id, n)
    total, _ = await thread_bytes(pool, thread_id)
    config = {"configurable": {"thread_id": thread_id}}
    state = await graph.aget_state(config)
    assert len(state.values["messages"]) == 2 * turns
    read_ms = []
    for _ in range(20):
        started = time.perf_counter()
        await graph.aget_state(config)
        read_ms.append((time.perf_counter() - started) * 1000)
    started = time.perf_counter()
    listed = [s async for s in graph.aget_state_history(config)]
    history_ms = (time.perf_counter() - started) * 1000
    assert len(listed) == 3 * turns
    at_n = await step_bytes(pool, graph, thread_id, turns)
    return {
        "step_10": at_10,
        "step_n": at_n,
        "total": total,
        "read_ms": statistics.median(read_ms),
        "history_ms": history_ms,
    }


async def studio_session(pool: Pool, saver: BaseCheckpointSaver[Any], home: Path) -> list[int]:
    """A real auto-approved studio session (offline model, built-in renderer): its messages,
    checkpoints and logical bytes."""
    context = StudioContext(
        models=RoleModels.offline(7),
        images=Renderer(),
        assets=AssetStore(pool, home / "assets"),
        defaults=SessionDefaults(),
        generation_slots=asyncio.Semaphore(2),
    )
    graph, thread_id = build_graph(checkpointer=saver), str(uuid.uuid4())
    config = {"configurable": {"thread_id": thread_id}, "recursion_limit": 200}
    brief = {"role": "user", "content": "cyberpunk street scene at night, neon signs"}
    payload = {"messages": [brief], "settings": {"auto_approve": True}}
    state = await graph.ainvoke(payload, config, context=context, durability="sync")
    total, checkpoints = await thread_bytes(pool, thread_id)
    return [len(state["messages"]), checkpoints, total]


async def saver_ops(saver: BaseCheckpointSaver[Any], workers: int, ops: int) -> float:
    """`aput` + `aget_tuple` pairs per second from `workers` threads at once."""

    async def worker() -> None:
        thread_id = str(uuid.uuid4())
        version: str | None = None
        for i in range(ops):
            version = saver.get_next_version(version, None)
            checkpoint = empty_checkpoint()
            checkpoint["channel_values"] = {"n": i, "notes": [f"note {i}"]}
            checkpoint["channel_versions"] = {"n": version, "notes": version}
            config = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
            versions = {"n": version, "notes": version}
            await saver.aput(config, checkpoint, {"source": "loop", "step": i}, versions)  # type: ignore[arg-type]
            assert await saver.aget_tuple({"configurable": {"thread_id": thread_id}})

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(workers)))
    return workers * ops / (time.perf_counter() - started)


async def graph_runs(saver: BaseCheckpointSaver[Any], runs: int, concurrency: int = 8) -> float:
    """One-turn chat runs per second, `concurrency` at a time, each on a new thread."""
    graph, gate = chat_graph(saver), asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with gate:
            await turn(graph, str(uuid.uuid4()), 0)

    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(runs)))
    return runs / (time.perf_counter() - started)


async def alternate(
    measure: Callable[[BaseCheckpointSaver[Any]], Awaitable[float]],
    stock: AsyncPostgresSaver,
    ours: StudioSaver,
    rounds: int = 3,
) -> tuple[float, float]:
    """Median of `rounds` measures of each saver, alternating to share the machine's noise."""
    before, after = [], []
    await measure(ours)  # warm the pool and the prepared statements
    for _ in range(rounds):
        before.append(await measure(stock))
        after.append(await measure(ours))
    return statistics.median(before), statistics.median(after)


@asynccontextmanager
async def database() -> AsyncIterator[Database]:
    """`DATABASE_URL`, else an embedded Postgres in a temporary directory (stopped after)."""
    url = os.environ.get("DATABASE_URL")
    home = Path(tempfile.mkdtemp(prefix="studio-bench-"))
    try:
        async with Database(url, home) as db:
            try:
                yield db
            finally:
                if url is None:
                    await db.stop_embedded()
    finally:
        shutil.rmtree(home, ignore_errors=True)


def out(line: str = "") -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def main(args: argparse.Namespace) -> None:
    messages = 2 * args.turns
    out(f"# checkpoints: {os.cpu_count()} cores; args {vars(args)}")
    async with database() as db:
        stock = AsyncPostgresSaver(db.pool)
        ours = StudioSaver(db.pool)
        out(f"# database: {db.label}")
        figures = {}
        for label, saver in (("stock", stock), ("studio", ours)):
            g = figures[label] = await growth(db.pool, saver, args.turns)
            out(
                f"{label:>6}: step at 10 msgs {g['step_10']:8.0f} B, step at {messages} msgs "
                f"{g['step_n']:8.0f} B (x{g['step_n'] / g['step_10']:.2f}), "
                f"thread at {messages} msgs {g['total'] / 1e6:6.3f} MB; there: aget_state "
                f"{g['read_ms']:.1f} ms, whole history ({3 * args.turns} states) "
                f"{g['history_ms']:.0f} ms"
            )
        session = {}
        for label, saver in (("stock", stock), ("studio", ours)):
            session[label] = await studio_session(db.pool, saver, db.home)
        (n, steps, before), (_, _, after) = session["stock"], session["studio"]
        out(
            f"studio session ({n} messages, {steps} checkpoints): stock {before / 1e6:.3f} MB, "
            f"studio {after / 1e6:.3f} MB (x{after / before:.2f})"
        )
        ops_before, ops_after = await alternate(
            lambda s: saver_ops(s, args.workers, args.ops), stock, ours
        )
        out(
            f"saver ops ({args.workers} threads, aput+aget_tuple): stock {ops_before:6.0f}/s, "
            f"studio {ops_after:6.0f}/s (x{ops_after / ops_before:.2f})"
        )
        runs_before, runs_after = await alternate(lambda s: graph_runs(s, args.runs), stock, ours)
        out(
            f"graph runs (8 concurrent, 3 checkpoints each): stock {runs_before:5.1f}/s, "
            f"studio {runs_after:5.1f}/s (x{runs_after / runs_before:.2f})"
        )
    s, o = figures["stock"], figures["studio"]
    out(
        f"SUMMARY checkpoints: step@{messages}/step@10 stock x{s['step_n'] / s['step_10']:.1f} "
        f"-> studio x{o['step_n'] / o['step_10']:.2f} (goal <= 1.5); "
        f"{messages}-msg thread {s['total'] / 1e6:.2f} MB -> {o['total'] / 1e6:.3f} MB "
        f"(goal <= 1 MB); concurrent saver ops x{ops_after / ops_before:.2f}, "
        f"runs x{runs_after / runs_before:.2f}"
    )


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--turns", type=int, default=100, help="turns (2 messages each)")
    parser.add_argument("--workers", type=int, default=32, help="concurrent saver threads")
    parser.add_argument("--ops", type=int, default=40, help="aput+aget_tuple rounds per thread")
    parser.add_argument("--runs", type=int, default=120, help="one-turn graph runs per round")
    return parser.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse()))
