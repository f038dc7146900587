"""Interjection: the person spoke mid-session; the specialists it concerns answer it."""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.messages import AIMessage
from langgraph.runtime import Runtime
from langgraph.types import Command

from adapters.craft import concerns
from agents import prompts
from agents.calls import speak
from graph import directions, media_asks
from graph.budgets import ThreadLimits, exhausted, limits
from graph.context import StudioContext
from graph.emit import emit, notice
from graph.state import TERMINAL_PHASES, Direction, StudioState, human_texts

DISCUSSION = frozenset({"ideation", "refinement"})
BEFORE_GENERATION = frozenset({"synthesis", "review", "awaiting_plan_approval"})

Route = Literal["style", "direct", "approve_outputs", "intake"]


def generated(state: StudioState) -> bool:
    """Whether the plan gate was passed: an iteration started or an image exists."""
    return state.get("iteration", 0) > 0 or bool(state.get("generations"))


def stopped_at(state: StudioState) -> str:
    """The phase a session stopped before generation stood in, read from what it holds (the
    stop itself set the phase `interrupted`): no plan yet, the discussion, or Pixel's specs.
    A message there continues that work and the plan gate still comes before any image."""
    if not state.get("plan"):
        return "planning"
    if not state.get("specs"):
        return "refinement"
    return "synthesis"


def next_step(
    state: StudioState, said: str, lim: ThreadLimits, heard: list[Direction] | None = None
) -> tuple[Route, dict[str, Any]]:
    """Where the session continues after the person's message, and what that step needs: after
    generation, the deliverables the new directions concern are made again, as the person's
    request (the new variants become current)."""
    current = state.get("phase", "created")
    if current in TERMINAL_PHASES and not generated(state):
        current = stopped_at(state)  # stopped before generating: go on from there (F32)
    if current in ("created", "planning"):
        return "intake", {}
    if current in DISCUSSION:
        return "style", {}
    if current in BEFORE_GENERATION:
        return "direct", {"feedback": {"*": said}}
    iteration = state.get("iteration", 0)
    if spent := exhausted(state, lim):  # the person's request is bounded by the work budgets
        code, sentence = spent
        notice(
            f"Noted, but {sentence}; approve, pick or stop — or raise {code}.",
            code=code,
        )
        return "approve_outputs", {}
    every = [d["id"] for d in state["plan"]["deliverables"]]
    scopes = {d["scope"] for d in heard or []}
    targets = every if not scopes or "*" in scopes else [d for d in every if d in scopes]
    return "direct", {
        "feedback": {d: said for d in targets},
        "pending": targets,
        "requested": targets,
        "settled": {d: None for d in targets},
        "iteration": iteration + 1,
    }


def ask_media_lab(
    state: StudioState, asked: media_asks.MediaAsk, asset_id: str, seen: int
) -> Command[Route]:
    """Hand "upscale hero-b 2x" to the Media Lab (a `media_request` event the run engine turns
    into a job on the current image) and wait at the output gate again."""
    emit(
        "media_request",
        kind=asked.kind,
        deliverable=asked.deliverable,
        factor=asked.factor,
        asset_id=asset_id,
        key=f"{asset_id}:{asked.kind}:{asked.factor}",
    )
    text = (
        f"Sending {asked.deliverable} to the Media Lab: {asked.kind} {asked.factor}x. The "
        "result joins this thread's outputs when the job is done."
    )
    return Command(
        goto="approve_outputs",
        update={"humans_seen": seen, "messages": [AIMessage(text, name="director")]},
    )


async def interject(state: StudioState, runtime: Runtime[StudioContext]) -> Command[Route]:
    """Pin the person's new message as direction, let the concerned specialists answer it,
    then continue from the session's phase with the new direction applied."""
    context = runtime.context
    texts = human_texts(state)
    unseen = [t.strip() for t in texts[state.get("humans_seen", 0) :] if t.strip()]
    said = " ".join(unseen)
    if not said:
        route, extra = next_step(state, said, limits(state, context.defaults))
        return Command(goto=route, update={"humans_seen": len(texts), **extra})
    plan = state["plan"]["deliverables"] if state.get("plan") else []
    if asked := media_asks.parse(said, [d["id"] for d in plan]):
        if (asset_id := (state.get("current") or {}).get(asked.deliverable)) is not None:
            return ask_media_lab(state, asked, asset_id, len(texts))
    new = [
        d
        for text in unseen
        for d in directions.said(text, source="interjection", deliverables=plan)
    ]
    heard: StudioState = {**state, "directions": [*state.get("directions", []), *new]}
    replies, tokens = [], 0
    for role in concerns(said)[:3]:
        reply, used = await speak(context, heard, role, prompts.answer(role, heard, said))
        replies.append(reply)
        tokens += used
    route, extra = next_step(state, said, limits(state, context.defaults), new)
    return Command(
        goto=route,
        update={
            "directions": new,
            "humans_seen": len(texts),
            "messages": replies,
            "usage": {"tokens": tokens},
            **extra,
        },
    )
