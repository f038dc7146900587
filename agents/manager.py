"""The manager: iterate, hand over to the person, or stop — within the thread's budgets."""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.messages import AIMessage
from langgraph.runtime import Runtime
from langgraph.types import Command

from graph import variants
from graph.budgets import limits, stop_when_spent
from graph.context import StudioContext, thread_of
from graph.emit import phase
from graph.state import Critique, Failure, StudioState


def steered_on_their_own(state: StudioState) -> set[str]:
    """The deliverables the person gave a direction of their own (meant to differ)."""
    return {d["scope"] for d in state.get("directions", []) if d["scope"] != "*"}


def drifting(state: StudioState, threshold: float) -> set[str]:
    """The outliers of the set: deliverables in the most pairs whose drift is over threshold.
    A deliverable the person steered on its own is meant to differ, so it is never one."""
    report: dict[str, Any] = dict(state.get("drift") or {})
    steered = steered_on_their_own(state)
    counts: dict[str, int] = {}
    for pair in report.get("pairs", []):
        keys = {str(pair["a"]), str(pair["b"])}
        if float(pair.get("drift", 0.0)) > threshold and not keys & steered:
            for key in keys:
                counts[key] = counts.get(key, 0) + 1
    top = max(counts.values(), default=0)
    return {key for key, count in counts.items() if count == top > 0}


def drift_note(state: StudioState, threshold: float, outliers: set[str], settled: set[str]) -> str:
    """What the manager says of a set drift over `threshold` ("" when it is not): the
    outliers it sends back, or, when it sends none, why (the person steered them on their own,
    or iterating did not bring them closer)."""
    report: dict[str, Any] = dict(state.get("drift") or {})
    drift = float(report.get("drift", 0.0))
    if drift <= threshold:
        return ""
    head = f"Set drift {drift:.2f} is over {threshold}: "
    if outliers:
        names = ", ".join(sorted(outliers))
        return head + f"{names} {'drifts' if len(outliers) == 1 else 'drift'} from the set. "
    involved = {
        str(pair[k])
        for pair in report.get("pairs", [])
        if float(pair.get("drift", 0.0)) > threshold
        for k in ("a", "b")
    }
    steered = steered_on_their_own(state) & involved
    reasons = []
    if steered:
        one = len(steered) == 1
        reasons.append(
            f"{', '.join(sorted(steered))} {'stands' if one else 'stand'} apart as you steered "
            f"{'it' if one else 'them'} on {'its' if one else 'their'} own, so I did not pull "
            f"{'it' if one else 'them'} back (regenerate the others to match, or pick an "
            "earlier variant)"
        )
    if kept := (involved & settled) - steered:
        reasons.append(f"iterating did not bring {', '.join(sorted(kept))} closer, so I stopped")
    return head + ("; ".join(reasons) or "no single output stands out") + ". "


def match_the_set(critiques: dict[str, Critique], deliverable: str) -> str:
    """Feedback, in Lens's finding format, that pulls an outlier back toward the set."""
    others = [
        float(c["measurements"].get("brightness", 0.0))
        for d, c in critiques.items()
        if d != deliverable
    ]
    own = critiques.get(deliverable)
    if not others or own is None:
        return "palette: drifts from the set; keep the set's palette"
    target = sum(others) / len(others)
    measured = float(own["measurements"].get("brightness", target))
    return (
        f"brightness: drifts from the set (measured {measured:.2f}, target {target:.2f}); "
        "palette: drifts from the set; keep the set's palette"
    )


def failures_of(state: StudioState, iteration: int) -> list[Failure]:
    return [f for f in state.get("failures", []) if f["iteration"] == iteration]


def nothing_made(state: StudioState) -> Command[Any] | None:
    """End the session as `failed` when generation failed and no image exists at all."""
    failures = state.get("failures", [])
    if not failures or state.get("generations"):
        return None
    reasons = "; ".join(f"{f['deliverable']}: {f['message']}" for f in failures[-3:])
    text = f"No image could be generated, so the session cannot go on. {reasons}"
    return Command(
        goto="finalize",
        update={
            "stop_reason": "generation_failed",
            "outcome": "failed",
            "messages": [AIMessage(text, name="manager")],
        },
    )


def cannot_be_drawn(critiques: dict[str, Critique], threshold: float) -> dict[str, list[str]]:
    """Deliverables below `threshold` only because the renderer cannot draw something asked
    (their score before that cap clears it): iterating cannot help them."""
    return {
        d: list(c.get("undrawn") or [])
        for d, c in critiques.items()
        if c.get("undrawn") and c["score"] < threshold <= c.get("uncapped", c["score"])
    }


