"""Lens, the quality critic, offline: checks specs against the brief, scores measured outputs.

Reasons keep the machine-readable `key: words (measured x, target y)` form where a number
exists, so the director (offline or not) can act on them directly.
"""

from __future__ import annotations

from typing import Any

from adapters.colours import colour_distance, colour_name
from adapters.craft import WEATHERS, brief_targets
from adapters.offline.reading import Finding, Prompt, findings
from adapters.offline.scene import direction_text

COMPATIBLE = ({"neon", "night"}, {"dusk", "golden hour"}, {"dawn", "golden hour"})
"""Lights close enough that a spec using one honours a brief asking for the other."""
PALETTE_TOLERANCE = 0.35
BRIGHTNESS_TOLERANCE = 0.2


def palette_gap(palette: list[str], target: list[str]) -> float:
    """Mean distance from each target colour to its nearest palette colour (0 = all present)."""
    if not palette or not target:
        return 1.0
    return sum(min(colour_distance(t, p) for p in palette) for t in target) / len(target)


def _ratio(aspect: str) -> float | None:
    w, _, h = aspect.partition(":")
    try:
        return float(w) / float(h)
    except (ValueError, ZeroDivisionError):
        return None


def _spec_reasons(
    ident: str, spec: dict[str, Any], aspect: str, goal: dict[str, Any], guards: list[str]
) -> list[str]:
    reasons = []
    weather, lighting = spec.get("weather", "clear"), spec.get("lighting", "")
    if goal["weather"] != "clear" and weather != goal["weather"]:
        reasons.append(
            f"{ident}: weather is {weather} but the brief asks for {goal['weather']}; "
            f"set weather {goal['weather']}"
        )
    same = lighting == goal["lighting"] or any(
        {lighting, goal["lighting"]} <= c for c in COMPATIBLE
    )
    if lighting and not same:
        reasons.append(
            f"{ident}: lighting is {lighting} but the brief calls for {goal['lighting']} light"
        )
    ratio, w, h = _ratio(aspect), spec.get("width"), spec.get("height")
    if ratio and isinstance(w, int) and isinstance(h, int) and abs(w / h - ratio) / ratio > 0.08:
        square = " (a thumbnail must be square)" if ratio == 1 else ""
        reasons.append(f"{ident}: {w}x{h} does not match its {aspect} format{square}")
    gap = palette_gap(list(spec.get("palette", [])), list(goal["palette"][:4]))
    if "palette" in spec and gap > PALETTE_TOLERANCE:
        reasons.append(f"{ident}: palette: off-target colours (measured {gap:.2f}, target 0.15)")
    key = spec.get("brightness")
    if isinstance(key, int | float) and abs(key - goal["brightness"]) > BRIGHTNESS_TOLERANCE:
        verdict = "too bright" if key > goal["brightness"] else "too dark"
        reasons.append(
            f"{ident}: brightness: {verdict} for the brief (measured {key:.2f}, "
            f"target {goal['brightness']:.2f})"
        )
    if "negative_prompt" in spec and not str(spec["negative_prompt"]).strip():
        reasons.append(f"{ident}: the negative prompt is empty")
    text = str(spec.get("prompt", "")).lower()
    for guard in guards:
        if guard.lower().startswith("avoid:"):
            banned = [b.strip() for b in guard[6:].replace(";", ",").split(",")]
            hits = [b for b in banned if b and b.lower() in text]
            reasons += [
                f"{ident}: the prompt asks for '{b}', which a style guard rules out" for b in hits
            ]
    return reasons


def review(prompt: Prompt) -> dict[str, Any]:
    """A `PlanReview`-shaped dict: approve, or concrete reasons to revise."""
    goal = brief_targets(f"{prompt.brief}\n{direction_text(prompt)}")
    specs = prompt.current_specs
    aspects = {d.id: d.aspect for d in prompt.deliverables}
    reasons = [f"{d}: no spec yet" for d in aspects if d not in specs]
    for ident, spec in specs.items():
        reasons += _spec_reasons(ident, spec, aspects.get(ident, ""), goal, prompt.style_guards)
    if not specs:
        reasons.append("there are no specs to review yet")
    if reasons:
        return {"approved": False, "reasons": reasons}
    extra = f", {goal['weather']}" if goal["weather"] != "clear" else ""
    return {
        "approved": True,
        "reasons": [
            f"every spec keeps {goal['lighting']} light{extra}, a {goal['mood']} mood and the "
            "brief's palette, at the right size for its format"
        ],
    }


