"""The video format end to end on the embedded defaults, checkpointed to a real Postgres:
every stage gate, versions, staleness, auto-approve and a crash mid-animation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from rich.console import Console

from adapters.media.cut import decode, probe
from adapters.media.kit import Clip, MediaKit, ParallaxAnimator
from adapters.specs import GenerationSpec
from api.cli.gate_prompt import show_gate
from tests.studio_helpers import config, fresh_graph, make_context, pending_gate, resume, run, start

pytestmark = pytest.mark.anyio

BRIEF = "a 4-second product ad for Aurora, a quiet electric kettle, warm morning light"
SMALL = {"fps": 4, "height": 180, "scenes": 2}
ORDER = ["scenes", "script", "visuals", "animation", "voice", "render"]


async def values(graph: Any, tid: str) -> dict[str, Any]:
    return dict((await graph.aget_state(config(tid))).values)


async def gate(graph: Any, tid: str) -> dict[str, Any]:
    found = await pending_gate(graph, tid)
    assert found is not None and found["gate"] == "stage", found
    return found


async def test_a_video_goes_through_every_stage_gate_to_a_real_mp4(
    graph: Any, context: Any, tid: str
) -> None:
    await run(graph, start(BRIEF, format="video", video=SMALL), tid, context)
    seen = []
    for name in ORDER:
        at = await gate(graph, tid)
        assert at["stage"] == name and at["version"] == 1
        assert at["output"] and "findings" in at["review"] and at["made_by"]
        seen.append(at)
        await resume(graph, {"action": "accept"}, tid, context)
    assert await pending_gate(graph, tid) is None
    state = await values(graph, tid)
    assert state["outcome"] == "approved" and state["phase"] == "approved"
    video = state["video"]
    assert video["type"] == "product_ad" and video["seconds"] == 4.0
    story = [m.content for m in state["messages"] if m.type == "ai" and m.name == "story"][0]
    assert "is the hero; the story is one small moment of use" in str(story), story
    assert "long journey" not in str(story)  # a still set's passer-by, not the product's ad
    assert (video["width"], video["height"], video["fps"]) == (320, 180, 4)
    scenes = seen[0]["output"]["scenes"]
    assert [s["id"] for s in scenes] == ["s1", "s2"] and sum(s["seconds"] for s in scenes) == 4
    lines = seen[1]["output"]["lines"]
    assert all(scene["start"] < scene["end"] <= 4 for scene in lines)
    assert "Aurora" in lines[0]["text"]
    keyframe = seen[2]["output"]["keyframes"]["s2"]
    assert keyframe["made_by"] == "renderer" and keyframe["sketch"]
    assert 'product name "Aurora"' in keyframe["spec"]["prompt"]
    assert seen[2]["made_by"][0].endswith("built-in renderer (sketch)")
    assert "parallax over renderer depth layers" in seen[3]["output"]["clips"]["s1"]["made_by"]
    moves = [f"{i} {c['move'].replace('_', ' ')}" for i, c in seen[3]["output"]["clips"].items()]
    assert seen[3]["made_by"][0].startswith(", ".join(moves) + ": ")  # per scene, in order
    assert seen[4]["output"]["track"]["made_by"].startswith("eSpeak NG")
    cut = seen[5]["output"]["cut"]
    found = probe(Path(cut["path"]).read_bytes())
    assert (found.video_codec, found.audio_codec) == ("h264", "aac")
    assert abs(found.seconds - 4.0) < 0.1 and found.fps == 4 and found.frames == 16
    assert (found.width, found.height) == (320, 180)
    assert seen[5]["review"]["measurements"]["caption_contrast"] > 0.5
    assert Path(seen[4]["output"]["captions"]["path"]).read_text().startswith("WEBVTT")
    talk = [m for m in state["messages"] if m.type == "ai" and m.name in ("style", "composition")]
    assert talk, "Luna and Frame discussed the video"
    said = " ".join(m.content for m in state["messages"] if m.name in ("composition", "story"))
    assert "-second" not in said and "quiet electric kettle" in said, said  # not "-second product"
    assert any(
        m.name == "critic" and "Lens on the final cut" in m.content for m in state["messages"]
    )
    console = Console(record=True, width=200)
    show_gate(console, seen[1])
    printed = console.export_text()
    assert "script version 1" in printed and "Meet Aurora." in printed
    assert "Lens (measured)" in printed
    show_gate(console, seen[5])
    assert cut["path"] in console.export_text()
    frames = list(decode(Path(cut["path"]).read_bytes()))
    Image.fromarray(frames[2]).save(Path(context.assets.root) / "frame-2.png")


async def test_regenerating_a_stage_makes_a_new_version_and_redoes_later_stages(
    graph: Any, context: Any, tid: str
) -> None:
    await run(graph, start(BRIEF, format="video", video=SMALL), tid, context)
    for _ in ("scenes",):
        await resume(graph, {"action": "accept"}, tid, context)
    at = await gate(graph, tid)
    assert at["stage"] == "script"
    said = "mention that it boils in ninety seconds"
    await resume(
        graph, {"action": "regenerate", "deliverable": "s2", "feedback": said}, tid, context
    )
    at = await gate(graph, tid)
    assert at["stage"] == "script" and at["version"] == 2 and len(at["versions"]) == 2
    s2 = next(line for line in at["output"]["lines"] if line["scene"] == "s2")
    assert "boils in ninety seconds" in s2["text"].lower()
    state = await values(graph, tid)
    pinned = [d for d in state["directions"] if d["source"] == "output_feedback"]
    assert pinned and pinned[0]["scope"] == "s2"
    for _ in ("script", "visuals", "animation", "voice"):
        await resume(graph, {"action": "accept"}, tid, context)
    at = await gate(graph, tid)
    assert at["stage"] == "render"
    first_clips = (await values(graph, tid))["video"]["stages"]["animation"]["versions"][0]
    # back to the keyframes for one scene: everything after them is stale and redone
    await resume(
        graph,
        {"action": "regenerate", "deliverable": "visuals", "feedback": "add a steaming mug"},
        tid,
        context,
    )
    at = await gate(graph, tid)
    assert at["stage"] == "visuals" and at["version"] == 2
    assert at["stages"]["animation"]["stale"] and at["stages"]["render"]["stale"]
    assert "a steaming mug" in at["output"]["keyframes"]["s1"]["spec"]["prompt"]
    for name in ("visuals", "animation", "voice", "render"):
        at = await gate(graph, tid)
        assert at["stage"] == name and at["version"] == 2, (name, at["version"])
        await resume(graph, {"action": "accept"}, tid, context)
    state = await values(graph, tid)
    stages = state["video"]["stages"]
    assert [len(stages[n]["versions"]) for n in ORDER] == [1, 2, 2, 2, 2, 2]
    assert not any(stages[n]["stale"] for n in ORDER)
    new_clip = stages["animation"]["versions"][1]["output"]["clips"]["s1"]
    assert new_clip["asset_id"] != first_clips["output"]["clips"]["s1"]["asset_id"]
    assert state["outcome"] == "approved"


async def test_auto_approve_makes_the_video_without_pauses(
    graph: Any, context: Any, tid: str
) -> None:
    await run(graph, start(BRIEF, format="video", video=SMALL, auto_approve=True), tid, context)
    assert await pending_gate(graph, tid) is None
    state = await values(graph, tid)
    assert state["outcome"] == "approved"
    assert [g["auto"] for g in state["gates"]] == [True] * 6
    ready = [m.content for m in state["messages"] if "The video is ready" in str(m.content)]
    assert ready and str(context.assets.root) not in ready[-1]  # no server path in the chat


async def test_stop_at_a_gate_ends_the_video_with_its_work_saved(
    graph: Any, context: Any, tid: str
) -> None:
    await run(graph, start(BRIEF, format="video", video=SMALL), tid, context)
    await resume(graph, {"action": "dance"}, tid, context)  # refused: asks again
    at = await gate(graph, tid)
    assert "accepts accept, regenerate, stop" in at.get("error", "")
    await resume(graph, {"action": "stop"}, tid, context)
    state = await values(graph, tid)
    assert state["outcome"] == "interrupted" and state["stop_reason"] == "stopped_by_person"
    assert len(state["video"]["stages"]["scenes"]["versions"]) == 1


class CrashingAnimator(ParallaxAnimator):
    """Fails on the second scene once, like a process killed mid-animation."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.crashed = False

    async def animate(self, keyframe: bytes, spec: GenerationSpec, **kw: Any) -> Clip:
        self.calls.append(spec.deliverable)
        if spec.deliverable == "s2" and not self.crashed:
            self.crashed = True
            raise RuntimeError("killed mid-animation")
        return await super().animate(keyframe, spec, **kw)


async def test_a_crash_mid_animation_resumes_from_the_last_finished_scene(
    database: Any, tmp_path: Path, tid: str
) -> None:
    animator = CrashingAnimator()
    context = make_context(database.pool, tmp_path / "assets")
    context = type(context)(**{**context.__dict__, "media": MediaKit(animator=animator)})
    graph = fresh_graph(database.saver)
    payload = start(BRIEF, format="video", video=SMALL, auto_approve=True)
    with pytest.raises(RuntimeError, match="killed mid-animation"):
        await run(graph, payload, tid, context)
    assert animator.calls == ["s1", "s2"]
    restarted = fresh_graph(database.saver)  # a new process: new graph, same checkpoints
    await run(restarted, None, tid, context)
    assert animator.calls == ["s1", "s2", "s2"], "scene 1's clip was kept, not made again"
    state = await values(restarted, tid)
    assert state["outcome"] == "approved"
