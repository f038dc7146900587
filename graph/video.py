"""The video format: scenes -> script -> visuals -> animation -> voice -> render, as a subgraph.

The subgraph makes one stage per leg (Saga's scenes with Frame's shots and Luna's look, Saga's
timed script, Pixel's keyframes through the image pipeline, Frame's camera moves, the voice
track with captions, the final cut), and Lens measures it before the leg returns. Between legs
`steer_video` (graph/video_gates.py) holds the stage gate in the studio graph itself, so every
version of every stage lands in the thread's state and checkpoints as it is made.
"""

from __future__ import annotations

from typing import Annotated, Any, NotRequired

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from agents.video.production import animate_scenes, render_cut, speak_lines
from agents.video.review import review_stage
from agents.video.story import discuss, write_scenes, write_script
from agents.video.visuals import make_keyframes
from graph.context import StudioContext
from graph.legs import RETRY, LegInput, LegOutput
from graph.state import StudioState, human_texts, merge_dict, valid_settings
from graph.video_brief import is_video_brief
from graph.video_stages import latest

LEGS = {
    "scenes": "write_scenes",
    "script": "write_script",
    "visuals": "make_keyframes",
    "animation": "animate_scenes",
    "voice": "speak_lines",
    "render": "render_cut",
}
"""The stage a leg makes -> its node."""


class VideoInput(LegInput):
    """What a leg reads from the thread: the common keys and the video state."""

    video: NotRequired[Annotated[dict[str, Any], merge_dict]]


class VideoOutput(LegOutput):
    """What a leg hands back: the common keys and the video state."""

    video: NotRequired[Annotated[dict[str, Any], merge_dict]]


class VideoState(VideoInput, VideoOutput):
    """The subgraph's state: its input and output keys."""


def is_video(state: StudioState) -> bool:
    """`settings.format` is `video`, or (when no format is set) the first message asks for a
    video ("a 20-second product ad for ...")."""
    if state.get("video"):
        return True
    fmt = valid_settings(state.get("settings")).get("format")
    if fmt:
        return fmt == "video"
    texts = human_texts(state)
    return not state.get("brief") and bool(texts) and is_video_brief(texts[0])


def video_entry(state: StudioState) -> str | None:
    """The studio graph's first node for a video thread (None: not a video)."""
    return "steer_video" if is_video(state) else None


def route(state: VideoState) -> str:
    video = state.get("video") or {}
    stage = str(video.get("stage"))
    if video.get("due") == "review":
        return "review_stage"  # the leg's work was saved; Lens had not measured it yet
    if stage == "scenes" and latest(video, "scenes") is None:  # the team talks it over first
        return "discuss"
    return LEGS.get(stage, END)


def build_video() -> CompiledStateGraph[VideoState, StudioContext, VideoInput, VideoOutput]:
    """The video subgraph (it takes the studio graph's checkpointer when added as a node)."""
    builder = StateGraph(
        VideoState, context_schema=StudioContext, input_schema=VideoInput, output_schema=VideoOutput
    )
    work: dict[str, Any] = {
        "write_scenes": write_scenes,
        "write_script": write_script,
        "make_keyframes": make_keyframes,
        "animate_scenes": animate_scenes,
        "speak_lines": speak_lines,
        "render_cut": render_cut,
    }
    builder.add_node("discuss", discuss, input_schema=VideoState, retry_policy=RETRY)
    for name, action in work.items():
        builder.add_node(name, action, input_schema=VideoState, retry_policy=RETRY)
        builder.add_edge(name, "review_stage")
    builder.add_node("review_stage", review_stage, input_schema=VideoState)
    builder.add_conditional_edges(START, route, ["discuss", "review_stage", *work, END])
    builder.add_edge("discuss", "write_scenes")
    builder.add_edge("review_stage", END)
    return builder.compile(name="video")
