"""The seconds-of-video budget (`settings.video.max_video_seconds`): a target duration over it
is refused at the edge (422 naming the field) and at the start of a video whose brief asks for
more; a regeneration that could animate past it is refused at the stage gate, which asks again
saying why; each animated clip is counted."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.api_helpers import serve
from tests.studio_helpers import config, fresh_graph, make_context, pending_gate, resume, run, start
from tests.test_cli import env, studio  # noqa: F401 (env is a fixture)

pytestmark = pytest.mark.anyio

BRIEF = "a 4-second product ad for Aurora, a quiet electric kettle, warm morning light"
SMALL = {"fps": 4, "height": 144, "scenes": 2}


async def test_a_target_duration_over_the_budget_is_refused_at_the_edge(
    database: Any, tmp_path: Path
) -> None:
    async with serve(database, tmp_path) as served:
        tid, token = await served.new_thread()
        async with served.http(token) as client:
            video = {"seconds": 30, "max_video_seconds": 20}
            body = {"input": {"messages": [BRIEF], "settings": {"format": "video", "video": video}}}
            refused = await client.post(f"/threads/{tid}/runs", json=body)
            assert refused.status_code == 422, refused.text
            message = refused.json()["error"]["message"]
            assert "settings.video" in message and "max_video_seconds" in message, message
            patched = await client.patch(f"/threads/{tid}/settings", json={"video": video})
            assert patched.status_code == 422, patched.text
            assert "max_video_seconds" in patched.json()["error"]["message"]
            assert (await client.get(f"/threads/{tid}/runs")).json() == []


async def test_a_brief_longer_than_the_budget_stops_before_any_work(
    database: Any, tmp_path: Path
) -> None:
    graph, tid = fresh_graph(database.saver), str(uuid.uuid4())
    context = make_context(database.pool, tmp_path / "assets")
    settings = start(BRIEF, format="video", video={**SMALL, "max_video_seconds": 3})
    await run(graph, settings, tid, context)
    state = dict((await graph.aget_state(config(tid))).values)
    assert state["stop_reason"] == "max_video_seconds" and state["outcome"] == "completed"
    assert "max_video_seconds" in state["messages"][-1].content
    assert not state["video"]["stages"]


async def test_a_regeneration_past_the_budget_is_refused_at_the_gate(
    database: Any, tmp_path: Path
) -> None:
    graph, tid = fresh_graph(database.saver), str(uuid.uuid4())
    context = make_context(database.pool, tmp_path / "assets")
    video = {**SMALL, "max_video_seconds": 6}
    await run(graph, start(BRIEF, format="video", video=video), tid, context)
    for _ in ("scenes", "script", "visuals"):
        await resume(graph, {"action": "accept"}, tid, context)
    at = await pending_gate(graph, tid)
    assert at is not None and at["stage"] == "animation"
    state = dict((await graph.aget_state(config(tid))).values)
    assert state["video"]["spent"]["video_seconds"] == 4.0  # two 2-second clips
    # the keyframes again could animate the whole 4 s: 8 > 6, refused; the gate asks again
    await resume(graph, {"action": "regenerate", "deliverable": "visuals"}, tid, context)
    at = await pending_gate(graph, tid)
    assert at is not None and at["stage"] == "animation" and at["version"] == 1
    assert "seconds-of-video budget is used (4 of 6 seconds animated)" in at["error"]
    assert "max_video_seconds" in at["error"]
    state = dict((await graph.aget_state(config(tid))).values)
    assert len(state["video"]["stages"]["visuals"]["versions"]) == 1
    # one 2-second scene fits (4 + 2 <= 6); then the video finishes
    await resume(graph, {"action": "regenerate", "deliverable": "s1"}, tid, context)
    at = await pending_gate(graph, tid)
    assert at is not None and at["stage"] == "animation" and at["version"] == 2
    assert "error" not in at
    for _ in ("animation", "voice", "render"):
        await resume(graph, {"action": "accept"}, tid, context)
    state = dict((await graph.aget_state(config(tid))).values)
    assert state["outcome"] == "approved"
    assert state["video"]["spent"]["video_seconds"] <= 6.0


ABSURD = {  # what a brief says -> what the refusal quotes
    "a 9999-second product ad for Aurora, a kettle": '"9999-second" (9999 s) is over',
    "a 3 hour MOA video about caffeine": '"3 hour" (10800 s) is over',
    "an hour-long explainer video on caffeine": '"an hour" (3600 s) is over',
    "a 0-second product ad for Aurora, a kettle": '"0-second" (0 s) cannot be made',
    "a -5-second product ad for Aurora, a kettle": '"-5-second" (-5 s) cannot be made',
    "a 5-minute product video for Aurora": '"5-minute" (300 s) cannot be made',
}


def test_the_brief_reader_reads_units_and_signs_and_says_what_cannot_be_made() -> None:
    from graph.video_brief import duration_problem, seconds_in

    assert seconds_in("a 3 hour MOA video") == 10800
    assert seconds_in("a 1.5 minutes clip") == 90
    assert seconds_in("a -5-second ad") == -5
    assert seconds_in("a covid-19 explainer, 30 s") == 30
    assert seconds_in("a 9999-second ad") == 9999
    for brief, said in ABSURD.items():
        assert said in (duration_problem(brief) or ""), brief
    assert duration_problem(BRIEF) is None and duration_problem("a 1 minute MOA video") is None
    assert "budget (60 s)" in (duration_problem("a 2 minute MOA video", 60) or "")


async def test_an_absurd_duration_in_the_brief_is_refused_at_the_edge(
    database: Any, tmp_path: Path
) -> None:
    async with serve(database, tmp_path) as served:
        tid, token = await served.new_thread()
        async with served.http(token) as client:
            for brief, said in ABSURD.items():
                for settings in ({"format": "video"}, {}):  # asked for, or read from the brief
                    body = {"input": {"messages": [brief], "settings": settings}}
                    refused = await client.post(f"/threads/{tid}/runs", json=body)
                    assert refused.status_code == 422, refused.text
                    message = refused.json()["error"]["message"]
                    assert "(the brief)" in message and said in message, message
            assert (await client.get(f"/threads/{tid}/runs")).json() == []


def test_an_absurd_duration_in_the_brief_is_a_usage_error_of_studio_run(
    env: dict[str, str],  # noqa: F811
) -> None:
    refused = studio(env, "run", "--format", "video", "a 3 hour MOA video about caffeine")
    assert refused.returncode == 2, refused.stderr
    assert refused.stderr.strip() == (
        'error: brief: a video of "3 hour" (10800 s) is over the seconds-of-video budget '
        "(600 s); ask for a shorter one (2 to 180 seconds)"
    )
    assert "No threads yet" in studio(env, "threads").stdout  # nothing was started
