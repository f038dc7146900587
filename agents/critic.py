"""Lens, the quality critic: reviews the plan before generation, scores outputs after."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Any, Literal

from langchain_core.messages import AIMessage
from langgraph.runtime import Runtime
from langgraph.types import Command

from adapters.craft import brief_targets
from adapters.errors import StudioError
from adapters.pixels import assess, measure
from agents import prompts
from agents.calls import overrides, structured
from agents.schemas import CritiqueVerdict, PlanReview
from graph.context import StudioContext, resolve
from graph.directions import brief_text
from graph.emit import phase
from graph.state import Critique, StudioState

MEASURED_WEIGHT = 0.7
"""Share of the final score that comes from pixel measurements (the rest: Lens's judgement)."""


def unreviewed(error: StudioError) -> PlanReview:
    """Lens could not review the plan: let it through to the person's plan gate, saying so."""
    return PlanReview(
        approved=True, reasons=[f"Not reviewed by Lens ({error.message}); check it at the gate"]
    )


def measured_only(error: StudioError, measured: float) -> CritiqueVerdict:
    """Lens could not judge an output: its score is the pixel measurement alone."""
    return CritiqueVerdict(
        score=measured, reasons=[f"Scored from pixel measurements only ({error.message})"]
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
    context = resolve(runtime)
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
    """Score every new output 0-10 from its pixels against the brief, with Lens's reasons."""
    context = resolve(runtime)
    done = {c["asset_id"] for c in state.get("critiques", [])}
    fresh = [g for g in state.get("generations", []) if g["asset_id"] not in done]
    critiques: list[Critique] = []
    lines: list[str] = []
    tokens = 0
    for generation in fresh:
        record = await context.assets.get(generation["asset_id"])
        if record is None:
            continue
        png = await context.assets.read_bytes(record)
        measured = await asyncio.to_thread(measure, png)
        spec = record.spec
        goal = brief_targets(brief_text(state, generation["deliverable"]))
        assessment = assess(
            measured,
            palette=list(goal["palette"]),
            brightness=float(goal["brightness"]),
            contrast=float(goal["contrast"]),
            subject_x=spec.get("subject_x"),
            horizon=spec.get("horizon"),
            weather=str(goal["weather"]),
        )
        numbers = {**measured.scalars(), "measured_score": assessment.score}
        prompt = prompts.critique(state, spec, numbers, assessment.findings)
        if await context.models.accepts_images("critic", overrides(state)):
            prompt = prompts.with_image(prompt, png)
        verdict, used = await structured(
            context,
            state,
            "critic",
            CritiqueVerdict,
            prompt,
            fallback=partial(measured_only, measured=assessment.score),
        )
        tokens += used
        judged = max(0.0, min(10.0, verdict.score))
        score = round(MEASURED_WEIGHT * assessment.score + (1 - MEASURED_WEIGHT) * judged, 1)
        reasons = list(dict.fromkeys([*assessment.findings, *verdict.reasons]))[:6]
        critiques.append(
            Critique(
                asset_id=record.id,
                deliverable=generation["deliverable"],
                iteration=generation["iteration"],
                score=score,
                reasons=reasons,
                measurements={k: round(v, 4) for k, v in numbers.items()},
            )
        )
        await context.assets.record_scores(
            record.id,
            {"score": score, "measured": assessment.score, "judged": judged, **assessment.parts},
        )
        top = reasons[0] if reasons else "on brief"
        lines.append(
            f"- {generation['deliverable']} (iteration {generation['iteration']}): "
            f"{score}/10 - {top}"
        )
    text = "My scores:\n" + "\n".join(lines) if lines else "Nothing new to score."
    return {
        "critiques": critiques,
        "messages": [AIMessage(text, name="critic")],
        "usage": {"tokens": tokens},
        **phase("reviewing", "Lens is scoring the outputs"),
    }
