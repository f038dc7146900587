"""Discussion moves every persona shares: quoting the others, novelty, saying nothing new.

The moderator counts new content words per round, so "nothing to add" lines reuse only words
already said (names and quotes from the discussion): a converged round then reads as converged.
"""

from __future__ import annotations

import random
import re

from adapters.craft import named_looks
from adapters.offline.framing import parse_shot
from adapters.offline.reading import HEX, Prompt

NAMES = {"style": "Luna", "composition": "Frame", "story": "Saga"}
CAMERA_WORDS = {
    "low": "low angle",
    "high": "high angle",
    "eye": "eye level",
    "overhead": "overhead view",
}


def first_clause(text: str, words: int = 9) -> str:
    """The opening of a text, cut at the first clause break, at most `words` words."""
    clause = re.split(r"[.;:!?—]|, ", text.strip(), maxsplit=1)[0]
    return " ".join(clause.split()[:words]).strip(" ,").lower()


def bare(phrase: str) -> str:
    """A phrase without its leading article, so it reads after a possessive ("Saga's key")."""
    return re.sub(r"^(?:a|an|the)\s+", "", phrase.strip(), flags=re.IGNORECASE)


COLOUR_MODIFIERS = frozenset("deep dusty pale light dark bright soft muted warm cool".split())
"""The first words a swatch's name can have (`colour_name`'s "deep navy", "dusty blue")."""


def specific(role: str, text: str) -> str | None:
    """Something concrete `role` said, in their words: a swatch, a lens, a story detail."""
    low = text.lower()
    if role == "style" and (match := re.search(r"([a-z-]+ )?([a-z-]+) (#[0-9a-f]{6})", low)):
        # "inside cyan #87ceeb" is cyan: a swatch's name is its colour words, not the preposition
        # or verb before them ("Luna's inside cyan" read as a glitch)
        parts = [part.strip() for part in match.groups() if part]
        if len(parts) == 3 and parts[0] not in COLOUR_MODIFIERS:  # "tinted", "against"
            parts = parts[1:]
        return " ".join(parts)
    if role == "composition":
        for sentence in re.split(r"(?<=[.!?])\s+", text):
            shot = parse_shot(sentence)
            if "camera" in shot and not re.search(r"\b(Luna|Saga)\b", sentence):
                lens = f"{int(shot['focal_mm'])}mm " if "focal_mm" in shot else ""
                return f"{lens}{CAMERA_WORDS[str(shot['camera'])]}"
    if role == "story" and (match := re.search(r"detail that carries it:\s*([^.;]+)", low)):
        return bare(match.group(1))
    return None


def quote(role: str, turns: list[str]) -> str:
    """The most recent concrete thing `role` said, else the opening of its latest real line."""
    real = [t for t in turns if not t.lower().startswith("nothing")] or turns
    for text in reversed(real):
        if found := specific(role, text):
            return found
    return bare(first_clause(real[-1])) if real else "point"


def references(prompt: Prompt, me: str) -> list[tuple[str, str]]:
    """(name, quote) for each other specialist who has spoken, the latest speaker first."""
    order = [t.role for t in reversed(prompt.discussion) if t.role in NAMES and t.role != me]
    roles = list(dict.fromkeys(order))
    return [(NAMES[role], quote(role, prompt.spoken_by(role))) for role in roles]


def unaddressed(prompt: Prompt, me: str) -> list[str]:
    """Looks the person asked for that none of my earlier lines has taken up yet."""
    mine = " ".join(prompt.spoken_by(me)).lower()
    wanted = named_looks("\n".join([*prompt.direction, prompt.said]))
    return [look for look in wanted if look.split()[0] not in mine]


def newly_directed(prompt: Prompt, me: str) -> list[str]:
    """The unaddressed looks the person's direction adds to the brief: those the brief itself
    names (a 'lighthouse' brief's ocean, its 'dawn') were there from the start, so "with X in
    the brief now" would be untrue of them."""
    in_brief = set(named_looks(prompt.brief))
    return [look for look in unaddressed(prompt, me) if look not in in_brief]


def fresh(prompt: Prompt, me: str, facets: dict[str, str]) -> list[str]:
    """Facet names whose marker phrase none of my earlier lines contains."""
    mine = " ".join(prompt.spoken_by(me)).lower()
    return [name for name, marker in facets.items() if marker not in mine]


def settled(prompt: Prompt, me: str, facets: dict[str, str]) -> bool:
    """Nothing new to add: a late round with no open direction, or every facet already said."""
    if unaddressed(prompt, me):
        return False
    return prompt.round_no >= 3 or not fresh(prompt, me, facets)


def nothing_to_add(refs: list[tuple[str, str]], rng: random.Random) -> str:
    """A short agreement built only from words already in the discussion."""
    agreed = " and ".join(f"{name}'s {said}" for name, said in refs[:2]) or "the team"
    return rng.choice(
        (
            "Nothing to add — I agree with {a}.",
            "Nothing new from me: I agree with {a}.",
            "Nothing to add; I agree with {a}.",
        )
    ).format(a=agreed)


def hexes(text: str) -> list[str]:
    """Hex colours in a text, lower-cased, in order."""
    return [h.lower() for h in HEX.findall(text)]


def pick(rng: random.Random, *templates: str, **values: object) -> str:
    """One of several phrasings, chosen by the seeded RNG, filled with `values`."""
    return rng.choice(templates).format(**values)


def nods(rng: random.Random, refs: list[tuple[str, str]], templates: tuple[str, ...]) -> list[str]:
    """One sentence per reference, each in a different phrasing."""
    chosen = rng.sample(templates, k=min(len(refs), len(templates)))
    return [t.format(name=name, said=said) for t, (name, said) in zip(chosen, refs, strict=False)]
