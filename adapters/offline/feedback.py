"""Feedback, applied to a spec: measured findings, qualitative notes and a person's own words.

Each kind moves parameters so the change is measurable in the next spec: a measured gap moves
the value by that gap (bounded), a note without numbers by a fixed nudge, and plain words
through the same craft reading as the brief ("brighter", "more rain", "move the figure left").
"""

from __future__ import annotations

import re
from typing import Any

from adapters.craft import brief_targets
from adapters.offline.framing import parse_shot
from adapters.offline.reading import Finding, findings
from adapters.offline.scene import Scene

MAX_STEP = 0.3
"""The most one round of feedback moves a 0-1 parameter: enough to fix, not enough to overshoot
into the opposite finding."""
RANGES = {
    "brightness": (0.05, 0.95),
    "contrast": (0.05, 0.95),
    "subject_x": (0.15, 0.85),  # past these, a correction would push the subject off the frame
    "subject_y": (0.15, 0.85),
    "horizon": (0.08, 0.92),
    "subject_scale": (0.1, 0.8),
    "style_intensity": (0.0, 1.0),
}
ALIASES = {
    "exposure": "brightness",
    "key": "brightness",
    "composition": "subject_x",
    "subject": "subject_x",
    "placement": "subject_x",
    "scale": "subject_scale",
    "size": "subject_scale",
}
NUDGES: tuple[tuple[str, str, str, float], ...] = (
    ("brightness", "too dark", "brightness", 0.1),
    ("brightness", "too bright", "brightness", -0.1),
    ("contrast", "too flat", "contrast", 0.1),
    ("contrast", "too harsh", "contrast", -0.1),
    ("subject_x", "too far right", "subject_x", -0.15),
    ("subject_x", "too far left", "subject_x", 0.15),
    ("horizon", "too high", "horizon", 0.1),  # horizon is measured from the top
    ("horizon", "too low", "horizon", -0.1),
)
"""Notes without numbers: (field, words, field to move, step)."""
_KEYED = re.compile(r"^\s*([a-z][a-z _-]*?)\s*:\s*(.+)$")


def clip(field: str, value: float) -> float:
    low, high = RANGES.get(field, (0.0, 1.0))
    return round(max(low, min(high, value)), 3)


def _move(spec: dict[str, Any], field: str, step: float) -> str:
    old = float(spec[field])
    spec[field] = clip(field, old + max(-MAX_STEP, min(MAX_STEP, step)))
    return f"{field} {old:.2f} -> {spec[field]:.2f}"


def _pull(spec: dict[str, Any], scene: Scene, *, key: bool = False) -> str:
    spec["palette"] = scene.palette
    spec["style_intensity"] = clip("style_intensity", float(spec["style_intensity"]) + 0.1)
    note = "palette pulled back to " + " ".join(scene.palette[:4])
    if key:  # a drifting member also drifts in key: meet the set's target halfway
        target = float(scene.targets["brightness"])
        note += "; " + _move(spec, "brightness", (target - float(spec["brightness"])) / 2)
    return note


def measured(spec: dict[str, Any], found: Finding, scene: Scene, has_current: bool) -> str:
    """Move one parameter by the gap a finding measured; say what moved."""
    field = ALIASES.get(found.key, found.key)
    if field in RANGES:
        if not has_current:
            old = float(spec[field])
            spec[field] = clip(field, found.target)
            return f"{field} {old:.2f} -> {spec[field]:.2f} (to target)"
        return _move(spec, field, found.target - found.measured) + f" ({found.text})"
    if field in ("palette", "colour", "colours", "color", "colors"):
        return _pull(spec, scene)
    spec["steps"] = min(40, int(spec["steps"]) + 4)
    return f"{found.key}: more steps ({spec['steps']}) for detail"


def noted(spec: dict[str, Any], key: str, words: str, scene: Scene) -> str | None:
    """Apply a `key: words` note that carries no numbers; None when the key is not ours."""
    field = ALIASES.get(key, key)
    for nudge_field, phrase, target, step in NUDGES:
        if field == nudge_field and phrase in words:
            return _move(spec, target, step)
    if field in ("palette", "colour", "colours", "color", "colors"):
        return _pull(spec, scene)
    if "drift" in key or "drift" in words or "consistent" in words or "match the set" in words:
        return _pull(spec, scene, key=True)
    if field in ("weather", "rain", "fog", "snow"):
        wanted = scene.weather if scene.weather != "clear" else field
        if field == "weather" and wanted == "weather":
            return None
        spec["weather"] = wanted
        spec["style_intensity"] = clip("style_intensity", float(spec["style_intensity"]) + 0.1)
        return f"weather -> {wanted}, style pushed harder"
    return None


def worded(spec: dict[str, Any], text: str, base: str, *, already: bool) -> list[str]:
    """Apply a person's words by reading them the way a brief is read, after `base`."""
    before, after = brief_targets(base), brief_targets(f"{base}\n{text}")
    notes = []
    for field in ("brightness", "contrast"):
        delta = after[field] - before[field]
        if abs(delta) >= 0.01 and not already:  # already in the direction, so in the targets
            notes.append(_move(spec, field, delta))
    for field in ("weather", "lighting", "mood"):
        if after[field] != before[field]:
            spec[field] = after[field]
            notes.append(f"{field} -> {after[field]}")
    if after["palette"] != before["palette"]:
        spec["palette"] = after["palette"]
        notes.append("palette -> " + " ".join(after["palette"][:4]))
    cues = parse_shot(text)
    for field in ("camera", "subject_x", "horizon"):
        if field in cues:
            spec[field] = cues[field]
            notes.append(f"{field} -> {cues[field]}")
    if "shift" in cues:  # "lower the horizon": down the frame, from where it is
        notes.append(_move(spec, "horizon", float(cues["shift"])))
    if "scale" in cues:
        spec["subject_scale"] = clip("subject_scale", spec["subject_scale"] * float(cues["scale"]))
        notes.append(f"subject_scale -> {spec['subject_scale']}")
    return notes


def apply(
    spec: dict[str, Any],
    text: str,
    scene: Scene,
    *,
    base: str,
    has_current: bool,
    in_direction: bool,
) -> list[str]:
    """Apply every part of one deliverable's feedback to `spec`; return what changed."""
    notes: list[str] = []
    loose: list[str] = []
    prefix = re.compile(rf"^\s*{re.escape(str(spec['deliverable']))}\s*:\s*", re.IGNORECASE)
    for segment in re.split(r";\s*|\n", text):
        segment = prefix.sub("", segment.strip()).strip()
        if not segment:
            continue
        found = findings(segment)
        if found:
            notes += [measured(spec, f, scene, has_current) for f in found]
            continue
        keyed = _KEYED.match(segment.lower())
        note = noted(spec, keyed[1].strip(), keyed[2], scene) if keyed else None
        if note is None and ("drift" in segment.lower() or "match the set" in segment.lower()):
            note = _pull(spec, scene, key=True)
        if note:
            notes.append(note)
        else:
            loose.append(segment)
    if loose:
        notes += worded(spec, "\n".join(loose), base, already=in_direction and not has_current)
    return notes
