"""Saga, the story guide, offline: who is there, what just happened, the detail, and why."""

from __future__ import annotations

import random

from adapters.offline.framing import framing_for
from adapters.offline.hooks import FEELINGS, GESTURES, Hook, for_they, hooks, why
from adapters.offline.reading import Prompt
from adapters.offline.scene import Scene
from adapters.offline.talk import (
    newly_directed,
    nods,
    nothing_to_add,
    pick,
    references,
    settled,
)

FACETS = {
    "arc": "moment before",
    "gesture": "body language",
    "gap": "out of frame",
    "stakes": "at stake",
}
"""Refinement ideas Saga has beyond the first story, and the phrase that marks each."""
NODS = (
    "{name}'s {said} is the right emotional temperature; I'm keeping it.",
    "I love {name}'s {said} — it already tells half the story.",
    "{name}'s {said} gives the story its stage.",
)


def _hook(prompt: Prompt, scene: Scene, rng: random.Random) -> Hook:
    """Saga's story so far when it still fits the mood, else a fresh one for this mood."""
    options = hooks(scene.subject, scene.mood, rng)
    mine = " ".join(prompt.spoken_by("story")).lower()
    told = [h for h in options if h.detail.lower() in mine]
    if told:
        who = next((h.who for h in options if h.who.lower() in mine), told[0].who)
        return Hook(who, told[0].event, told[0].detail, told[0].feeling)
    return options[0]


def _story(scene: Scene, hook: Hook, rng: random.Random) -> str:
    who = hook.who[0].upper() + hook.who[1:]
    return pick(
        rng,
        "Who is this? {who}, who {event}. The detail that carries it: {detail}.",
        "{who} {event} — that's our story. The detail that carries it: {detail}.",
        "I keep seeing {who_low} who {event}. The detail that carries it: {detail}.",
        who=who,
        who_low=hook.who,
        event=hook.event,
        detail=hook.detail,
    )


PRODUCT_MOMENTS: dict[str, tuple[str, str]] = {
    "serene": (
        "the first quiet minute of the morning, the {subject} already at work",
        "a hand resting beside the {subject}, nothing else moving",
    ),
    "joyful": (
        "friends arriving just as the {subject} is ready",
        "a hand reaching for it mid-laugh",
    ),
    "cozy": ("a cold evening turned warm by the {subject}", "two mugs waiting beside it"),
    "epic": ("the {subject} revealed in one bold move", "light sweeping along its edge"),
    "nostalgic": (
        "a new {subject} in the kitchen where an old one stood for years",
        "the old one's worn handle, set aside",
    ),
}
"""A product ad's story: a small moment of use, by mood (else the everyday one)."""
EVERYDAY = ("the everyday moment the {subject} makes easier", "a hand reaching for it unlooked")
SELLS = ("product ad", "social media")
"""The video types whose story is the product's (a still set's is a person's moment)."""


def _sells(scene: Scene) -> bool:
    return any(
        d.id == "video" and d.purpose.startswith(tuple(f"a {k}" for k in SELLS))
        for d in scene.deliverables
    )


def _product_story(scene: Scene) -> str:
    event, detail = PRODUCT_MOMENTS.get(scene.mood, EVERYDAY)
    feeling = FEELINGS.get(scene.mood, "curiosity")
    told = {"subject": scene.subject}
    return " ".join(
        [
            f"The {scene.subject} is the hero; the story is one small moment of use: "
            f"{event.format(**told)}. The detail that carries it: {detail.format(**told)}.",
            f"The viewer should feel {feeling} — {scene.mood}, never staged.",
            "Why should a stranger scrolling past stop for this moment?",
        ]
    )


def ideate(prompt: Prompt, scene: Scene, rng: random.Random) -> str:
    """A first story: who, what just happened, the telling detail, the feeling, a why (for a
    product ad: a moment of using the product, not a passer-by's journey)."""
    if _sells(scene):
        return _product_story(scene)
    hook = _hook(prompt, scene, rng)
    weather = f", with the {scene.weather} as their weather" if scene.weather != "clear" else ""
    return " ".join(
        [
            _story(scene, hook, rng),
            f"The viewer should feel {hook.feeling} — {scene.mood}{weather}, never staged.",
            why(rng, hook.detail),
        ]
    )


def _arc(scene: Scene, hook: Hook) -> str:
    """How the set tells the story: scenes before and after, a thumbnail as the emblem."""
    icons = [d.id for d in scene.deliverables if framing_for(d) == "icon"]
    scenes = [d.id for d in scene.deliverables if d.id not in icons]
    emblem = f", and {icons[0]} is the emblem: just {hook.detail}" if icons else ""
    if len(scenes) >= 2:
        before, after = scenes[0], scenes[1]
        return (
            f"Across the set, {before} is the moment before and {after} the moment after{emblem}."
        )
    whole = scenes[0] if scenes else "the set"
    return f"Across the set, {whole} holds the whole moment before and after{emblem}."


def _facet(name: str, scene: Scene, hook: Hook) -> str:
    if name == "arc":
        return _arc(scene, hook)
    if name == "gesture":
        return f"Body language tells it faster than a face: {GESTURES.get(scene.mood, 'a pause')}."
    if name == "gap":
        return (
            "Leave the cause out of frame — whatever they are reacting to stays unseen — "
            f"so the viewer fills the gap, and that is where {hook.feeling} comes from."
        )
    return (
        f"What's at stake for them is what the viewer has to sense: {hook.feeling}, carried "
        f"by {hook.detail}."
    )


def refine(prompt: Prompt, scene: Scene, rng: random.Random) -> str:
    """Answer Luna and Frame by name, add one story idea, always ask why."""
    refs = references(prompt, "story")
    if settled(prompt, "story", FACETS):
        return nothing_to_add(refs, rng)
    hook = _hook(prompt, scene, rng)
    mine = " ".join(prompt.spoken_by("story")).lower()
    options = [f for f, marker in FACETS.items() if marker not in mine]
    lines = nods(rng, refs, NODS)
    for look in newly_directed(prompt, "story")[:1]:
        lines.append(f"With {look} now, the story shifts: they {for_they(hook.event)}.")
    lines.append(_facet(options[0], scene, hook))
    lines.append(why(rng, hook.detail))
    return " ".join(lines)


def answer(prompt: Prompt, before: Scene, after: Scene, rng: random.Random) -> str:
    """Say how the person's message changes who, what happened, and the feeling."""
    hook = _hook(prompt, after, rng)
    if after.mood != before.mood or after.weather != before.weather:
        return " ".join(
            [
                f"That changes the story: with a {after.mood} mood, {hook.who} {hook.event}.",
                f"The detail that carries it: {hook.detail}; the viewer should feel "
                f"{hook.feeling}.",
                why(rng, hook.detail),
            ]
        )
    return " ".join(
        [
            pick(rng, "Noted — the story holds.", "Heard; the story stays the same."),
            f"{hook.who[0].upper()}{hook.who[1:]} {hook.event}, and {hook.detail} carries it.",
            why(rng, hook.detail),
        ]
    )


def chat(prompt: Prompt, scene: Scene, rng: random.Random) -> str:
    """A short reply outside the usual tasks."""
    hook = _hook(prompt, scene, rng)
    return f"{_story(scene, hook, rng)} {why(rng, hook.detail)}"
