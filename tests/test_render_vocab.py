"""The built-in renderer's vocabulary: what it reads from words, what it cannot draw, and how
`studio check` lists it."""

from __future__ import annotations

import pytest

from adapters.render_vocab import SUBJECTS, WEATHER, undrawable, vocabulary
from adapters.render_words import (
    Element,
    elements,
    lettering,
    read,
    subject_kind,
    time_of_day,
    warmth,
    weather,
)
from adapters.specs import BASE_NEGATIVE, GenerationSpec


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('rainy harbour at night, legible name "HARBOR LIGHTS"', "HARBOR LIGHTS"),
        ("a poster with \u201cLast Ferry\u201d across the top", "Last Ferry"),
        ("the sign reads 'Open Late' in neon", "Open Late"),
        ('a perfume called Nocturne, and the words "Eau de Nuit"', "Eau de Nuit"),  # quotes first
        ("a perfume called Nocturne Noir on black velvet", "Nocturne Noir"),
        ("an album cover titled Blue Hour of the City", "Blue Hour of the City"),
        ("legible product name NOCTURNE on the label", "NOCTURNE"),
        ("a cafe named Harbour Light, at dusk", "Harbour Light"),
    ],
)
def test_lettering_finds_the_words_to_letter(text: str, words: str) -> None:
    found = lettering(text)
    assert found.requested and found.words == words and found.text == words


@pytest.mark.parametrize(
    ("text", "placeholder"),
    [
        ("a bottle on marble, legible product name", "PRODUCT NAME"),
        ("movie poster, big title at the top", "TITLE"),
        ("a banner with a headline", "HEADLINE"),
        ("clean typography, legible", "TEXT"),
    ],
)
def test_lettering_asked_without_words_gives_a_placeholder(text: str, placeholder: str) -> None:
    found = lettering(text)
    assert found.requested and found.words == "" and found.text == placeholder


@pytest.mark.parametrize(
    "text",
    [
        "rainy harbour at night, a lighthouse",
        "a stray cat named Tom on the kerb",  # names a cat, not a title
        "no text, no lettering, just the sea",
        "textured brick wall, it's a cat's life",
    ],
)
def test_no_lettering_when_none_is_asked(text: str) -> None:
    found = lettering(text)
    assert not found.requested and found.text == ""


def test_undrawable_names_concrete_things_the_renderer_cannot_draw() -> None:
    text = "a giraffe beside a lighthouse, two elephants, a cat on a bridge, no pianos"
    assert undrawable(text) == ["giraffe", "elephant", "bridge"]
    assert undrawable("rainy harbour at night, a lighthouse, a stray cat on the kerb") == []
    assert undrawable("orange glow from the lamp, big waves, legible name") == []
    assert undrawable("a hot air balloon over the fields") == ["hot air balloon"]


@pytest.mark.parametrize(
    ("prompt", "negative", "field", "expected"),
    [
        ("city street", "", "clear", ("clear", 0.0)),
        ("city street", "", "rain", ("rain", 1.0)),
        ("city street, light rain", "", "clear", ("rain", 0.5)),
        ("city street, drizzle", "", "rain", ("rain", 0.5)),
        ("city street in a downpour", "", "rain", ("rain", 1.8)),
        ("rainy street. make it rainier", "", "rain", ("rain", 1.4)),
        ("rainy street, more rain, rainier still", "", "rain", ("rain", 1.96)),
        ("a street, make it rainier", "", "clear", ("rain", 1.4)),
        ("rainy street", "blurry, rain", "rain", ("clear", 0.0)),
        ("a street without rain", "", "clear", ("clear", 0.0)),
        ("thick fog over the moor", "", "clear", ("fog", 1.8)),
        ("light snow on the roofs", "", "clear", ("snow", 0.5)),
        ("a blizzard", "", "snow", ("snow", 1.8)),
    ],
)
def test_weather_and_its_intensity_come_from_the_words(
    prompt: str, negative: str, field: str, expected: tuple[str, float]
) -> None:
    assert weather(prompt, negative, field) == expected


