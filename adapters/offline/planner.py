"""The planner's craft: deliverables a brief asks for, style guards and a scope line."""

from __future__ import annotations

import re
from typing import Any

from adapters.craft import LIGHTS, MOODS, WEATHERS, brief_targets, colour_name
from adapters.offline.reading import Deliverable

FORMATS: tuple[tuple[str, str, str, str, str], ...] = (
    (
        r"phone wallpaper|instagram stor|reel|vertical",
        "vertical",
        "Vertical",
        "9:16",
        "full-screen phone format",
    ),
    (r"\bposters?\b", "poster", "Poster", "2:3", "print poster with a strong vertical read"),
    (r"book cover", "cover", "Book cover", "2:3", "cover with room for the title"),
    (
        r"album cover|avatar|profile pic|\bicon\b",
        "square",
        "Square",
        "1:1",
        "square format that reads small",
    ),
    (r"\bbanners?\b|\bheader\b", "banner", "Banner", "21:9", "wide strip with room for a title"),
    (r"instagram|social post", "post", "Social post", "4:5", "portrait feed post"),
    (r"wallpaper|desktop", "wallpaper", "Wallpaper", "16:9", "desktop wallpaper"),
    (r"\bthumbnails?\b", "thumbnail", "Thumbnail", "1:1", "small preview that reads at a glance"),
)
"""Format words -> (id, title, aspect, purpose)."""
COUNTS = {"two": 2, "three": 3, "four": 4, "2": 2, "3": 3, "4": 4, "five": 4, "5": 4}
DEFAULTS = (
    Deliverable("hero-a", "Hero A", "16:9", "wide establishing view of the scene"),
    Deliverable("hero-b", "Hero B", "4:5", "closer alternate angle on the subject"),
    Deliverable("thumbnail", "Thumbnail", "1:1", "small preview that reads at a glance"),
)
LETTERS = "abcd"


def deliverables_for(brief: str) -> list[Deliverable]:
    """The deliverables a brief names (formats, "three variations"), else hero A/B + thumbnail."""
    low = brief.lower()
    named = [(re.search(p, low), d) for p, *d in FORMATS]
    formats = [
        d for match, d in sorted(((m, d) for m, d in named if m), key=lambda x: x[0].start())
    ]
    count = re.search(
        r"\b(two|three|four|five|[2-5])\s+(?:\w+\s+)?(?:variations?|versions?|"
        r"options?|variants?|takes?|images?|shots?|alternatives?)\b",
        low,
    )
    if count:
        ident, title, aspect, purpose = (
            formats[0] if formats else ("variation", "Variation", "16:9", "one take on the brief")
        )
        angles = ("eye-level", "alternate angle", "closer", "wider")
        return [
            Deliverable(
                f"{ident}-{LETTERS[i]}",
                f"{title} {LETTERS[i].upper()}",
                aspect,
                f"{purpose}; {angles[i]} take",
            )
            for i in range(COUNTS[count.group(1)])
        ]
    if not formats:
        return list(DEFAULTS)
    out = [Deliverable(*d) for d in dict.fromkeys(tuple(f) for f in formats)][:4]
    if len(out) == 1 and out[0].aspect != "1:1":
        out.append(DEFAULTS[2])  # a lone format still needs a small preview to share it by
    return out


def guards(targets: dict[str, Any]) -> list[str]:
    """Three to five style guards that keep a set coherent, from the brief's targets."""
    palette = list(targets["palette"])
    names = ", ".join(colour_name(c) for c in palette[:4])
    light, mood, weather = targets["lighting"], targets["mood"], targets["weather"]
    out = [
        f"Palette family: {names} ({' '.join(palette[:4])}); {colour_name(palette[0])} dominates "
        "every image",
        f"Light: {light} — {LIGHTS[light].notes}; key near {targets['brightness']:.2f}, contrast "
        f"near {targets['contrast']:.2f}",
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
    targets = brief_targets(f"{brief}\n{direction}")
    deliverables = deliverables_for(f"{brief}\n{direction}")
    summary = " ".join(brief.split())[:90].rstrip(",. ") or "the brief"
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
        "style_guards": guards(targets),
        "scope": scope,
    }
