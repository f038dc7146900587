"""The consistency checker: numeric drift of palette, layout and style across the set."""

from __future__ import annotations

import asyncio
from typing import Any

from langchain_core.messages import AIMessage
from langgraph.runtime import Runtime

from adapters.pixels import Measurements, drift, measure
from graph.context import StudioContext, resolve
from graph.state import DriftReport, Generation, StudioState


def latest(generations: list[Generation]) -> dict[str, Generation]:
    """The newest generation per deliverable (the person's pick is applied at finalize)."""
    newest: dict[str, Generation] = {}
    for g in generations:
        if (
            g["deliverable"] not in newest
            or g["iteration"] >= newest[g["deliverable"]]["iteration"]
        ):
            newest[g["deliverable"]] = g
    return newest


async def check_consistency(state: StudioState, runtime: Runtime[StudioContext]) -> dict[str, Any]:
    """Measure the latest output of each deliverable and report how far the set drifts."""
    context = resolve(runtime)
    items: list[tuple[str, Measurements]] = []
    for deliverable, generation in sorted(latest(state.get("generations", [])).items()):
        record = await context.assets.get(generation["asset_id"])
        if record is not None:
            data = await context.assets.read_bytes(record)
            items.append((deliverable, await asyncio.to_thread(measure, data)))
    result: dict[str, Any] = drift(items)
    report = DriftReport(
        drift=round(float(result["drift"]), 4),
        pairs=list(result["pairs"]),
        flags=list(result["flags"]),
    )
    if len(items) < 2:
        text = "Only one output so far: nothing to compare."
    elif report["flags"]:
        text = f"Set drift {report['drift']:.2f}: " + "; ".join(report["flags"])
    else:
        text = f"Set drift {report['drift']:.2f}: the set holds together."
    return {"drift": report, "messages": [AIMessage(text, name="consistency")]}
