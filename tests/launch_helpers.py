"""Helpers of the launch kit's tests: a clock the test moves, a launch thread at each gate."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from graph.context import StudioContext
from tests.studio_helpers import make_context, pending_gate, resume, run, start

ESPRESSO = "launch a video about home espresso for beginners, warm colours"
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


class Clock:
    """A clock that moves only when the test says so."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def launch_context(pool: Any, root: Path, clock: Clock) -> StudioContext:
    return dataclasses.replace(make_context(pool, root), clock=clock)


async def to_gate(graph: Any, context: Any, tid: str, gate: str, **settings: Any) -> dict[str, Any]:
    """Start a launch thread and answer the gates before `gate` with their defaults."""
    await run(graph, start(ESPRESSO, **settings), tid, context)
    value = await pending_gate(graph, tid)
    order = ["script", "selection", "experiment"]
    while value is not None and value["gate"] != gate:
        assert value["gate"] in order[: order.index(gate)], value["gate"]
        await resume(graph, {"action": "approve"}, tid, context)
        value = await pending_gate(graph, tid)
    assert value is not None and value["gate"] == gate
    return value
