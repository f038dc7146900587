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
HUE_STEPS = list(zip(map(int, _HUES.split()[::2]), _HUES.split()[1::2], strict=True))
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


def hue_band(hex_colour: str) -> str | None:
    """The `HUE_STEPS` band of a clearly coloured `#rrggbb`; None for greys, black and white."""
    h, light, s = colorsys.rgb_to_hls(*rgb(hex_colour))
    if s < 0.15 or light < 0.05 or light > 0.96:
        return None
    return next(name for limit, name in HUE_STEPS if h * 360 < limit)


def colour_name(hex_colour: str) -> str:
    """A painter's name for a colour, e.g. `deep navy`, `dusty magenta`, `pale cyan`."""
    h, light, s = colorsys.rgb_to_hls(*rgb(hex_colour))
    if s < 0.15 or light < 0.05 or light > 0.96:
        return next((name for limit, name in _GREYS if light < limit), "off-white")
    hue = next(name for limit, name in HUE_STEPS if h * 360 < limit)
    if light < 0.25:
        return f"deep {_DARK.get(hue, hue)}"
    return ("pale " if light > 0.8 else "dusty " if s < 0.35 else "") + hue


NAMED: dict[str, str] = {
    "red": "#c62828",
    "scarlet": "#d7261e",
    "crimson": "#b0122b",
    "orange": "#e8741c",
    "amber": "#ffb000",
    "honey": "#e0a030",
    "gold": "#d4a017",
    "golden": "#d4a017",
    "yellow": "#f2c40f",
    "green": "#2e8b3a",
    "teal": "#138a8a",
    "cyan": "#22b8cf",
    "blue": "#1f5fbf",
    "navy": "#0a1f44",
    "purple": "#6a2c91",
    "violet": "#7f3fbf",
    "pink": "#f06292",
    "magenta": "#c2185b",
    "brown": "#6d4c2f",
    "white": "#f4f6f8",
    "black": "#16161a",
    "grey": "#8a8f96",
    "gray": "#8a8f96",
    "silver": "#b8bec6",
    "cream": "#f3e9d2",
}
"""Colour words a person says, and the colour each asks for."""
WARM_ASKS: tuple[str, ...] = ("#e8741c", "#ffb000")
"""What a bare "warm palette" asks for when it names no colour (orange, amber)."""
COLD_ASKS: tuple[str, ...] = ("#1f5fbf", "#22b8cf")
"""What a bare "cold palette" (or "cool palette") asks for when it names no colour (blue, cyan)."""
_THING_FILLER = frozenset(
    "and or with in on of the a an to at tone tones palette palettes colour colours color colors "
    "hue hues light lights lighting glow sky accents accent shades shade scheme".split()
)
_NOT_COLOUR = frozenset({"hour", "age", "ratio", "rule", "retriever"})
_WORD = re.compile(r"[a-z][a-z'-]*")


def colour_words(text: str) -> list[tuple[str, str, str]]:
    """The colours `text` names: `(word, #rrggbb, thing)`, in order; `thing` is the noun a
    colour is said of ("red fox" -> `fox`), or "" for a palette ask ("amber, orange and honey
    tones", "a red palette"). "no red" asks for nothing."""
    words = [(m.group(0), m.start()) for m in _WORD.finditer(text.lower())]
    out: list[tuple[str, str, str]] = []
    for i, (word, _) in enumerate(words):
        if word not in NAMED:
            continue
        if i and words[i - 1][0] in ("no", "not", "without", "avoid", "less"):
            continue
        following = words[i + 1][0] if i + 1 < len(words) else ""
        if following in _NOT_COLOUR:  # "golden hour" is a light, not gold
            continue
        thing = "" if following in _THING_FILLER or following in NAMED else following
        out.append((word, NAMED[word], thing))
    return out
