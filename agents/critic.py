"""Lens, the quality critic: reviews the plan before generation, scores outputs after."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from langchain_core.messages import AIMessage
from langgraph.runtime import Runtime
from langgraph.types import Command

from adapters.errors import StudioError
from adapters.pixels import Movement, movements
from agents import prompts
from agents.calls import structured
from agents.lens import Scorecard, score_image
from agents.schemas import PlanReview
from graph.context import StudioContext, thread_of
from graph.directions import in_scope
from graph.emit import phase
from graph.state import Critique, Generation, StudioState


def unreviewed(error: StudioError) -> PlanReview:
    """Lens could not review the plan: let it through to the person's plan gate, saying so."""
    return PlanReview(
        approved=True, reasons=[f"Not reviewed by Lens ({error.message}); check it at the gate"]
    )


def as_sentence(text: str) -> str:
    """`text` as a sentence of its own: a capital first letter and a full stop at the end."""
    text = text.strip()
    if not text:
        return ""
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?" else text + "."


async def review(
    state: StudioState, runtime: Runtime[StudioContext]
) -> Command[Literal["direct", "approve_plan"]]:
    """Check the specs against the brief; send them back once with reasons if needed."""
    context = runtime.context
    verdict, tokens = await structured(
        context, state, "critic", PlanReview, prompts.review_plan(state), fallback=unreviewed
    )
    sent_back = bool((state.get("plan_review") or {}).get("sent_back"))
    reasons = [r.strip() for r in verdict.reasons if r.strip()]
    if not verdict.approved and reasons and not sent_back:
        text = "Before we generate, Pixel, please revise: " + "; ".join(reasons)
        return Command(
            goto="direct",
            update={
                "plan_review": {"approved": False, "reasons": reasons, "sent_back": True},
                "feedback": {"*": "; ".join(reasons)},
                "messages": [AIMessage(text, name="critic")],
                "usage": {"tokens": tokens},
                **phase("synthesis", "Lens sent the plan back"),
            },
        )
    text = "The plan holds up. " + (as_sentence("; ".join(reasons)) or "Ready to generate.")
    return Command(
        goto="approve_plan",
        update={
            "plan_review": {
                "approved": verdict.approved,
                "reasons": reasons,
                "sent_back": sent_back,
            },
            "messages": [AIMessage(text, name="critic")],
            "usage": {"tokens": tokens},
            **phase("awaiting_plan_approval", "the plan is ready for your approval"),
        },
    )


async def critique(state: StudioState, runtime: Runtime[StudioContext]) -> dict[str, Any]:
    """Score every new output 0-10 from its pixels against the brief, with Lens's reasons,
    what could not be checked, and whether it moved the way the person's newest measurable
    directions asked (against the deliverable's current variant)."""
    context = runtime.context
    done = {c["asset_id"] for c in state.get("critiques", [])}
    fresh = [g for g in state.get("generations", []) if g["asset_id"] not in done]
    critiques: list[Critique] = []
    lines: list[str] = []
    tokens = 0
    heard = len(state.get("directions") or [])
    for generation in fresh:
        record = await context.assets.get(generation["asset_id"])
        if record is None:
            continue
        deliverable = generation["deliverable"]
        png = await context.assets.read_bytes(record)
        card = await score_image(
            context, state, png, deliverable=deliverable, spec=record.spec, recipe=record.recipe
        )
        tokens += card.tokens
        before = replaced(state, deliverable, record.id)
        moved = [m.line() for m in feedback_moves(state, deliverable, before, card.measurements)]
        critiques.append(
            Critique(
                asset_id=record.id,
                deliverable=deliverable,
                iteration=generation["iteration"],
                score=card.score,
                reasons=card.reasons,
                measurements=card.measurements,
                targets=card.targets,
                unchecked=card.unchecked,
                missing=card.missing,
                undrawn=card.undrawn,
                uncapped=card.uncapped,
                moved=moved,
                sketch=card.sketch,
                directions_seen=heard,
            )
        )
        await context.assets.record_scores(
            thread_of(runtime),
            record.id,
            {
                "score": card.score,
                "measured": card.measured,
                "judged": card.judged,
                **card.parts,
                "sketch": card.sketch,
                "unchecked": card.unchecked,
                "missing": card.missing,
                "moved": moved,
            },
        )
        lines.append(score_line(generation, card, moved))
    text = "My scores:\n" + "\n".join(lines) if lines else "Nothing new to score."
    return {
        "critiques": critiques,
        "messages": [AIMessage(text, name="critic")],
        "usage": {"tokens": tokens},
        **phase("reviewing", "Lens is scoring the outputs"),
    }


def replaced(state: StudioState, deliverable: str, asset_id: str) -> Critique | None:
    """The critique of the variant a new output of `deliverable` is compared with: the
    current one (else, if that is the new output itself, the newest one scored before it)."""
    scored = [c for c in state.get("critiques", []) if c["asset_id"] != asset_id]
    current = (state.get("current") or {}).get(deliverable)
    for critique in reversed(scored):
        if critique["asset_id"] == current:
            return critique
    earlier = [c for c in scored if c["deliverable"] == deliverable]
    return earlier[-1] if earlier else None


def feedback_moves(
    state: StudioState,
    deliverable: str,
    before: Critique | None,
    after: Mapping[str, float],
) -> list[Movement]:
    """How the new image moved on each measurable thing the person asked for this
    deliverable since `before` (the current variant's critique) was scored."""
    if before is None or "directions_seen" not in before:  # older critiques: unknown
        return []
    since = (state.get("directions") or [])[before["directions_seen"] :]
    asked = "; ".join(
        ("no " if d["negative"] else "") + d["text"] for d in in_scope(since, deliverable)
    )
    return movements(asked, before["measurements"], after)


def score_line(generation: Generation, card: Scorecard, moved: list[str]) -> str:
    """One deliverable's line in Lens's chat message."""
    kind = ", sketch" if card.sketch else ""
    top = card.reasons[0] if card.reasons else "on brief"
    line = (
        f"- {generation['deliverable']} (iteration {generation['iteration']}{kind}): "
        f"{card.score}/10 - {top}"
    )
    if moved:
        line += f"\n  you asked: {'; '.join(moved)}"
    checked = {m.split(":")[0].strip().lower() for m in moved}  # "bigger: yes (…)"
    unchecked = [u for u in card.unchecked if u.strip().lower() not in checked]
    if unchecked:
        line += f"\n  could not check: {'; '.join(unchecked)}"
    return line
