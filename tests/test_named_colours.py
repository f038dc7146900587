"""Named colours reach the pixels: "a red fox in fresh snow", "warm palette", "add a red boat".

The colours the person names go into the spec (palette, and the named thing's `colours`), the
built-in renderer paints the named thing in its colour and snow white, and Lens checks the
named colours against the image instead of praising a palette that is not there.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
from PIL import Image

from adapters.colours import rgb
from adapters.craft import brief_targets
from adapters.deliverables import without_deliverables
from adapters.pixels import MISSING_CAP, assess, measure
from adapters.renderer import render
from adapters.specs import GenerationSpec
from agents.lens import unverifiable
from graph import directions
from tests.studio_helpers import config, pending_gate, resume, run, start

FOX = "a red fox in fresh snow at noon, one thumbnail 1:1"
CAFE = "two hero banners for a lighthouse café at dawn, warm palette"
DAWN = "a lighthouse at dawn"


def warmth(palette: list[str]) -> float:
    """Mean red minus blue of a palette."""
    return float(np.mean([rgb(c)[0] - rgb(c)[2] for c in palette]))


def shares(png: bytes | Image.Image) -> dict[str, float]:
    img = png if isinstance(png, Image.Image) else Image.open(io.BytesIO(png))
    a = np.asarray(img.convert("RGB"), np.float32) / 255
    r, g, b = a[..., 0], a[..., 1], a[..., 2]
    h = a.shape[0]
    low = a[int(0.8 * h) :]
    return {
        "red": float(((r - g > 0.25) & (r - b > 0.25)).mean()),
        "green": float(((g - r > 0.08) & (g - b > 0.02)).mean()),
        "ground_luma": float((low @ np.array([0.299, 0.587, 0.114], np.float32)).mean()),
        "ground_chroma": float((low.max(axis=-1) - low.min(axis=-1)).mean()),
        "warmth": float((r - b).mean()),
    }


def spec_for(brief: str, *said: str) -> GenerationSpec:
    """A spec as Pixel settles it: the brief's targets, then every direction carried."""
    goal = brief_targets("\n".join([brief, *said]))
    asks = directions.said(without_deliverables(brief), source="brief")
    asks += [d for s in said for d in directions.said(s, source="feedback")]
    base = GenerationSpec(
        deliverable="hero",
        prompt=without_deliverables(brief),
        palette=goal["palette"],
        lighting=goal["lighting"],
        weather=goal["weather"],
        brightness=goal["brightness"],
        contrast=goal["contrast"],
        mood=goal["mood"],
        subject=goal["subject"],
        width=384,
        height=384,
    )
    carried, _ = directions.apply(base.model_dump(), asks)
    return GenerationSpec.model_validate(carried)


def test_a_red_fox_in_snow_is_a_red_subject_on_white_ground() -> None:
    goal = brief_targets(FOX)
    assert goal["colours"] == {"fox": "#c62828"}
    assert "#c62828" in goal["palette"] and "#f4f6f8" in goal["palette"]
    spec = spec_for(FOX)
    assert spec.colours == {"fox": "#c62828"}
    seen = shares(render(spec))
    assert seen["red"] > 0.03, seen
    assert seen["green"] < 0.01, seen  # no green meadow under snow
    assert seen["ground_luma"] > 0.7 and seen["ground_chroma"] < 0.12, seen


def test_a_warm_palette_and_a_palette_revise_give_warm_colours() -> None:
    assert warmth(brief_targets("a lighthouse café at dawn")["palette"]) < 0
    assert warmth(brief_targets(CAFE)["palette"]) > 0
    # a model that proposes dawn's blues still gets the asked colours from the directions
    blues = ["#5d6d7e", "#92a8d1", "#f7cac9", "#023e8a"]
    spec = GenerationSpec(deliverable="hero-a", prompt="a lighthouse café", palette=blues)
    revise = directions.said("make the palette warm: amber, orange and honey tones", source="gate")
    carried, notes = directions.apply(spec.model_dump(), revise)
    assert carried["palette"][:3] == ["#ffb000", "#e8741c", "#e0a030"], carried["palette"]
    assert warmth(carried["palette"]) > 0
    assert any("palette carries" in n for n in notes)
    assert shares(render(spec_for(CAFE)))["warmth"] > 0.05
    assert "warm palette" not in unverifiable(directions.said(CAFE, source="brief"))


