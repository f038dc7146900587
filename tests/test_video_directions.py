"""Directions reach the video's work: a note telling Saga what to say becomes the line (never the
instruction itself in the voice-over), through the real prompt and the offline model."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.media.motion import FASTER, SLOWER, asked_move, asked_speed, camera
from adapters.offline import video as offline
from adapters.offline.reading import read
from agents.video import prompts
from agents.video.review import _script as review_script
from agents.video.schemas import VideoScript
from agents.video.story import timed_lines
from tests.studio_helpers import config, pending_gate, resume, run, start

BRIEF = "a 4-second product ad for Aurora, a quiet electric kettle, warm morning light"
SMALL = {"fps": 4, "height": 180, "scenes": 2}

VIDEO = {"type": "product_ad", "seconds": 12, "scenes": 2, "subject": "Aurora", "name": "Aurora"}
SCENES = [
    {"id": "s1", "title": "The hook", "seconds": 6, "beat": "Aurora in the kitchen"},
    {"id": "s2", "title": "Call to action", "seconds": 6, "beat": "Aurora on screen"},
]


def lines(feedback: dict[str, str]) -> dict[str, str]:
    state: dict[str, Any] = {"brief": "a 12-second product ad for Aurora", "messages": []}
    answer = offline.script(read(prompts.script(state, VIDEO, SCENES, feedback)))
    return {line["scene"]: line["text"] for line in answer["lines"]}


async def gate(graph: Any, tid: str) -> dict[str, Any]:
    found = await pending_gate(graph, tid)
    assert found is not None and found["gate"] == "stage", found
    return found


def test_a_say_that_note_rewrites_the_line_instead_of_being_spoken() -> None:
    said = "say that it is a quiet electric kettle that boils water in near silence"
    got = lines({"*": said})
    assert got["s2"] == "Aurora: a quiet electric kettle that boils water in near silence."
    assert "say" not in got["s2"].lower()
    assert got["s1"].startswith("Meet Aurora.")  # filled to its 6 s with the ad's own lines
    scoped = lines({"s1": "make it say it boils in ninety seconds"})
    assert scoped["s1"] == "Aurora boils in ninety seconds."
    assert lines({"s2": "Mention that it is cordless."})["s2"] == "Aurora: cordless."


def test_feedback_names_the_camera_move_it_asks_for_and_its_speed() -> None:
    assert asked_move("pan instead of push in, slower") == "pan_right"
    assert asked_move("tilt up rather than pan") == "tilt_up"
    assert asked_move("no push in") is None and asked_move("make it brighter") is None
    assert asked_speed("pan instead of push in, slower") == SLOWER
    assert asked_speed("snappier") == FASTER and asked_speed("pan left") is None
    # slower travels half as far over the same clip, about the same middle
    assert camera("pan_right", 0.0, speed=0.5).dx == pytest.approx(camera("pan_right", 0.0).dx / 2)
    assert camera("push_in", 1.0, speed=0.5).zoom < camera("push_in", 1.0).zoom


async def until(graph: Any, tid: str, context: Any, name: str) -> dict[str, Any]:
    while (at := await pending_gate(graph, tid)) is not None and at["stage"] != name:
        await resume(graph, {"action": "accept"}, tid, context)
    assert at is not None and at["gate"] == "stage", at
    return at


@pytest.mark.anyio
async def test_animation_feedback_naming_a_move_and_speed_remakes_the_clips(
    graph: Any, context: Any, tid: str
) -> None:
    await run(graph, start(BRIEF, format="video", video=SMALL), tid, context)
    first = (await until(graph, tid, context, "animation"))["output"]["clips"]
    assert first["s1"]["move"] == "push_in"
    said = "pan instead of push in, slower"
    await resume(graph, {"action": "regenerate", "feedback": said}, tid, context)
    at = await gate(graph, tid)
    assert at["stage"] == "animation" and at["version"] == 2
    clips = at["output"]["clips"]
    for scene in ("s1", "s2"):  # no scene named: every clip, each made again
        assert (clips[scene]["move"], clips[scene]["speed"]) == ("pan_right", SLOWER)
        assert clips[scene]["asset_id"] != first[scene]["asset_id"]
        assert "pan right, slower" in clips[scene]["made_by"]
    await resume(
        graph,
        {"action": "regenerate", "deliverable": "s2", "feedback": "tilt up, faster"},
        tid,
        context,
    )
    clips_3 = (await gate(graph, tid))["output"]["clips"]
    assert clips_3["s1"] == clips["s1"]  # kept, still the directed pan
    assert (clips_3["s2"]["move"], clips_3["s2"]["speed"]) == ("tilt_up", FASTER)
    said_nothing = "make it brighter"
    await resume(graph, {"action": "regenerate", "feedback": said_nothing}, tid, context)
    state = dict((await graph.aget_state(config(tid))).values)
    frame = [m.content for m in state["messages"] if m.type == "ai" and m.name == "composition"]
    assert "names no camera move" in frame[-1]


def test_a_product_script_names_the_product_and_what_it_is() -> None:
    """V8: a kettle reel said "Wait for it." / "Follow for more." and never named the kettle."""
    kettle = {"subject": "Aurora, a quiet electric kettle", "name": "Aurora"}

    def said(kind: str, count: int, seconds: float) -> list[str]:
        video = {"type": kind, "seconds": count * seconds, "scenes": count, **kettle}
        scenes = [
            {"id": f"s{i}", "title": f"Scene {i}", "seconds": seconds, "beat": "a beat"}
            for i in range(1, count + 1)
        ]
        state: dict[str, Any] = {"brief": "a product ad for Aurora", "messages": []}
        answer = offline.script(read(prompts.script(state, video, scenes, {})))
        return [line["text"] for line in answer["lines"]]

    assert said("product_ad", 4, 5)[0] == "Meet Aurora, a quiet electric kettle."
    assert said("social_media", 2, 5) == [
        "This is Aurora, a quiet electric kettle.",
        "Follow for more.",
    ]
    assert said("social_media", 2, 2)[0] == "This is Aurora."  # what it is would not fit 2 s
    assert said("product_ad", 2, 2)[0] == "Meet Aurora."


def test_a_short_line_is_filled_to_its_scene_and_lens_hears_a_silent_slot() -> None:
    """A 12-second kettle ad said "Meet Aurora, a quiet electric kettle." / "Aurora. Get yours
    today." in two 6 s scenes: 7.6 s of the cut was silence, and the script's Lens said
    "everything within target" (the voice stage found the gaps a stage later)."""
    kettle = {"type": "product_ad", "seconds": 12, "scenes": 2}
    video = {**kettle, "subject": "Aurora, a quiet electric kettle", "name": "Aurora"}
    state: dict[str, Any] = {"brief": "a 12-second product ad for Aurora", "messages": []}
    answer = offline.script(read(prompts.script(state, video, SCENES, {})))
    timed = timed_lines(VideoScript.model_validate(answer), SCENES)
    texts = [line["text"] for line in timed]
    assert texts[0].startswith("Meet Aurora, a quiet electric kettle.")
    assert texts[1].endswith("Aurora. Get yours today.")  # the call to action still closes
    for line in timed:  # spoken at 2.5 words a second, no slot is left silent for long
        assert line["end"] - line["start"] - line["words"] / 2.5 <= 2.5, line
        assert line["words_per_second"] <= 3.2, line
    _, found = review_script({"lines": timed}, kettle)
    assert found == [], found
    sparse = [{**timed[0], "text": "Meet Aurora.", "words": 2, "words_per_second": 0.36}]
    _, found = review_script({"lines": sparse}, kettle)
    assert [f.split(":")[0] for f in found] == ["silence s1"], found
    assert "too few words" in found[0] and "target 2.50" in found[0]


@pytest.mark.anyio
async def test_words_typed_at_a_stage_gate_regenerate_what_they_are_about(
    graph: Any, context: Any, tid: str
) -> None:
    await run(graph, start(BRIEF, format="video", video=SMALL), tid, context)
    await until(graph, tid, context, "animation")
    state = dict((await graph.aget_state(config(tid))).values)
    keyframes = state["video"]["stages"]["visuals"]["versions"][-1]["output"]["keyframes"]
    said = "make scene s2 much brighter"
    await run(graph, {"messages": [{"role": "user", "content": said}]}, tid, context)
    at = await gate(graph, tid)  # brightness is the keyframes': back to them, for s2 alone
    assert at["stage"] == "visuals" and at["version"] == 2
    assert at["stages"]["animation"]["stale"]
    assert at["output"]["keyframes"]["s2"]["asset_id"] != keyframes["s2"]["asset_id"]
    assert at["output"]["keyframes"]["s1"]["asset_id"] == keyframes["s1"]["asset_id"]
    state = dict((await graph.aget_state(config(tid))).values)
    pinned = [d for d in state["directions"] if d["source"] == "output_feedback"]
    assert [(d["text"], d["scope"]) for d in pinned] == [(said, "s2")]
    assert any(m.type == "ai" and "keyframes again for s2" in m.content for m in state["messages"])
