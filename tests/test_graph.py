"""The studio graph end to end on the embedded defaults, checkpointed to a real Postgres."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from PIL import Image

from adapters.pixels import measure
from adapters.renderer import read_recipe
from tests.studio_helpers import (
    NEON,
    config,
    fresh_graph,
    make_context,
    pending_gate,
    resume,
    run,
    start,
)

pytestmark = pytest.mark.anyio


async def test_auto_approved_session_delivers_the_planned_set(graph, context, tid) -> None:
    state = await run(graph, start(NEON, auto_approve=True), tid, context)
    assert state["phase"] == "approved" and state["outcome"] == "approved"
    deliverables = [d["id"] for d in state["plan"]["deliverables"]]
    assert len(deliverables) >= 2
    assert set(state["current"]) == set(deliverables)
    for asset_id in state["current"].values():
        record = await context.assets.get(asset_id)
        assert record is not None and record.verdict == "approved"
        data = Path(record.path).read_bytes()
        assert read_recipe(data)["spec"]["deliverable"] == record.deliverable
    roles = {m.name for m in state["messages"] if m.type == "ai"}
    assert {"planner", "style", "composition", "story", "director", "critic", "manager"} <= roles
    assert all(0 <= c["score"] <= 10 for c in state["critiques"])


async def test_plan_gate_pauses_then_resumes_to_generation(graph, context, tid) -> None:
    await run(graph, start(NEON), tid, context)
    gate = await pending_gate(graph, tid)
    assert gate is not None and gate["gate"] == "plan"
    assert gate["actions"] == ["approve", "revise", "stop"] and gate["specs"]
    await resume(graph, {"action": "approve"}, tid, context)
    gate = await pending_gate(graph, tid)
    assert gate is not None and gate["gate"] == "output"
    assert {o["deliverable"] for o in gate["outputs"]} == {
        s["deliverable"]
        for s in (await graph.aget_state({"configurable": {"thread_id": tid}}))
        .values["specs"]
        .values()
    }


async def test_plan_gate_revise_changes_the_specs(graph, context, tid) -> None:
    await run(graph, start(NEON), tid, context)
    before = (await graph.aget_state({"configurable": {"thread_id": tid}})).values["specs"]
    await resume(
        graph, {"action": "revise", "feedback": "make it foggy and much brighter"}, tid, context
    )
    gate = await pending_gate(graph, tid)
    assert gate is not None and gate["gate"] == "plan"
    after = {s["deliverable"]: s for s in gate["specs"]}
    for key, spec in before.items():
        assert after[key]["weather"] == "fog"
        assert after[key]["brightness"] > spec["brightness"]


async def test_stop_at_plan_gate_ends_interrupted(graph, context, tid) -> None:
    await run(graph, start(NEON), tid, context)
    state = await resume(graph, {"action": "stop"}, tid, context)
    assert state["phase"] == "interrupted" and state["stop_reason"] == "stopped_by_person"
    assert not state.get("generations")


async def test_gate_refuses_an_action_it_does_not_accept(graph, context, tid) -> None:
    await run(graph, start(NEON), tid, context)
    # refused answers are not saved: the thread waits at the same gate, saying why
    await resume(graph, {"action": "pick", "asset_id": "x"}, tid, context)
    gate = await pending_gate(graph, tid) or {}
    assert gate.get("gate") == "plan"
    assert "the plan gate accepts approve, revise, stop" in gate["error"]
    await resume(graph, {"action": "revise"}, tid, context)
    gate = await pending_gate(graph, tid) or {}
    assert gate.get("gate") == "plan" and "needs 'feedback'" in gate["error"]
    await resume(graph, {"action": "approve"}, tid, context)
    assert (await pending_gate(graph, tid) or {}).get("gate") == "output"


async def test_output_gate_regenerates_one_deliverable_with_feedback(graph, context, tid) -> None:
    await run(graph, start(NEON, budgets={"max_iterations": 5}), tid, context)
    await resume(graph, {"action": "approve"}, tid, context)
    gate = await pending_gate(graph, tid)
    assert gate is not None
    target = gate["outputs"][0]
    others = {o["deliverable"]: o["asset_id"] for o in gate["outputs"][1:]}
    await resume(
        graph,
        {
            "action": "regenerate",
            "deliverable": target["deliverable"],
            "feedback": "much brighter, daylight",
        },
        tid,
        context,
    )
    gate = await pending_gate(graph, tid)
    assert gate is not None and gate["gate"] == "output"
    now = {o["deliverable"]: o for o in gate["outputs"]}
    assert {d: now[d]["asset_id"] for d in others} == others  # the others were kept
    new = now[target["deliverable"]]
    assert new["asset_id"] != target["asset_id"] and new["iteration"] > target["iteration"]
    old_m = measure(Path(target["path"]).read_bytes())
    new_m = measure(Path(new["path"]).read_bytes())
    assert new_m.brightness > old_m.brightness + 0.05
    assert new["score"] != target["score"]


async def test_pick_then_approve_keeps_the_picked_variant(graph, context, tid) -> None:
    await run(graph, start(NEON, budgets={"max_iterations": 5}), tid, context)
    await resume(graph, {"action": "approve"}, tid, context)
    first = (await pending_gate(graph, tid))["outputs"][0]  # type: ignore[index]
    await resume(
        graph,
        {"action": "regenerate", "deliverable": first["deliverable"], "feedback": "warmer"},
        tid,
        context,
    )
    await resume(graph, {"action": "pick", "asset_id": first["asset_id"]}, tid, context)
    gate = await pending_gate(graph, tid)
    assert gate is not None and gate["gate"] == "output"  # still waiting for approval
    state = await resume(graph, {"action": "approve"}, tid, context)
    assert state["current"][first["deliverable"]] == first["asset_id"]
    record = await context.assets.get(first["asset_id"])
    assert record is not None and record.verdict == "approved"


async def test_regenerate_exactly_reruns_an_outputs_recipe_as_is(graph, context, tid) -> None:
    await run(graph, start(NEON, budgets={"max_iterations": 5}), tid, context)
    await resume(graph, {"action": "approve"}, tid, context)
    first = (await pending_gate(graph, tid))["outputs"][0]  # type: ignore[index]
    d = first["deliverable"]
    await resume(
        graph, {"action": "regenerate", "deliverable": d, "feedback": "warmer"}, tid, context
    )
    other = "thumbnail" if d != "thumbnail" else "hero-a"
    await resume(
        graph,
        {"action": "regenerate", "asset_id": first["asset_id"], "deliverable": other},
        tid,
        context,
    )
    assert "is an output of" in (await pending_gate(graph, tid) or {})["error"]
    await resume(graph, {"action": "regenerate", "asset_id": first["asset_id"]}, tid, context)
    state = (await graph.aget_state(config(tid))).values
    again = [g for g in state["generations"] if g["deliverable"] == d][-1]
    original = await context.assets.get(first["asset_id"])
    rerun = await context.assets.get(again["asset_id"])
    assert original is not None and rerun is not None
    assert again["asset_id"] != first["asset_id"] and again["iteration"] > first["iteration"]
    assert rerun.seed == original.seed and rerun.spec == original.spec
    with Image.open(rerun.path) as a, Image.open(original.path) as b:
        assert a.tobytes() == b.tobytes()  # the same recipe draws the same pixels
    assert "exactly as iteration" in " ".join(str(m.content) for m in state["messages"][-4:])


@pytest.mark.parametrize("brief", ["", "something cool"])
async def test_vague_brief_asks_a_clarifying_question(graph, context, tid, brief) -> None:
    await run(graph, start(brief, auto_approve=True), tid, context)
    gate = await pending_gate(graph, tid)
    assert gate is not None and gate["gate"] == "clarify" and "?" in gate["question"]
    assert gate["actions"] == ["answer", "stop"]
    state = await resume(
        graph, {"action": "answer", "answer": "a lighthouse in a storm at dusk"}, tid, context
    )
    assert state["phase"] == "approved"
    assert "lighthouse" in state["brief"]


async def test_interjection_during_ideation_changes_what_follows(database, tmp_path) -> None:
    graph = fresh_graph(database.saver)
    context = make_context(database.pool, tmp_path / "a")
    plain, steered = str(uuid.uuid4()), str(uuid.uuid4())
    control = await run(graph, start(NEON, auto_approve=True), plain, context)
    await run(
        graph, start(NEON, auto_approve=True), steered, context, interrupt_before=["composition"]
    )
    state = await graph.aget_state({"configurable": {"thread_id": steered}})
    assert state.values["phase"] == "ideation"
    final = await run(
        graph,
        {"messages": [{"role": "user", "content": "More rainy and melancholic"}]},
        steered,
        context,
    )
    assert final["phase"] == "approved"
    assert [d["text"] for d in final["directions"] if d["source"] == "interjection"] == [
        "More rainy and melancholic"
    ]
    answers = [m for m in final["messages"] if m.type == "ai" and "rain" in str(m.content).lower()]
    assert answers, "a specialist answered the interjection"
    for key, spec in final["specs"].items():
        assert spec["weather"] == "rain"
        assert spec["weather"] != control["specs"][key]["weather"]


@pytest.mark.parametrize(
    ("budgets", "reason", "outcome"),
    [
        ({"max_iterations": 1}, "max_iterations", "approved"),
        ({"max_generations": 2}, "max_generations", "completed"),
        ({"max_tokens": 300}, "max_tokens", "completed"),
        ({"max_seconds": 0.001}, "max_seconds", "completed"),
    ],
)
async def test_each_budget_ends_the_session_with_its_reason(
    graph, context, tid, budgets, reason, outcome
) -> None:
    settings = {"auto_approve": True, "budgets": budgets, "score_threshold": 10.0}
    state = await run(graph, start(NEON, **settings), tid, context)
    assert state["stop_reason"] == reason
    assert state["phase"] == outcome
    told = [m for m in state["messages"] if m.type == "ai" and m.name == "manager"]
    assert any(reason.replace("_", " ").split()[-1] in str(m.content) for m in told)
    if reason == "max_generations":
        assert len(state.get("generations", [])) <= 2


async def test_restart_resumes_without_repeating_work(database, tmp_path, tid) -> None:
    context = make_context(database.pool, tmp_path / "assets")
    first = fresh_graph(database.saver)
    await run(first, start(NEON, auto_approve=True), tid, context, interrupt_before=["story"])
    # a new process: a fresh saver and graph on the same database
    from store.checkpointer import StudioSaver

    second = fresh_graph(StudioSaver(database.pool))
    await run(second, None, tid, context, interrupt_before=["critique"])
    third = fresh_graph(StudioSaver(database.pool))
    state = await run(third, None, tid, context)
    assert state["phase"] == "approved"
    turns = [(c["role"], c["round"]) for c in state["contributions"]]
    assert len(turns) == len(set(turns)), "no specialist spoke twice in one round"
    records = await context.assets.list_thread(tid)
    assert len(records) == len(state["generations"]) == len({r.job_id for r in records})


async def test_stop_is_reachable_from_the_discussion(graph, context, tid) -> None:
    await run(graph, start(NEON), tid, context, interrupt_before=["story"])
    state = await run(graph, {"messages": [], "stop_requested": True}, tid, context)
    assert state["phase"] == "interrupted" and state["stop_reason"] == "stopped_by_person"
    assert not state.get("generations")


@pytest.mark.parametrize("where", ["clarify", "output"])
async def test_stop_at_other_gates_ends_interrupted(graph, context, tid, where) -> None:
    await run(graph, start("" if where == "clarify" else NEON), tid, context)
    if where == "output":
        await resume(graph, {"action": "approve"}, tid, context)
    assert (await pending_gate(graph, tid) or {}).get("gate") == where
    state = await resume(graph, {"action": "stop"}, tid, context)
    assert state["phase"] == "interrupted" and state["stop_reason"] == "stopped_by_person"
    assert state["gates"][-1]["action"] == "stop"


async def test_what_the_renderer_cannot_draw_is_said_and_not_iterated_on(
    graph, context, tid
) -> None:
    """ "a caravan crossing dunes" on the built-in renderer: no desert is drawn, so no score
    may praise it (Lens caps it) and iterating cannot fix it (the manager says so and stops)."""
    brief = "a caravan crossing the desert dunes at golden hour"
    state = await run(graph, start(brief, auto_approve=True), tid, context)
    assert state["iteration"] == 1  # no pointless iterations on what cannot be drawn
    critiques = [c for c in state["critiques"] if c.get("undrawn")]
    assert critiques and all(c["score"] <= 5.5 <= c["uncapped"] for c in critiques)
    assert all("desert" in c["undrawn"] for c in critiques)
    said = [str(m.content) for m in state["messages"] if m.type == "ai" and m.name == "manager"]
    assert any("cannot draw desert" in text for text in said), said
    assert not any("Every output clears" in text for text in said)
    assert not any("; over to you." in text for text in said)  # auto-approve: nobody is asked
    assert any("auto-approve is on, so I approve them" in text for text in said)
