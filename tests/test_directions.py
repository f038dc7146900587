"""Directions: what the person says is split, scoped, pinned and carried into the prompts."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.deliverables import without_deliverables
from adapters.specs import BASE_NEGATIVE
from graph import directions
from graph.state import Deliverable

PLAN = [
    Deliverable(id="hero-a", title="Hero A", purpose="", aspect="16:9"),
    Deliverable(id="hero-b", title="Hero B", purpose="", aspect="4:5"),
    Deliverable(id="thumbnail", title="Thumbnail", purpose="", aspect="1:1"),
]


def spec(prompt: str = "a harbour at night", negative: str = BASE_NEGATIVE) -> dict[str, Any]:
    return {"prompt": prompt, "negative_prompt": negative}


def test_an_interjection_is_split_into_clauses_each_pinned() -> None:
    said = directions.said(
        "make it rainier, and add a stray cat on the kerb", source="interjection"
    )
    assert [d["text"] for d in said] == ["make it rainier", "add a stray cat on the kerb"]
    assert {d["scope"] for d in said} == {"*"}
    assert {d["source"] for d in said} == {"interjection"}


@pytest.mark.parametrize(
    ("text", "term"),
    [("avoid faces", "faces"), ("no people", "people"), ("without any text", "text")],
)
def test_an_avoid_clause_is_a_negative_direction(text: str, term: str) -> None:
    (direction,) = directions.said(text, source="brief")
    assert direction["negative"] and direction["text"] == term


def test_a_clause_naming_one_deliverable_is_scoped_to_it() -> None:
    (direction,) = directions.said("make hero-b brighter", source="interjection", deliverables=PLAN)
    assert direction["scope"] == "hero-b"
    assert directions.prompt_words(direction, PLAN) == "brighter"


def test_every_direction_reaches_the_prompt_of_the_specs_it_concerns() -> None:
    pinned = directions.said("add a stray cat on the kerb", source="interjection")
    pinned += directions.said("show big waves", source="output_feedback", scope="hero-b")
    for deliverable in ("hero-a", "hero-b"):
        carried, _ = directions.apply(spec(), directions.in_scope(pinned, deliverable), PLAN)
        assert "a stray cat on the kerb" in carried["prompt"]
        assert ("big waves" in carried["prompt"]) == (deliverable == "hero-b")


def test_a_negative_direction_reaches_the_negative_prompt_and_leaves_the_prompt() -> None:
    pinned = directions.said("a perfume bottle on wet stone, avoid faces", source="brief")
    carried, _ = directions.apply(
        spec("a perfume bottle on wet stone, avoid faces, soft light"), pinned
    )
    assert "faces" in carried["negative_prompt"]
    assert "avoid faces" not in carried["prompt"] and "soft light" in carried["prompt"]


def test_no_default_negative_contradicts_a_request_for_text() -> None:
    assert "text" in BASE_NEGATIVE
    pinned = directions.said('legible product name "NOCTURNE"', source="brief")
    carried, notes = directions.apply(spec(), pinned)
    terms = [t.strip() for t in carried["negative_prompt"].split(",")]
    assert "text" not in terms and "watermark" in terms
    assert '"NOCTURNE"' in carried["prompt"]
    assert any("no longer says 'text'" in n for n in notes)


def test_a_later_direction_overrides_the_one_it_contradicts() -> None:
    pinned = directions.said("add a stray cat on the kerb", source="interjection")
    pinned += directions.said("no cat", source="interjection")
    held = directions.in_scope(pinned, "hero-a")
    assert [(d["text"], d["negative"]) for d in held] == [("cat", True)]
    carried, _ = directions.apply(spec(), held)
    assert "cat" not in carried["prompt"] and "cat" in carried["negative_prompt"]


def test_deliverable_talk_never_reaches_a_prompt() -> None:
    assert without_deliverables("two hero banners and one thumbnail") == ""
    assert without_deliverables("a poster of a lighthouse") == "a lighthouse"
    assert without_deliverables("neon street\nDeliverables: hero 16:9") == "neon street"
    # where they go is not something to draw ("instagram" was a subject Lens could not check)
    brief = "a lighthouse at dawn, two square posts for instagram and a wide banner"
    assert without_deliverables(brief) == "a lighthouse at dawn"
    assert without_deliverables("three posts for social media of a cat") == "a cat"
    assert without_deliverables("a fox on the web of a spider") == ("a fox on the web of a spider")
    subjects = {  # what is left to draw
        "a twitter header and a profile picture for a cyberpunk hacker": "a cyberpunk hacker",
        "hero image for my website: a team of climbers at sunrise": (
            "a team of climbers at sunrise"
        ),
        "a facebook cover photo for a bakery": "a bakery",
        "a set of 5 icons for a weather app": "a weather app",
        "pinterest pins x3 of fall recipes": "fall recipes",
        "a cat with a sticker on its nose": "a cat with a sticker on its nose",
        "a safety pin on a denim jacket, a poster": "a safety pin on a denim jacket",
        # no deliverable asked: a format word in the scene is part of it (the hero was lost)
        "a lone hero facing a dragon": "a lone hero facing a dragon",
        "a cat holding a poster": "a cat holding a poster",
        "a story about a girl and her dog": "a story about a girl and her dog",
        # one deliverable named: only its own words go, not the scene's (the reviewer's cases)
        "a poster of a lone hero facing a dragon": "a lone hero facing a dragon",
        "a poster of a cat holding a poster": "a cat holding a poster",
        "a poster of a hero with a banner": "a hero with a banner",
        "a poster of ten bowling pins": "ten bowling pins",
        "a fox, in 3 variations": "a fox",
    }
    assert {brief: without_deliverables(brief) for brief in subjects} == subjects
    carried, _ = directions.apply(spec("Two hero banners and one thumbnail, a lighthouse"), [])
    assert carried["prompt"] == "a lighthouse"


def test_the_spec_lists_the_directions_it_carries_with_scope_and_source() -> None:
    pinned = directions.said("warmer light", source="plan_feedback", scope="hero-a")
    carried, _ = directions.apply(spec(), pinned)
    assert carried["directions"] == ["warmer light [hero-a] (plan feedback)"]


def test_no_text_after_a_title_ends_the_title_in_the_directions_and_the_prompt() -> None:
    pinned = directions.said('a quiet harbour, legible title "SALT"', source="brief")
    pinned += directions.said("no cat, and remove the text", source="interjection")
    held = directions.in_scope(pinned, "hero-a")
    assert not directions.asks_for_text(held)
    carried, _ = directions.apply(
        spec('a quiet harbour, legible title "SALT", a stray cat on the kerb'), held
    )
    assert "SALT" not in carried["prompt"] and "cat" not in carried["prompt"]
    assert {"text", "cat"} <= {t.strip() for t in carried["negative_prompt"].split(",")}


def test_removing_deliverable_words_takes_the_words_that_tied_them_along() -> None:
    assert (
        without_deliverables(
            "Rainy lighthouse: two hero banners and one thumbnail of a lighthouse at night"
        )
        == "Rainy lighthouse: a lighthouse at night"
    )


def test_the_latest_word_on_a_look_ends_the_clause_that_said_the_opposite() -> None:
    pinned = directions.said("a quiet harbour at dusk, big waves", source="brief")
    pinned += directions.said("flat calm sea", source="interjection")
    held = [d["text"] for d in directions.in_scope(pinned, "hero-a")]
    assert held == ["a quiet harbour at dusk", "flat calm sea"]
    # a clause with more in it than the look stays (the lighthouse is still wanted)
    pinned = directions.said("a lighthouse in a storm with big waves", source="brief")
    pinned += directions.said("flat calm sea", source="interjection")
    assert len(directions.in_scope(pinned, "hero-a")) == 2


def test_the_models_stock_words_never_contradict_what_the_person_asked() -> None:
    pinned = directions.said("warm light from the lamp", source="output_feedback")
    carried, notes = directions.apply(
        spec("a harbour at night, sodium streetlamps against cold moonlight, rich detail"), pinned
    )
    assert "cold moonlight" not in carried["prompt"]
    assert carried["prompt"].endswith("warm light from the lamp")
    assert any("the person asked for warm light from the lamp" in n for n in notes)


def test_x_instead_of_y_asks_for_x_and_sets_y_aside() -> None:
    from adapters.craft import brief_targets

    brief = "two hero banners for a lighthouse café at dawn, warm palette"
    for asked in ("night instead of dawn", "night rather than the dawn"):
        (direction,) = directions.said(asked, source="plan_feedback")
        assert directions.prompt_words(direction) == "night"
        assert brief_targets(f"{brief}\n{asked}")["lighting"] == "night"
    assert brief_targets(f"{brief}\nmake it moody")["mood"] == "mysterious"
    assert brief_targets(f"{brief}\nswitch to sunset")["lighting"] == "golden hour"


def test_a_look_set_aside_leaves_every_prompt_phrase_and_comes_back_when_asked_again() -> None:
    pinned = directions.said("a lighthouse café at dawn, warm palette", source="brief")
    pinned += directions.said("make it moody, night instead of dawn", source="interjection")
    carried, notes = directions.apply(spec("a lighthouse café at dawn, dawn lighting"), pinned)
    assert carried["prompt"] == "a lighthouse café, warm palette, moody, night"
    assert "prompt no longer says dawn (the person set it aside)" in notes
    said_not = directions.said("a lighthouse café at dawn", source="brief")
    said_not += directions.said("at night, not dawn", source="plan_feedback")
    carried, _ = directions.apply(spec("a lighthouse café at dawn"), said_not)
    assert carried["prompt"] == "a lighthouse café, at night"
    pinned += directions.said("back to dawn", source="interjection")
    carried, _ = directions.apply(spec("a lighthouse café at dawn"), pinned)
    assert "a lighthouse café at dawn" in carried["prompt"]


def test_conversational_filler_is_no_direction() -> None:
    texts = [d["text"] for d in directions.said("carry on please, more rain", source="x")]
    assert texts == ["more rain"]
    assert directions.said("ok, thanks! go on", source="interjection") == []
    assert [d["text"] for d in directions.said("continue the road", source="x")] == [
        "continue the road"
    ]


@pytest.mark.parametrize(
    ("brief", "rest"),
    [
        ("a lighthouse at dusk, one 16:9 hero banner", "a lighthouse at dusk"),
        ("a misty forest at dawn, one 16:9 hero", "a misty forest at dawn"),
        ("a red fox in fresh snow at noon, one thumbnail 1:1", "a red fox in fresh snow at noon"),
        ("a 4:5 poster for a café named Harbor Lights", "a café named Harbor Lights"),
        ("a fox in snow, hero banner 16:9", "a fox in snow"),
        ("a fox in snow, thumbnail", "a fox in snow"),
        ("hero banner of a fox in snow", "a fox in snow"),
        ("a fox in snow for a hero banner", "a fox in snow"),
        ("a heroic knight, one hero", "a heroic knight"),
    ],
)
def test_a_deliverable_named_beside_its_ratio_never_reaches_a_prompt(brief: str, rest: str) -> None:
    assert without_deliverables(brief) == rest
    pinned = directions.said(without_deliverables(brief), source="brief")
    carried, _ = directions.apply(spec(brief), pinned)
    words = {w.strip(",.") for w in carried["prompt"].lower().split()}
    assert not words & {"hero", "banner", "thumbnail", "poster"}, carried["prompt"]
