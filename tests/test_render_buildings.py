"""A building over water stands on land (a quay, a lighthouse's rock), and a house at dusk or
night has lit windows: the harbour cafe once floated on open sea with a blind black face."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from adapters import render_elements
from adapters.pixels import measure
from adapters.render_canvas import new_canvas
from adapters.render_subject import Placement, placement
from adapters.renderer import STAGES, render
from adapters.specs import GenerationSpec

WARM = ["#e8741c", "#ffb000", "#5f4b3e", "#cb7c75", "#516173"]
CAFE = "a harbour cafe at dusk, warm palette, rain on the windows, harbour cafe on the left third"
Image = np.ndarray[Any, np.dtype[np.float64]]


def spec(**changes: Any) -> GenerationSpec:
    base: dict[str, Any] = {
        "deliverable": "hero-a",
        "prompt": CAFE,
        "subject": "harbour cafe",
        "width": 512,
        "height": 288,
        "seed": 1286662250,
        "palette": WARM,
        "lighting": "dusk",
        "weather": "rain",
        "horizon": 0.62,
        "brightness": 0.35,
        "contrast": 0.47,
        "subject_x": 0.33,
        "subject_y": 0.75,
        "subject_scale": 0.26,
    }
    return GenerationSpec(**{**base, **changes})


def luma(s: GenerationSpec) -> Image:
    rgb = np.asarray(render(s), dtype=np.float64) / 255
    out: Image = rgb @ np.array([0.299, 0.587, 0.114])
    return out


def silhouette(s: GenerationSpec) -> Image:
    """The subject's coverage, drawn by the same stages with the same seeds as `render`."""
    canvas = new_canvas(s)
    for index, (name, stage, _) in enumerate(STAGES):
        if name in ("sky", "scene", "subject"):
            stage(canvas, np.random.default_rng([s.seed, index]))
    out: Image = canvas.subject.astype(np.float64)
    return out


def canvases(s: GenerationSpec) -> tuple[Image, Image]:
    """Luma of the canvas before the subject stage (sky and scenery: open water) and after it,
    drawn by the same stages with the same seeds as `render`."""
    canvas = new_canvas(s)
    out = []
    for index, (name, stage, _) in enumerate(STAGES[:3]):
        stage(canvas, np.random.default_rng([s.seed, index]))
        if name in ("scene", "subject"):
            out.append(canvas.rgb @ np.array([0.299, 0.587, 0.114]))
    return out[0], out[1]


def land_rows(s: GenerationSpec, at: Placement, cols: slice, *, darker: bool = True) -> list[int]:
    """Rows below the building's base (past its soft ground shadow) where, in `cols`, the
    water drawn by the scenery was replaced by something much darker: a quay's wall or a
    rock's face (open water under the base keeps its luma: the halo only brightens it). Not
    `darker`: replaced by anything else, a quay's lighter paving too (for columns far from
    the building's halo)."""
    water, drawn = canvases(s)
    first = int(at.feet + 0.12 * at.size)  # the ground shadow has faded to nothing here
    rows = range(first, s.height if not darker else min(s.height, int(at.feet + 0.5 * at.size)))
    ratio = [np.median(drawn[y, cols]) / max(1e-6, np.median(water[y, cols])) for y in rows]
    return [y for y, r in zip(rows, ratio, strict=True) if r < 0.75 or (not darker and r > 1.2)]


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"camera": "high", "horizon": 0.3, "subject_x": 0.67, "subject_y": 0.508},
        {
            "subject": "lighthouse",
            "prompt": "a lighthouse on the sea at dusk",
            "weather": "clear",
            "lighting": "dusk",
            "subject_x": 0.5,
            "subject_y": 0.6,
            "subject_scale": 0.45,
        },
    ],  # fmt: skip
)
def test_a_building_over_water_stands_on_land_that_runs_off_the_frame(
    changes: dict[str, Any],
) -> None:
    s = spec(**changes)
    at = placement(s, "tower" if s.subject == "lighthouse" else "house")
    under = land_rows(s, at, slice(int(at.cx - 0.1 * at.size), int(at.cx + 0.1 * at.size)))
    assert len(under) >= 0.05 * at.size, "open water under the building's base"
    # The land runs off the frame edge nearer the building: it is a shore, not a raft.
    near = slice(0, 8) if at.cx < s.width / 2 else slice(s.width - 8, s.width)
    assert len(land_rows(s, at, near, darker=False)) >= 0.1 * at.size


