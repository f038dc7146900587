"""The A/B statistics against cases computed by hand (the formulas written out with `math`)."""

from __future__ import annotations

import math

import pytest

from adapters.launch.stats import (
    AUTO_CONFIDENCE,
    MIN_IMPRESSIONS,
    TAU,
    always_valid_p,
    analyse,
    wilson,
)

Z95 = 1.959963984540054


def test_z_test_and_uplift_match_the_hand_computed_pooled_test() -> None:
    # 90/1000 against 60/1000: pooled CTR 150/2000 = 0.075
    se = math.sqrt(0.075 * 0.925 * (1 / 1000 + 1 / 1000))  # 0.0117792
    z = (0.09 - 0.06) / se  # 2.54686
    p = math.erfc(z / math.sqrt(2))  # two-sided: 0.010870
    stats = analyse({"bold": (1000, 90), "face": (1000, 60)})
    face = stats["variants"][1]
    assert stats["leader"] == "bold" and stats["variants"][0]["leading"]
    assert face["z"] == pytest.approx(z, rel=1e-9) == pytest.approx(2.54686, abs=1e-5)
    assert face["p_value"] == pytest.approx(p, rel=1e-9) == pytest.approx(0.010870, abs=1e-6)
    assert face["uplift"] == pytest.approx(0.5)  # 9% is 50% more than 6%
    assert face["ctr"] == 0.06 and stats["impressions"] == 2000 and stats["clicks"] == 150


def test_always_valid_p_is_the_msprt_ratio_by_hand() -> None:
    v = 0.075 * 0.925 * (2 / 1000)
    z2 = 0.03**2 / v
    ratio = math.sqrt(v / (v + TAU**2)) * math.exp(z2 * TAU**2 / (2 * (v + TAU**2)))  # 2.9656
    stats = analyse({"bold": (1000, 90), "face": (1000, 60)})
    face = stats["variants"][1]
    assert face["p_always_valid"] == pytest.approx(1 / ratio, rel=1e-9)
    assert face["p_always_valid"] == pytest.approx(0.33721, abs=1e-5)
    # fixed-horizon p is 0.011, but watched as it runs that is not 95%: confidence 0.663
    assert stats["confidence"] == pytest.approx(1 - 1 / ratio, rel=1e-9)
    assert stats["confidence"] < AUTO_CONFIDENCE


def test_wilson_interval_matches_the_formula() -> None:
    n, p = 1000, 0.09
    centre = (p + Z95**2 / (2 * n)) / (1 + Z95**2 / n)
    half = Z95 / (1 + Z95**2 / n) * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n))
    low, high = wilson(90, 1000)
    assert low == pytest.approx(centre - half, rel=1e-9) == pytest.approx(0.073796, abs=1e-6)
    assert high == pytest.approx(centre + half, rel=1e-9) == pytest.approx(0.109342, abs=1e-6)
    assert wilson(0, 0) == (0.0, 0.0)


def test_three_variants_are_bonferroni_corrected_against_the_leader() -> None:
    counts = {"face": (5000, 450), "demo": (5000, 400), "bold": (5000, 500)}
    stats = analyse(counts)
    assert stats["leader"] == "bold"
    by = {v["variant"]: v for v in stats["variants"]}
    for name, (n, c) in counts.items():
        if name == "bold":
            continue
        pooled = (500 + c) / (5000 + n)
        v = pooled * (1 - pooled) * (1 / 5000 + 1 / n)
        z = (0.1 - c / n) / math.sqrt(v)
        ratio = math.sqrt(v / (v + TAU**2)) * math.exp(z * z * TAU**2 / (2 * (v + TAU**2)))
        assert by[name]["z"] == pytest.approx(z, rel=1e-9)
        assert by[name]["p_adjusted"] == pytest.approx(min(1.0, 2 / ratio), rel=1e-9)
    # the closest rival (face, 9% vs 10%) decides: z = 1.706, p_adj = 1 capped -> confidence 0
    assert by["face"]["p_adjusted"] == 1.0 and stats["confidence"] == 0.0
    assert by["demo"]["p_adjusted"] == pytest.approx(2 * by["demo"]["p_always_valid"])


def test_a_clear_difference_with_enough_traffic_passes_95_percent() -> None:
    stats = analyse([("bold", 20000, 1900), ("face", 20000, 1500)])
    assert stats["confidence"] >= AUTO_CONFIDENCE
    assert stats["variants"][1]["p_value"] < 1e-6


def test_no_confidence_without_enough_impressions_or_rivals() -> None:
    small = MIN_IMPRESSIONS - 1
    assert analyse({"a": (small, 50), "b": (small, 1)})["confidence"] == 0.0
    assert analyse({"a": (1000, 90)})["confidence"] == 0.0
    empty = analyse({"a": (0, 0), "b": (0, 0)})
    assert empty["leader"] is None and empty["confidence"] == 0.0
    assert all(v["p_value"] is None for v in empty["variants"])


def test_always_valid_p_is_one_without_variance() -> None:
    assert always_valid_p(0.0, (0, 0), (100, 100)) == 1.0
