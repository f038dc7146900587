"""The launch format: trends, scripts, thumbnails and an A/B test, as a subgraph of the studio.

The subgraph runs the work in legs (trends and scripts; thumbnails and Lens's reading; opening
the test; the results) and returns to the studio graph after each, where `steer_launch`
(graph/launch_gates.py) holds the three gates. Every leg's output lands in the thread's own
state, so the thread's view, its events, the CLI and the UI see the launch kit as it goes; the
gates are interrupts of the same thread, checkpointed like the image format's.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, NotRequired

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from agents.launch.results import open_experiment, report_results
from agents.launch.thumbnails import design_thumbnails, score_thumbnails
from agents.launch.writing import research, write_scripts
from graph import directions
from graph.context import StudioContext
from graph.legs import RETRY, LegInput, LegOutput
from graph.state import StudioState, human_texts, merge_dict, valid_settings

LAUNCH_BRIEF = re.compile(
    r"^\s*(?:please\s+)?(?:help me\s+)?launch\s+(?:a|an|my|the|our)?\s*(?:new\s+)?"
    r"(?:youtube\s+)?(?:video|short|episode|reel|clip)\b\s*(?:about|on|called|for|:)?\s*",
    re.I,
)
"""A brief that asks for a launch kit: "launch a video about home espresso, ..."."""
LEGS = {
    "trends": "research",
    "scripts": "write_scripts",
    "thumbnails": "design_thumbnails",
    "scoring": "score_thumbnails",
    "experiment": "open_experiment",
    "results": "report_results",
}
"""The stage a leg starts from -> its first node."""


class LaunchInput(LegInput):
    """What a leg reads from the thread: the common keys and the launch state."""

    launch: NotRequired[Annotated[dict[str, Any], merge_dict]]


class LaunchOutput(LegOutput):
    """What a leg hands back: the common keys, the launch state and the ending."""

    launch: NotRequired[Annotated[dict[str, Any], merge_dict]]
    outcome: NotRequired[str]
    stop_reason: NotRequired[str]


class LaunchState(LaunchInput, LaunchOutput):
    """The subgraph's state: its input and output keys."""


def chosen_format(state: StudioState) -> str:
    """`settings.format` when set, else `launch` for a brief that asks for one (read before
    the brief is taken in), else `images`."""
    if state.get("launch"):
        return "launch"
    fmt = valid_settings(state.get("settings")).get("format")
    if fmt:
        return fmt
    texts = human_texts(state)
    if not state.get("brief") and texts and LAUNCH_BRIEF.match(texts[0]):
        return "launch"
    return "images"


def entry_for(state: StudioState) -> str | None:
    """The studio graph's first node for this thread's format (None: the image format's own)."""
    return "steer_launch" if chosen_format(state) == "launch" else None


def split_brief(text: str) -> tuple[str, str]:
    """`(topic, the rest)`: "launch a video about home espresso, warm colours" ->
    ("home espresso", "warm colours")."""
    body = LAUNCH_BRIEF.sub("", text, count=1)
    parts = directions.clauses(body)
    return (parts[0] if parts else body.strip() or "this topic"), ". ".join(parts[1:])


def route(state: LaunchState) -> str:
    return LEGS.get(str((state.get("launch") or {}).get("stage")), END)


def after_launch(state: StudioState) -> str:
    """Back to the gates after a leg; the end once the results are in."""
    return END if (state.get("launch") or {}).get("stage") == "done" else "steer_launch"


def build_launch() -> CompiledStateGraph[LaunchState, StudioContext, LaunchInput, LaunchOutput]:
    """The launch subgraph (it takes the studio graph's checkpointer when added as a node)."""
    builder = StateGraph(
        LaunchState,
        context_schema=StudioContext,
        input_schema=LaunchInput,
        output_schema=LaunchOutput,
    )
    nodes: dict[str, Any] = {
        "research": research,
        "write_scripts": write_scripts,
        "design_thumbnails": design_thumbnails,
        "score_thumbnails": score_thumbnails,
        "open_experiment": open_experiment,
        "report_results": report_results,
    }
    for name, action in nodes.items():  # each reads the leg's state, not the studio's
        retry = RETRY if name in ("research", "write_scripts", "design_thumbnails") else None
        builder.add_node(name, action, input_schema=LaunchState, retry_policy=retry)
    builder.add_conditional_edges(START, route, [*LEGS.values(), END])
    builder.add_edge("research", "write_scripts")
    builder.add_edge("write_scripts", END)
    builder.add_edge("design_thumbnails", "score_thumbnails")
    builder.add_edge("score_thumbnails", END)
    builder.add_edge("open_experiment", END)
    builder.add_edge("report_results", END)
    return builder.compile(name="launch")
