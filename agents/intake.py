"""Intake: take the person's first message(s) as the brief; ask when it is too vague."""

from __future__ import annotations

from typing import Any

from adapters.craft import is_vague
from adapters.deliverables import without_deliverables
from graph import directions
from graph.emit import phase
from graph.state import StudioState, human_texts


async def intake(state: StudioState) -> dict[str, Any]:
    """Read the brief from the person's messages; set a question if it is too vague."""
    texts = [t.strip() for t in human_texts(state) if t.strip()]
    brief = " ".join(texts)
    question = is_vague(brief)
    seen = state.get("humans_seen", 0)
    source = "clarify" if seen else "brief"
    update: dict[str, Any] = {
        "brief": brief,
        "directions": directions.said(
            "\n".join(without_deliverables(t) for t in human_texts(state)[seen:]),
            source=source,
        ),
        "humans_seen": len(human_texts(state)),
        "question": question or "",
        **phase("planning", "reading the brief"),
    }
    return update
