"""Wire the studio graph: one `StateGraph` whose nodes are the specialists and the gates."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime
from langgraph.types import Command, Send

from agents.consistency import check_consistency
from agents.critic import critique, review
from agents.director import direct
from agents.discussion import specialist
from agents.generate import generate
from agents.intake import intake
from agents.interject import interject
from agents.manager import finalize, manage
from agents.moderator import moderate
from agents.planner import plan
from graph.budgets import limits
from graph.context import StudioContext
from graph.fanout import generation_sends
from graph.gates import approve_outputs, approve_plan, ask_clarification, ask_consensus
from graph.launch import after_launch, build_launch, entry_for
from graph.launch_gates import steer_launch
from graph.legs import RETRY
from graph.state import StudioInput, StudioState
from graph.video import build_video, video_entry
from graph.video_gates import steer_video

StudioGraph = CompiledStateGraph[StudioState, StudioContext, StudioInput, StudioState]


def timed(node: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """Count the seconds a node works toward the thread's wall-clock budget."""

    @wraps(node)
    async def run(*args: Any, **kwargs: Any) -> Any:
        started = time.monotonic()
        result = await node(*args, **kwargs)
        spent = {"usage": {"seconds": round(time.monotonic() - started, 4)}}
        if isinstance(result, Command):
            update = result.update if isinstance(result.update, dict) else {}
            usage = {**update.get("usage", {})}
            usage["seconds"] = usage.get("seconds", 0) + spent["usage"]["seconds"]
            return Command(
                goto=result.goto,
                update={**update, "usage": usage},
                graph=result.graph,
                resume=result.resume,
            )
        if isinstance(result, dict):
            usage = {**result.get("usage", {})}
            usage["seconds"] = usage.get("seconds", 0) + spent["usage"]["seconds"]
            return {**result, "usage": usage}
        return result

    return run


def entry(state: StudioState) -> str:
    """Where a run with new input starts: the brief, an interjection, or where it stood."""
    if state.get("stop_requested"):
        return "finalize"
    if (launch := entry_for(state)) is not None:
        return launch  # the launch format (graph/launch.py)
    if (video := video_entry(state)) is not None:
        return video  # the video format (graph/video.py)
    if not state.get("brief") or state.get("phase", "created") in ("created", "planning"):
        return "intake"
    return "interject"  # new words are answered; without any, it continues from the phase


def after_intake(state: StudioState) -> str:
    return "ask_clarification" if state.get("question") else "plan"


def after_direct(state: StudioState, runtime: Runtime[StudioContext]) -> str | list[Send]:
    """Before the first generation Lens reviews the plan; in the iterate loop, generate."""
    if state.get("iteration", 0) == 0:
        return "review"
    budget = limits(state, runtime.context.defaults).max_generations
    pending = list(state.get("pending") or [])
    return generation_sends(state, pending, state["iteration"], budget) or "manage"


def build_graph(*, checkpointer: BaseCheckpointSaver[Any] | None = None) -> StudioGraph:
    """Wire the studio graph; the caller picks the checkpointer (Postgres, memory, none)."""
    builder = StateGraph(StudioState, context_schema=StudioContext, input_schema=StudioInput)
    builder.add_node("intake", timed(intake))
    builder.add_node("plan", timed(plan), retry_policy=RETRY)
    for role in ("style", "composition", "story"):
        builder.add_node(role, timed(specialist(role)), retry_policy=RETRY)
    builder.add_node(
        "moderate", timed(moderate), destinations=("style", "direct", "ask_consensus", "finalize")
    )
    builder.add_node(
        "interject",
        timed(interject),
        retry_policy=RETRY,
        destinations=("style", "direct", "approve_outputs", "intake"),
    )
    builder.add_node("direct", timed(direct), retry_policy=RETRY)
    builder.add_node(
        "review", timed(review), retry_policy=RETRY, destinations=("direct", "approve_plan")
    )
    builder.add_node("generate", timed(generate))  # waits for its server itself
    builder.add_node("critique", timed(critique), retry_policy=RETRY)
    builder.add_node("check_consistency", timed(check_consistency))
    builder.add_node(
        "manage", timed(manage), destinations=("direct", "approve_outputs", "finalize")
    )
    builder.add_node("finalize", timed(finalize))
    builder.add_node("ask_clarification", ask_clarification, destinations=("intake", "finalize"))
    builder.add_node("ask_consensus", ask_consensus, destinations=("direct", "finalize"))
    builder.add_node(
        "approve_plan", approve_plan, destinations=("direct", "generate", "manage", "finalize")
    )
    builder.add_node(
        "approve_outputs",
        approve_outputs,
        destinations=("direct", "generate", "approve_outputs", "finalize"),
    )

    builder.add_node("launch", build_launch())  # the launch format's subgraph
    builder.add_node(
        "steer_launch", steer_launch, destinations=("launch", "steer_launch", "finalize", END)
    )
    builder.add_conditional_edges("launch", after_launch, ["steer_launch", END])
    builder.add_node("video", build_video())  # the video format's subgraph
    builder.add_node("steer_video", steer_video, destinations=("video", END))
    builder.add_edge("video", "steer_video")
    builder.add_conditional_edges(
        START, entry, ["intake", "interject", "finalize", "steer_launch", "steer_video"]
    )
    builder.add_conditional_edges("intake", after_intake, ["ask_clarification", "plan"])
    builder.add_edge("plan", "style")
    builder.add_edge("style", "composition")
    builder.add_edge("composition", "story")
    builder.add_edge("story", "moderate")
    builder.add_conditional_edges("direct", after_direct, ["review", "generate", "manage"])
    builder.add_edge("generate", "critique")
    builder.add_edge("critique", "check_consistency")
    builder.add_edge("check_consistency", "manage")
    builder.add_edge("finalize", END)
    return builder.compile(checkpointer=checkpointer, name="studio")
