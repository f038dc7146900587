"""The brief's subject is the image's subject, and Lens checks only what the person asked.

D7: "a small harbour cafe at dusk" became the team's "lone figure" (a man with an umbrella,
no building, `cannot_draw: []`, 7.7). D11: snow's white, which the planner put in the
palette, was scored as a colour the person asked for ("no off-white as asked": every image
5.5), and "cold blue palette" was listed as something Lens could not check.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from adapters.colours import COLD_ASKS, NAMED
from adapters.craft import brief_targets
from adapters.pixels import MISSING_CAP, asked_moves
from adapters.renderer import Renderer
from agents.lens import asked_subject, score_image, subject_swaps, unverifiable
from graph import directions
from tests.studio_helpers import run, start
from tests.test_lens import context, state_for
from tests.test_named_colours import spec_for

CAFE = (
    "a small harbour cafe at dusk, warm palette, rain on the windows; one 16:9 hero banner and "
    "one 1:1 thumbnail with the name 'Harbour Light'"
)
FOX = (
    "a red fox in a snowy forest at dawn, cold blue palette; one 16:9 hero banner and one 4:5 "
    "poster titled 'First Light'"
)
PIER = "a quiet pier at night"
WINDMILL = "a windmill in a tulip field"


@pytest.mark.parametrize(
    ("brief", "subject"),
    [
        (CAFE, "harbour cafe"),
        (PIER, "quiet pier"),
        (WINDMILL, "windmill"),
        (FOX, "red fox"),
        ("a lighthouse in a storm at dusk, lonely", "lighthouse"),
        ("for aurora, a quiet electric kettle: a product shot", "quiet electric kettle"),
        # no subject named: the team's own idea stands in
        ("neon street at night in the rain", "lone figure"),
        ("no people, a misty forest at dawn", "lone figure"),
        ("a warm sunset over the sea, one 16:9 hero banner", "lone figure"),
    ],
)
def test_the_subject_is_the_one_the_brief_names(brief: str, subject: str) -> None:
    assert brief_targets(brief)["subject"] == subject


def score(brief: str, data: bytes, **kw: Any) -> Any:
    return asyncio.run(score_image(context(), state_for(brief), data, **kw))


def made(brief: str, **change: Any) -> tuple[bytes, dict[str, Any], dict[str, Any]]:
    """The built-in renderer's image of `brief` (its spec changed by `change`), with the spec
    and the recipe the critique node reads."""
    spec = spec_for(brief).model_copy(update=change)
    (image,) = asyncio.run(Renderer().generate(spec, job_id="t", on_progress=lambda *_: None))
    return image.png, spec.model_dump(), dict(image.recipe)


def test_the_cafe_is_drawn_and_lens_finds_nothing_missing() -> None:
    data, spec, recipe = made(CAFE)
    assert spec["subject"] == "harbour cafe"
    assert recipe["drawn"]["subject"] == "house" and recipe["drawn"]["cannot_draw"] == []
    card = score(CAFE, data, spec=spec, recipe=recipe)
    assert not any(m.startswith(("subject:", "not drawn:")) for m in card.missing), card.missing


def test_lens_says_so_when_the_team_swaps_the_subject() -> None:
    # what the studio made before: the cafe brief, the team's lone figure as the subject
    data, spec, recipe = made(CAFE, subject="lone figure")
    assert recipe["drawn"]["subject"] == "person"
    card = score(CAFE, data, spec=spec, recipe=recipe)
    assert "subject: harbour cafe (asked; the spec's subject is lone figure)" in card.missing
    assert card.reasons[0].startswith("subject: harbour cafe")
    assert card.score <= MISSING_CAP


def test_a_direction_that_changes_the_subject_moves_the_check_and_one_that_adds_does_not() -> None:
    """Review: "a red fox at dawn" then "make it an owl instead" flagged the owl spec as a
    swap of the fox; a model's paraphrase ("bistro on the quay") was flagged too."""
    fox = "a red fox in the snow at dawn\nmake it an owl instead"
    assert asked_subject(fox) == "owl"
    assert subject_swaps(fox, {"subject": "snowy owl"}, None) == ([], [])
    cafe = f"{CAFE}\nadd a red boat moored in front of the cafe"
    assert asked_subject(cafe) == "harbour cafe"  # adding a boat is no new subject
    assert subject_swaps(cafe, {"subject": "harbour cafe"}, None) == ([], [])
    assert subject_swaps(cafe, {"subject": "bistro on the quay"}, None) == ([], [])
    swapped, _ = subject_swaps(cafe, {"subject": "lone figure"}, None)
    assert swapped == ["subject: harbour cafe (asked; the spec's subject is lone figure)"]


