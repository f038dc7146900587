"""Read a settings list of deliverables (`["hero 16:9", "3 thumbnails 1:1"]`) exactly, with
readable errors, and the line that carries such a list to a planner model."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace

from adapters.deliverables.formats import (
    ASPECTS,
    FORMATS,
    MAX_DELIVERABLES,
    Requested,
    lettered,
    slug,
)

REQUIRED = "Required deliverables (exactly these ids and aspect ratios):"
"""Opens the line that tells a planner model the exact list (`required_line`, `required_in`)."""


_RATIO = re.compile(r"(?<![\w.])(\d{1,3}) ?[:x×/] ?(\d{1,3})(?![\w.])")
_GLUED = re.compile(r"([^\W\d_])(\d{1,3}:\d{1,3})(?![\w.])")
"""A name with its colon ratio glued on ("hero16:9"): read as the name and the ratio."""


def _named(name: str) -> Requested:
    """A deliverable for a name: a known format's id, title, aspect and purpose ("thumbnails",
    "instagram post", "hero-b"), else the name itself as id and title (16:9)."""
    low = " ".join(name.lower().split())
    variant = re.fullmatch(r"(.+?)[ -]([a-h])", low)
    for fmt in FORMATS:  # by its words ("instagram post") or its id ("post", "album-cover")
        if fmt.pattern.fullmatch(low) or low == fmt.id:
            return Requested(fmt.id, fmt.title, fmt.aspect, fmt.purpose)
        if variant and (fmt.pattern.fullmatch(variant[1]) or variant[1] == fmt.id):
            letter = variant[2]
            return Requested(
                f"{fmt.id}-{letter}", f"{fmt.title} {letter.upper()}", fmt.aspect, fmt.purpose
            )
    title = name if " " in name.strip() else name.replace("-", " ")  # "key-art": "Key art"
    return Requested(slug(name), title[:1].upper() + title[1:], "16:9", "")


def _entry(raw: str) -> list[Requested]:
    """One settings entry, `[N] NAME [ASPECT] [xN]`: "hero 16:9", "3 thumbnails 1:1"."""
    text = " ".join(raw.split())
    text = _GLUED.sub(r"\1 \2", text)  # "hero7:3" reads as "hero 7:3", as README's NAME [ASPECT]
    example = 'write each as NAME [ASPECT], e.g. "hero 16:9"'
    if not text:
        raise ValueError(f"an empty deliverable; {example}")
    ratios = _RATIO.findall(text)
    if len(ratios) > 1:
        raise ValueError(f"{text!r} has more than one aspect ratio; {example}")
    aspect = f"{int(ratios[0][0])}:{int(ratios[0][1])}" if ratios else None
    if aspect is not None and aspect not in ASPECTS:
        known = ", ".join(ASPECTS)
        raise ValueError(f"unknown aspect ratio {aspect} in {text!r}; use one of {known}")
    name, count = _RATIO.sub(" ", text), 1
    if m := re.search(r"(?:^|\s)[x×] ?(\d{1,2})\s*$", name):
        name, count = name[: m.start()], int(m[1])
    elif m := re.match(r"\s*(\d{1,2}) ?(?:[x×] )?(?=[^\d\s])", name):
        name, count = name[m.end() :], int(m[1])
    name = name.strip(" ()[]:,–—-")
    if not slug(name):
        raise ValueError(f"{text!r} has no name; {example}")
    if count < 1:
        raise ValueError(f"{text!r} asks for no images; leave it out or ask for one or more")
    base = _named(name)
    return [replace(base, aspect=aspect or base.aspect)] * count


def read_deliverables(entries: str | Iterable[str]) -> tuple[list[Requested], list[str]]:
    """The deliverables a settings list names (each entry `NAME [ASPECT]`; an entry may hold
    several, comma-separated), at most `MAX_DELIVERABLES`, and what was wrong with the rest."""
    units: list[Requested] = []
    problems: list[str] = []
    for item in [entries] if isinstance(entries, str) else entries:
        if not isinstance(item, str):
            problems.append(f"{item!r} is not text; write each as NAME [ASPECT]")
            continue
        parts = [p for p in re.split(r"[,;\n]", item) if p.strip()] or [item]
        for part in parts:
            try:
                units.extend(_entry(part))
            except ValueError as exc:
                problems.append(str(exc))
    if len(units) > MAX_DELIVERABLES:
        problems.append(
            f"{len(units)} deliverables asked for; a session makes at most {MAX_DELIVERABLES}"
        )
    return lettered(units[:MAX_DELIVERABLES]), problems


def parse_deliverables(entries: str | Iterable[str]) -> list[Requested]:
    """Exactly the deliverables a settings list names (`["hero 16:9", "thumbnail 1:1"]`, or one
    comma-separated string); repeated names become variants (`hero-a`, `hero-b`). Raises
    `ValueError` with a readable message for an empty entry or name, an unknown aspect ratio or
    more than `MAX_DELIVERABLES`."""
    found, problems = read_deliverables(entries)
    if problems:
        raise ValueError("; ".join(problems))
    return found


def describe(deliverables: Iterable[Requested]) -> str:
    """`hero-a 16:9, thumbnail 1:1`: the settings form, which `parse_deliverables` reads back."""
    return ", ".join(f"{d.id} {d.aspect}" for d in deliverables)


def required_line(deliverables: Iterable[Requested]) -> str:
    """The line that tells a planner model the exact list."""
    return f"{REQUIRED} {describe(deliverables)}"


def required_in(text: str) -> list[Requested] | None:
    """The list a `required_line` in `text` carries; None when there is none."""
    for line in text.splitlines():
        if REQUIRED in line:
            return read_deliverables(line.split(REQUIRED, 1)[1])[0]
    return None
