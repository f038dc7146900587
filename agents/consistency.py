"""The consistency checker: numeric drift of palette, layout and style across the set."""

from __future__ import annotations

import asyncio
from typing import Any

from langchain_core.messages import AIMessage
from langgraph.runtime import Runtime

from adapters.pixels import Measurements, drift, measure
from graph import variants
from graph.context import StudioContext
from graph.state import DriftReport, StudioState


async def check_consistency(state: StudioState, runtime: Runtime[StudioContext]) -> dict[str, Any]:
    """Measure the set as it stands (each deliverable's current variant, or the new one that
    will replace it) and report how far it drifts."""
    context = runtime.context
    items: list[tuple[str, Measurements]] = []
    for deliverable, asset_id in sorted(variants.standing(state).items()):
        record = await context.assets.get(asset_id)
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
