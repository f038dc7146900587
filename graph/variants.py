"""Variants: which output of each deliverable is current, and when a new one replaces it.

Each deliverable has one current variant: what the output gate shows and `approve` keeps. The
first output of a deliverable is current; an output the person asked for (a regeneration, an
interjection, a re-run) becomes current; the manager's own iteration replaces the current
variant only when it scores higher (or the same, meeting the measured directions at least
as well), and a deliverable whose iteration did not improve is
settled (the manager stops iterating it until the person asks for more).
"""

from __future__ import annotations

import asyncio
from typing import Any

from adapters.assets import AssetStore
from adapters.pixels import Measurements, drift, measure
from graph.state import Critique, DriftReport, Generation, StudioState


def scores(state: StudioState) -> dict[str, float]:
    """Lens's score per asset id."""
    return {c["asset_id"]: c["score"] for c in state.get("critiques", [])}


def newest(generations: list[Generation]) -> dict[str, Generation]:
    """The newest generation per deliverable."""
    out: dict[str, Generation] = {}
    for g in generations:
        if g["deliverable"] not in out or g["iteration"] >= out[g["deliverable"]]["iteration"]:
            out[g["deliverable"]] = g
    return out


def current_of(state: StudioState) -> dict[str, str]:
    """The current variant (asset id) per deliverable; a deliverable the manager has not
    ruled on yet shows its newest output."""
    current = dict(state.get("current") or {})
    for deliverable, g in newest(state.get("generations", [])).items():
        current.setdefault(deliverable, g["asset_id"])
    return current


def current_critiques(state: StudioState) -> dict[str, Critique]:
    """The critique of each deliverable's current variant."""
    shown = set(current_of(state).values())
    return {c["deliverable"]: c for c in state.get("critiques", []) if c["asset_id"] in shown}


def by_id(state: StudioState) -> dict[str, Generation]:
    return {g["asset_id"]: g for g in state.get("generations", [])}


def target_miss(critique: Critique) -> float:
    """How far the measured checks (the person's directions: brightness for "night", ...)
    are from their targets, summed; 0 when every check is met or nothing was checked."""
    measured, targets = critique.get("measurements") or {}, critique.get("targets") or {}
    return sum(abs(float(measured[k]) - float(t)) for k, t in targets.items() if k in measured)


def meets_better(new: Critique | None, old: Critique | None) -> bool:
    """Of two variants with the same score, whether the newer one is to be shown: its
    measured checks are closer to their targets, or as close with a higher score before a cap
    (what the renderer cannot draw caps both alike); the later one wins a full tie."""
    if new is None or old is None:
        return False
    new_miss, old_miss = target_miss(new), target_miss(old)
    if abs(new_miss - old_miss) > 1e-6:
        return new_miss < old_miss
    return new.get("uncapped", new["score"]) >= old.get("uncapped", old["score"])


def promote(state: StudioState) -> tuple[dict[str, str], dict[str, str], list[str]]:
    """Rule on this iteration's new outputs: (current updates, settled deliverables, what the
    manager says about each)."""
    iteration = state.get("iteration", 1)
    current = dict(state.get("current") or {})
    score = scores(state)
    generations = by_id(state)
    critiques = {c["asset_id"]: c for c in state.get("critiques", [])}
    updates: dict[str, str] = {}
    settled: dict[str, str] = {}
    lines: list[str] = []
    for g in state.get("generations", []):
        deliverable, asset = g["deliverable"], g["asset_id"]
        held = current.get(deliverable)
        if g["iteration"] != iteration or held == asset:
            continue
        new, old = score.get(asset, -1.0), score.get(held or "", -1.0)
        if held is None:
            updates[deliverable] = asset
        elif g.get("requested"):
            updates[deliverable] = asset
            if 0 <= new < old:
                lines.append(
                    f"{deliverable}: your regeneration is current ({new} against {old} before; "
                    f"iteration {generations[held]['iteration']} stays one click away)."
                )
        elif new > old:
            updates[deliverable] = asset
            lines.append(f"{deliverable}: iteration {g['iteration']} improved it ({old} -> {new}).")
        elif new == old and meets_better(critiques.get(asset), critiques.get(held)):
            updates[deliverable] = asset  # a tie: the one that meets the directions is shown
            before = generations[held]["iteration"] if held in generations else "?"
            why = (
                f"iteration {g['iteration']} scored {new} like iteration {before} and meets "
                f"your directions at least as well, so it is current; I stopped iterating it"
            )
            settled[deliverable] = why
            lines.append(f"{deliverable}: {why}.")
        else:
            before = generations[held]["iteration"] if held in generations else "?"
            why = (
                f"iteration {g['iteration']} scored {new}, not above {old}; "
                f"kept iteration {before} and stopped iterating it"
            )
            settled[deliverable] = why
            lines.append(f"{deliverable}: {why}.")
        current[deliverable] = updates.get(deliverable, held or asset)
    return updates, settled, lines


