"""Luna, the style specialist, offline: palette with hex codes, light sources, texture, mood."""

from __future__ import annotations

import colorsys
import random
import re

from adapters.colours import colour_name, rgb
from adapters.craft import LIGHTS, MATERIALS, MOODS, WEATHERS
from adapters.offline.reading import Prompt
from adapters.offline.scene import Scene
from adapters.offline.talk import nods, nothing_to_add, pick, references, settled, unaddressed

FACETS = {
    "accent": "one accent",
    "rim": "rim light",
    "grade": "the grade",
    "depth": "atmospheric perspective",
    "reflections": "reflections carry",
}
"""Refinement ideas Luna has beyond her first proposal, and the phrase that marks each."""
NODS = (
    "{name}'s {said} works for me; I'll light it to match.",
    "I'm taking {name}'s {said} on board — it gives my colour somewhere to land.",
    "Yes to {name}'s {said}.",
    "I'll build on {name}'s {said}: it tells me where the light should fall.",
)


def _roles(palette: list[str]) -> tuple[list[int], int]:
    """Which swatches sing (the two most saturated after the ground), which is the highlight."""
    rest = list(range(1, len(palette))) or [0]
    voices = sorted(rest, key=lambda i: -colorsys.rgb_to_hls(*rgb(palette[i]))[2])[:2]
    voices = (voices + rest)[:2] if len(voices) < 2 else voices
    left = [i for i in rest if i not in voices] or rest
    light = max(left, key=lambda i: colorsys.rgb_to_hls(*rgb(palette[i]))[1])
    return voices, light


def _palette_line(scene: Scene, rng: random.Random) -> str:
    voices, light = _roles(scene.palette)
    return pick(
        rng,
        "I see this as {mood} {light}: {a} as the ground, {b} and {c} as the voices, with {d} "
        "kept for the highlights.",
        "Palette first — {a} dominating, {b} and {c} doing the singing, {d} only where the "
        "light is hottest; the whole thing should feel {mood}.",
        "Let's paint it {mood}: a ground of {a}, {b} and {c} carrying the {light} glow, and "
        "{d} as the brightest note.",
        mood=scene.mood,
        light=scene.lighting,
        a=scene.swatch(0),
        b=scene.swatch(voices[0]),
        c=scene.swatch(voices[1]),
        d=scene.swatch(light),
    )


def _light_line(scene: Scene, rng: random.Random) -> str:
    key, contrast = scene.targets["brightness"], scene.targets["contrast"]
    verdict = "low and moody" if key < 0.35 else "bright and open" if key > 0.6 else "mid-key"
    return pick(
        rng,
        "The light comes from {src}; keep the key {verdict} (around {key:.2f}) with contrast "
        "near {contrast:.2f}.",
        "Light sources: {src}. I want it {verdict} — brightness about {key:.2f}, contrast "
        "{contrast:.2f}.",
        src=scene.light_notes(),
        verdict=verdict,
        key=key,
        contrast=contrast,
    )


def _texture_line(scene: Scene, rng: random.Random) -> str:
    textures = scene.textures() or [scene.mood_notes()]
    return (
        pick(
            rng,
            "Texture: {t}.",
            "What the surfaces do: {t}.",
            t="; ".join(textures),
        )
        + f" Avoid {scene.avoid()}."
    )


def ideate(prompt: Prompt, scene: Scene, rng: random.Random) -> str:
    """A first proposal: palette, light, texture, what to avoid."""
    return " ".join([_palette_line(scene, rng), _light_line(scene, rng), _texture_line(scene, rng)])


def _facet(name: str, scene: Scene, detail: str) -> str:
    accent = next(
        (c for c in scene.palette[1:] if colour_name(c) != colour_name(scene.palette[0])),
        scene.palette[-1],
    )
    haze = scene.palette[-1]
    if name == "accent":
        return (
            f"I'd keep one accent only — {colour_name(accent)} {accent} on {detail} — because "
            "a single contrasting colour is where the eye lands first."
        )
    if name == "rim":
        return (
            f"I'd add a rim light in {scene.swatch(2)} behind the {scene.subject}, because "
            f"a dark silhouette on a {colour_name(scene.palette[0])} ground would vanish."
        )
    if name == "grade":
        return (
            f"For the grade, shadows tinted {scene.swatch(0)} and never pure black, and "
            "highlights rolled off so the brightest signs never clip; that keeps the set "
            "consistent."
        )
    if name == "depth":
        return (
            f"Atmospheric perspective: colours fade toward {colour_name(haze)} {haze} with "
            "distance, so each depth layer reads as its own plane."
        )
    return (
        f"The reflections carry the palette: {scene.swatch(1)} and {scene.swatch(2)} smeared "
        "vertically across the wet ground."
    )


