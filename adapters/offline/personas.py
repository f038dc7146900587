"""Persona prose for the offline model: which voice speaks, for which task, about which scene."""

from __future__ import annotations

import random
from types import ModuleType

from adapters.offline import frame, luna, saga
from adapters.offline.reading import Prompt
from adapters.offline.scene import Scene, scene_of

VOICES: dict[str, ModuleType] = {"style": luna, "composition": frame, "story": saga}


def speak(prompt: Prompt, rng: random.Random) -> str:
    """Prose for a persona task (ideate, refine, answer, or anything else)."""
    scene = scene_of(prompt)
    voice = VOICES.get(prompt.role)
    if voice is None:
        return other_role(prompt, scene)
    if prompt.task == "ideate":
        text: str = voice.ideate(prompt, scene, rng)
    elif prompt.task == "refine":
        text = voice.refine(prompt, scene, rng)
    elif prompt.task == "answer":
        text = voice.answer(prompt, scene_of(prompt, with_said=False), scene, rng)
    else:
        text = voice.chat(prompt, scene, rng)
    return text


def other_role(prompt: Prompt, scene: Scene) -> str:
    """A short, relevant reply from a role without a discussion voice."""
    first = scene.deliverables[0]
    shot = scene.shot(first.id)
    if prompt.role == "director":
        return (
            f"Pixel here: I'd render {first.id} {first.aspect} on a {shot.focal_mm}mm "
            f"{shot.framing} framing, {scene.lighting} light, {scene.weather}, key "
            f"{scene.targets['brightness']:.2f}, palette {' '.join(scene.palette[:3])}."
        )
    if prompt.role == "critic":
        return (
            f"Lens here: I'll hold every output to {scene.lighting} light, a "
            f"{scene.mood} mood, weather {scene.weather} and the palette "
            f"{' '.join(scene.palette[:3])}, and score what I measure."
        )
    if prompt.role == "planner":
        ids = ", ".join(d.id for d in scene.deliverables)
        return f"For this brief I'd plan {ids}: {scene.mood}, {scene.lighting} light."
    rng = random.Random(0)  # the studio's summary voice: one fixed phrasing per scene
    return " ".join([luna.chat(prompt, scene, rng), frame.chat(prompt, scene, rng)])
