"""Every prompt of the video format; sections are the contract the offline model reads."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.messages import BaseMessage

from agents.prompts import context_sections, render


def _bullets(items: Sequence[str]) -> str:
    return "\n".join(f"- {item}" for item in items) if items else "- (none)"


def video_section(video: Mapping[str, Any]) -> str:
    keys = ("type", "seconds", "scenes", "subject", "name", "aspect", "fps")
    return "\n".join(f"- {k}: {video.get(k, '')}" for k in keys if video.get(k, "") != "")


def scenes_section(scenes: Sequence[Mapping[str, Any]]) -> str:
    return _bullets(
        [f"{s['id']}: {s['title']} ({float(s['seconds']):.1f} s) - {s['beat']}" for s in scenes]
    )


def sections(state: Any, video: Mapping[str, Any], feedback: Mapping[str, str]) -> dict[str, str]:
    out = context_sections(state)
    out["Video"] = video_section(video)
    if feedback:
        out["Feedback"] = _bullets([f"{k}: {v}" for k, v in feedback.items()])
    return out


def discuss(role: str, state: Any, video: Mapping[str, Any]) -> list[BaseMessage]:
    """Luna, Frame or Saga on the video before the scenes are written."""
    focus = {
        "style": "the look: palette, light and mood that hold across every scene",
        "composition": "the shots: framing and one camera move per scene",
        "story": "the story: the beats, in order, and what each makes the viewer feel",
    }[role]
    return render(
        role,
        sections(state, video, {}),
        "ideate",
        f"Ideation round 1 for a {video.get('seconds')}-second {video.get('type')} video. "
        f"Propose {focus}, in three to five sentences. Apply every direction from the person.",
    )


def scenes(state: Any, video: Mapping[str, Any], feedback: Mapping[str, str]) -> list[BaseMessage]:
    return render(
        "story",
        sections(state, video, feedback),
        "video_scenes",
        f"Write the scene list: {video.get('scenes')} scenes whose seconds add up to "
        f"{video.get('seconds')}, each a title and a one-sentence beat. Apply all feedback. "
        "Answer with JSON matching the schema.",
    )


def shots(state: Any, video: Mapping[str, Any], scene_list: Sequence[Mapping[str, Any]],
          feedback: Mapping[str, str]) -> list[BaseMessage]:  # fmt: skip
    body = sections(state, video, feedback)
    body["Scenes"] = scenes_section(scene_list)
    return render(
        "composition",
        body,
        "video_shots",
        "Give one shot per scene (its id): framing and one camera move (push in, pull out, "
        "pan, tilt, parallax or hold). Answer with JSON matching the schema.",
    )


def look(state: Any, video: Mapping[str, Any], feedback: Mapping[str, str]) -> list[BaseMessage]:
    return render(
        "style",
        sections(state, video, feedback),
        "video_look",
        "Give the one look for every scene: palette (hex, dominant first), lighting, mood and "
        "a short note. Answer with JSON matching the schema.",
    )


def script(state: Any, video: Mapping[str, Any], scene_list: Sequence[Mapping[str, Any]],
           feedback: Mapping[str, str]) -> list[BaseMessage]:  # fmt: skip
    body = sections(state, video, feedback)
    body["Scenes"] = scenes_section(scene_list)
    return render(
        "story",
        body,
        "video_script",
        "Write the voice-over: one short line per scene (its id), speakable in the scene's "
        "seconds at about 2.5 words a second. Apply all feedback. Answer with JSON matching "
        "the schema.",
    )
