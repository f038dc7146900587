"""The one `#rrggbb` parser: what it reads and what it refuses (not all `int(_, 16)` takes)."""

from __future__ import annotations

import pytest

from adapters.colours import hex_int, normal_hex, rgb
from adapters.specs import clamp_spec


@pytest.mark.parametrize("text", ["#2b2d42", "2b2d42", " #2B2D42 "])
def test_reads_six_hex_digits_with_or_without_the_hash(text: str) -> None:
    assert hex_int(text) == 0x2B2D42
    assert normal_hex(text) == "#2b2d42"


@pytest.mark.parametrize("text", ["+abcde", "0xabcd", "a_bcde", "##aabbcc", "#abc", "#abcdefa", ""])
def test_refuses_what_is_not_a_colour(text: str) -> None:
    with pytest.raises(ValueError):
        hex_int(text)
    assert normal_hex(text) is None
    assert rgb(text, default=(0.0, 0.0, 0.0)) == (0.0, 0.0, 0.0)


def test_a_proposed_palette_keeps_only_colours_once_each_in_lower_case() -> None:
    spec, _ = clamp_spec(
        {
            "deliverable": "hero",
            "prompt": "a harbour",
            "palette": ["#AA0000", "aa0000", "0xabcd", "#00ff00"],
        }
    )
    assert spec.palette == ["#aa0000", "#00ff00"]
