"""The fan-out to generation: one `Send` per deliverable, within the generation budget."""

from __future__ import annotations

from typing import Any

from langgraph.types import Send
from typing_extensions import TypedDict

from graph.state import StudioState


class GenerateTask(TypedDict):
    """What one generation job needs (the `Send` payload)."""

    deliverable: str
    spec: dict[str, Any]
    iteration: int
    requested: bool
    """The person asked for this output: it becomes current."""


def generation_sends(
    state: StudioState, deliverables: list[str], iteration: int, max_generations: int
) -> list[Send]:
    """One `Send` per deliverable to generate, carrying its current spec — no more than the
    generation budget has left (the manager then ends the session and says why). Outputs of
    the deliverables in `state["requested"]` are marked as the person's request."""
    specs = state.get("specs") or {}
    asked = set(state.get("requested") or [])
    left = max(0, max_generations - (state.get("usage") or {}).get("generations", 0))
    return [
        Send(
            "generate",
            GenerateTask(deliverable=d, spec=specs[d], iteration=iteration, requested=d in asked),
        )
        for d in deliverables
        if d in specs
    ][:left]
