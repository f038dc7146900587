"""Lens tells the truth: what it checks, what it cannot, what is missing, sketches, and
whether the person's feedback moved the image."""

from __future__ import annotations

import asyncio
import io
from typing import Any

import pytest
from PIL import Image, ImageDraw, ImageFont

from adapters.craft import brief_targets
from adapters.llm import RoleModels
from adapters.pixels import MISSING_CAP, measure
from adapters.renderer import Renderer
from agents.critic import feedback_moves, replaced, score_line
from agents.lens import (
    SKETCH_NOTE,
    critique_images,
    letters_asked,
    open_image,
    score_image,
    soften,
    unverifiable,
)
from graph.context import StudioContext
from graph.directions import said
from graph.state import Critique, Direction, StudioState

PRODUCT = "a bottle of sea salt soap on a stone at dawn, with a legible product name"


def context(models: RoleModels | None = None) -> StudioContext:
    """Scoring needs only the models: no assets are read."""
    return StudioContext(models=models or RoleModels.offline(7), images=Renderer(), assets=None)  # type: ignore[arg-type]


def state_for(brief: str, *more: str) -> StudioState:
    directions = said(brief, source="brief")
    for text in more:
        directions += said(text, source="output_feedback")
    return StudioState(messages=[], brief=brief, directions=directions)


def png(img: Image.Image) -> bytes:
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def sketch(words: str = "") -> bytes:
    """A flat layout sketch: dawn sky over stone, a dark bottle at the left third."""
    img = Image.new("RGB", (768, 432), "#f3e1dd")
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, 260, 768, 432), fill="#5d6d7e")
    draw.rectangle((240, 150, 290, 300), fill="#2b2d42")
    if words:
        font = ImageFont.load_default(size=44)
        draw.text((330, 60), words, font=font, fill="#faf8f0", stroke_width=3, stroke_fill="#111")
    return png(img)


def score(data: bytes, brief: str = PRODUCT, *, models: RoleModels | None = None, **kw: Any):
    return asyncio.run(score_image(context(models), state_for(brief), data, **kw))


def test_a_sketch_missing_the_asked_text_scores_low_and_says_why() -> None:
    card = score(sketch(), recipe={"sketch": True}, spec={"subject_x": 0.33})
    assert card.sketch and card.reasons[-1] == SKETCH_NOTE
    assert card.missing == ["legible text"]
    assert card.reasons[0].startswith("text: no legible line of text")
    assert card.score < 6  # not 8.8-9.1 "the palette stays on brief"
    assert any("bottle of sea salt soap" in u for u in card.unchecked)
    assert any(u.startswith("the wording of 'with a legible product name'") for u in card.unchecked)
    lettered = score(sketch("SEA SALT"), recipe={"sketch": True}, spec={"subject_x": 0.33})
    assert lettered.missing == [] and lettered.score > card.score + 2
    assert lettered.targets["text"] == 5 and lettered.measurements["text"] >= 5
    assert lettered.targets["subject_x"] == 0.33


