"""F19: on a score tie the manager keeps the variant that meets the person's directions (the
measured checks), not the older one that misses them."""

from __future__ import annotations

from typing import Any

from graph.variants import meets_better, promote


def gen(asset: str, iteration: int, requested: bool = False) -> dict[str, Any]:
    return {
        "asset_id": asset,
        "deliverable": "hero-a",
        "iteration": iteration,
        "requested": requested,
    }


def crit(asset: str, iteration: int, brightness: float, uncapped: float = 7.0) -> dict[str, Any]:
    return {
        "asset_id": asset,
        "deliverable": "hero-a",
        "iteration": iteration,
        "score": 5.5,  # both capped: "café" cannot be drawn
        "uncapped": uncapped,
        "undrawn": ["café"],
        "reasons": [],
        "measurements": {"brightness": brightness},
        "targets": {"brightness": 0.25},  # "make it night"
    }


def state(second: float, third: float, **third_kw: Any) -> dict[str, Any]:
    return {
        "iteration": 3,
        "current": {"hero-a": "it2"},
        "generations": [gen("it2", 2, requested=True), gen("it3", 3)],
        "critiques": [crit("it2", 2, second), crit("it3", 3, third, **third_kw)],
    }


def test_a_tie_keeps_the_variant_that_meets_the_night_target() -> None:
    updates, settled, lines = promote(state(0.54, 0.24))  # type: ignore[arg-type]
    assert updates == {"hero-a": "it3"}
    assert "hero-a" in settled  # no better score: the manager stops iterating it
    assert "iteration 3 scored 5.5 like iteration 2" in lines[0]


def test_a_tie_keeps_the_current_one_when_the_new_one_misses_more() -> None:
    updates, settled, _ = promote(state(0.24, 0.54))  # type: ignore[arg-type]
    assert updates == {} and "hero-a" in settled


def test_a_full_tie_goes_to_the_later_one_and_uncapped_breaks_a_measured_tie() -> None:
    assert meets_better(crit("b", 3, 0.3), crit("a", 2, 0.3))  # type: ignore[arg-type]
    lower = crit("b", 3, 0.3, uncapped=6.0)
    assert not meets_better(lower, crit("a", 2, 0.3))  # type: ignore[arg-type]
    assert meets_better(crit("b", 3, 0.3, uncapped=6.0), crit("a", 2, 0.5))  # type: ignore[arg-type]
