"""Saga's stages: the team's first discussion and the scene list, then the timed script."""

from __future__ import annotations

import time
from typing import Any

from langchain_core.messages import AIMessage
from langgraph.runtime import Runtime

from adapters.media.motion import move_for
from adapters.media.speech import WORDS_PER_SECOND
from agents.calls import speak, structured
from agents.video import prompts
from agents.video.schemas import VideoLook, VideoScenes, VideoScript, VideoShots
from agents.video.work import who
from graph.context import StudioContext
from graph.state import Deliverable
from graph.video_stages import add_version, output, request

LINE_PAD_S = 0.25
"""Silence kept at both ends of a scene's line, so cuts never clip a word."""


def _feedback(video: dict[str, Any], name: str) -> dict[str, str]:
    scope, words = request(video, name)
    return {scope: words} if words else {}


async def discuss(state: Any, runtime: Runtime[StudioContext]) -> dict[str, Any]:
    """Luna, Frame and Saga each say how they see the video (once, before the first scenes)."""
    context, video = runtime.context, state["video"]
    said: list[AIMessage] = []
    tokens = 0
    kind = str(video.get("type", "video")).replace("_", " ")
    subject = str(video.get("subject") or state.get("brief", ""))
    # The talk is about the subject and the one video (not "a 12-second product" and a still
    # set's default deliverables): the brief leads with the subject, the plan is the video.
    focus: Any = {
        "brief": f"{subject}: a {video.get('seconds')}-second {kind} video",
        "plan": {
            "deliverables": [
                Deliverable(
                    id="video",
                    title=f"the {kind}",
                    purpose=f"a {kind} about {subject}",
                    aspect=str(video.get("aspect", "")),
                )
            ],
            "style_guards": [],
            "scope": "",
        },
    }
    for role in ("style", "composition", "story"):
        seen: Any = {**state, **focus, "messages": [*state.get("messages", []), *said]}
        message, used = await speak(context, seen, role, prompts.discuss(role, seen, video))
        said.append(message)
        tokens += used
    return {"messages": said, "usage": {"tokens": tokens}}


def timed_scenes(
    ideas: VideoScenes, shots: VideoShots, target: float, count: int
) -> list[dict[str, Any]]:
    """Scene ids, titles, beats and shots, with seconds scaled to add up to the target."""
    ideas_list = ideas.scenes[:count] if count else ideas.scenes
    total = sum(max(0.5, s.seconds) for s in ideas_list) or 1.0
    raw = [max(0.5, s.seconds) * target / total for s in ideas_list]
    seconds = [round(r * 4) / 4 for r in raw]
    seconds[-1] = round(target - sum(seconds[:-1]), 2)  # exactly the target, whatever rounding
    by_scene = {s.scene: s.shot for s in shots.shots}
    out = []
    for index, (idea, length) in enumerate(zip(ideas_list, seconds, strict=True), 1):
        ident = f"s{index}"
        shot = by_scene.get(ident) or "medium shot, slow push in"
        out.append(
            {
                "id": ident,
                "title": idea.title.strip()[:80] or f"Scene {index}",
                "beat": idea.beat.strip()[:300],
                "seconds": length,
                "shot": shot[:200],
                "move": move_for(shot),
            }
        )
    return out


async def write_scenes(state: Any, runtime: Runtime[StudioContext]) -> dict[str, Any]:
    """Saga writes the scenes, Frame gives each a shot, Luna sets one look for all."""
    started = time.monotonic()
    context, video = runtime.context, state["video"]
    feedback = _feedback(video, "scenes")
    ideas, t1 = await structured(
        context, state, "story", VideoScenes, prompts.scenes(state, video, feedback)
    )
    draft = [
        {"id": f"s{i}", "title": s.title, "beat": s.beat, "seconds": s.seconds}
        for i, s in enumerate(ideas.scenes, 1)
    ]
    shots, t2 = await structured(
        context, state, "composition", VideoShots, prompts.shots(state, video, draft, feedback)
    )
    look, t3 = await structured(
        context, state, "style", VideoLook, prompts.look(state, video, feedback)
    )
    scenes = timed_scenes(ideas, shots, float(video["seconds"]), int(video.get("scenes") or 0))
    listing = "; ".join(f"{s['id']} {s['title']} ({s['seconds']:g} s, {s['move']})" for s in scenes)
    out = {"scenes": scenes, "look": look.model_dump()}
    made_by = [who(context, r) for r in ("story", "composition", "style")]
    return {
        "video": add_version(video, "scenes", out, made_by=made_by, started=started),
        "messages": [AIMessage(f"Saga: the scenes, with Frame's shots: {listing}.", name="story")],
        "usage": {"tokens": t1 + t2 + t3},
    }


def timed_lines(script: VideoScript, scenes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each line placed in its scene's time (several lines share a scene's seconds)."""
    starts, at = {}, 0.0
    for scene in scenes:
        starts[scene["id"]] = (at, at + float(scene["seconds"]))
        at += float(scene["seconds"])
    lines = [line for line in script.lines if line.scene in starts and line.text.strip()]
    timed = []
    for ident, (begin, end) in starts.items():
        own = [line for line in lines if line.scene == ident]
        if not own:
            continue
        span = (end - begin - 2 * LINE_PAD_S) / len(own)
        for index, line in enumerate(own):
            start = begin + LINE_PAD_S + index * span
            words = len(line.text.split())
            timed.append(
                {
                    "scene": ident,
                    "text": " ".join(line.text.split())[:300],
                    "start": round(start, 3),
                    "end": round(start + span, 3),
                    "words": words,
                    "words_per_second": round(words / max(span, 0.1), 2),
                }
            )
    return timed


async def write_script(state: Any, runtime: Runtime[StudioContext]) -> dict[str, Any]:
    """Saga writes the voice-over, timed line by line to the scenes."""
    started = time.monotonic()
    context, video = runtime.context, state["video"]
    scenes = output(video, "scenes")["scenes"]
    feedback = _feedback(video, "script")
    script, tokens = await structured(
        context, state, "story", VideoScript, prompts.script(state, video, scenes, feedback)
    )
    lines = timed_lines(script, scenes)
    out = {"lines": lines, "pace": WORDS_PER_SECOND}
    text = " / ".join(f"[{line['start']:.1f}-{line['end']:.1f} s] {line['text']}" for line in lines)
    return {
        "video": add_version(
            video, "script", out, made_by=[who(context, "story")], started=started
        ),
        "messages": [AIMessage(f"Saga: the script, timed: {text}", name="story")],
        "usage": {"tokens": tokens},
    }