def _look_notes(look: str, scene: Scene) -> str:
    for table in (WEATHERS, MOODS, LIGHTS, MATERIALS):
        if look in table and table[look].notes:
            notes = scene.light_notes() if table is LIGHTS and look == scene.lighting else None
            inside = f"inside {scene.swatch(0)} and {scene.swatch(1)}"
            return f"{notes or table[look].notes}, {inside}"
    return f"{scene.swatch(0)} and {scene.swatch(1)}"


def refine(prompt: Prompt, scene: Scene, rng: random.Random) -> str:
    """Answer Frame and Saga by name, then add one new idea, or say there is nothing new."""
    refs = references(prompt, "style")
    if settled(prompt, "style", FACETS):
        return nothing_to_add(refs, rng)
    mine = " ".join(prompt.spoken_by("style")).lower()
    options = [f for f, marker in FACETS.items() if marker not in mine]
    if scene.weather != "rain" and "wet asphalt" not in scene.materials:
        options = [f for f in options if f != "reflections"] or options
    detail = next((f"the {said}" for name, said in refs if name == "Saga"), f"the {scene.subject}")
    lines = nods(rng, refs, NODS)
    for look in unaddressed(prompt, "style")[:2]:
        lines.append(f"For the {look} you asked for: {_look_notes(look, scene)}.")
    lines.append(_facet(options[0], scene, detail))
    lines.append(
        pick(
            rng,
            "Refined: {a}, {b} and {c}, {mood} throughout.",
            "So the palette stays {a}, {b}, {c}, and the mood stays {mood}.",
            a=scene.swatch(0),
            b=scene.swatch(1),
            c=scene.swatch(2),
            mood=scene.mood,
        )
    )
    return " ".join(lines)


MORE: tuple[tuple[str, str], ...] = (
    (
        r"\brainier\b|\bmore rain|\bheav(?:y|ier) rain|\bwetter\b|\bdownpour|\bstormier",
        "more rain: denser, longer streaks and wetter reflections on every surface",
    ),
    (
        r"\bfoggier\b|\bmore fog|\bthicker fog|\bmistier\b",
        "thicker fog: softer edges, paler distance",
    ),
    (r"\bsnowier\b|\bmore snow|\bheavier snow", "heavier snow: denser flakes, whiter ground"),
    (
        r"\bwarmer\b|\borange glow|\bgolden glow|\bwarm (?:light|glow)",
        "warmer light: the lamps glow orange and the shadows pick up amber",
    ),
    (r"\bcooler\b|\bcolder\b|\bbluer\b", "cooler light: bluer shadows and less orange"),
    (r"\bbrighter\b|\blighter\b", "a brighter key, lifted shadows"),
    (r"\bdarker\b|\bmoodier\b", "a darker key, deeper shadows"),
    (r"\bmore contrast|\bpunchier\b", "harder contrast between light and shadow"),
)
"""Asks for more of something the scene already has, and what that means for the look."""


def intensified(said: str) -> list[str]:
    """What the person asked to push further ("rainier", "warmer"), in Luna's words."""
    return [words for pattern, words in MORE if re.search(pattern, said, re.IGNORECASE)]


def answer(prompt: Prompt, before: Scene, after: Scene, rng: random.Random) -> str:
    """Say how the person's message changes the palette, the light and the key."""
    changes = intensified(prompt.said)
    if after.weather != before.weather:
        changes.append(f"{after.weather} it is: {after.weather_notes() or 'clean, dry air'}")
    if after.mood != before.mood:
        changes.append(f"the mood moves from {before.mood} to {after.mood} — {after.mood_notes()}")
    if after.lighting != before.lighting:
        changes.append(f"the light becomes {after.lighting}: {after.light_notes()}")
    swaps = [(b, a) for b, a in zip(before.palette, after.palette, strict=False) if a != b][:2]
    if swaps:
        changes.append(
            "the palette shifts: "
            + ", ".join(f"{colour_name(b)} {b} becomes {colour_name(a)} {a}" for b, a in swaps)
        )
    key_before, key_after = before.targets["brightness"], after.targets["brightness"]
    if abs(key_after - key_before) >= 0.02:
        verb = "drops" if key_after < key_before else "rises"
        changes.append(f"the key {verb} from {key_before:.2f} to {key_after:.2f}")
    if not changes:
        return pick(
            rng,
            "Heard. From the colour side nothing has to change: {a}, {b} and {c} under "
            "{light} light still hold.",
            "Noted — that doesn't move my palette: {a}, {b}, {c}, lit by {src}.",
            a=after.swatch(0),
            b=after.swatch(1),
            c=after.swatch(2),
            light=after.lighting,
            src=after.light_notes(),
        )
    opener = pick(rng, "Yes — ", "Love it. ", "Good call: ", "On it. ")
    body = "; ".join(changes)
    return f"{opener}{body[0].upper()}{body[1:]}. From now on every image keeps that."


def chat(prompt: Prompt, scene: Scene, rng: random.Random) -> str:
    """A short reply outside the usual tasks."""
    return _palette_line(scene, rng)
