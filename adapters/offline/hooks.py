"""Story hooks as data: who is there, what just happened, the detail that tells it, the feeling.

Saga picks from these with the seeded RNG, always keyed by the brief's mood, so the story
follows the direction (a melancholic rain brings a different moment than a joyful noon).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

WHO: dict[str, tuple[str, ...]] = {
    "lone figure": (
        "a night-shift courier on the last run of the night",
        "someone walking home the long way so they don't have to arrive",
        "a street musician packing up after nobody stopped",
        "a woman who came back to the city after ten years away",
    ),
}
"""Who the unnamed 'lone figure' could be; a named subject speaks for itself."""

MOMENTS: dict[str, tuple[tuple[str, str], ...]] = {
    "melancholic": (
        ("has just missed the last train", "the departures board still glowing with its name"),
        ("just read a message they can't answer", "a phone screen lit in a cold hand"),
        ("let someone go a minute ago", "a second umbrella, closed, held but not used"),
    ),
    "joyful": (
        ("just heard the news they had waited a year for", "a crumpled letter held up high"),
        ("is running to meet someone", "a scarf flying loose behind them"),
    ),
    "eerie": (
        ("noticed the lights flicker in a rhythm", "one window lit where no one lives"),
        ("heard their name from an empty street", "footprints that stop mid-step"),
    ),
    "serene": (
        ("has finished a long journey", "boots set down beside them, laces undone"),
        ("stopped to watch the light change", "a cup of tea cooling in two hands"),
    ),
    "tense": (
        ("heard footsteps match their own", "a reflection in a shop window a second too late"),
        ("is carrying something they shouldn't have", "a hand pressed flat over a coat pocket"),
    ),
    "romantic": (
        ("is waiting for someone who is late", "two tickets, one already torn"),
        ("has just been kissed", "a smudge of lipstick on a collar"),
    ),
    "epic": (
        ("stands before the thing they came to face", "a banner torn but still raised"),
        ("has reached the summit", "a tiny silhouette against the vast sky"),
    ),
    "nostalgic": (
        ("came back to the street they grew up on", "a shuttered corner shop with the old sign"),
        ("found an old photograph in a coat pocket", "the photo held up against the scene"),
    ),
    "mysterious": (
        ("found a door that wasn't there yesterday", "a key that doesn't match any lock"),
        ("is following a stranger's directions", "a note with an address and no name"),
    ),
    "cozy": (
        ("just came in from the cold", "steam rising from a mug by the window"),
        ("is reading by the last lamp still on", "a cat asleep on the open book's edge"),
    ),
}
"""Mood -> (what just happened, the one detail that carries it)."""

FEELINGS: dict[str, str] = {
    "melancholic": "a quiet ache, recognition rather than pity",
    "joyful": "a lift in the chest, the urge to smile back",
    "eerie": "the prickle of being watched",
    "serene": "a long exhale",
    "tense": "held breath, the urge to look over your shoulder",
    "romantic": "warmth and a little longing",
    "epic": "awe at scale, and courage borrowed from the subject",
    "nostalgic": "a sweet pang for something gone",
    "mysterious": "curiosity that pulls you deeper into the frame",
    "cozy": "safety, the wish to step inside",
}

GESTURES: dict[str, str] = {
    "melancholic": "shoulders dropped, head tilted toward the ground, hands in pockets",
    "joyful": "arms open, weight on the toes, mid-stride",
    "eerie": "frozen mid-turn, looking back over one shoulder",
    "serene": "still, weight settled, face tilted to the light",
    "tense": "half-turned, one hand raised, weight on the back foot",
    "romantic": "leaning in, a hand almost touching another",
    "epic": "planted feet, chin up, facing the vastness",
    "nostalgic": "one hand touching a wall or a sign, slowed to a stop",
    "mysterious": "face half in shadow, turned toward something out of frame",
    "cozy": "curled into a chair, knees up, both hands around a mug",
}
"""Mood -> the body language that shows it."""

WHY_QUESTIONS = (
    "Why are they still here when everyone else has gone?",
    "Why this place — what does it mean to them?",
    "Why now: what would the next minute look like?",
    "Why should a stranger scrolling past stop for this moment?",
    "Why does the {detail} matter more than anything else in the frame?",
)


@dataclass(frozen=True)
class Hook:
    """One story for the image: the who, the moment, the detail and the feeling."""

    who: str
    event: str
    detail: str
    feeling: str


PEOPLE = frozenset(
    "woman man girl boy child couple detective samurai knight wizard witch astronaut courier "
    "dancer musician figure person character portrait".split()
)
"""Subjects that can carry a story themselves; anything else needs someone there."""


def people_for(subject: str) -> tuple[str, ...]:
    """Who the story is about: the subject itself, or someone at the place or thing it names."""
    if subject in WHO:
        return WHO[subject]
    if subject.split()[-1] in PEOPLE:
        return (f"the {subject}",)
    return (
        f"the last keeper of the {subject}",
        f"someone watching the {subject} from a distance",
        f"a traveller at the end of the long road to the {subject}",
    )


_THEY = {"has": "have", "is": "are", "stands": "stand"}
"""The moments' present-tense verbs (written for one person, "who has …") as "they" takes them."""


def for_they(event: str) -> str:
    """A moment ("has finished a long journey") said of "they" ("have finished …")."""
    verb, _, rest = event.partition(" ")
    return f"{_THEY.get(verb, verb)} {rest}".strip()


def hooks(subject: str, mood: str, rng: random.Random) -> list[Hook]:
    """Every story the mood suggests for `subject`, shuffled by `rng` (first one leads)."""
    people = list(people_for(subject))
    moments = list(MOMENTS.get(mood, MOMENTS["mysterious"]))
    rng.shuffle(people)
    rng.shuffle(moments)
    feeling = FEELINGS.get(mood, "curiosity")
    return [
        Hook(people[i % len(people)], event, detail, feeling)
        for i, (event, detail) in enumerate(moments)
    ]


def why(rng: random.Random, detail: str) -> str:
    """A 'why' question for the person or the team."""
    core = re.sub(r"^(?:a|an|the)\s+", "", detail)  # "the {detail}" must not read "the a key"
    return rng.choice(WHY_QUESTIONS).format(detail=core)
