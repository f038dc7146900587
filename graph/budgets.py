"""Per-thread budgets: the thread's settings over the process defaults, and what is left."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from langchain_core.messages import AIMessage
from langgraph.types import Command

from graph.context import SessionDefaults
from graph.state import StudioState, valid_settings


@dataclass(frozen=True)
class Limits:
    """The effective limits and thresholds for one thread."""

    max_iterations: int
    max_generations: int
    max_seconds: float
    max_tokens: int
    max_rounds: int
    score_threshold: float
    drift_threshold: float
    auto_approve: bool


def limits(state: StudioState, defaults: SessionDefaults) -> Limits:
    """Merge the thread's settings over the defaults (only the settings the schema accepts:
    a thread whose stored settings are wrong runs on the defaults for those)."""
    settings = valid_settings(state.get("settings"))
    budgets = settings.get("budgets") or {}
    return Limits(
        max_iterations=int(budgets.get("max_iterations", defaults.max_iterations)),
        max_generations=int(budgets.get("max_generations", defaults.max_generations)),
        max_seconds=float(budgets.get("max_seconds", defaults.max_seconds)),
        max_tokens=int(budgets.get("max_tokens", defaults.max_tokens)),
        max_rounds=int(settings.get("max_rounds", defaults.max_rounds)),
        score_threshold=float(settings.get("score_threshold", defaults.score_threshold)),
        drift_threshold=float(settings.get("drift_threshold", defaults.drift_threshold)),
        auto_approve=bool(settings.get("auto_approve", False)),
    )


STOP_MESSAGES = {
    "max_generations": "the generation budget is used up ({used} of {limit} images)",
    "max_seconds": "the time budget is used up ({used:.0f} of {limit:.0f} seconds of work)",
    "max_tokens": "the LLM token budget is used up ({used} of {limit} tokens)",
}


def exhausted(state: StudioState, lim: Limits) -> tuple[str, str] | None:
    """The first budget that has run out, as `(reason code, sentence for the person)`."""
    usage = state.get("usage") or {}
    checks = (
        ("max_tokens", usage.get("tokens", 0), lim.max_tokens),
        ("max_seconds", usage.get("seconds", 0.0), lim.max_seconds),
        ("max_generations", usage.get("generations", 0), lim.max_generations),
    )
    for code, used, limit in checks:
        if used >= limit:
            return code, STOP_MESSAGES[code].format(used=used, limit=limit)
    return None


def stop_when_spent(state: StudioState, lim: Limits) -> Command[Any] | None:
    """End the session (phase `completed`) when a budget has run out, telling the person why."""
    spent = exhausted(state, lim)
    if spent is None:
        return None
    code, sentence = spent
    return Command(
        goto="finalize",
        update={
            "stop_reason": code,
            "outcome": "completed",
            "messages": [AIMessage(f"Stopping the session: {sentence}.", name="manager")],
        },
    )
