"""The planner: expand the brief into deliverables, scope and style guards.

The deliverables the person named (`settings.deliverables`, else the counts and formats in the
brief, read by `adapters.deliverables`) are a contract, whatever model plans: the prompt carries
them, the answer is checked against them, a wrong answer gets one corrective retry, and a
second wrong answer is replaced by the named list (keeping the model's titles and purposes
where the ids match), which the plan message says.
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langgraph.runtime import Runtime

from adapters.deliverables import (
    ASPECTS,
    MAX_DELIVERABLES,
    Requested,
    deliverables_in,
    describe,
    parse_deliverables,
    required_line,
    slug,
)
from agents import prompts
from agents.calls import structured
from agents.schemas import PlanOut
from graph.context import StudioContext
from graph.emit import phase
from graph.state import Deliverable, Plan, StudioState, valid_settings

DIRECTION = "## Direction from the person\n"


def _unique(text: str, taken: set[str]) -> str:
    base = slug(text) or "image"
    ident, n = base, 2
    while ident in taken:
        ident, n = f"{base}-{n}", n + 1
    taken.add(ident)
    return ident


def clean_plan(plan: PlanOut) -> Plan:
    """The planner's answer as the plan the thread keeps: unique slugs, known aspect ratios,
    one to `MAX_DELIVERABLES`, a short guard list."""
    taken: set[str] = set()
    deliverables: list[Deliverable] = []
    for item in plan.deliverables[:MAX_DELIVERABLES]:
        aspect = item.aspect.strip() if item.aspect.strip() in ASPECTS else "16:9"
        deliverables.append(
            Deliverable(
                id=_unique(item.id or item.title, taken),
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
    return Plan(deliverables=deliverables, style_guards=guards, scope=plan.scope.strip())


def required(state: StudioState) -> tuple[list[Requested], list[str]]:
    """The deliverables the person named, exactly (the thread's settings win over the brief),
    and notes for the plan message about what could not be honoured (over the cap)."""
    listed = valid_settings(state.get("settings")).get("deliverables")
    if listed:  # the schema accepts only lists the parser reads in full
        return parse_deliverables(listed), []
    notes: list[str] = []
    request = deliverables_in(state.get("brief", ""))
    if request.asked > len(request.deliverables):
        notes.append(
            f"You asked for {request.asked} images; a session makes at most "
            f"{MAX_DELIVERABLES}, so this plan has the first {len(request.deliverables)}."
        )
    return request.deliverables, notes


def with_requirement(prompt: list[BaseMessage], wanted: list[Requested]) -> list[BaseMessage]:
    """The planner prompt with the required list as the first direction from the person (where
    the built-in model reads it) and in the task."""
    *head, body = prompt
    text = str(body.content)
    line = f"- {required_line(wanted)}\n"
    if DIRECTION in text:
        text = text.replace(DIRECTION + "- (none)\n", DIRECTION, 1)
        text = text.replace(DIRECTION, DIRECTION + line, 1)
    else:
        text = f"{DIRECTION}{line}\n{text}"
    text += (
        f"\nThe person named the deliverables: list exactly these {len(wanted)}, with these ids "
        f"and aspect ratios: {describe(wanted)}."
    )
    return [*head, HumanMessage(text)]


def _pairs(deliverables: list[Deliverable]) -> list[tuple[str, str]]:
    return sorted((d["id"], d["aspect"]) for d in deliverables)


def matches(cleaned: Plan, wanted: list[Requested]) -> bool:
    """Whether a plan has exactly the wanted ids with their aspect ratios (in any order)."""
    return _pairs(cleaned["deliverables"]) == sorted((w.id, w.aspect) for w in wanted)


def enforce(cleaned: Plan, wanted: list[Requested]) -> list[Deliverable]:
    """The wanted list in its order, with the model's title and purpose where an id matches."""
    theirs = {d["id"]: d for d in cleaned["deliverables"]}
    out: list[Deliverable] = []
    for w in wanted:
        mine = theirs.get(w.id)
        out.append(
            Deliverable(
                id=w.id,
                title=(mine["title"] if mine and mine["title"] else w.title),
                purpose=(mine["purpose"] if mine and mine["purpose"] else w.purpose),
                aspect=w.aspect,
            )
        )
    return out


def correction(cleaned: Plan, wanted: list[Requested]) -> HumanMessage:
    """The corrective note for a plan whose deliverables are not the ones asked for."""
    got = ", ".join(f"{d['id']} {d['aspect']}" for d in cleaned["deliverables"])
    return HumanMessage(
        f"Your plan lists {got}, but the person asked for exactly {len(wanted)} deliverables: "
        f"{describe(wanted)}. Answer again with JSON that matches the schema, with exactly these "
        "deliverable ids and aspect ratios, in this order; keep your titles, purposes, scope and "
        "style guards."
    )


async def plan(state: StudioState, runtime: Runtime[StudioContext]) -> dict[str, Any]:
    """Ask the planner for deliverables and guards, hold them to what the person named, then
    tell the team."""
    context = runtime.context
    wanted, notes = required(state)
    prompt = prompts.plan(state)
    if wanted:
        prompt = with_requirement(prompt, wanted)
    answer, tokens = await structured(context, state, "planner", PlanOut, prompt)
    cleaned = clean_plan(answer)
    if wanted and not matches(cleaned, wanted):
        retry = [*prompt, AIMessage(answer.model_dump_json()), correction(cleaned, wanted)]
        second, more = await structured(context, state, "planner", PlanOut, retry)
        tokens += more
        cleaned = clean_plan(second)
        if not matches(cleaned, wanted):
            got = ", ".join(f"{d['id']} {d['aspect']}" for d in cleaned["deliverables"])
            notes.append(
                f"The planner twice answered {got}, not the deliverables asked for; the plan "
                f"uses exactly yours: {describe(wanted)}."
            )
    if wanted:  # in the order asked, with the model's titles and purposes where ids match
        cleaned["deliverables"] = enforce(cleaned, wanted)
    listing = "; ".join(f"{d['title']} ({d['aspect']})" for d in cleaned["deliverables"])
    guards = "; ".join(cleaned["style_guards"]) or "none"
    text = " ".join(
        [
            f"Plan: {listing}.",
            *notes,
            f"Scope: {cleaned['scope'].rstrip('.') or 'as briefed'}. Style guards: {guards}.",
        ]
    )
    return {
        "plan": cleaned,
        "round": 1,
        "messages": [AIMessage(text, name="planner")],
        "usage": {"tokens": tokens},
        **phase("ideation", "the team is brainstorming"),
    }