def standing(state: StudioState) -> dict[str, str]:
    """The set as it stands once this iteration's outputs are ruled on (what the consistency
    checker compares: a variant the manager will not keep does not count)."""
    return {**current_of(state), **promote(state)[0]}


async def set_drift(assets: AssetStore, chosen: dict[str, str]) -> DriftReport:
    """Measure the set `chosen` (deliverable -> asset id) and how far it drifts: what the
    consistency checker reports after generation, and a pick reports for the new set."""
    items: list[tuple[str, Measurements]] = []
    for deliverable, asset_id in sorted(chosen.items()):
        record = await assets.get(asset_id)
        if record is not None:
            data = await assets.read_bytes(record)
            items.append((deliverable, await asyncio.to_thread(measure, data)))
    result: dict[str, Any] = drift(items)
    return DriftReport(
        drift=round(float(result["drift"]), 4),
        pairs=list(result["pairs"]),
        flags=list(result["flags"]),
    )


async def lab_results(
    assets: AssetStore, thread_id: str, known: set[str], deliverables: set[str]
) -> list[Generation]:
    """Media Lab results that joined the thread ("upscale hero 2x" said in the chat) and are
    not among its variants yet: the output gate offers them to pick (F27)."""
    return [
        Generation(
            asset_id=r.id,
            deliverable=r.deliverable,
            iteration=r.iteration,
            attempt=r.attempt,
            seed=r.seed,
            generator=r.generator,
            path=str(r.path),
        )
        for r in await assets.list_thread(thread_id)
        if r.generator.startswith("media lab")
        and r.id not in known
        and r.deliverable in deliverables
    ]


async def specs_of(assets: AssetStore, chosen: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The spec (with the seed it used) each chosen variant was made from: what Pixel revises
    next for its deliverable, so a revision starts from what the person sees."""
    out: dict[str, dict[str, Any]] = {}
    for deliverable, asset_id in chosen.items():
        record = await assets.get(asset_id)
        if record is not None and record.spec:
            out[deliverable] = {**record.spec, "seed": record.seed}
    return out


def verdicts(state: StudioState, current: dict[str, str]) -> dict[str, list[str]]:
    """Asset ids by verdict: `current` for the current variants, `superseded` for the rest."""
    chosen = set(current.values())
    ids = [g["asset_id"] for g in state.get("generations", [])]
    return {
        "current": [a for a in ids if a in chosen],
        "superseded": [a for a in ids if a not in chosen],
    }


def variant_listing(state: StudioState) -> dict[str, Any]:
    """Per deliverable, its variants oldest first: asset id, iteration, score, current."""
    current = current_of(state)
    score = scores(state)
    out: dict[str, Any] = {}
    for g in state.get("generations", []):
        out.setdefault(g["deliverable"], []).append(
            {
                "asset_id": g["asset_id"],
                "iteration": g["iteration"],
                "score": score.get(g["asset_id"]),
                "current": current.get(g["deliverable"]) == g["asset_id"],
                "requested": bool(g.get("requested")),
            }
        )
    return out
