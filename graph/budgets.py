"""A session's limits and thresholds: the process defaults, a thread's settings over them, and
which budget has run out."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage
from langgraph.types import Command
from pydantic import BaseModel, ConfigDict

from graph.state import StudioState, valid_settings


class SessionDefaults(BaseModel):
    """The limits and thresholds a session runs with where its thread's settings say nothing
    (`settings.budgets`, `max_rounds`, the thresholds). Declared once: `Settings` reads each
    from the environment (`STUDIO_` + the name, upper-case) and `ThreadLimits` is these for one
    thread."""

    model_config = ConfigDict(frozen=True)

    max_rounds: int = 3
    """STUDIO_MAX_ROUNDS: discussion rounds before the moderator forces synthesis."""
    score_threshold: float = 7.0
    """STUDIO_SCORE_THRESHOLD: Lens score (0-10) below which the manager iterates."""
    drift_threshold: float = 0.5
    """STUDIO_DRIFT_THRESHOLD: set drift (0-1) above which the manager iterates."""
    max_iterations: int = 3
    """STUDIO_MAX_ITERATIONS: default per-thread iteration budget."""
    max_generations: int = 24
    """STUDIO_MAX_GENERATIONS: default per-thread generation budget."""
    max_seconds: float = 3600.0
    """STUDIO_MAX_SECONDS: default per-thread wall-clock budget."""
    max_tokens: int = 200_000
    """STUDIO_MAX_TOKENS: default per-thread LLM token budget."""
    generator_wait_s: float = 600.0
    """STUDIO_GENERATOR_WAIT_S: how long generation waits (queued) for an unreachable ComfyUI
    before the run stops with an error; the thread stays resumable. No thread setting
    overrides it."""


class ThreadLimits(SessionDefaults):
    """The effective limits and thresholds for one thread: its settings over the defaults."""

    auto_approve: bool = False
    """`settings.auto_approve`: the gates approve without asking (off unless the thread says)."""


def limits(state: StudioState, defaults: SessionDefaults) -> ThreadLimits:
    """Merge the thread's settings over the defaults (only the settings the schema accepts:
    a thread whose stored settings are wrong runs on the defaults for those)."""
    settings = valid_settings(state.get("settings"))
    given: dict[str, Any] = {**settings, **settings.get("budgets", {})}
    chosen = {name: value for name, value in given.items() if name in ThreadLimits.model_fields}
    return ThreadLimits(**{**defaults.model_dump(), **chosen})


STOP_MESSAGES = {
    "max_generations": "the generation budget is used up ({used} of {limit} images)",
    "max_seconds": "the time budget is used up ({used:.0f} of {limit:.0f} seconds of work)",
    "max_tokens": "the LLM token budget is used up ({used} of {limit} tokens)",
}


def exhausted(state: StudioState, lim: ThreadLimits) -> tuple[str, str] | None:
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


def stop_when_spent(state: StudioState, lim: ThreadLimits) -> Command[Any] | None:
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
