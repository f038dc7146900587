"""The planner: expand the brief into deliverables, scope and style guards."""

from __future__ import annotations

import re
from typing import Any

from langchain_core.messages import AIMessage
from langgraph.runtime import Runtime

from agents import prompts
from agents.calls import structured
from agents.schemas import Plan
from graph.context import StudioContext, resolve
from graph.emit import phase
from graph.state import Deliverable, StudioState

ASPECTS = ("16:9", "9:16", "4:5", "5:4", "3:2", "2:3", "4:3", "3:4", "1:1", "21:9")
MAX_DELIVERABLES = 4


def _slug(text: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:24] or "image"
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    taken.add(slug)
    return slug


def clean_plan(plan: Plan) -> dict[str, Any]:
    """Unique slugs, known aspect ratios, one to four deliverables, short guard list."""
    taken: set[str] = set()
    deliverables: list[Deliverable] = []
    for item in plan.deliverables[:MAX_DELIVERABLES]:
        aspect = item.aspect.strip() if item.aspect.strip() in ASPECTS else "16:9"
        deliverables.append(
            Deliverable(
                id=_slug(item.id or item.title, taken),
                title=item.title.strip() or item.id,
                purpose=item.purpose.strip(),
                aspect=aspect,
            )
        )
    if not deliverables:
        deliverables.append(
            Deliverable(id="hero", title="Hero", purpose="the main image", aspect="16:9")
        )
    guards = [g.strip() for g in plan.style_guards if g.strip()][:6]
    return {"deliverables": deliverables, "style_guards": guards, "scope": plan.scope.strip()}


async def plan(state: StudioState, runtime: Runtime[StudioContext]) -> dict[str, Any]:
    """Ask the planner for deliverables and guards, then tell the team."""
    context = resolve(runtime)
    answer, tokens = await structured(context, state, "planner", Plan, prompts.plan(state))
    cleaned = clean_plan(answer)
    listing = "; ".join(f"{d['title']} ({d['aspect']})" for d in cleaned["deliverables"])
    guards = "; ".join(cleaned["style_guards"]) or "none"
    text = f"Plan: {listing}. Scope: {cleaned['scope'] or 'as briefed'}. Style guards: {guards}."
    return {
        "plan": cleaned,
        "round": 1,
        "messages": [AIMessage(text, name="planner")],
        "usage": {"tokens": tokens},
        **phase("ideation", "the team is brainstorming"),
    }
