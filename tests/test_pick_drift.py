"""F35: the drift shown (and kept with the approved set) is the current set's: a pick that
changes the set measures it again instead of keeping the report of an earlier set."""

from __future__ import annotations

from typing import Any

import pytest

from graph import variants
from tests.studio_helpers import NEON, pending_gate, resume, run, start

pytestmark = pytest.mark.anyio


async def test_pick_then_approve_carries_the_drift_of_the_picked_set(
    graph: Any, context: Any, tid: str
) -> None:
    await run(graph, start(NEON, budgets={"max_iterations": 5}), tid, context)
    await resume(graph, {"action": "approve"}, tid, context)
    gate = await pending_gate(graph, tid)
    assert gate is not None and len(gate["outputs"]) >= 2
    first = gate["outputs"][0]
    original = {o["deliverable"]: o["asset_id"] for o in gate["outputs"]}
    regen = {"action": "regenerate", "deliverable": first["deliverable"]}
    await resume(graph, {**regen, "feedback": "much brighter, daylight"}, tid, context)
    changed = (await pending_gate(graph, tid) or {})["drift"]
    await resume(graph, {"action": "pick", "asset_id": first["asset_id"]}, tid, context)
    picked = await pending_gate(graph, tid)
    assert picked is not None
    expected = await variants.set_drift(context.assets, original)
    assert expected != changed  # the regeneration moved the set's drift: the test can tell
    assert picked["drift"] == expected
    state = await resume(graph, {"action": "approve"}, tid, context)
    assert state["current"] == original and state["drift"] == expected
