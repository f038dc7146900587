"""One specialist's turn in the discussion: ideation in round 1, refinement after."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from agents import prompts
from agents.calls import speak
from graph.context import StudioContext
from graph.state import PERSONAS, Contribution, StudioState


async def contribute(context: StudioContext, state: StudioState, role: str) -> dict[str, Any]:
    """Speak for `role` in the current round and record the contribution."""
    round_no = state.get("round", 1)
    prompt = prompts.ideate(role, state) if round_no <= 1 else prompts.refine(role, state, round_no)
    message, tokens = await speak(context, state, role, prompt)
    if message.additional_kwargs.get(prompts.GAP):
        # the persona could not speak: the note is for the person, and the moderator must not
        # read the same note every round as the team repeating itself
        return {"messages": [message], "usage": {"tokens": tokens}}
    text = str(message.content)
    return {
        "messages": [message],
        "contributions": [Contribution(role=role, round=round_no, text=text)],
        "usage": {"tokens": tokens},
    }


def specialist(role: str) -> Any:
    """The discussion node for `role` (`style` Luna, `composition` Frame, `story` Saga)."""

    async def node(state: StudioState, runtime: Runtime[StudioContext]) -> dict[str, Any]:
        return await contribute(runtime.context, state, role)

    node.__name__ = node.__qualname__ = role
    node.__doc__ = f"{PERSONAS[role]}'s contribution to the current discussion round."
    return node