def test_light_warmth_comes_from_the_words() -> None:
    assert warmth("a street at night") == 0
    assert warmth("orange glow from the lamp") > 0
    assert warmth("orange glow from the lamp, warmer") > warmth("orange glow from the lamp")
    assert warmth("cold blue light") < 0
    assert -1 <= warmth("cold icy moonlit wintry bluish clinical light") <= 1


@pytest.mark.parametrize(
    ("prompt", "lighting", "expected"),
    [
        ("neon street at night", "neon", "neon"),  # neon already honours night
        ("sunny meadow. make it night", "daylight", "night"),
        ("a meadow at dawn", "golden hour", "golden hour"),
        ("a city street", "dusk", "dusk"),
        ("perfume at midnight", "studio", "studio"),
        ("a harbour at night. now make it sunset", "night", "golden hour"),
    ],
)
def test_time_of_day_overrides_a_lighting_that_does_not_honour_it(
    prompt: str, lighting: str, expected: str
) -> None:
    assert time_of_day(prompt, lighting) == expected


def test_elements_named_in_the_prompt_are_drawn_besides_the_subject() -> None:
    prompt = "rainy harbour at night, a lighthouse, a stray cat on the kerb, gulls on the left"
    found = elements(prompt, BASE_NEGATIVE, subject_kind("lighthouse"))
    assert [e.kind for e in found] == ["cat", "bird"]
    assert found[0] == Element("cat", 1, "kerb", "a stray cat on the kerb")
    assert found[1].count == 3 and found[1].place == "left"


@pytest.mark.parametrize(
    ("prompt", "negative"),
    [
        ("harbour, a stray cat on the kerb", "blurry, cats"),
        ("harbour, no cats on the kerb", ""),
        ("harbour, without the cat", ""),
    ],
)
def test_a_negative_word_keeps_an_element_out(prompt: str, negative: str) -> None:
    assert elements(prompt, negative, "tower") == ()


def test_the_subject_is_not_drawn_twice_and_scenery_words_add_nothing() -> None:
    assert elements("a black cat on a wall", "", subject_kind("black cat")) == ()
    boilerplate = (
        "hero banner, city buildings, sodium streetlamps against cold moonlight, "
        "the first lamps coming on, product name"
    )
    assert elements(boilerplate, "", "person") == ()


def test_a_subject_it_cannot_draw_becomes_a_placeholder_not_a_person() -> None:
    assert subject_kind("giraffe") == "placeholder"
    assert subject_kind("lone walker") == subject_kind("figure") == "person"
    assert subject_kind("a man with a dog") == "person"  # the first named wins


def test_read_combines_fields_and_words() -> None:
    spec = GenerationSpec(
        deliverable="hero-a",
        prompt="harbour at night, a lighthouse, make it rainier, a stray cat on the kerb, "
        'orange glow from the lamp, legible name "HARBOR LIGHTS"',
        lighting="night",
        weather="rain",
        subject="lighthouse",
    )
    words = read(spec)
    assert (words.lighting, words.weather, words.intensity) == ("night", "rain", 1.4)
    assert words.warmth > 0 and words.subject == "tower"
    assert [e.kind for e in words.elements] == ["cat", "lamp"]
    assert words.lettering.text == "HARBOR LIGHTS"


def test_vocabulary_lists_every_word_in_one_place() -> None:
    listed = vocabulary()
    subjects = listed["subject and elements"]
    assert subjects["cat"] == list(dict(SUBJECTS)["cat"])
    assert "downpour" in listed["weather"]["rain x1.8"]
    assert "rainier" in listed["weather"]["rain x1.4"]
    assert "orange glow" in listed["light warmth"]["warmer"]
    assert "night" in listed["time of day"]["night"]
    assert "product name" in listed["lettering"]["asks for text"]
    every = {w for group in listed.values() for words in group.values() for w in words}
    assert {k for _, _, keys in WEATHER for k in keys} <= every
