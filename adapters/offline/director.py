"""Pixel, the technical director, offline: the discussion's consensus as one spec per deliverable.

Targets come from the brief and the person's direction; the shot from Frame's lines when they
parse; feedback moves the current spec by what was measured, so every fix shows in the numbers.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from adapters.colours import colour_name
from adapters.deliverables import DEFAULTS
from adapters.offline import feedback
from adapters.offline.framing import (
    FRAMINGS,
    Shot,
    apply_shot,
    parse_shot,
    place_of,
    plan_shot,
)
from adapters.offline.reading import Deliverable, Prompt
from adapters.offline.scene import Scene, scene_of
from adapters.offline.talk import CAMERA_WORDS, hexes
from adapters.prose import clipped
from adapters.specs import BASE_NEGATIVE

LONG_SIDE = {"wide": 1024, "medium": 800, "close": 800, "icon": 512}
NUMERIC = ("brightness", "contrast", "subject_x", "subject_y", "subject_scale", "horizon")


def size_for(aspect: str, framing: str) -> tuple[int, int]:
    """Width and height (multiples of 8) for an aspect ratio at the framing's long side."""
    w, _, h = aspect.partition(":")
    try:
        ratio = float(w) / float(h)
    except (ValueError, ZeroDivisionError):
        ratio = 16 / 9
    long_side = LONG_SIDE.get(framing, 800)
    if ratio >= 1:
        return long_side, max(256, round(long_side / ratio / 8) * 8)
    return max(256, round(long_side * ratio / 8) * 8), long_side


def seed_for(deliverable: str, seed: int, brief: str = "") -> int:
    """A stable seed per brief, deliverable and model seed (sha256, never the salted `hash()`).

    The brief is part of the digest (whitespace and case folded), so two threads with different
    briefs never share a hero-a seed, while the same brief and deliverable stay reproducible.
    """
    words = " ".join(brief.lower().split())
    digest = hashlib.sha256(f"{words}\x1f{deliverable}:{seed}".encode()).hexdigest()
    return int(digest[:8], 16) % 2**31


def _deliverable(prompt: Prompt, ident: str) -> Deliverable:
    listed = {d.id: Deliverable(d.id, d.title, d.aspect, d.purpose) for d in DEFAULTS}
    listed.update({d.id: d for d in prompt.deliverables})
    return listed.get(ident) or Deliverable(ident, ident, "1:1" if "thumb" in ident else "16:9")


def _names(sentence: str, ident: str) -> bool:
    return re.search(rf"\b{re.escape(ident)}\b", sentence, re.IGNORECASE) is not None


def _frame_cues(turns: list[str], ident: str, ids: list[str]) -> dict[str, float | str]:
    """Frame's choices for one deliverable, oldest line first so later lines win.

    A sentence naming deliverables applies to those; one naming none applies to all, but only
    while Frame never names a deliverable (a general model's prose), and never when it quotes
    another persona (their idea, not Frame's shot).
    """
    sentences = [s for turn in turns for s in re.split(r"(?<=[.!?])\s+", turn)]
    sentences = [s for s in sentences if not re.search(r"\b(Luna|Saga|Pixel|Lens)\b", s)]
    named = [s for s in sentences if _names(s, ident)]
    if named or any(_names(s, i) for s in sentences for i in ids):
        return parse_shot(" ".join(named))
    return parse_shot(" ".join(sentences))


def _palette(prompt: Prompt, scene: Scene) -> list[str]:
    """Luna's palette when she spoke after the person last did, else the brief's targets."""
    last_person = max(
        (i for i, t in enumerate(prompt.discussion) if t.role == "person"), default=-1
    )
    luna = [t.text for t in prompt.discussion[last_person + 1 :] if t.role == "style"]
    named = list(dict.fromkeys(hexes(luna[-1]))) if luna else []
    return named[:5] if len(named) >= 3 else scene.palette