def test_a_person_drawn_for_a_pier_is_not_the_pier() -> None:
    data, spec, recipe = made(PIER)
    assert spec["subject"] == "quiet pier" and recipe["drawn"]["subject"] == "person"
    card = score(PIER, data, spec=spec, recipe=recipe)
    assert card.undrawn == ["pier"], card.undrawn  # the manager stops iterating on it
    assert card.score <= MISSING_CAP < card.uncapped
    assert any("drew a person in its place" in m for m in card.missing)


def test_a_windmill_is_a_placeholder_the_renderer_names() -> None:
    data, spec, recipe = made(WINDMILL)
    assert spec["subject"] == "windmill"
    assert recipe["drawn"]["subject"] == "placeholder"
    assert recipe["drawn"]["cannot_draw"][0] == "windmill"
    card = score(WINDMILL, data, spec=spec, recipe=recipe)
    assert card.missing[0] == "not drawn: windmill (this renderer cannot draw it)"
    assert card.score <= MISSING_CAP


def test_a_subject_is_not_checked_when_none_was_named_or_nothing_says_what_was_drawn() -> None:
    assert subject_swaps("neon street at night", {"subject": "lone figure"}, None) == ([], [])
    # a model's own words for the same thing are the same subject
    assert subject_swaps("a harbour café at dusk", {"subject": "cosy café"}, None) == ([], [])
    assert subject_swaps("a cafe at dusk", {"subject": "coffee house by the sea"}, None) == (
        [],
        [],
    )
    assert subject_swaps("a cafe at dusk", {}, {"drawn": {"subject": "house"}}) == ([], [])


def test_snow_white_is_the_planners_colour_not_the_persons() -> None:
    goal = brief_targets(FOX)
    assert NAMED["white"] in goal["palette"]  # snow still paints the ground white
    assert NAMED["white"] not in goal["named_colours"]
    assert goal["named_colours"] == [NAMED["blue"], NAMED["red"]]
    said_white = brief_targets("a red fox in white snow")["named_colours"]
    assert NAMED["white"] in said_white  # a person who names white is checked for it


def test_lens_does_not_cap_the_fox_for_an_off_white_nobody_asked_for() -> None:
    data, spec, recipe = made(FOX)
    card = score(FOX, data, spec=spec, recipe=recipe)
    assert not any("off-white" in m for m in card.missing), card.missing
    assert card.missing == [] and card.score > MISSING_CAP
    assert not any("cold blue palette" in u for u in card.unchecked), card.unchecked


def test_a_cold_palette_is_measured_not_unchecked() -> None:
    asks = directions.said(FOX, source="brief")
    assert "cold blue palette" not in unverifiable(asks)
    assert [key for _, key, _ in asked_moves("cold blue palette")] == ["warmth"]
    bare = brief_targets("a lake at dawn, cold palette")
    assert bare["named_colours"] == list(COLD_ASKS)  # checked against the image's hues
    cold, plain = brief_targets("a lake at dawn, cold palette"), brief_targets("a lake at dawn")
    assert cold["palette"][2:] != plain["palette"][2:]


@pytest.mark.anyio
async def test_the_harbour_cafe_run_draws_the_cafe(graph: Any, context: Any, tid: str) -> None:
    state = await run(graph, start(CAFE, auto_approve=True), tid, context)
    assert {s["subject"] for s in state["specs"].values()} == {"harbour cafe"}
    for generation in state["generations"]:
        record = await context.assets.get(generation["asset_id"])
        assert record is not None and record.recipe["drawn"]["subject"] == "house"
    for critique in state["critiques"]:
        assert not any(
            str(r).startswith(("subject:", "not drawn:")) for r in critique["reasons"]
        ), critique
