"""The scene every offline persona reasons about: targets, deliverables and shots from a prompt.

Also the seeded randomness: `rng_for` hashes the seed and the call's text with sha256 (never
Python's salted `hash()`), so the same seed and messages always give the same words.
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass
from typing import Any

from adapters.colours import colour_name
from adapters.craft import LIGHTS, MATERIALS, MOODS, WEATHERS, brief_targets, light_notes
from adapters.offline.framing import Shot, plan_shot, setting_lines
from adapters.offline.planner import deliverables_for
from adapters.offline.reading import Deliverable, Prompt


def rng_for(seed: int, *parts: str) -> random.Random:
    """A `random.Random` determined by the model seed and the given text."""
    digest = hashlib.sha256("\x1f".join([str(seed), *parts]).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def direction_text(prompt: Prompt, *, with_said: bool = True) -> str:
    """The person's direction, oldest first (and what they just said, when asked)."""
    lines = [d for d in prompt.direction if not (prompt.said and d.strip() in prompt.said)]
    if with_said and prompt.said:
        lines.append(prompt.said)
    return "\n".join(lines)


@dataclass(frozen=True)
class Scene:
    """Targets from brief + direction, the deliverables and a planned shot for each."""

    targets: dict[str, Any]
    deliverables: list[Deliverable]
    shots: dict[str, Shot]
    direction: str
    brief: str = ""

    @property
    def mood(self) -> str:
        return str(self.targets["mood"])

    @property
    def lighting(self) -> str:
        return str(self.targets["lighting"])

    @property
    def weather(self) -> str:
        return str(self.targets["weather"])

    @property
    def palette(self) -> list[str]:
        return list(self.targets["palette"])

    @property
    def subject(self) -> str:
        return str(self.targets["subject"])

    @property
    def materials(self) -> list[str]:
        return [k for k in self.targets["keywords"] if k in MATERIALS]

    def swatch(self, index: int) -> str:
        """`name #hex` for one palette entry (wrapping around)."""
        colour = self.palette[index % len(self.palette)]
        return f"{colour_name(colour)} {colour}"

    def light_notes(self) -> str:
        return light_notes(self.lighting, f"{self.brief}\n{self.direction}")

    def weather_notes(self) -> str:
        return WEATHERS[self.weather].notes if self.weather != "clear" else ""

    def mood_notes(self) -> str:
        return MOODS[self.mood].notes if self.mood in MOODS else self.mood

    def textures(self) -> list[str]:
        """Material phrases, then the weather's, most specific first."""
        found = [MATERIALS[m].notes for m in self.materials if m != "neon"][:2]
        return found + ([self.weather_notes()] if self.weather_notes() else [])

    def avoid(self) -> str:
        parts = [LIGHTS[self.lighting].avoid, MOODS[self.mood].avoid if self.mood in MOODS else ""]
        return " and ".join(p for p in parts if p)

    def setting(self) -> tuple[str, str, str]:
        return setting_lines(self.materials)

    def shot(self, deliverable_id: str) -> Shot:
        return self.shots.get(deliverable_id) or next(iter(self.shots.values()))


def scene_of(prompt: Prompt, *, with_said: bool = True, extra: str = "") -> Scene:
    """The scene for a prompt: brief, then direction (later wins), then any extra text."""
    direction = "\n".join(p for p in (direction_text(prompt, with_said=with_said), extra) if p)
    targets = brief_targets(f"{prompt.brief}\n{direction}")
    if not re.search(r"\b(?:subject|instead of|replace|swap)\b", direction, re.IGNORECASE):
        # "add a stray cat" adds an element beside the brief's subject; it does not replace it
        targets = {**targets, "subject": brief_targets(prompt.brief)["subject"]}
    deliverables = prompt.deliverables or deliverables_for(prompt.brief)
    shots = {
        d.id: plan_shot(d, i, str(targets["mood"]), direction) for i, d in enumerate(deliverables)
    }
    return Scene(targets, deliverables, shots, direction, prompt.brief)