def _base(
    prompt: Prompt, scene: Scene, d: Deliverable, index: int, seed: int
) -> tuple[dict[str, Any], Shot]:
    """A fresh spec from the targets and the shot (Frame's, when the discussion has one)."""
    shot = scene.shots.get(d.id) or plan_shot(d, index, scene.mood, scene.direction)
    ids = [x.id for x in scene.deliverables] + prompt.targets
    shot = apply_shot(shot, _frame_cues(prompt.spoken_by("composition"), d.id, ids))
    width, height = size_for(d.aspect or "16:9", shot.framing)
    spec = {
        "deliverable": d.id,
        "template": prompt.templates[0],
        "width": width,
        "height": height,
        "steps": 24 if shot.framing == "icon" else 28,
        "sampler": "dpmpp_2m",
        "scheduler": "karras",
        "seed": seed_for(d.id, seed, prompt.brief),
        "palette": _palette(prompt, scene),
        "lighting": scene.lighting,
        "brightness": scene.targets["brightness"],
        "contrast": scene.targets["contrast"],
        "mood": scene.mood,
        "subject": scene.subject,
        "subject_x": shot.subject_x,
        "subject_y": shot.subject_y,
        "subject_scale": shot.subject_scale,
        "horizon": shot.horizon,
        "camera": shot.camera,
        "weather": scene.weather,
        "style_intensity": 0.55,
        "quality": "standard",
    }
    return spec, shot


def _feedback_for(prompt: Prompt, ident: str) -> str:
    """Feedback for one deliverable: its own, plus the `*` parts not addressed to another."""
    others = [i for i in prompt.targets + [d.id for d in prompt.deliverables] if i != ident]
    shared = [
        part
        for part in re.split(r";\s+(?=[\w-]+:)|\n", prompt.feedback.get("*", ""))
        if not any(part.strip().startswith(f"{o}:") for o in others)
    ]
    return "; ".join(p for p in [prompt.feedback.get(ident, ""), *shared] if p.strip())


def _prompt_text(spec: dict[str, Any], scene: Scene, brief: str, shot: Shot) -> str:
    parts = [
        clipped(" ".join(brief.split()), 160).rstrip(",. ") or spec["subject"],
        f"{spec['subject']} {place_of(float(spec['subject_x']))}",
        f"{spec['mood']} mood",
        f"{spec['lighting']} lighting, {scene.light_notes()}",
        *scene.textures(),
        "palette of " + ", ".join(colour_name(c) for c in spec["palette"][:4]),
        f"{FRAMINGS[shot.framing][2]}, {shot.focal_mm}mm lens",
        CAMERA_WORDS[spec["camera"]],
        "cinematic composition, rich detail",
    ]
    if spec["weather"] != "clear" and scene.weather != spec["weather"]:
        parts.insert(3, f"{spec['weather']}")
    return ", ".join(dict.fromkeys(p for p in parts if p))


def _negative(spec: dict[str, Any], scene: Scene, framing: str) -> str:
    extra = [scene.avoid()]
    if framing in ("close", "medium"):
        extra.append("distorted face, extra fingers")
    if framing == "icon":
        extra.append("cluttered background, tiny details")
    if spec["weather"] == "rain":
        extra.append("dry pavement")
    return ", ".join([BASE_NEGATIVE, *(e for e in extra if e)])


def specs(prompt: Prompt, seed: int) -> dict[str, Any]:
    """A `SpecBatch`-shaped dict: one proposal per deliverable to specify, with a rationale."""
    scene = scene_of(prompt)
    proposals, rationale = [], []
    for index, ident in enumerate(prompt.targets or [d.id for d in scene.deliverables]):
        d = _deliverable(prompt, ident)
        spec, shot = _base(prompt, scene, d, index, seed)
        current = prompt.current_specs.get(ident, {})
        for field in (*NUMERIC, "camera", "palette", "seed"):
            if field in current and current[field] not in ("", []):
                spec[field] = current[field]
        if "seed" in current:
            spec["seed"] = (int(current["seed"]) + 1) % 2**31  # a regeneration must differ
        said = _feedback_for(prompt, ident)
        base = "\n".join([prompt.brief, *(d for d in prompt.direction if d.strip() != said)])
        notes = feedback.apply(
            spec,
            said,
            scene,
            base=base,
            has_current=bool(current),
            in_direction=said in prompt.direction,
        )
        spec["cfg"] = round(5.0 + 3.0 * float(spec["style_intensity"]), 1)
        spec["prompt"] = _prompt_text(spec, scene, prompt.brief, shot)
        spec["negative_prompt"] = _negative(spec, scene, shot.framing)
        proposals.append(spec)
        line = (
            f"{ident}: {spec['width']}x{spec['height']} {shot.framing} ({d.aspect or '16:9'}), "
            f"{spec['camera']} camera, subject at x={spec['subject_x']}, seed {spec['seed']}"
        )
        rationale.append(line + (f"; feedback applied: {', '.join(notes)}" if notes else ""))
    return {"specs": proposals, "rationale": "\n".join(rationale)}