def test_a_red_boat_regenerate_draws_red_pixels() -> None:
    before = shares(render(spec_for(DAWN)))
    spec = spec_for(DAWN, "make it brighter, add a red boat")
    assert spec.colours == {"boat": "#c62828"} and "#c62828" in spec.palette
    after = shares(render(spec))
    assert before["red"] < 0.002 and after["red"] > 0.01, (before, after)


def test_lens_does_not_pass_a_palette_that_contradicts_the_named_colours() -> None:
    # an image like the one the studio made before: the fox in the scene's colours, no red
    png = render(spec_for("a fox in fresh snow at noon"))
    assert shares(png)["red"] < 0.002
    goal = brief_targets(FOX)
    checked = assess(
        measure(png),
        palette=goal["palette"],
        brightness=goal["brightness"],
        contrast=goal["contrast"],
        colours=goal["asked_colours"],
    )
    assert checked.score <= MISSING_CAP
    assert any("no red as asked" in f for f in checked.findings), checked.findings
    good = render(spec_for(FOX))
    passed = assess(
        measure(good),
        palette=goal["palette"],
        brightness=goal["brightness"],
        contrast=goal["contrast"],
        colours=goal["asked_colours"],
    )
    assert passed.missing == [] and passed.score > MISSING_CAP


async def _images(context: Any, state: dict[str, Any]) -> list[bytes]:
    out = []
    for g in state["generations"]:
        record = await context.assets.get(g["asset_id"])
        assert record is not None
        out.append(await context.assets.read_bytes(record))
    return out


@pytest.mark.anyio
async def test_the_fox_run_on_the_embedded_defaults_draws_a_red_fox_on_snow(
    graph: Any, context: Any, tid: str
) -> None:
    state = await run(graph, start(FOX, auto_approve=True), tid, context)
    (spec,) = state["specs"].values()
    assert spec["colours"] == {"fox": "#c62828"} and "#c62828" in spec["palette"]
    for png in await _images(context, state):
        seen = shares(png)
        assert seen["red"] > 0.01 and seen["green"] < 0.02, seen
        assert seen["ground_luma"] > 0.6, seen
    for critique in state["critiques"]:
        assert not any("palette stays on brief" in r and "lime" in r for r in critique["reasons"])


@pytest.mark.anyio
async def test_a_red_boat_asked_at_the_output_gate_is_drawn_red(
    graph: Any, context: Any, tid: str
) -> None:
    await run(graph, start("a lighthouse at dawn, one 16:9 hero"), tid, context)
    await resume(graph, {"action": "approve"}, tid, context)
    gate = await pending_gate(graph, tid)
    assert gate is not None and gate["gate"] == "output"
    said = "make it brighter, add a red boat"
    await resume(graph, {"action": "regenerate", "feedback": said}, tid, context)
    state = dict((await graph.aget_state(config(tid))).values)
    (spec,) = state["specs"].values()
    assert spec["colours"] == {"boat": "#c62828"}
    newest = max(state["generations"], key=lambda g: g.get("iteration", 0))
    record = await context.assets.get(newest["asset_id"])
    assert record is not None
    assert shares(await context.assets.read_bytes(record))["red"] > 0.005


@pytest.mark.anyio
async def test_a_plan_revise_naming_warm_tones_changes_every_specs_palette(
    graph: Any, context: Any, tid: str
) -> None:
    await run(graph, start("two hero banners for a lighthouse café at dawn"), tid, context)
    before = dict((await graph.aget_state(config(tid))).values)["specs"]
    assert all(warmth(s["palette"]) < 0 for s in before.values())
    said = "make the palette warm: amber, orange and honey tones"
    await resume(graph, {"action": "revise", "feedback": said}, tid, context)
    gate = await pending_gate(graph, tid)
    assert gate is not None and gate["gate"] == "plan"
    state = dict((await graph.aget_state(config(tid))).values)
    for deliverable, spec in state["specs"].items():
        assert {"#ffb000", "#e8741c", "#e0a030"} <= set(spec["palette"]), deliverable
        assert warmth(spec["palette"]) > 0, spec["palette"]
    lens = [m for m in state["messages"] if m.type == "ai" and m.name == "critic"][-1]
    assert "dusty blue" not in str(lens.content)