def test_what_cannot_be_checked_keeps_the_score_out_of_the_top_marks() -> None:
    plain = "overcast, serene"
    palette = brief_targets(plain)["palette"]
    img = Image.new("RGB", (768, 432), palette[0])
    for i, colour in enumerate(palette[1:4]):  # bands of the brief's own colours
        ImageDraw.Draw(img).rectangle((0, 432 * (i + 1) // 4, 768, 432), fill=colour)
    checked = score(png(img), plain)
    named = score(png(img), plain + ", a stray cat on the kerb")
    assert checked.unchecked == [] and named.unchecked == ["a stray cat on the kerb"]
    assert checked.score >= 7.9 and named.score < checked.score
    assert soften(9.1) < 8.25 and soften(9.1) > soften(8.8) > soften(7.5) == 7.5


def test_unverifiable_lists_what_the_pixels_cannot_see() -> None:
    def items(text: str) -> list[str]:
        return unverifiable(said(text, source="brief"))

    assert items("cyberpunk street scene at night, neon, moody rain, warmer, closer") == []
    assert items("make it rainier, and add a stray cat on the kerb") == ["a stray cat on the kerb"]
    assert items("avoid faces") == ["the absence of faces"]
    assert items('a poster titled "Harbour Light"') == [
        "the wording of 'a poster titled \"Harbour Light\"' (text is found, not read)"
    ]
    # single quotes: 'titled' itself asks for words (Lens said "could not check: titled …",
    # though it measures whether there is a legible line of text)
    assert items("a poster titled 'First Light'") == [
        "the wording of 'a poster titled 'First Light'' (text is found, not read)"
    ]


def test_letters_asked_follow_the_quoted_words() -> None:
    def asked(text: str) -> int | None:
        return letters_asked(said(text, source="brief"))

    assert asked("a lighthouse at dusk") is None
    assert asked("a type of boat at dawn") is None  # a boat, not lettering
    assert asked("with a legible product name") == 5
    assert asked('titled "KAI"') == 3
    assert asked('titled "Harbour Light"') == 5


def test_a_vision_model_checks_what_the_measurements_cannot(monkeypatch) -> None:
    from agents import lens

    models = RoleModels.offline(7)
    asked: list[Any] = []
    attached: list[bytes] = []

    async def sees(role: str, overrides: Any = None) -> bool:
        return True

    def critique(*args: Any, by_eye: Any = ()) -> Any:
        asked.extend(by_eye)
        return original_critique(*args, by_eye=by_eye)

    def with_image(messages: Any, data: bytes) -> Any:
        attached.append(data)
        return original_with_image(messages, data)

    original_critique, original_with_image = lens.prompts.critique, lens.prompts.with_image
    monkeypatch.setattr(models, "accepts_images", sees)
    monkeypatch.setattr(lens.prompts, "critique", critique)
    monkeypatch.setattr(lens.prompts, "with_image", with_image)
    data = sketch()
    card = score(data, PRODUCT + ", a stray cat", models=models)
    assert card.looked and card.unchecked == []
    assert attached == [data]
    assert "a stray cat" in asked and any("legible product name" in a for a in asked)
    prompt = original_critique(state_for(PRODUCT), {}, {}, [], by_eye=["a stray cat"])
    assert "check each in the attached image" in str(prompt[-1].content)


def test_feedback_moves_compare_with_the_current_variant() -> None:
    dark = Image.new("RGB", (768, 432), "#3a4150")
    bright = Image.new("RGB", (768, 432), "#b8c4d8")
    before = Critique(
        asset_id="a1",
        deliverable="hero-a",
        iteration=1,
        score=7.0,
        reasons=[],
        measurements=measure(dark).scalars(),
        directions_seen=1,
    )
    state = state_for("neon street at night", "much brighter")  # 1 brief direction, then 1 new
    [line] = [m.line() for m in feedback_moves(state, "hero-a", before, measure(bright).scalars())]
    assert line.startswith("brighter: yes (brightness 0.25 -> 0.76)")
    said_before = {**before, "directions_seen": 2}  # the feedback came before that variant
    assert feedback_moves(state, "hero-a", said_before, measure(bright).scalars()) == []
    assert feedback_moves(state, "hero-a", None, measure(bright).scalars()) == []
    scoped: list[Direction] = said("darker", source="output_feedback", scope="hero-b")
    other = StudioState(**{**state, "directions": [*state["directions"], *scoped]})
    assert len(feedback_moves(other, "hero-a", before, measure(bright).scalars())) == 1


def test_the_chat_line_says_sketch_asked_and_unchecked() -> None:
    card = score(sketch(), recipe={"sketch": True})
    line = score_line(
        {"deliverable": "hero-a", "iteration": 2}, card, ["brighter: yes (brightness 0.25 -> 0.76)"]
    )  # type: ignore[arg-type]
    assert line.startswith(f"- hero-a (iteration 2, sketch): {card.score}/10 - text: no legible")
    assert "\n  you asked: brighter: yes" in line
    assert "\n  could not check: " in line and "bottle of sea salt soap" in line


def test_images_from_anywhere_are_scored_with_drift_and_refused_when_unreadable() -> None:
    odd = png(Image.new("RGB", (400, 300), "#ff2bd1"))
    result = asyncio.run(
        critique_images(
            context(), PRODUCT, [("a.png", sketch()), ("b.png", sketch("SEA SALT")), ("c.png", odd)]
        )
    )
    names = [image["name"] for image in result["images"]]
    assert names == ["a.png", "b.png", "c.png"]
    a, b, _ = result["images"]
    assert a["missing"] == ["legible text"] and b["missing"] == []
    assert a["measurements"]["text"]["target"] == 5
    assert a["measurements"]["saturation"]["target"] is None
    assert result["drift"]["drifts"] == "c.png"
    with pytest.raises(Exception, match="notes.txt: not an image Lens can read"):
        open_image("notes.txt", b"just words")
    with pytest.raises(Exception, match="cut.png: the image is damaged"):
        open_image("cut.png", sketch()[:400])


def test_feedback_is_compared_with_the_variant_it_replaces() -> None:
    def critique(asset_id: str, deliverable: str = "hero-a") -> Critique:
        return Critique(
            asset_id=asset_id,
            deliverable=deliverable,
            iteration=1,
            score=7.0,
            reasons=[],
            measurements={},
            directions_seen=0,
        )

    scored = [critique("a1"), critique("a2"), critique("b1", "hero-b")]
    state = StudioState(messages=[], critiques=scored, current={"hero-a": "a1"})
    assert replaced(state, "hero-a", "a3") == scored[0]  # the current one, not the newest
    moved_on = StudioState(**{**state, "current": {"hero-a": "a3"}})  # already current
    assert replaced(moved_on, "hero-a", "a3") == scored[1]
    assert replaced(state, "thumbnail", "t1") is None


def test_an_image_missing_what_the_renderer_could_not_draw_is_never_praised() -> None:
    """A new user's "harbour bakery" came back without a bakery and scored 7.6 ("every output
    clears 7.0"): the recipe says what the renderer could not draw, so Lens says so and caps."""
    plain = "overcast, serene"
    palette = brief_targets(plain)["palette"]
    img = Image.new("RGB", (768, 432), palette[0])
    for i, colour in enumerate(palette[1:4]):
        ImageDraw.Draw(img).rectangle((0, 432 * (i + 1) // 4, 768, 432), fill=colour)
    drawn = score(png(img), plain, recipe={"drawn": {"cannot_draw": []}})
    bakery = score(png(img), plain + ", a bakery", recipe={"drawn": {"cannot_draw": ["bakery"]}})
    assert drawn.score >= 7.0 and drawn.missing == []
    assert bakery.score <= MISSING_CAP
    assert bakery.reasons[0] == "not drawn: bakery (this renderer cannot draw it)"
    assert bakery.missing == [bakery.reasons[0]]


def test_a_time_of_day_ask_is_checked_by_the_measured_key() -> None:
    def items(text: str) -> list[str]:
        return unverifiable(said(text, source="interjection"))

    assert items("make it moody, night instead of dawn") == []
    assert items("at night, not dawn") == [] and items("switch to sunset") == []
    assert items("make it night: dark sky with a moon") == []
    assert items("add a moon") == ["a moon"]  # without a time of day, a moon is a thing
    asks = said("a lighthouse café at dawn", source="brief")
    asks += said("night instead of dawn", source="plan_feedback")
    assert unverifiable(asks) == ["a lighthouse café"]  # not "… at dawn": dawn was set aside


def test_only_what_the_person_asked_for_counts_as_not_drawn() -> None:
    from agents.lens import not_drawn, undrawn_names

    recipe = {"drawn": {"cannot_draw": ["café", "leaf"]}}
    asked = "a lighthouse café at dawn\nmake it moody"
    assert undrawn_names(recipe, asked) == ["café"]  # "dappled leaf" was Luna's wording
    assert not_drawn(recipe, asked) == ["not drawn: café (this renderer cannot draw it)"]
    assert undrawn_names(recipe) == ["café", "leaf"]
