"""The moderator: advance when a round adds nothing new, repeats itself or hits the cap."""

from __future__ import annotations

import re
from typing import Any, Literal

from langchain_core.messages import AIMessage
from langgraph.runtime import Runtime
from langgraph.types import Command

from graph.budgets import limits, stop_when_spent
from graph.context import StudioContext
from graph.emit import phase
from graph.state import Contribution, StudioState

NOVELTY_MIN = 4
"""A refinement round must add at least this many new content words to earn another round."""
REPEAT_SIMILARITY = 0.6
"""A specialist whose turn overlaps its previous one this much is repeating itself."""
DISAGREEMENT = re.compile(
    r"\b(disagree|push back|won't work|doesn't work|conflicts? with)\b",
    re.IGNORECASE,
)
_STOP = frozenset(
    "about after again also because before being could from have here into just like more "
    "most much only other over should some such than that their them then there these they "
    "this those through very what when where which while will with would your".split()
)


def keywords(text: str) -> set[str]:
    """Content words (four letters or more, not stop words) of a contribution."""
    return {w for w in re.findall(r"[a-z]{4,}", text.lower()) if w not in _STOP}


def _overlap(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 1.0


def review_round(contributions: list[Contribution], round_no: int) -> dict[str, Any]:
    """New ideas this round, who repeated themselves, and whether the team disagrees."""
    this = [c for c in contributions if c["round"] == round_no]
    before = set().union(*(keywords(c["text"]) for c in contributions if c["round"] < round_no))
    new = set().union(*(keywords(c["text"]) for c in this)) - before
    repeated = []
    for c in this:
        previous = [p for p in contributions if p["role"] == c["role"] and p["round"] < round_no]
        if previous and _overlap(keywords(c["text"]), keywords(previous[-1]["text"])) >= (
            REPEAT_SIMILARITY
        ):
            repeated.append(c["role"])
    disputes = [c["role"] for c in this if DISAGREEMENT.search(c["text"])]
    return {"new": sorted(new), "repeated": repeated, "disputes": disputes}


Route = Literal["style", "direct", "ask_consensus", "finalize"]


def ideas(count: int) -> str:
    return f"{count} new idea" if count == 1 else f"{count} new ideas"


async def moderate(state: StudioState, runtime: Runtime[StudioContext]) -> Command[Route]:
    """Decide: another refinement round, synthesis, or ask the person to settle a dispute."""
    lim = limits(state, runtime.context.defaults)
    round_no = state.get("round", 1)
    if stop := stop_when_spent(state, lim):
        return stop
    seen = review_round(state.get("contributions", []), round_no)
    converged = round_no > 1 and len(seen["new"]) < NOVELTY_MIN
    at_cap = round_no >= lim.max_rounds
    if not (converged or at_cap or seen["repeated"]):
        note = f"Round {round_no} added {ideas(len(seen['new']))}; one more round to refine."
        return Command(
            goto="style",
            update={
                "round": round_no + 1,
                "messages": [AIMessage(note, name="manager")],
                **phase("refinement", f"round {round_no + 1}"),
            },
        )
    if seen["disputes"] and not seen["repeated"]:
        who = ", ".join(seen["disputes"])
        question = (
            f"The team still disagrees after {round_no} rounds ({who}). Which direction "
            "should they take? Answer in a sentence and they will follow it."
        )
        return Command(
            goto="ask_consensus",
            update={
                "question": question,
                "messages": [AIMessage(question, name="manager")],
            },
        )
    if seen["repeated"]:
        why = f"{', '.join(seen['repeated'])} started repeating, so we move on"
    elif converged:
        why = f"round {round_no} added only {ideas(len(seen['new']))}: we have consensus"
    else:
        why = f"that was the last of {lim.max_rounds} rounds"
    return Command(
        goto="direct",
        update={
            "messages": [
                AIMessage(f"Discussion closed: {why}. Pixel, over to you.", name="manager")
            ],
            **phase("synthesis", "turning the consensus into specs"),
        },
    )
