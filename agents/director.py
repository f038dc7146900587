"""Pixel, the technical director: the team's consensus as one safe `GenerationSpec` each."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage
from langgraph.runtime import Runtime

from adapters.specs import GenerationSpec, SpecBatch, SpecProposal, clamp_spec
from agents import prompts
from agents.calls import structured
from graph.context import StudioContext, resolve
from graph.emit import phase
from graph.state import StudioState


def targets(state: StudioState) -> list[str]:
    """Deliverables to specify now: the pending ones, else every deliverable in the plan."""
    every = [d["id"] for d in state["plan"]["deliverables"]]
    pending = [d for d in state.get("pending") or [] if d in every]
    return pending or every


def settle(
    batch: SpecBatch,
    wanted: list[str],
    current: dict[str, dict[str, Any]],
    context: StudioContext,
    runnable: list[str],
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Clamp each proposal to safe bounds and to a template the image server can run; fill
    any deliverable the model skipped from its closest sibling."""
    by_id = {p.deliverable: p for p in batch.specs}
    fallback = batch.specs[0] if batch.specs else None
    specs: dict[str, dict[str, Any]] = {}
    notes: list[str] = []
    for deliverable in wanted:
        proposal = by_id.get(deliverable)
        if proposal is None:
            base = current.get(deliverable) or (fallback.model_dump() if fallback else None)
            if base is None:
                base = {"prompt": deliverable}
            proposal = SpecProposal.model_validate({**base, "deliverable": deliverable})
            notes.append(f"{deliverable}: no spec proposed; reused the closest one")
        spec, adjustments = clamp_spec(proposal, context.limits)
        if runnable and spec.template not in runnable:
            adjustments.append(f"template {spec.template} cannot run here -> {runnable[0]}")
            spec = spec.model_copy(update={"template": runnable[0]})
        previous = current.get(deliverable)
        if previous and spec.seed == previous.get("seed"):
            # a regeneration must never be a silent cache hit on the same seed
            spec = spec.model_copy(update={"seed": (spec.seed + 1) % 2**32})
        specs[deliverable] = spec.model_dump()
        notes += [f"{deliverable}: {a}" for a in adjustments]
    return specs, notes


def describe(spec: GenerationSpec) -> str:
    return (
        f"{spec.deliverable}: {spec.width}x{spec.height}, {spec.steps} steps, cfg {spec.cfg}, "
        f"{spec.sampler}, seed {spec.seed}; {spec.lighting}, {spec.weather}, "
        f"{spec.camera} camera, palette {' '.join(spec.palette[:4])}"
    )


async def direct(state: StudioState, runtime: Runtime[StudioContext]) -> dict[str, Any]:
    """Ask Pixel for specs (applying any feedback), clamp them, and explain the result."""
    context = resolve(runtime)
    wanted = targets(state)
    feedback = dict(state.get("feedback") or {})
    for deliverable, said in (state.get("focus") or {}).items():
        if deliverable in wanted and said not in feedback.get(deliverable, ""):
            # the person's word on one deliverable holds in every later iteration of it
            feedback[deliverable] = "; ".join(filter(None, [said, feedback.get(deliverable)]))
    runnable = await context.images.templates()
    batch, tokens = await structured(
        context, state, "director", SpecBatch, prompts.specs(state, feedback, wanted, runnable)
    )
    specs, notes = settle(batch, wanted, dict(state.get("specs") or {}), context, runnable)
    lines = [describe(GenerationSpec.model_validate(s)) for s in specs.values()]
    text = "Specs ready:\n" + "\n".join(f"- {line}" for line in lines)
    if feedback:
        text += "\nApplied feedback: " + "; ".join(f"{k}: {v}" for k, v in feedback.items())
    if notes:
        text += "\nClamped to safe bounds: " + "; ".join(notes)
    if batch.rationale:
        text += f"\n{batch.rationale.strip()}"
    iterating = state.get("iteration", 0) > 0
    return {
        "specs": specs,
        "spec_notes": notes,
        "feedback": {key: None for key in state.get("feedback") or {}},
        "messages": [AIMessage(text, name="director")],
        "usage": {"tokens": tokens},
        **phase("iterating" if iterating else "synthesis", "specs ready"),
    }
