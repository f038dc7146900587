"""The simulated observation provider: seeded impressions and clicks per thumbnail style.

Every batch it reports is labelled `simulated`. Each style's true CTR is drawn from the
session's seed around its baseline (the seed's figures: face-focused 8.5%, product demo 6.2%,
bold text 9.5% with a wider spread); each poll then draws impressions (Poisson) and clicks
(binomial) from the test's own seed (`thread_seed`: the thread's), so two threads' tests report
different figures while a thread's test polls the same ones every time it is replayed.
"""

from __future__ import annotations

import hashlib

import numpy as np

from adapters.launch.styles import STYLES

IMPRESSIONS_PER_POLL = 1500
"""Mean impressions per variant per poll."""


def true_ctrs(seed: int, variants: list[str]) -> dict[str, float]:
    """The CTR each variant really has in this simulated test."""
    rng = np.random.default_rng([seed, 0])
    out = {}
    for variant in sorted(STYLES):  # the same draws whichever variants are tested
        style = STYLES[variant]
        out[variant] = float(
            np.clip(rng.normal(style["baseline_ctr"], style["spread"]), 0.005, 0.5)
        )
    return {v: out.get(v, 0.05) for v in variants}


def thread_seed(thread_id: str, seed: int) -> int:
    """The seed of one thread's simulated test: deterministic for the thread (and the session's
    `seed`), different across threads."""
    digest = hashlib.sha256(f"{seed}:{thread_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


def poll(
    seed: int, variants: list[str], index: int, polls_seed: int | None = None
) -> list[dict[str, int | str]]:
    """The `index`-th batch of observations: one row per variant. `seed` sets the true CTRs,
    `polls_seed` (the test's own, `thread_seed`; default `seed`) the draws of each poll."""
    ctrs = true_ctrs(seed, variants)
    rng = np.random.default_rng([seed if polls_seed is None else polls_seed, index + 1])
    rows: list[dict[str, int | str]] = []
    for variant in variants:
        impressions = int(rng.poisson(IMPRESSIONS_PER_POLL))
        clicks = int(rng.binomial(impressions, ctrs[variant]))
        rows.append({"variant": variant, "impressions": impressions, "clicks": clicks})
    return rows