_SAY = {
    "brightness": (
        "It reads {text}: brightness {m:.2f} against {t:.2f}",
        "{verb} brightness by about {d:.2f}, to {t:.2f}",
    ),
    "contrast": (
        "Contrast is {text}: {m:.2f} against {t:.2f}",
        "{verb} contrast toward {t:.2f} (shadows and highlights further apart)",
    ),
    "palette": (
        "The colours are off the brief's palette ({m:.2f} away, {t:.2f} allowed)",
        "Pull the palette back to {palette}",
    ),
    "composition": (
        "The subject sits {text}: x={m:.2f}, planned {t:.2f}",
        "Move the subject to x≈{t:.2f} (a thirds line)",
    ),
    "horizon": (
        "The horizon is {text}: {m:.2f} of the height, planned {t:.2f}",
        "Put the horizon at ≈{t:.2f} of the height",
    ),
}


def _say(found: Finding, palette: list[str]) -> tuple[str, str]:
    key = found.key if found.key in _SAY else "composition" if "subject" in found.key else ""
    verb = "Raise" if found.target > found.measured else "Lower"
    text = found.text or "off"
    if key == "composition":  # "The subject sits too far left", not "sits subject too far left"
        text = text.removeprefix("subject ")
    values = {
        "text": text,
        "m": found.measured,
        "t": found.target,
        "d": abs(found.target - found.measured),
        "verb": verb,
        "palette": " ".join(palette[:4]),
    }
    if not key:
        return (
            f"{found.key}: {found.text} ({found.measured:.2f} vs {found.target:.2f})",
            f"{verb} {found.key} toward {found.target:.2f}",
        )
    reason, fix = _SAY[key]
    return reason.format(**values), fix.format(**values)


def _unmeasured_fix(line: str, goal: dict[str, Any]) -> str:
    low = line.lower()
    if "weather" in low or goal["weather"] in low:
        notes = WEATHERS[goal["weather"]].notes
        return f"Make the {goal['weather']} unmistakable: {notes}"
    if "drift" in low or "consisten" in low:
        return "Match the set: same palette family, same key, same camera language"
    return f"Fix: {line}"


def critique(prompt: Prompt) -> dict[str, Any]:
    """A `CritiqueVerdict`-shaped dict: a score that tracks the findings, reasons, fixes."""
    goal = brief_targets(f"{prompt.brief}\n{direction_text(prompt)}")
    measured = prompt.measurements
    anchor = measured.get("measured_score", measured.get("score"))
    lines = prompt.findings
    parsed = [findings(line) for line in lines]
    reasons, suggestions, penalty = [], [], 0.0
    for line, found in zip(lines, parsed, strict=True):
        if not found:
            reasons.append(line)
            suggestions.append(_unmeasured_fix(line, goal))
            penalty += 1.2
            continue
        for item in found:
            reason, fix = _say(item, list(goal["palette"]))
            reasons.append(reason)
            suggestions.append(fix)
            penalty += min(2.5, 0.5 + abs(item.target - item.measured) * 6)
    if anchor is not None:
        score = anchor * 10 if anchor <= 1.0 else anchor
    else:
        score = 9.5 - penalty
    keys = " ".join(f.key for group in parsed for f in group) + " ".join(lines).lower()
    if "palette" not in keys:
        lead = [*goal["named_colours"], *goal["palette"][:3]]  # what the person named first
        names = ", ".join(dict.fromkeys(colour_name(c) for c in lead))
        reasons.append(f"Strength: the palette stays on brief ({names})")
    elif "brightness" not in keys:
        reasons.append(f"Strength: the key sits where the brief wants it ({goal['lighting']})")
    else:
        reasons.append("Strength: the subject and setting read clearly")
    if not suggestions:
        suggestions.append("Keep this seed and spec as the reference for the rest of the set")
    return {
        "score": round(max(0.0, min(10.0, score)), 1),
        "reasons": reasons,
        "suggestions": suggestions,
    }
