"""Colours: the one `#rrggbb` parser, mixing, and a painter's name for a colour."""

from __future__ import annotations

import colorsys
import re

_HEX = re.compile(r"#?([0-9a-fA-F]{6})")


def hex_int(colour: str) -> int:
    """`#rrggbb` (the `#` optional, any case, spaces around) as `0xRRGGBB`; ValueError when it
    is not six hex digits."""
    match = _HEX.fullmatch(colour.strip())
    if match is None:
        raise ValueError(f"not a #rrggbb colour: {colour!r}")
    return int(match.group(1), 16)


def normal_hex(colour: object) -> str | None:
    """`colour` as lower-case `#rrggbb` when `hex_int` reads it, else None."""
    match = _HEX.fullmatch(str(colour).strip())
    return f"#{match.group(1).lower()}" if match else None


def rgb(
    hex_colour: str, default: tuple[float, float, float] | None = None
) -> tuple[float, float, float]:
    """`#rrggbb` as three 0-1 floats (`default` for text that is not a colour, else ValueError)."""
    try:
        value = hex_int(hex_colour)
    except ValueError:
        if default is None:
            raise
        return default
    return (value >> 16) / 255, ((value >> 8) & 255) / 255, (value & 255) / 255


def to_hex(r: float, g: float, b: float) -> str:
    """Three 0-1 floats as `#rrggbb` (clipped)."""
    return "#" + "".join(f"{round(max(0.0, min(1.0, c)) * 255):02x}" for c in (r, g, b))


def colour_distance(a: str, b: str) -> float:
    """Euclidean RGB distance, 0 (same) to ~1.73 (black vs white)."""
    return float(sum((x - y) ** 2 for x, y in zip(rgb(a), rgb(b), strict=True)) ** 0.5)


def recolour(
    hex_colour: str, warmth: float = 0.0, saturation: float = 1.0, value: float = 1.0
) -> str:
    """Tint toward amber (warmth > 0) or slate blue (< 0), then scale saturation and lightness."""
    tint = rgb("#ffb347" if warmth > 0 else "#4a6fa5")
    mix = min(abs(warmth), 1.0) * 0.3
    r, g, b = (c * (1 - mix) + t * mix for c, t in zip(rgb(hex_colour), tint, strict=True))
    h, light, s = colorsys.rgb_to_hls(r, g, b)
    return to_hex(*colorsys.hls_to_rgb(h, min(1.0, light * value), min(1.0, s * saturation)))


_HUES = (
    "12 red 35 orange 50 amber 68 yellow 95 lime 160 green 185 teal 200 cyan 235 blue 260 indigo"
)
_HUES += " 285 violet 330 magenta 350 rose 361 red"
_HUE_STEPS = list(zip(map(int, _HUES.split()[::2]), _HUES.split()[1::2], strict=True))
"""Upper hue bound (degrees) and the name of each hue band."""
_GREYS = ((0.1, "near-black"), (0.3, "charcoal"), (0.55, "slate grey"), (0.85, "silver grey"))
_DARK = {
    "blue": "navy",
    "red": "oxblood",
    "orange": "rust",
    "amber": "bronze",
    "green": "bottle green",
    "violet": "aubergine",
    "magenta": "plum",
    "rose": "plum",
}
"""What a hue is called when it is very dark ("deep navy", "deep plum")."""


def colour_name(hex_colour: str) -> str:
    """A painter's name for a colour, e.g. `deep navy`, `dusty magenta`, `pale cyan`."""
    h, light, s = colorsys.rgb_to_hls(*rgb(hex_colour))
    if s < 0.15 or light < 0.05 or light > 0.96:
        return next((name for limit, name in _GREYS if light < limit), "off-white")
    hue = next(name for limit, name in _HUE_STEPS if h * 360 < limit)
    if light < 0.25:
        return f"deep {_DARK.get(hue, hue)}"
    return ("pale " if light > 0.8 else "dusty " if s < 0.35 else "") + hue
