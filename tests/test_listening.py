"""The team listens: what the person directs reaches the specs, and approve keeps what was shown.

End to end on the embedded defaults (offline model, built-in renderer), checkpointed to a real
Postgres, through the graph's own gates.
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import HumanMessage

from tests.studio_helpers import config, pending_gate, resume, run, start

pytestmark = pytest.mark.anyio

HARBOUR = "a lighthouse on a rocky coast at dusk, rain, warm lamp light"


async def at_output_gate(graph: Any, context: Any, tid: str, **settings: Any) -> dict[str, Any]:
    await run(graph, start(HARBOUR, **settings), tid, context)
    await resume(graph, {"action": "approve"}, tid, context)
    gate = await pending_gate(graph, tid)
    assert gate is not None and gate["gate"] == "output"
    return gate


async def values(graph: Any, tid: str) -> dict[str, Any]:
    return dict((await graph.aget_state(config(tid))).values)


async def test_an_interjections_words_reach_the_affected_specs_prompts(
    graph: Any, context: Any, tid: str
) -> None:
    await at_output_gate(graph, context, tid)
    said = "make it rainier, and add a stray cat on the kerb"
    await run(graph, {"messages": [{"role": "user", "content": said}]}, tid, context)
    state = await values(graph, tid)
    pinned = [d for d in state["directions"] if d["source"] == "interjection"]
    assert [d["text"] for d in pinned] == ["make it rainier", "add a stray cat on the kerb"]
    for deliverable, spec in state["specs"].items():
        assert "a stray cat on the kerb" in spec["prompt"], deliverable
        assert any("stray cat" in line for line in spec["directions"])
    luna = [m for m in state["messages"] if m.type == "ai" and m.name == "style"][-1]
    assert "nothing has to change" not in str(luna.content)
    assert "rain" in str(luna.content).lower()
    # every regenerated deliverable's new variant is current: the person asked for it
    gate = await pending_gate(graph, tid)
    assert gate is not None
    assert all(o["iteration"] == state["iteration"] for o in gate["outputs"])


async def test_feedback_for_one_deliverable_reaches_only_its_prompt_and_keeps_its_size(
    graph: Any, context: Any, tid: str
) -> None:
    gate = await at_output_gate(graph, context, tid)
    target = gate["outputs"][0]["deliverable"]
    before = (await values(graph, tid))["specs"]
    await resume(
        graph,
        {
            "action": "regenerate",
            "deliverable": target,
            "feedback": "show the sea with big waves, a beam of warm light",
        },
        tid,
        context,
    )
    state = await values(graph, tid)
    after = state["specs"]
    assert "the sea with big waves" in after[target]["prompt"]
    assert "a beam of warm light" in after[target]["prompt"]
    assert (after[target]["width"], after[target]["height"]) == (
        before[target]["width"],
        before[target]["height"],
    )
    for other in set(after) - {target}:
        assert "big waves" not in after[other]["prompt"]
    # the feedback is the person's message in the chat, not a repeated interjection
    humans = [m.content for m in state["messages"] if isinstance(m, HumanMessage)]
    assert humans[-1] == "show the sea with big waves, a beam of warm light"
    pixel = [m for m in state["messages"] if m.type == "ai" and m.name == "director"][-1]
    assert "changed: prompt + 'the sea with big waves" in str(pixel.content)


async def test_approve_keeps_exactly_the_variants_shown_after_regenerate_and_pick(
    graph: Any, context: Any, tid: str
) -> None:
    gate = await at_output_gate(graph, context, tid)
    first = gate["outputs"][0]
    await resume(
        graph,
        {"action": "regenerate", "deliverable": first["deliverable"], "feedback": "much darker"},
        tid,
        context,
    )
    gate = await pending_gate(graph, tid)
    assert gate is not None
    shown = {o["deliverable"]: o["asset_id"] for o in gate["outputs"]}
    assert shown[first["deliverable"]] != first["asset_id"], "the regeneration is current"
    # pick the earlier variant back, by the 8-character prefix the manager prints
    await resume(graph, {"action": "pick", "asset_id": first["asset_id"][:8]}, tid, context)
    gate = await pending_gate(graph, tid)
    assert gate is not None
    shown = {o["deliverable"]: o["asset_id"] for o in gate["outputs"]}
    assert shown[first["deliverable"]] == first["asset_id"]
    state = await resume(graph, {"action": "approve"}, tid, context)
    assert state["current"] == shown
    every = {g["asset_id"] for g in state["generations"]}
    for asset_id in every:
        record = await context.assets.get(asset_id)
        assert record is not None
        expected = "approved" if asset_id in shown.values() else "superseded"
        assert record.verdict == expected, asset_id


async def test_the_manager_keeps_an_iteration_only_when_it_scores_higher(
    graph: Any, context: Any, tid: str
) -> None:
    state = await run(
        graph,
        start(HARBOUR, auto_approve=True, score_threshold=9.9, budgets={"max_iterations": 4}),
        tid,
        context,
    )
    scores = {c["asset_id"]: c["score"] for c in state["critiques"]}
    by_deliverable: dict[str, list[dict[str, Any]]] = {}
    for g in state["generations"]:
        by_deliverable.setdefault(g["deliverable"], []).append(g)
    for deliverable, made in by_deliverable.items():
        best = max(scores[g["asset_id"]] for g in made)
        assert scores[state["current"][deliverable]] == best, deliverable
        made.sort(key=lambda g: g["iteration"])
        kept = scores[made[0]["asset_id"]]
        for i, g in enumerate(made[1:], start=1):
            if scores[g["asset_id"]] <= kept:
                assert i == len(made) - 1, f"{deliverable} iterated on after not improving"
                assert deliverable in state["settled"]
            kept = max(kept, scores[g["asset_id"]])
    texts = " ".join(str(m.content) for m in state["messages"] if m.name == "manager")
    if state["settled"]:
        assert "stopped iterating it" in texts


async def test_an_answer_the_gate_does_not_accept_leaves_the_thread_at_the_gate(
    graph: Any, context: Any, tid: str
) -> None:
    await run(graph, start(HARBOUR), tid, context)
    await resume(graph, {"action": "dance"}, tid, context)
    gate = await pending_gate(graph, tid)
    assert gate is not None and gate["gate"] == "plan"
    assert "accepts approve, revise, stop" in gate["error"]
    await resume(graph, {"action": "approve"}, tid, context)
    gate = await pending_gate(graph, tid)
    assert gate is not None and gate["gate"] == "output" and "error" not in gate


async def test_pixel_says_in_one_line_what_the_renderer_cannot_draw_and_shows_no_sampler(
    graph: Any, context: Any, tid: str
) -> None:
    await run(graph, start("a lighthouse on a rocky coast at dusk, a giraffe"), tid, context)
    state = await values(graph, tid)
    pixel = str(
        [m for m in state["messages"] if m.type == "ai" and m.name == "director"][-1].content
    )
    assert "The built-in renderer cannot draw a giraffe; the prompt carries it" in pixel
    assert "steps" not in pixel and "dpmpp" not in pixel and "a layout sketch" in pixel
    for spec in state["specs"].values():
        assert spec["sketch"] and "a giraffe" in spec["prompt"]
        assert not {"steps", "cfg", "sampler", "scheduler"} & set(spec), "a sketch has no sampler"


CAFE = "two hero banners for a lighthouse café at dawn, warm palette"


def last_said(state: dict[str, Any], role: str) -> str:
    return str([m for m in state["messages"] if m.type == "ai" and m.name == role][-1].content)


async def test_night_instead_of_dawn_said_mid_discussion_changes_the_light_and_mood(
    graph: Any, context: Any, tid: str
) -> None:
    await run(graph, start(CAFE), tid, context, interrupt_before=["composition"])
    said = "make it moody, night instead of dawn"
    await run(graph, {"messages": [{"role": "user", "content": said}]}, tid, context)
    gate = await pending_gate(graph, tid)
    assert gate is not None and gate["gate"] == "plan"
    state = await values(graph, tid)
    for deliverable, spec in state["specs"].items():
        assert (spec["lighting"], spec["mood"]) == ("night", "mysterious"), deliverable
        assert "dawn" not in spec["prompt"] and "first light" not in spec["prompt"]
        assert "lighthouse café" in spec["prompt"]
    assert "nothing has to change" not in last_said(state, "style")
    assert "doesn't move my palette" not in last_said(state, "style")
    assert "keeps dawn light" not in last_said(state, "critic")
    for role in ("composition", "story"):  # nobody talks of dawn as wanted any more
        assert "With dawn" not in last_said(state, role), role
    await resume(graph, {"action": "approve"}, tid, context)
    state = await values(graph, tid)
    for critique in state["critiques"]:  # the time of day is checked by measured brightness
        assert not any("night" in u or "hero" in u for u in critique["unchecked"]), critique


@pytest.mark.parametrize(
    ("feedback", "lighting", "mood"),
    [
        ("night instead of dawn", "night", "mysterious"),
        ("make it moody", "dawn", "mysterious"),
        ("at night, not dawn", "night", "mysterious"),
    ],
)
async def test_a_plan_revise_that_sets_dawn_aside_or_asks_for_a_mood_reaches_the_specs(
    graph: Any, context: Any, tid: str, feedback: str, lighting: str, mood: str
) -> None:
    await run(graph, start(CAFE), tid, context)
    await resume(graph, {"action": "revise", "feedback": feedback}, tid, context)
    gate = await pending_gate(graph, tid)
    assert gate is not None and gate["gate"] == "plan"
    state = await values(graph, tid)
    for deliverable, spec in state["specs"].items():
        assert (spec["lighting"], spec["mood"]) == (lighting, mood), deliverable


async def test_chatter_and_deliverable_names_stay_out_of_prompts_and_lens_checks(
    graph: Any, context: Any, tid: str
) -> None:
    brief = "a neon street at night in the rain, one 16:9 hero banner"
    await run(graph, start(brief), tid, context)
    await resume(graph, {"action": "approve"}, tid, context)
    said = "carry on please, more rain"
    await run(graph, {"messages": [{"role": "user", "content": said}]}, tid, context)
    state = await values(graph, tid)
    assert [d["text"] for d in state["directions"]] == [
        "a neon street at night in the rain",
        "more rain",
    ]
    for spec in state["specs"].values():
        assert "hero" not in spec["prompt"] and "carry on" not in spec["prompt"]
        assert "more rain" in spec["prompt"]
    for critique in state["critiques"]:
        assert critique["unchecked"] == [], critique


async def test_only_what_the_person_asked_for_caps_the_score_when_it_is_not_drawn(
    graph: Any, context: Any, tid: str
) -> None:
    # Luna's texture wording for a forest is "moss, bark and dappled leaf shadow": a leaf the
    # renderer cannot draw, that the person never asked for
    state = await run(
        graph, start("a misty forest at dawn, one 16:9 hero", auto_approve=True), tid, context
    )
    recipes = [await context.assets.get(g["asset_id"]) for g in state["generations"]]
    assert any("leaf" in (r.recipe["drawn"]["cannot_draw"]) for r in recipes if r is not None)
    for critique in state["critiques"]:
        assert critique.get("undrawn") == [], critique
        assert not any("leaf" in reason for reason in critique["reasons"]), critique
    for spec in state["specs"].values():
        assert "hero" not in spec["prompt"]


def test_a_palette_change_past_its_first_four_colours_is_shown_in_full() -> None:
    """D9: Pixel said "palette #e8741c #ffb000 #5f4b3e #cb7c75 -> #e8741c #ffb000 #5f4b3e
    #cb7c75" (only the fifth colour had changed)."""
    from agents.director import diff

    four = ["#e8741c", "#ffb000", "#5f4b3e", "#cb7c75"]
    changed = diff({"palette": [*four, "#ffffff"]}, {"palette": [*four, "#c0392b"]})
    assert changed == [f"palette {' '.join(four)} #ffffff -> {' '.join(four)} #c0392b"]
    assert diff({"palette": four}, {"palette": four}) == []


def test_lens_does_not_call_unchecked_what_it_measured_for_the_person() -> None:
    """D9: "you asked: bigger: yes (subject_scale 0.17 -> 0.39)" and, in the same message,
    "could not check: bigger"."""
    from agents.critic import score_line
    from agents.lens import Scorecard

    card = Scorecard(
        score=8.0,
        measured=8.0,
        judged=8.0,
        reasons=["on brief"],
        measurements={},
        targets={},
        parts={},
        unchecked=["bigger", "a red boat"],
        missing=[],
        undrawn=[],
        uncapped=8.0,
        sketch=True,
        looked=False,
        tokens=0,
    )
    generation: Any = {"deliverable": "hero", "iteration": 2}
    line = score_line(generation, card, ["bigger: yes (subject_scale 0.17 -> 0.39)"])
    assert "you asked: bigger: yes" in line
    assert "could not check: a red boat" in line and "could not check: bigger" not in line