def test_a_cafe_at_dusk_has_warm_lit_windows_and_one_at_noon_does_not() -> None:
    def lit(s: GenerationSpec) -> float:
        rgb = np.asarray(render(s), dtype=np.float64) / 255
        inside = silhouette(s) > 0.99
        warm = (rgb[..., 0] > 0.6) & (rgb[..., 0] > rgb[..., 2] + 0.15)
        return float((warm & inside).sum() / inside.sum())

    assert lit(spec()) > 0.05  # the blind black face had none: 0.0
    noon = "a harbour cafe at noon, warm palette, harbour cafe on the left third"
    assert lit(spec(prompt=noon, lighting="daylight", weather="clear", brightness=0.55)) < 0.01


def test_the_lit_windows_are_mirrored_on_the_water_below_the_quay() -> None:
    s = spec()
    at = placement(s, "house")
    foot = max(land_rows(s, at, slice(int(at.cx - 0.1 * at.size), int(at.cx + 0.1 * at.size))))
    below = slice(foot + 2, min(s.height, foot + 2 + int(0.15 * at.size)))
    grey = luma(s)
    under = np.median(grey[below, int(at.cx - 0.3 * at.size) : int(at.cx + 0.3 * at.size)])
    beside = np.median(grey[below, int(0.7 * s.width) :])
    assert under > beside + 0.05


def test_a_house_in_a_meadow_stands_on_its_grass_with_no_quay() -> None:
    s = spec(prompt="a cottage in a meadow", subject="cottage", lighting="daylight",
             weather="clear", brightness=0.55)  # fmt: skip
    at = placement(s, "house")
    assert not land_rows(s, at, slice(int(at.cx - 0.1 * at.size), int(at.cx + 0.1 * at.size)))


def test_lens_still_measures_the_whole_lit_cafe_as_the_subject() -> None:
    """Panes too bright, and Lens's saliency took the lit ground floor alone for the subject
    (0.14 of the height, its centre at 0.82, for a house 0.25 tall centred at 0.75)."""
    s = spec(width=1024, height=576)
    m = measure(render(s))
    assert abs(m.subject_x - s.subject_x) < 0.05
    assert abs(m.subject_y - s.subject_y) < 0.05
    assert abs(m.subject_scale - s.subject_scale) < 0.08


def test_a_cabin_beside_the_subject_has_its_windows_lit_at_night(monkeypatch: Any) -> None:
    """A new user's "add a small wooden cabin with warm lit windows behind the fox" drew a dark
    cabin (the recipe counts windows as drawn anyway): an element house is lit as the subject's
    is, at night and not at noon."""
    cabin = "a red fox in snow, a small wooden cabin with warm lit windows on the left"

    def drawn(**changes: Any) -> Image:
        s = spec(prompt=cabin, subject="red fox", subject_x=0.75, width=768, height=432, **changes)
        return np.asarray(render(s), dtype=np.float64) / 255

    night = {"lighting": "night", "weather": "snow", "brightness": 0.2}
    noon = {"lighting": "daylight", "weather": "clear", "brightness": 0.6}
    lit = drawn(**night), drawn(**noon)
    monkeypatch.setattr(render_elements, "lit_windows", lambda *_: None)  # the cabin unlit
    dark = drawn(**night), drawn(**noon)
    glowing = (lit[0] - dark[0]).mean(axis=-1) > 0.1  # panes brighter than the dark cabin's
    warmer = (lit[0] - dark[0])[..., 0] > (lit[0] - dark[0])[..., 2]
    assert (glowing & warmer).sum() > 100, (glowing & warmer).sum()
    assert np.array_equal(lit[1], dark[1])  # not lit at noon
