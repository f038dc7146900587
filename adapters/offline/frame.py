"""Frame, the composition expert, offline: camera, lens, thirds, horizon and depth layers.

Frame names each deliverable by id in its own sentence, so the director can read the shot
for that deliverable back out of the discussion (`framing.parse_shot`).
"""

from __future__ import annotations

import random

from adapters.offline.framing import ANGLES, FRAMINGS, Shot, parse_shot
from adapters.offline.reading import Deliverable, Prompt
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
    "space": "negative space",
    "path": "eye path",
    "dof": "depth of field",
    "frame": "frame within a frame",
}
"""Refinement ideas Frame has beyond the first shot list, and the phrase that marks each."""
NODS = (
    "I'll build on {name}'s {said}: it tells me where the eye should land.",
    "{name}'s {said} fits the framing — I'm keeping it.",
    "Taking {name}'s {said} into the layout.",
)
WEATHER_LAYERS = {
    "rain": "rain streaks close to the lens",
    "fog": "fog grading each layer lighter",
    "snow": "snowflakes blurred near the lens",
}


def lens(focal_mm: int) -> str:
    """`a 24mm lens`, `an 85mm lens`: the article follows how the number is spoken."""
    return f"{'an' if str(focal_mm).startswith(('8', '11', '18')) else 'a'} {focal_mm}mm lens"


def shot_line(deliverable: Deliverable, shot: Shot, subject: str, rng: random.Random) -> str:
    """One sentence that fixes a deliverable's shot: framing, lens, angle, thirds, horizon."""
    return pick(
        rng,
        "{title} ({id}): {framing} on {a_lens}, {angle}; the {subject} {place}, "
        "horizon at {horizon}% of the height — {why}.",
        "For {id} I'd go with a {framing}, {focal}mm, {angle}, with the {subject} {place} and "
        "the horizon at {horizon}% of the height; {why}.",
        title=deliverable.title or deliverable.id,
        id=deliverable.id,
        framing=FRAMINGS[shot.framing][2],
        why=FRAMINGS[shot.framing][3],
        focal=shot.focal_mm,
        a_lens=lens(shot.focal_mm),
        angle=ANGLES[shot.camera][1],
        subject=subject,
        place=shot.place,
        horizon=round(shot.horizon * 100),
    )


def _layers(scene: Scene) -> str:
    lines, foreground, background = scene.setting()
    if scene.weather in WEATHER_LAYERS:
        foreground = f"{foreground} with {WEATHER_LAYERS[scene.weather]}"
    return (
        f"Leading lines: {lines}, pulling the eye to the {scene.subject}. Three depth layers: "
        f"{foreground}, the {scene.subject} in the midground, {background}."
    )


def ideate(prompt: Prompt, scene: Scene, rng: random.Random) -> str:
    """A first shot list: one line per deliverable, then leading lines and depth."""
    lines = [shot_line(d, scene.shot(d.id), scene.subject, rng) for d in scene.deliverables[:3]]
    lines.append(_layers(scene))
    if scene.mood in ("melancholic", "serene", "mysterious"):
        lines.append(
            f"For a {scene.mood} read, keep generous negative space around the "
            f"{scene.subject}: emptiness does the talking."
        )
    return " ".join(lines)


def _facet(name: str, scene: Scene, detail: str) -> str:
    hero = scene.shot(scene.deliverables[0].id)
    other_side = "right" if hero.subject_x < 0.5 else "left"
    if name == "space":
        return (
            f"Leave negative space on the {other_side} two thirds of the wide frame, so "
            f"{detail} has room and a title could sit there later."
        )
    if name == "path":
        return (
            f"The eye path should run from {detail} first, then along the leading lines to the "
            "background; nothing brighter than the subject near the frame edges."
        )
    if name == "dof":
        return (
            "On depth of field: f/2.8 on the closest deliverable so the background melts "
            "into soft bokeh, f/8 on the wide one so the setting stays readable."
        )
    _, foreground, _ = scene.setting()
    return (
        f"A frame within a frame — {foreground} along one edge — pushes the viewer's "
        "position into the scene, as if they were standing there."
    )


def refine(prompt: Prompt, scene: Scene, rng: random.Random) -> str:
    """Answer Luna and Saga by name, then add one new spatial idea, or nothing new."""
    refs = references(prompt, "composition")
    if settled(prompt, "composition", FACETS):
        return nothing_to_add(refs, rng)
    mine = " ".join(prompt.spoken_by("composition")).lower()
    options = [f for f, marker in FACETS.items() if marker not in mine]
    detail = next((f"the {said}" for name, said in refs if name == "Saga"), f"the {scene.subject}")
    lines = nods(rng, refs, NODS)
    for look in newly_directed(prompt, "composition")[:1]:
        lines.append(f"With {look} in the brief now, the foreground layer has to carry it.")
    lines.append(_facet(options[0], scene, detail))
    first = scene.deliverables[0]
    lines.append("Refined: " + shot_line(first, scene.shot(first.id), scene.subject, rng))
    return " ".join(lines)


def _changes(before: Scene, after: Scene, said: str) -> list[str]:
    out = []
    asked_camera = "camera" in parse_shot(said)
    for d in after.deliverables[:3]:
        old, new = before.shot(d.id), after.shot(d.id)
        moves = []
        if new.camera != old.camera:
            why = "" if asked_camera else f", which suits a {after.mood} mood"
            moves.append(f"camera from {old.camera} to {new.camera} ({ANGLES[new.camera][1]}{why})")
        if new.subject_x != old.subject_x:
            moves.append(f"the {after.subject} now sits {new.place}")
        if new.framing != old.framing:
            moves.append(f"framing becomes a {FRAMINGS[new.framing][2]} on {lens(new.focal_mm)}")
        if new.horizon != old.horizon and new.camera == old.camera:
            moves.append(f"horizon to {round(new.horizon * 100)}% of the height")
        if moves:
            out.append(f"For {d.id}: " + ", ".join(moves) + ".")
    return out


def answer(prompt: Prompt, before: Scene, after: Scene, rng: random.Random) -> str:
    """Say how the person's message changes cameras, placement and layers."""
    changes = _changes(before, after, prompt.said)
    extra = ""
    if after.weather != before.weather and after.weather in WEATHER_LAYERS:
        extra = (
            f" With {after.weather}, I keep the lower third for the ground and put "
            f"{WEATHER_LAYERS[after.weather]} in the foreground layer."
        )
    if after.mood != before.mood and after.mood in ("melancholic", "serene", "mysterious"):
        extra += (
            f" For {after.mood}, more negative space around the {after.subject}, so the "
            "emptiness does the talking."
        )
    if not changes:
        first = after.deliverables[0]
        return (
            pick(rng, "Understood. The shots hold: ", "Got it — the framing stays: ")
            + shot_line(first, after.shot(first.id), after.subject, rng)
            + extra
        )
    return pick(rng, "Yes. ", "Done. ", "Good direction. ") + " ".join(changes) + extra


def chat(prompt: Prompt, scene: Scene, rng: random.Random) -> str:
    """A short reply outside the usual tasks."""
    first = scene.deliverables[0]
    return shot_line(first, scene.shot(first.id), scene.subject, rng)