async def manage(
    state: StudioState, runtime: Runtime[StudioContext]
) -> Command[Literal["direct", "approve_outputs", "finalize"]]:
    """Send weak outputs back to Pixel with Lens's critique while budgets allow."""
    context = runtime.context
    lim = limits(state, context.defaults)
    iteration = state.get("iteration", 1)
    if failed := nothing_made(state):
        return failed
    promoted, newly_settled, ruled = variants.promote(state)
    state = {
        **state,
        "current": {**(state.get("current") or {}), **promoted},
        "settled": {**(state.get("settled") or {}), **newly_settled},
    }
    ruling: dict[str, Any] = {
        "current": promoted,
        "settled": newly_settled,
        "requested": [],
    }
    if promoted or newly_settled:
        for verdict, ids in variants.verdicts(state, state["current"]).items():
            await context.assets.record_verdict(thread_of(runtime), ids, verdict)
    if newly_settled:  # Pixel's next revision starts from the variant that was kept
        kept = {d: state["current"][d] for d in newly_settled}
        ruling["specs"] = await variants.specs_of(context.assets, kept)
    said = "".join(f"{line} " for line in ruled)  # the ruling opens the manager's message
    if stop := stop_when_spent(state, lim):
        update = dict(stop.update) if isinstance(stop.update, dict) else {}
        update["messages"] = [
            AIMessage(said + m.content, name="manager") for m in update["messages"]
        ]
        return Command(goto=stop.goto, update={**ruling, **update})
    critiques = variants.current_critiques(state)
    settled = set(state.get("settled") or {})
    undrawable = cannot_be_drawn(critiques, lim.score_threshold)
    weak = {
        d
        for d, c in critiques.items()
        if c["score"] < lim.score_threshold and d not in settled and d not in undrawable
    }
    report = state.get("drift")
    drift = report["drift"] if report else 0.0
    outliers = drifting(state, lim.drift_threshold) if drift > lim.drift_threshold else set()
    outliers -= settled
    weak |= outliers
    said += drift_note(state, lim.drift_threshold, outliers, settled)
    scores = ", ".join(f"{d} {c['score']}" for d, c in sorted(critiques.items()))
    scores += "".join(
        f"; {f['deliverable']} failed ({f['message']})" for f in failures_of(state, iteration)
    )
    if not weak:
        below = sorted(d for d in settled if d in critiques and d not in undrawable)
        text = (
            f"Every output clears {lim.score_threshold} ({scores}); over to you."
            if not below
            else f"{', '.join(below)} stayed below {lim.score_threshold} and iterating did not "
            f"improve {'it' if len(below) == 1 else 'them'}, so I stopped ({scores}); over to you."
        )
        if undrawable:
            things = ", ".join(dict.fromkeys(n for names in undrawable.values() for n in names))
            text = (
                f"{', '.join(sorted(undrawable))}: the image renderer cannot draw {things}, so "
                f"{'it stays' if len(undrawable) == 1 else 'they stay'} below "
                f"{lim.score_threshold} and iterating cannot fix that; a model can (set "
                f"COMFYUI_URL). " + text.replace("Every output clears", "The rest clear", 1)
                if len(undrawable) < len(critiques)
                else f"The image renderer cannot draw {things}, so no output clears "
                f"{lim.score_threshold} and iterating cannot fix that; a model can (set "
                f"COMFYUI_URL). Scores: {scores}; over to you."
            )
        if lim.auto_approve:  # nobody is asked: say what happens instead
            text = text.removesuffix("; over to you.") + "; auto-approve is on, so I approve them."
        return Command(
            goto="approve_outputs",
            update={
                **ruling,
                "messages": [AIMessage(said + text, name="manager")],
                **phase("awaiting_approval", "outputs ready for review"),
            },
        )
    if iteration >= lim.max_iterations:
        text = (
            f"Iteration budget reached ({iteration} of {lim.max_iterations}); {scores}. "
            "Over to you to approve, pick or stop."
        )
        return Command(
            goto="approve_outputs",
            update={
                **ruling,
                "stop_reason": "max_iterations",
                "messages": [AIMessage(said + text, name="manager")],
                **phase("awaiting_approval", "iteration budget reached"),
            },
        )
    feedback = {d: "; ".join(critiques[d]["reasons"]) if d in critiques else "" for d in weak}
    for d in outliers:
        feedback[d] = "; ".join(filter(None, [feedback[d], match_the_set(critiques, d)]))
    text = (
        f"Iteration {iteration + 1}: {', '.join(sorted(weak))} below target "
        f"({scores}). Pixel, revise with Lens's notes."
    )
    return Command(
        goto="direct",
        update={
            **ruling,
            "iteration": iteration + 1,
            "pending": sorted(weak),
            "feedback": feedback,
            "messages": [AIMessage(said + text, name="manager")],
            **phase("iterating", f"iteration {iteration + 1}"),
        },
    )


async def finalize(state: StudioState, runtime: Runtime[StudioContext]) -> dict[str, Any]:
    """Close the session: record the chosen outputs and the verdict, and say why it ended."""
    context = runtime.context
    if state.get("stop_requested"):  # a stop sent as input, from any phase
        outcome, reason = "interrupted", "stopped_by_person"
    else:
        outcome = state.get("outcome") or "approved"
        reason = state.get("stop_reason") or outcome
    chosen = variants.current_of(state)  # exactly what the output gate showed
    if chosen:
        superseded = variants.verdicts(state, chosen)["superseded"]
        await context.assets.record_verdict(thread_of(runtime), superseded, "superseded")
        await context.assets.record_verdict(thread_of(runtime), list(chosen.values()), outcome)
    listing = ", ".join(f"{d}: {a[:8]}" for d, a in sorted(chosen.items())) or "no images"
    why = reason.replace("_", " ")
    text = f"Session {outcome}{'' if why == outcome else f' ({why})'}. Final set: {listing}."
    return {
        "current": chosen,
        "stop_reason": reason,
        "outcome": outcome,
        "stop_requested": False,
        "messages": [AIMessage(text, name="manager")],
        **phase(outcome, reason),
    }
