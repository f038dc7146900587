"""What the built-in renderer reads from a spec's words: pure functions over its vocabulary.

The person's directions land in the prompt ("make it rainier", "add a stray cat on the kerb")
and the negative prompt ("cats"), so the renderer reads both, on top of the spec's fields.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from adapters.craft import asked_colours
from adapters.render_vocab import (
    BEAMS,
    LETTERING,
    MORE_SEA,
    MORE_WEATHER,
    PLACES,
    SEA,
    SUBJECT_ONLY,
    SUBJECTS,
    TIMES,
    WARMTH,
    WEATHER,
    mentions,
    normalise,
    pattern,
    undrawable,
)
from adapters.specs import GenerationSpec

_LIKE = {
    "night": {"neon"},
    "dusk": {"neon", "golden hour"},
    "golden hour": {"dusk", "dawn"},
    "dawn": {"golden hour"},
    "daylight": {"overcast"},
    "overcast": {"daylight"},
}
"""Lightings that already honour a time of day ("a neon street at night" stays neon)."""
T = TypeVar("T")
_PLURAL = re.compile(r"(s|people|crowd|men|children|flock)$")
_MAX_ELEMENTS = 5


@dataclass(frozen=True)
class Lettering:
    """Whether a text asks for legible text, and which words to letter."""

    requested: bool
    words: str = ""
    """The words to letter, as written; empty when text is asked for but none is named."""
    placeholder: str = ""
    """What a layout sketch letters when no words are named (`PRODUCT NAME`, `TITLE`)."""

    @property
    def text(self) -> str:
        """What to draw: the words, else the placeholder; empty when nothing was asked."""
        return (self.words or self.placeholder) if self.requested else ""


@dataclass(frozen=True)
class Element:
    """Something named in the prompt besides the subject, drawn as a small silhouette."""

    kind: str
    """A `SUBJECTS` name: `cat`, `bird`, `lamp`, `person`, ..."""
    count: int = 1
    place: str | None = None
    """`kerb`, `far`, `near`, `left`, `right` (from `PLACES`), or None."""
    said: str = ""
    """The clause that named it ("a stray cat on the kerb")."""


@dataclass(frozen=True)
class Reading:
    """Everything the renderer takes from a spec's words, resolved against its fields."""

    scene: str
    """The prompt without the words to letter: what scene, weather and elements come from."""
    lighting: str
    weather: str
    intensity: float = 1.0
    """Weather strength: 0.5 light rain, 1 rain, 1.8 a downpour; each "rainier" x1.4."""
    sea: float = 1.0
    """Wave height on water scenes: 0.3 calm, 1 default, 2.4 big waves."""
    warmth: float = 0.0
    """Light colour from -1 (cold, blue) to 1 (warm, orange)."""
    subject: str = "person"
    elements: tuple[Element, ...] = ()
    beam: bool = False
    """A beam of light was asked for."""
    lettering: Lettering = field(default_factory=lambda: Lettering(False))
    colours: dict[str, str] = field(default_factory=dict)
    """The colour named for a drawn kind (`{"fox": "#c62828"}` for "a red fox")."""


_QUOTED = re.compile(
    r"\"([^\"\n]{1,60})\"|\u201c([^\u201d\n]{1,60})\u201d|(?<![\w])'([^'\n]{1,60})'(?![\w])"
)
_NAMED = re.compile(
    r"(?i:\b(called|named|titled|entitled|reading|that says|saying|product name|brand name|"
    r"name|title|logo|wordmark|headline|tagline)\b)\s*[:\-]?\s+"
    r"((?:[A-Z0-9][\w'&.!-]*)(?:\s+(?:[A-Z0-9][\w'&.!-]*|of|the|and|&)){0,4})"
)
_PLACEHOLDERS = (
    ("product name", "PRODUCT NAME"),
    ("brand name", "BRAND NAME"),
    ("name", "NAME"),
    ("headline", "HEADLINE"),
    ("title", "TITLE"),
    ("logo", "LOGO"),
    ("wordmark", "LOGO"),
    ("tagline", "TAGLINE"),
    ("slogan", "SLOGAN"),
    ("caption", "CAPTION"),
)
_BEINGS = tuple(k for name, keys in SUBJECTS if name in ("cat", "bird", "fox", "animal", "person")
                for k in keys)  # fmt: skip


def lettering(text: str) -> Lettering:
    """The text `text` asks to be lettered: quoted words first, then "called/named/titled X",
    "product name X" (capitalised words), else a placeholder for a bare "legible product
    name". Negated asks ("no text") ask for nothing; "a cat named Tom" names a cat, not text.
    """
    if match := _QUOTED.search(text):
        words = next(g for g in match.groups() if g is not None).strip()
        if words:
            return Lettering(True, words)
    for match in _NAMED.finditer(text):
        cue = match.group(1).lower()
        before = re.findall(r"[a-z]+", normalise(text[: match.start()]))[-1:]
        if cue in ("called", "named") and before and pattern(_BEINGS).fullmatch(before[0]):
            continue
        words = re.sub(r"(\s+(of|the|and|&))+$", "", match.group(2).strip(" .-"))
        return Lettering(True, words)
    asked = mentions(text, LETTERING)
    if not asked:
        return Lettering(False)
    said = " ".join(m.group() for m in asked)
    placeholder = next((p for cue, p in _PLACEHOLDERS if cue in said), "TEXT")
    return Lettering(True, "", placeholder)


