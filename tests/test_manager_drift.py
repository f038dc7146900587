"""The manager speaks of a set drift over the threshold on every path: it names the outliers
it sends back, and when it sends none (after the person regenerated one deliverable, which is
meant to differ) it says why instead of handing over in silence."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from langgraph.runtime import Runtime

from agents.manager import manage
from graph.context import StudioContext

pytestmark = pytest.mark.anyio
DELIVERABLES = ("hero-a", "hero-b", "thumbnail")


def first_pass() -> tuple[dict[str, Any], dict[str, str]]:
    """Iteration 1: one output per deliverable, each scoring 8 (over the default 7)."""
    ids = {d: str(uuid.uuid4()) for d in DELIVERABLES}
    state: dict[str, Any] = {
        "iteration": 1,
        "generations": [generation(d, ids[d], 1) for d in DELIVERABLES],
        "critiques": [critique(d, ids[d], 1) for d in DELIVERABLES],
    }
    return state, ids


def generation(deliverable: str, asset_id: str, iteration: int, **extra: Any) -> dict[str, Any]:
    return {
        "asset_id": asset_id,
        "deliverable": deliverable,
        "iteration": iteration,
        "attempt": 0,
        "seed": 7,
        "generator": "builtin",
        "path": f"{asset_id}.png",
        **extra,
    }


def critique(deliverable: str, asset_id: str, iteration: int) -> dict[str, Any]:
    return {
        "asset_id": asset_id,
        "deliverable": deliverable,
        "iteration": iteration,
        "score": 8.0,
        "reasons": ["on brief"],
        "measurements": {"brightness": 0.4},
    }


def drift(hero_b: float) -> dict[str, Any]:
    """hero-b `hero_b` away from both others, which hold together."""
    pairs = [
        {"a": "hero-a", "b": "hero-b", "drift": hero_b},
        {"a": "hero-a", "b": "thumbnail", "drift": 0.2},
        {"a": "hero-b", "b": "thumbnail", "drift": hero_b - 0.03},
    ]
    return {"drift": max(hero_b, 0.2), "pairs": pairs, "flags": []}


async def said(state: dict[str, Any], context: StudioContext) -> tuple[str, str]:
    """Where the manager goes next, and what it says."""
    command = await manage(state, Runtime(context=context))  # type: ignore[arg-type]
    update = command.update
    assert isinstance(update, dict) and isinstance(command.goto, str)
    return command.goto, str(update["messages"][-1].content)


async def test_after_a_single_regenerate_a_drift_over_the_threshold_is_said(
    context: StudioContext,
) -> None:
    state, ids = first_pass()
    regenerated = str(uuid.uuid4())
    state.update(
        iteration=2,
        current=ids,
        generations=[*state["generations"], generation("hero-b", regenerated, 2, requested=True)],
        critiques=[*state["critiques"], critique("hero-b", regenerated, 2)],
        directions=[
            {
                "text": "much warmer, sunset orange",
                "scope": "hero-b",
                "source": "output_feedback",
                "negative": False,
                "at": "2026-12-06T08:00:00+00:00",
            }
        ],
        drift=drift(0.58),
    )

    goto, text = await said(state, context)

    assert goto == "approve_outputs"  # what the person steered is not pulled back
    assert "Set drift 0.58 is over 0.5: hero-b stands apart as you steered it on its own" in text
    assert text.endswith("; over to you.")


async def test_the_normal_path_names_the_outlier_it_sends_back(context: StudioContext) -> None:
    state, _ = first_pass()
    state["drift"] = drift(0.58)

    goto, text = await said(state, context)

    assert goto == "direct"
    assert text.startswith("Set drift 0.58 is over 0.5: hero-b drifts from the set. Iteration 2:")


async def test_a_drift_within_the_threshold_is_not_mentioned(context: StudioContext) -> None:
    state, _ = first_pass()
    state["drift"] = drift(0.3)

    goto, text = await said(state, context)

    assert goto == "approve_outputs"
    assert text.startswith("Every output clears 7.0") and "drift" not in text
