"""The planner's craft: deliverables a brief asks for, style guards and a scope line."""

from __future__ import annotations

from typing import Any

from adapters.colours import colour_name
from adapters.craft import LIGHTS, MOODS, WEATHERS, brief_targets, light_notes
from adapters.deliverables import (
    DEFAULTS,
    REQUIRED,
    deliverables_in,
    required_in,
    without_deliverables,
)
from adapters.offline.reading import Deliverable
from adapters.prose import clipped


def deliverables_for(brief: str, direction: str = "") -> list[Deliverable]:
    """Exactly the deliverables the person asked for: a `required_line` in the direction (the
    thread's `settings.deliverables`), else the counts and formats the brief names, else
    hero A/B + thumbnail."""
    required = required_in(direction)
    named = required if required is not None else deliverables_in(brief).deliverables
    return [Deliverable(d.id, d.title, d.aspect, d.purpose) for d in named or DEFAULTS]


def guards(targets: dict[str, Any], text: str = "") -> list[str]:
    """Three to five style guards that keep a set coherent, from the brief's targets (`text`:
    the brief and wishes, for how its light reads there)."""
    palette = list(targets["palette"])
    names = ", ".join(colour_name(c) for c in palette[:4])
    light, mood, weather = targets["lighting"], targets["mood"], targets["weather"]
    out = [
        f"Palette family: {names} ({' '.join(palette[:4])}); {colour_name(palette[0])} dominates "
        "every image",
        f"Light: {light} — {light_notes(light, text)}; key near {targets['brightness']:.2f}, "
        f"contrast near {targets['contrast']:.2f}",
    ]
    if weather != "clear":
        out.append(f"Weather: {weather} in every deliverable — {WEATHERS[weather].notes}")
    else:
        out.append("One light direction and time of day across the whole set")
    if mood in MOODS:
        out.append(f"Mood: {mood} — {MOODS[mood].notes}")
    avoid = [LIGHTS[light].avoid, MOODS[mood].avoid if mood in MOODS else ""]
    out.append("Avoid: " + "; ".join(a for a in avoid if a))
    return out[:5]


def plan(brief: str, direction: str) -> dict[str, Any]:
    """The planner's answer as a `Plan`-shaped dict."""
    deliverables = deliverables_for(brief, direction)
    wishes = "\n".join(line for line in direction.splitlines() if REQUIRED not in line)
    targets = brief_targets(f"{brief}\n{wishes}")
    subject = without_deliverables(brief) or brief  # "a fox, two posts for instagram": a fox
    summary = clipped(" ".join(subject.split()), 90).rstrip(",. ") or "the brief"
    extra = f", {targets['weather']}" if targets["weather"] != "clear" else ""
    scope = (
        f"{len(deliverables)} images ({', '.join(d.id for d in deliverables)}) of "
        f"{summary}: {targets['mood']}, {targets['lighting']} light{extra}, one coherent set."
    )
    return {
        "deliverables": [
            {"id": d.id, "title": d.title, "purpose": d.purpose, "aspect": d.aspect}
            for d in deliverables
        ],
        "style_guards": guards(targets, f"{brief}\n{wishes}"),
        "scope": scope,
    }
