"""What one offline specialist quotes of another: Luna's swatch by its colour words."""

from __future__ import annotations

from adapters.offline.talk import specific


def test_a_swatch_is_named_by_its_colour_not_the_word_before_it() -> None:
    said = (
        "For the desert you asked for: wind-rippled sand and heat shimmer, inside cyan "
        "#87ceeb and pale yellow #f5f5dc."
    )
    assert specific("style", said) == "cyan #87ceeb"
    assert specific("style", "the lamp glows in blue #02397f tonight") == "blue #02397f"
    assert specific("style", "Palette first — deep navy #141d32 dominating") == "deep navy #141d32"
    assert specific("style", "a ground of dusty blue #5d6d7e") == "dusty blue #5d6d7e"
    # any word before the colour that is not one of its own ("shadows tinted cyan", review)
    assert specific("style", "shadows tinted cyan #87ceeb at the edges") == "cyan #87ceeb"
    assert specific("style", "set against teal #138a8a") == "teal #138a8a"
