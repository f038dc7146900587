"""Lens inside a session: feedback is checked against the variant it replaces, sketches are
labelled, and what could not be checked is said (embedded defaults, real Postgres)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.studio_helpers import fresh_graph, make_context, pending_gate, resume, run, start

pytestmark = pytest.mark.anyio
BRIEF = "a lonely street at night in the rain, with a stray cat on the kerb"


async def test_regenerate_with_feedback_reports_whether_it_moved(database: Any, tmp_path: Path):
    graph, context, tid = fresh_graph(database.saver), make_context(database.pool, tmp_path), "t"
    tid = str(uuid.uuid4())
    await run(graph, start(BRIEF, budgets={"max_iterations": 5}), tid, context)
    await resume(graph, {"action": "approve"}, tid, context)
    gate = await pending_gate(graph, tid)
    assert gate is not None and gate["gate"] == "output"
    target = gate["outputs"][0]["deliverable"]
    state = (await graph.aget_state({"configurable": {"thread_id": tid}})).values
    first = {c["deliverable"]: c for c in state["critiques"]}
    assert all(c["sketch"] and c["moved"] == [] for c in first.values())  # nothing asked yet
    assert all("a stray cat on the kerb" in c["unchecked"] for c in first.values())
    await resume(
        graph,
        {"action": "regenerate", "deliverable": target, "feedback": "much brighter"},
        tid,
        context,
    )
    state = (await graph.aget_state({"configurable": {"thread_id": tid}})).values
    new = [c for c in state["critiques"] if c["deliverable"] == target][-1]
    assert new["asset_id"] != first[target]["asset_id"]
    assert len(new["moved"]) == 1 and new["moved"][0].startswith("brighter: yes (brightness ")
    assert new["directions_seen"] > first[target]["directions_seen"]
    said = [m.content for m in state["messages"] if m.type == "ai" and m.name == "critic"][-1]
    assert "you asked: brighter: yes" in said and "could not check: " in said
    record = await context.assets.get(new["asset_id"])
    assert record is not None and record.scores["moved"] == new["moved"]
    assert record.scores["sketch"] is True
