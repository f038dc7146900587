"""The consistency checker: numeric drift of palette, layout and style across the set."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage
from langgraph.runtime import Runtime

from graph import variants
from graph.context import StudioContext
from graph.state import StudioState


async def check_consistency(state: StudioState, runtime: Runtime[StudioContext]) -> dict[str, Any]:
    """Measure the set as it stands (each deliverable's current variant, or the new one that
    will replace it) and report how far it drifts."""
    report = await variants.set_drift(runtime.context.assets, variants.standing(state))
    if len(report["pairs"]) < 1:
        text = "Only one output so far: nothing to compare."
    elif report["flags"]:
        text = f"Set drift {report['drift']:.2f}: " + "; ".join(report["flags"])
    else:
        text = f"Set drift {report['drift']:.2f}: the set holds together."
    return {"drift": report, "messages": [AIMessage(text, name="consistency")]}
