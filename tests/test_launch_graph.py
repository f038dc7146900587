"""The launch format end to end on the embedded defaults, checkpointed to a real Postgres:
trends -> scripts -> script gate -> thumbnails -> selection gate -> A/B test -> results."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from langgraph.types import Command

from adapters.launch import simulator
from adapters.renderer import read_recipe
from agents.launch.results import package
from tests.launch_helpers import T0, Clock, launch_context, to_gate
from tests.studio_helpers import config, fresh_graph, pending_gate, resume, run, start

pytestmark = pytest.mark.anyio
MANUAL = {"format": "launch", "launch": {"provider": "manual"}}


@pytest.fixture
def tid() -> str:
    return str(uuid.uuid4())


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def context(database: Any, tmp_path: Path, clock: Clock) -> Any:
    return launch_context(database.pool, tmp_path / "assets", clock)


@pytest.fixture
def graph(database: Any) -> Any:
    return fresh_graph(database.saver)


async def values(graph: Any, tid: str) -> dict[str, Any]:
    return dict((await graph.aget_state(config(tid))).values)


def observe(rows: list[tuple[str, int, int]]) -> dict[str, Any]:
    body = [{"variant": v, "impressions": n, "clicks": c} for v, n, c in rows]
    return {"action": "observe", "answer": json.dumps({"rows": body, "source": "manual"})}


async def test_a_launch_brief_finds_angles_then_scripts_and_waits_at_the_script_gate(
    graph: Any, context: Any, tid: str
) -> None:
    gate = await to_gate(graph, context, tid, "script")
    state = await values(graph, tid)
    assert state["phase"] == "awaiting_script" and "plan" not in state  # not the image format
    launch = state["launch"]
    assert launch["topic"] == "home espresso for beginners"
    angles = launch["trends"]["angles"]
    assert len(angles) == 3 and all(
        a["hook"] and a["evidence"] == "craft knowledge" for a in angles
    )
    assert not any(re.search(r"\d{3,}", json.dumps(a)) for a in angles)  # no invented figures
    scripts = gate["scripts"]
    assert 2 <= len(scripts) <= 4 and gate["choices"]["deliverables"] == [s["id"] for s in scripts]
    for s in scripts:
        assert s["title"] and len(s["title"]) <= 40 and s["hook"] and s["call_to_action"]
        assert len(s["outline"]) >= 3 and s["length_seconds"] >= 15
    tokens = launch["tokens"]
    assert tokens["planner"] > 0 and tokens["story"] > 0
    assert state["usage"]["tokens"] == tokens["planner"] + tokens["story"]
    said = [d["text"] for d in state["directions"] if d["source"] == "brief"]
    assert said == ["warm colours"]  # the rest of the brief is pinned, the topic is the topic
    names = [m.name for m in state["messages"] if m.type == "ai"]
    assert names == ["planner", "story"]


async def test_trends_cite_only_the_figures_the_person_gave(
    graph: Any, context: Any, tid: str
) -> None:
    figures = [{"keyword": "espresso at home", "searches": 12400, "views": 98000}]
    settings = {"launch": {"figures": figures, "keywords": ["latte art"]}}
    await to_gate(graph, context, tid, "script", **settings)
    trends = (await values(graph, tid))["launch"]["trends"]
    assert trends["source"] == "your data"
    cited = {a["keyword"]: a.get("figures") for a in trends["angles"] if a["keyword"]}
    assert cited == {"espresso at home": {"searches": 12400, "views": 98000}, "latte art": None}
    text = json.dumps(trends)
    numbers = set(re.findall(r"\d{3,}", text))
    assert numbers <= {"12400", "98000"}


async def test_revising_the_scripts_pins_the_feedback_and_rewrites_them(
    graph: Any, context: Any, tid: str
) -> None:
    before = (await to_gate(graph, context, tid, "script"))["scripts"]
    await resume(
        graph,
        {"action": "revise", "feedback": 'shorter, and call it "Espresso Without Tears"'},
        tid,
        context,
    )
    gate = await pending_gate(graph, tid)
    assert gate is not None and gate["gate"] == "script"
    after = gate["scripts"]
    assert all(s["round"] == 2 and s["title"] == "Espresso Without Tears" for s in after)
    assert [a["length_seconds"] < b["length_seconds"] for a, b in zip(after, before, strict=False)]
    state = await values(graph, tid)
    pinned = [d["text"] for d in state["directions"] if d["source"] == "script_feedback"]
    assert pinned == ["shorter", 'call it "Espresso Without Tears"']
    assert state["messages"][-1].name == "story" and state["messages"][-2].type == "human"


async def test_a_note_for_shorter_titles_shortens_them_and_is_not_pasted_anywhere(
    graph: Any, context: Any, tid: str
) -> None:
    before = (await to_gate(graph, context, tid, "script"))["scripts"]
    note = "make the titles shorter and aim them at beginners on a budget"
    await resume(graph, {"action": "revise", "feedback": note}, tid, context)
    gate = await pending_gate(graph, tid)
    assert gate is not None and gate["gate"] == "script"
    after = gate["scripts"]
    for old, new in zip(before, after, strict=True):
        assert len(new["title"]) < len(old["title"]), (old["title"], new["title"])
        assert new["length_seconds"] == old["length_seconds"]  # the titles, not the video
        outline = " ".join(new["outline"])
        assert "beginners on a budget" in outline  # aimed at them
        assert "shorter" not in outline and "Answers the note" not in outline
        assert "Keeps to" not in outline
    await resume(graph, {"action": "approve"}, tid, context)
    thumbs = (await values(graph, tid))["launch"]["thumbnails"]
    assert thumbs and all(after[0]["title"] in t["prompt"] for t in thumbs)
    assert not any("shorter" in t["prompt"] or "budget" in t["prompt"] for t in thumbs)


async def test_an_unknown_script_is_refused_and_the_gate_asks_again(
    graph: Any, context: Any, tid: str
) -> None:
    await to_gate(graph, context, tid, "script")
    await resume(graph, {"action": "approve", "deliverable": "script-z"}, tid, context)
    gate = await pending_gate(graph, tid)
    assert gate is not None and gate["gate"] == "script" and "script-z" in gate["error"]


async def test_thumbnails_letter_the_chosen_title_in_three_styles_and_lens_reads_them(
    graph: Any, context: Any, tid: str
) -> None:
    scripts = (await to_gate(graph, context, tid, "script"))["scripts"]
    await resume(graph, {"action": "approve", "deliverable": "script-b"}, tid, context)
    gate = await pending_gate(graph, tid)
    assert gate is not None and gate["gate"] == "selection"
    title = scripts[1]["title"]
    thumbs = gate["thumbnails"]
    assert [t["variant"] for t in thumbs] == ["face-focused", "product-demo", "bold-text"]
    assert len({t["style"] for t in thumbs}) == 3
    for thumb in thumbs:
        record = await context.assets.get(thumb["asset_id"])
        assert record is not None and record.deliverable == thumb["variant"]
        recipe = read_recipe(await context.assets.read_bytes(record))
        assert recipe["drawn"]["text"] == title  # the renderer lettered the title itself
        assert f'"{title}"' in thumb["prompt"] and "warm colours" in thumb["prompt"]
        topic = (await values(graph, tid))["launch"]["topic"]
        assert f"about {topic}" in thumb["prompt"]  # what a model draws as the product
        verdict = thumb["readability"]
        assert verdict["at"] == "168x94" and 0 <= verdict["score"] <= 10
        assert verdict["measurements"]["title_present"] == 1.0
        assert verdict["measurements"]["text_contrast"] > 0.4
        assert record.scores["score"] == verdict["score"]
    assert gate["choices"]["deliverables"] == [t["variant"] for t in thumbs]


async def test_each_thumbnail_reports_its_progress_to_the_end_and_its_saved_file(
    graph: Any, context: Any, tid: str
) -> None:
    await to_gate(graph, context, tid, "script")
    events: list[dict[str, Any]] = [
        e
        async for _, e in graph.astream(
            Command(resume={"action": "approve"}),
            config(tid),
            context=context,
            stream_mode="custom",
            durability="sync",
            subgraphs=True,
        )
    ]  # the thumbnails are made in the launch subgraph
    saved = {e["deliverable"]: e for e in events if e["event"] == "asset"}
    assert set(saved) == {"face-focused", "product-demo", "bold-text"}
    for variant, asset in saved.items():
        record = await context.assets.get(asset["asset_id"])
        assert record is not None and asset["path"] == str(record.path)
        assert asset["job_id"] == record.job_id
        fractions = [e["fraction"] for e in events
                     if e["event"] == "progress" and e["deliverable"] == variant]  # fmt: skip
        assert fractions[0] == 0.0 and fractions[-1] == 1.0, (variant, fractions)


async def test_the_selection_gate_needs_two_variants(graph: Any, context: Any, tid: str) -> None:
    await to_gate(graph, context, tid, "selection")
    await resume(graph, {"action": "approve", "answer": "bold-text"}, tid, context)
    gate = await pending_gate(graph, tid)
    assert gate is not None and gate["gate"] == "selection"
    assert "at least 2" in gate["error"]
    await resume(graph, {"action": "approve", "answer": "face, bold text"}, tid, context)
    gate = await pending_gate(graph, tid)
    assert gate is not None and gate["gate"] == "experiment"
    assert [v["variant"] for v in gate["experiment"]["variants"]] == ["face-focused", "bold-text"]


async def test_regenerating_one_thumbnail_remakes_only_it_with_the_feedback(
    graph: Any, context: Any, tid: str
) -> None:
    first = (await to_gate(graph, context, tid, "selection"))["thumbnails"]
    decision = {"action": "regenerate", "deliverable": "bold-text", "feedback": "darker background"}
    await resume(graph, decision, tid, context)
    gate = await pending_gate(graph, tid)
    assert gate is not None and gate["gate"] == "selection"
    again = {t["variant"]: t for t in gate["thumbnails"]}
    old = {t["variant"]: t for t in first}
    assert again["bold-text"]["asset_id"] != old["bold-text"]["asset_id"]
    assert "darker background" in again["bold-text"]["prompt"]
    assert again["face-focused"]["asset_id"] == old["face-focused"]["asset_id"]


async def test_the_simulated_test_declares_the_winner_at_95_percent(
    graph: Any, context: Any, tid: str, clock: Clock
) -> None:
    gate = await to_gate(graph, context, tid, "experiment")
    assert gate["experiment"]["simulated"] and gate["experiment"]["data"] == "simulated"
    seen = []
    for _ in range(200):  # each thread polls its own figures: some tests take longer
        clock.advance(seconds=5)
        await resume(graph, {"action": "observe"}, tid, context)
        gate = await pending_gate(graph, tid)
        if gate is None:
            break
        seen.append(gate["experiment"]["confidence"])
        assert gate["experiment"]["confidence"] < 0.95
    assert gate is None and seen  # it ended by itself
    state = await values(graph, tid)
    test = state["launch"]["experiment"]
    assert test["status"] == "winner" and test["end_reason"] == "winner"
    assert test["analysis"]["confidence"] >= 0.95 and test["winner"] == test["analysis"]["leader"]
    assert state["outcome"] == "approved" and state["phase"] == "approved"
    results = package(state)
    assert (
        results["simulated"]
        and results["winning_content"]["thumbnail"]["variant"] == test["winner"]
    )
    assert results["winning_content"]["script"]["id"] == "script-a"
    assert results["duration_hours"] == pytest.approx(len(seen) * 5 / 3600 + 5 / 3600, abs=1e-3)
    winner = await context.assets.get(results["winning_content"]["thumbnail"]["asset_id"])
    assert winner is not None and winner.verdict == "approved"


async def test_each_thread_simulates_its_own_figures_and_a_thread_the_same_each_time(
    graph: Any, context: Any, clock: Clock
) -> None:
    firsts = []
    for tid in (str(uuid.uuid4()), str(uuid.uuid4())):
        await to_gate(graph, context, tid, "experiment")
        clock.advance(seconds=5)
        await resume(graph, {"action": "observe"}, tid, context)
        test = (await values(graph, tid))["launch"]["experiment"]
        assert test["simulated"] and test["polls"] == 1
        assert test["polls_seed"] == simulator.thread_seed(tid, test["seed"])
        rows = test["batches"][0]["rows"]  # replayed from its seed: the same figures
        assert rows == simulator.poll(test["seed"], test["variants"], 0, test["polls_seed"])
        firsts.append(test["counts"])
    assert firsts[0] != firsts[1]  # two threads, two different simulated tests


async def test_declaring_by_hand_is_refused_below_90_percent_then_allowed(
    graph: Any, context: Any, tid: str
) -> None:
    await to_gate(graph, context, tid, "experiment", **MANUAL)
    await resume(graph, observe([("face-focused", 3000, 300), ("product-demo", 3000, 258),
                                 ("bold-text", 3000, 290)]), tid, context)  # fmt: skip
    gate = await pending_gate(graph, tid)
    assert gate is not None and not gate["experiment"]["simulated"]
    assert gate["experiment"]["confidence"] < 0.9 and not gate["experiment"]["can_declare"]
    await resume(graph, {"action": "declare"}, tid, context)
    gate = await pending_gate(graph, tid)
    assert gate is not None and gate["gate"] == "experiment"
    assert "from 90%" in gate["error"]
    await resume(graph, {"action": "declare", "deliverable": "bold-text"}, tid, context)
    gate = await pending_gate(graph, tid)
    assert gate is not None and "Only the leader" in gate["error"]


async def test_a_winner_declared_from_90_percent_ends_the_test(
    graph: Any, context: Any, tid: str
) -> None:
    settings = {"format": "launch", "launch": {"provider": "manual"}}
    await run(graph, start("home espresso", **settings), tid, context)
    await resume(graph, {"action": "approve"}, tid, context)
    await resume(graph, {"action": "approve", "answer": "face-focused, product-demo"}, tid, context)
    await resume(
        graph, observe([("face-focused", 6000, 600), ("product-demo", 6000, 510)]), tid, context
    )
    gate = await pending_gate(graph, tid)
    assert gate is not None and 0.9 <= gate["experiment"]["confidence"] < 0.95
    assert gate["experiment"]["can_declare"]
    await resume(graph, {"action": "declare"}, tid, context)
    state = await values(graph, tid)
    test = state["launch"]["experiment"]
    assert await pending_gate(graph, tid) is None
    assert test["winner"] == "face-focused" and test["end_reason"] == "declared"
    assert state["stop_reason"] == "winner_declared"
    assert state["launch"]["topic"] == "home espresso"  # settings.format chose the launch kit


async def test_bad_rows_are_refused_at_the_gate_and_nothing_is_counted(
    graph: Any, context: Any, tid: str
) -> None:
    await to_gate(graph, context, tid, "experiment", **MANUAL)
    await resume(graph, observe([("face-focused", 10, 50)]), tid, context)
    gate = await pending_gate(graph, tid)
    assert gate is not None and "row 1: clicks (50) exceed impressions (10)" in gate["error"]
    assert gate["experiment"]["impressions"] == 0


async def test_the_test_times_out_after_a_restart(
    database: Any, graph: Any, context: Any, tid: str, clock: Clock, tmp_path: Path
) -> None:
    settings = {"format": "launch", "launch": {"provider": "manual", "timeout_hours": 72}}
    gate = await to_gate(graph, context, tid, "experiment", **settings)
    assert gate["experiment"]["deadline"] == "2026-03-04T09:00:00+00:00"  # 72 h from T0
    await resume(graph, observe([("face-focused", 500, 40), ("product-demo", 500, 35),
                                 ("bold-text", 500, 45)]), tid, context)  # fmt: skip
    # a restart: a new graph on a new saver, and 73 hours later by the clock
    later = Clock(T0)
    later.advance(hours=73)
    restarted = fresh_graph(database.saver)
    context2 = launch_context(database.pool, tmp_path / "assets", later)
    await resume(restarted, {"action": "observe"}, tid, context2)
    state = await values(restarted, tid)
    test = state["launch"]["experiment"]
    assert test["status"] == "timed_out" and test["winner"] is None
    assert test["ended_at"] == test["deadline"]  # it ran its 72 hours, however late noticed
    assert state["stop_reason"] == "timeout" and state["phase"] == "completed"
    results = package(state)
    assert results["duration_hours"] == 72 and results["winning_content"] is None
    assert results["impressions"] == 1500 and results["leader"] == "bold-text"


async def test_stop_at_the_test_ends_it_with_the_figures_so_far(
    graph: Any, context: Any, tid: str
) -> None:
    await to_gate(graph, context, tid, "experiment", **MANUAL)
    await resume(graph, {"action": "stop"}, tid, context)
    state = await values(graph, tid)
    assert state["launch"]["experiment"]["status"] == "stopped"
    assert state["outcome"] == "interrupted" and state["stop_reason"] == "stopped_by_person"


async def test_a_message_at_the_script_gate_revises_the_scripts(
    graph: Any, context: Any, tid: str
) -> None:
    await to_gate(graph, context, tid, "script")
    await run(graph, {"messages": [{"role": "user", "content": "make it funnier"}]}, tid, context)
    gate = await pending_gate(graph, tid)
    assert gate is not None and gate["gate"] == "script"
    assert all(s["round"] == 2 for s in gate["scripts"])
    assert any("joke" in " ".join(s["outline"]) for s in gate["scripts"])
    state = await values(graph, tid)
    assert [d["text"] for d in state["directions"] if d["source"] == "interjection"] == [
        "make it funnier"
    ]


async def test_format_images_keeps_a_launch_worded_brief_in_the_image_format(
    graph: Any, context: Any, tid: str
) -> None:
    await run(graph, start("launch a video about lighthouses", format="images"), tid, context)
    state = await values(graph, tid)
    assert not state.get("launch") and state.get("plan"), state.get("launch")
