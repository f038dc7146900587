"""A/B test statistics on click-through rate, from statsmodels.

Per variant: CTR with a 95% Wilson interval. Against the leader (the highest CTR): the uplift and
a pooled two-proportion z-test (`proportions_ztest`, two-sided). Because the test is watched
while it runs, the decision does not use that fixed-horizon p-value: it uses an always-valid
p-value from a mixture sequential probability ratio test (mSPRT, Johari et al. 2017, normal
approximation on the same z), which stays valid however often it is looked at, with a
Bonferroni correction across the leader's comparisons. Confidence is 1 minus the largest
corrected p-value: how sure we are that the leader beats every other variant.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from typing_extensions import TypedDict

AUTO_CONFIDENCE = 0.95
"""The leader is declared the winner automatically at this confidence."""
MANUAL_CONFIDENCE = 0.90
"""A person may declare the leader the winner from this confidence."""
MIN_IMPRESSIONS = 100
"""Below this many impressions for any variant there is no confidence yet (normal approximation)."""
TAU = 0.01
"""Mixing standard deviation of the mSPRT: the CTR differences we expect, about one point."""
METHOD = (
    "pooled two-proportion z-test per variant against the leader (statsmodels); decisions use "
    "always-valid p-values (mSPRT, normal approximation, tau=0.01) so peeking is allowed, "
    "Bonferroni-corrected across the leader's comparisons; 95% Wilson intervals"
)


class VariantStats(TypedDict):
    """One variant's figures and its comparison with the leader."""

    variant: str
    impressions: int
    clicks: int
    ctr: float
    ci_low: float
    ci_high: float
    leading: bool
    uplift: float | None
    """Leader's CTR over this variant's, minus 1 (None for the leader or a CTR of 0)."""
    z: float | None
    p_value: float | None
    """Fixed-horizon two-sided p-value of the z-test against the leader."""
    p_always_valid: float | None
    p_adjusted: float | None
    """`p_always_valid` times the number of comparisons (capped at 1): what decides."""


class Analysis(TypedDict):
    variants: list[VariantStats]
    leader: str | None
    confidence: float
    """0..1 that the leader beats every other variant (always-valid, corrected)."""
    impressions: int
    clicks: int
    method: str


def wilson(clicks: int, impressions: int) -> tuple[float, float]:
    """95% Wilson score interval for a CTR."""
    if impressions <= 0:
        return 0.0, 0.0
    from statsmodels.stats.proportion import proportion_confint

    low, high = proportion_confint(clicks, impressions, alpha=0.05, method="wilson")
    return float(low), float(high)


def ztest(clicks: tuple[int, int], impressions: tuple[int, int]) -> tuple[float, float]:
    """Pooled two-proportion z-test (first minus second): `(z, two-sided p)`."""
    from statsmodels.stats.proportion import proportions_ztest

    z, p = proportions_ztest(list(clicks), list(impressions), alternative="two-sided")
    return float(z), float(p)


def always_valid_p(z: float, clicks: tuple[int, int], impressions: tuple[int, int]) -> float:
    """1 / the mSPRT likelihood ratio for the difference in CTR, on the pooled variance:
    `Lambda = sqrt(V / (V + tau^2)) * exp(z^2 tau^2 / (2 (V + tau^2)))`."""
    pooled = sum(clicks) / sum(impressions)
    variance = pooled * (1 - pooled) * (1 / impressions[0] + 1 / impressions[1])
    if variance <= 0:
        return 1.0
    spread = variance + TAU**2
    log_ratio = 0.5 * math.log(variance / spread) + z * z * TAU**2 / (2 * spread)
    return float(min(1.0, math.exp(-log_ratio)))


def analyse(counts: Mapping[str, tuple[int, int]] | Sequence[tuple[str, int, int]]) -> Analysis:
    """The test's statistics from `{variant: (impressions, clicks)}` (or `(variant, impressions,
    clicks)` rows), in the order given."""
    rows = (
        [(v, int(n), int(c)) for v, (n, c) in counts.items()]
        if isinstance(counts, Mapping)
        else [(v, int(n), int(c)) for v, n, c in counts]
    )
    shown = [r for r in rows if r[1] > 0]
    leader = max(shown, key=lambda r: (r[2] / r[1], r[1]))[0] if shown else None
    lead = next((r for r in rows if r[0] == leader), None)
    others = len(rows) - 1
    out: list[VariantStats] = []
    for variant, impressions, clicks in rows:
        ctr = clicks / impressions if impressions else 0.0
        low, high = wilson(clicks, impressions)
        stats = VariantStats(
            variant=variant,
            impressions=impressions,
            clicks=clicks,
            ctr=ctr,
            ci_low=low,
            ci_high=high,
            leading=variant == leader,
            uplift=None,
            z=None,
            p_value=None,
            p_always_valid=None,
            p_adjusted=None,
        )
        if lead is not None and variant != leader and impressions > 0:
            pair_clicks, pair_impressions = (lead[2], clicks), (lead[1], impressions)
            z, p = ztest(pair_clicks, pair_impressions)
            valid = always_valid_p(z, pair_clicks, pair_impressions)
            lead_ctr = lead[2] / lead[1]
            stats["uplift"] = lead_ctr / ctr - 1 if ctr > 0 else None
            stats["z"], stats["p_value"] = z, p
            stats["p_always_valid"], stats["p_adjusted"] = valid, min(1.0, valid * others)
        out.append(stats)
    return Analysis(
        variants=out,
        leader=leader,
        confidence=confidence(out),
        impressions=sum(r[1] for r in rows),
        clicks=sum(r[2] for r in rows),
        method=METHOD,
    )


def confidence(variants: Sequence[VariantStats]) -> float:
    """1 minus the largest corrected p-value; 0 until every variant has `MIN_IMPRESSIONS`."""
    if len(variants) < 2 or any(v["impressions"] < MIN_IMPRESSIONS for v in variants):
        return 0.0
    adjusted = [v["p_adjusted"] for v in variants if not v["leading"]]
    if any(p is None for p in adjusted):
        return 0.0
    return float(max(0.0, 1.0 - max(p for p in adjusted if p is not None)))


def rounded(analysis: Analysis) -> dict[str, Any]:
    """The analysis with figures rounded for people and for the checkpoint."""

    def r(value: Any, digits: int = 6) -> Any:
        return round(value, digits) if isinstance(value, float) else value

    return {
        **analysis,
        "confidence": round(analysis["confidence"], 4),
        "variants": [{k: r(v) for k, v in stats.items()} for stats in analysis["variants"]],
    }
