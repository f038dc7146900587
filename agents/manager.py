"""The manager: iterate, hand over to the person, or stop — within the thread's budgets."""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.messages import AIMessage
from langgraph.runtime import Runtime
from langgraph.types import Command

from agents.consistency import latest
from graph.budgets import limits, stop_when_spent
from graph.context import StudioContext, resolve
from graph.emit import phase
from graph.state import Critique, Failure, StudioState


def latest_critiques(state: StudioState) -> dict[str, Critique]:
    """The critique of each deliverable's newest output."""
    newest = {g["asset_id"] for g in latest(state.get("generations", [])).values()}
    return {c["deliverable"]: c for c in state.get("critiques", []) if c["asset_id"] in newest}


def drifting(state: StudioState, threshold: float) -> set[str]:
    """The outliers of the set: deliverables in the most pairs whose drift is over threshold.
    A deliverable the person steered on its own is meant to differ, so it is never one."""
    report: dict[str, Any] = dict(state.get("drift") or {})
    steered = set(state.get("focus") or {})
    counts: dict[str, int] = {}
    for pair in report.get("pairs", []):
        keys = {str(pair["a"]), str(pair["b"])}
        if float(pair.get("drift", 0.0)) > threshold and not keys & steered:
            for key in keys:
                counts[key] = counts.get(key, 0) + 1
    top = max(counts.values(), default=0)
    return {key for key, count in counts.items() if count == top > 0}


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


async def manage(
    state: StudioState, runtime: Runtime[StudioContext]
) -> Command[Literal["direct", "approve_outputs", "finalize"]]:
    """Send weak outputs back to Pixel with Lens's critique while budgets allow."""
    lim = limits(state, resolve(runtime).defaults)
    iteration = state.get("iteration", 1)
    if failed := nothing_made(state):
        return failed
    if stop := stop_when_spent(state, lim):
        return stop
    critiques = latest_critiques(state)
    weak = {d for d, c in critiques.items() if c["score"] < lim.score_threshold}
    report = state.get("drift")
    drift = report["drift"] if report else 0.0
    outliers = drifting(state, lim.drift_threshold) if drift > lim.drift_threshold else set()
    weak |= outliers
    scores = ", ".join(f"{d} {c['score']}" for d, c in sorted(critiques.items()))
    scores += "".join(
        f"; {f['deliverable']} failed ({f['message']})" for f in failures_of(state, iteration)
    )
    if not weak:
        text = f"Every output clears {lim.score_threshold} ({scores}); over to you."
        return Command(
            goto="approve_outputs",
            update={
                "messages": [AIMessage(text, name="manager")],
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
                "stop_reason": "max_iterations",
                "messages": [AIMessage(text, name="manager")],
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
            "iteration": iteration + 1,
            "pending": sorted(weak),
            "feedback": feedback,
            "messages": [AIMessage(text, name="manager")],
            **phase("iterating", f"iteration {iteration + 1}"),
        },
    )


def choose(state: StudioState) -> dict[str, str]:
    """Per deliverable: the person's pick, else the best-scoring output (newest on ties)."""
    picks = dict(state.get("selected") or {})
    best: dict[str, tuple[float, int, str]] = {}
    for c in state.get("critiques", []):
        key = (c["score"], c["iteration"], c["asset_id"])
        if c["deliverable"] not in best or key > best[c["deliverable"]]:
            best[c["deliverable"]] = key
    for g in state.get("generations", []):  # outputs never critiqued still count
        best.setdefault(g["deliverable"], (-1.0, g["iteration"], g["asset_id"]))
    return {d: picks.get(d, entry[2]) for d, entry in best.items()}


async def finalize(state: StudioState, runtime: Runtime[StudioContext]) -> dict[str, Any]:
    """Close the session: record the chosen outputs and the verdict, and say why it ended."""
    context = resolve(runtime)
    if state.get("stop_requested"):  # a stop sent as input, from any phase
        outcome, reason = "interrupted", "stopped_by_person"
    else:
        outcome = state.get("outcome") or "approved"
        reason = state.get("stop_reason") or outcome
    chosen = choose(state)
    if chosen:
        await context.assets.record_verdict(list(chosen.values()), outcome)
    listing = ", ".join(f"{d}: {a[:8]}" for d, a in sorted(chosen.items())) or "no images"
    text = f"Session {outcome} ({reason.replace('_', ' ')}). Final set: {listing}."
    return {
        "selected": chosen,
        "stop_reason": reason,
        "outcome": outcome,
        "stop_requested": False,
        "messages": [AIMessage(text, name="manager")],
        **phase(outcome, reason),
    }