def _spans(text: str, groups: Sequence[tuple[T, tuple[str, ...]]]) -> list[tuple[int, T]]:
    """Non-overlapping mentions of each group's keys, longer phrases winning, in text order."""
    found = sorted(
        ((m.start(), m.end(), payload) for payload, keys in groups for m in mentions(text, keys)),
        key=lambda s: (s[0], -s[1]),
    )
    kept: list[tuple[int, int, T]] = []
    for start, end, payload in found:
        if kept and start < kept[-1][1]:
            continue
        kept.append((start, end, payload))
    return [(start, payload) for start, _, payload in kept]


def time_of_day(prompt: str, lighting: str) -> str:
    """The spec's lighting, unless the prompt last names a time of day it does not honour."""
    said = _spans(prompt, [(name, keys) for name, keys in TIMES])
    if not said or lighting == "studio":
        return lighting
    named = said[-1][1]
    return lighting if named == lighting or lighting in _LIKE.get(named, ()) else named


def weather(prompt: str, negative: str, field_value: str) -> tuple[str, float]:
    """Weather and intensity: the last weather the prompt names (a comparative counts), else
    the spec's; one the negative prompt names is dropped."""
    groups = [((n, lv, False), k) for n, lv, k in WEATHER]
    groups += [((n, lv, True), k) for n, lv, k in MORE_WEATHER]
    said = [payload for _, payload in _spans(prompt, groups)]
    kind = said[-1][0] if said else field_value
    neg = normalise(negative)
    if kind != "clear" and any(pattern(k).search(neg) for n, _, k in WEATHER if n == kind):
        kind = "clear"
    if kind == "clear":
        return kind, 0.0
    levels = [(level, more) for name, level, more in said if name == kind]
    return kind, round(min(2.5, max(0.3, _combine(levels))), 3)


def _combine(levels: Sequence[tuple[float, bool]]) -> float:
    """The last plain level named other than 1 (else 1), times every comparative's factor."""
    plain = [level for level, more in levels if not more and level != 1.0]
    value = plain[-1] if plain else 1.0
    for level, more in levels:
        value *= level if more else 1.0
    return value


def sea_state(prompt: str) -> float:
    """Wave height on water scenes: 0.3 calm, 1 unspecified, 2.4 big waves; comparatives scale."""
    groups = [((lv, False), k) for lv, k in SEA] + [((lv, True), k) for lv, k in MORE_SEA]
    return round(min(3.5, _combine([p for _, p in _spans(prompt, groups)])), 3)


def warmth(prompt: str) -> float:
    """Light warmth from -1 (cold) to 1 (warm): the sum of the prompt's warm and cold words."""
    said = _spans(prompt, [(level, keys) for level, keys in WARMTH])
    return max(-1.0, min(1.0, sum(level for _, level in said)))


def subject_kind(subject: str) -> str:
    """The silhouette for the spec's subject: the first kind it names; a person when it names
    none, or a neutral placeholder when it names something the renderer cannot draw."""
    said = _spans(subject, [(name, keys) for name, keys in SUBJECTS])
    if said:
        return said[0][1]
    return "placeholder" if undrawable(subject) else "person"


def elements(prompt: str, negative: str, main: str) -> tuple[Element, ...]:
    """Things the prompt names besides the subject, each once, unless the negative prompt (or
    a "no"/"without" in its clause) keeps it out."""
    low, neg = normalise(prompt), normalise(negative)
    found: list[tuple[int, Element]] = []
    for kind, keys in SUBJECTS:
        if kind == main:
            continue
        usable = tuple(k for k in keys if k not in SUBJECT_ONLY)
        said = mentions(prompt, usable)
        if kind == "lamp":  # "lamps coming on": the scene's lights, not one featured lamp
            said = [m for m in said if not m.group().endswith("s")]
        if not said or pattern(keys).search(neg):
            continue
        first = said[0]
        start = max([0, *(m.end() for m in re.finditer(r"[,.;:!?\n]", low[: first.start()]))])
        end = next((m.start() for m in re.finditer(r"[,.;:!?\n]", low[first.end() :])), None)
        clause = low[start : first.end() + end if end is not None else len(low)]
        place = next((name for name, pk in PLACES if pattern(pk).search(clause)), None)
        count = 3 if any(_PLURAL.search(m.group()) for m in said) else 1
        found.append((first.start(), Element(kind, count, place, clause.strip())))
    return tuple(e for _, e in sorted(found, key=lambda f: f[0])[:_MAX_ELEMENTS])


def named_colours(prompt: str, colours: dict[str, str]) -> dict[str, str]:
    """The colour named for each kind the renderer draws: the prompt's ("a red boat"), then
    the spec's `colours` (Pixel's, which win)."""
    said = {**asked_colours(prompt)[1], **colours}
    out: dict[str, str] = {}
    for thing, hex_colour in said.items():
        kinds = _spans(thing, [(name, keys) for name, keys in SUBJECTS])
        if kinds:
            out[kinds[0][1]] = hex_colour
    return out


def read(spec: GenerationSpec) -> Reading:
    """What `spec` asks the renderer to draw, from its fields and its words. The words to
    letter are taken out first: "HARBOR LIGHTS" is a name to set in type, not a harbour."""
    letters = lettering(spec.prompt)
    prompt = spec.prompt.replace(letters.words, " ") if letters.words else spec.prompt
    kind, intensity = weather(prompt, spec.negative_prompt, spec.weather)
    main = subject_kind(spec.subject)
    return Reading(
        scene=prompt,
        lighting=time_of_day(prompt, spec.lighting),
        weather=kind,
        intensity=intensity,
        sea=sea_state(prompt),
        warmth=warmth(prompt),
        subject=main,
        elements=elements(prompt, spec.negative_prompt, main),
        beam=bool(mentions(prompt, BEAMS))
        and not pattern(BEAMS).search(normalise(spec.negative_prompt)),
        lettering=letters,
        colours=named_colours(prompt, spec.colours),
    )
