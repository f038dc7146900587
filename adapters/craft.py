"""Craft knowledge as data: palettes and key for moods, light, materials and weather.

`brief_targets` turns any brief or direction text into concrete visual targets; `concerns`
routes a person's message to the specialists it is about; `is_vague` asks when a brief is too
thin to work on. Nothing here imports project code but pure data (colours and the built-in
renderer's vocabulary), so graph, agents and adapters can share it.
(Composition rules and story hooks, used only by the offline personas, live beside them in
`adapters/offline/framing.py` and `adapters/offline/hooks.py`.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from adapters.colours import (
    COLD_ASKS,
    NAMED,
    WARM_ASKS,
    colour_distance,
    colour_words,
    recolour,
)
from adapters.deliverables import without_deliverables
from adapters.render_vocab import DRAWN_ANYWAY, LEXICON, SUBJECT_ONLY, SUBJECTS, mentions


@dataclass(frozen=True)
class Look:
    """A mood, a light, a material or a weather: the colours it brings and how it moves the key.

    `brightness`/`contrast` are absolute for lights and offsets for everything else; `warmth`
    (-1 cool .. +1 warm) and `saturation` (a factor) are how a mood or weather recolours the
    rest of the palette; `notes` is the phrase a specialist uses for it.
    """

    palette: tuple[str, ...]
    triggers: tuple[str, ...]
    brightness: float = 0.0
    contrast: float = 0.0
    warmth: float = 0.0
    saturation: float = 1.0
    notes: str = ""
    avoid: str = ""


def _looks(table: str) -> dict[str, Look]:
    """Parse a table: `name: #hex.. key=value..`, then indented `when:`/`notes:`/`avoid:`."""
    looks: dict[str, Look] = {}
    for block in re.split(r"\n(?=\S)", table.strip()):
        head, *rest = block.splitlines()
        name, _, values = head.partition(":")
        fields = dict(line.strip().split(": ", 1) for line in rest)
        numbers = {k: float(v) for k, v in (t.split("=") for t in values.split() if "=" in t)}
        looks[name.strip()] = Look(
            palette=tuple(t for t in values.split() if t.startswith("#")),
            triggers=tuple(t.strip() for t in fields.get("when", "").split(",") if t.strip()),
            notes=fields.get("notes", ""),
            avoid=fields.get("avoid", ""),
            **numbers,
        )
    return looks


MOODS = _looks("""
melancholic: #2f3e4e #6b7f99 brightness=-0.07 contrast=-0.05 warmth=-0.6 saturation=0.6
  when: melanchol, sad, sadness, lonely, somber, sombre, grief, wistful, forlorn, funeral, mourn
  notes: a hush, like the moment after the last train leaves
  avoid: saturated cheerful colour
joyful: #ffb703 #ff6f91 brightness=0.1 contrast=0.05 warmth=0.5 saturation=1.2
  when: joy, joyful, joyous, happy, cheer, playful, fun, celebrat, delight
  notes: lift and sparkle, colour you could almost hear laughing
  avoid: murky shadows and grey casts
eerie: #3a4a3f #a3b18a brightness=-0.08 contrast=0.1 warmth=-0.3 saturation=0.7
  when: eerie, creepy, uncanny, haunt, horror, ghost, ominous
  notes: sickly green-grey air that feels wrong to breathe
  avoid: cosy warm highlights
serene: #a8dadc #f1faee brightness=0.06 contrast=-0.12 warmth=-0.1 saturation=0.8
  when: seren, calm, peaceful, tranquil, quiet, still
  notes: air you can breathe slowly
  avoid: harsh hard-edged contrast
tense: #7a0c0c #14110f brightness=-0.06 contrast=0.15 warmth=0.1
  when: tense, tension, danger, thriller, suspense, menac, chase
  notes: hard edges and a red warning in the dark
  avoid: soft pastel washes
romantic: #f4acb7 #6d2e46 brightness=0.04 contrast=-0.05 warmth=0.5 saturation=0.9
  when: romantic, romance, love, tender, intimate
  notes: skin-warm glow and soft falloff
  avoid: cold clinical blue
epic: #e0a458 #0d1b2a contrast=0.15 warmth=0.2 saturation=1.1
  when: epic, heroic, grand, majestic, monumental, vast
  notes: scale that makes the chest tighten
  avoid: cramped, busy framing
nostalgic: #d4a373 #faedcd brightness=0.03 contrast=-0.1 warmth=0.5 saturation=0.75
  when: nostalg, memory, memories, vintage, retro, childhood, bygone
  notes: a faded photograph's warmth
  avoid: clinical digital sharpness
mysterious: #240046 #7b2cbf brightness=-0.05 contrast=0.08 warmth=-0.3 saturation=0.9
  when: myster, moody, enigma, secret, cryptic, occult, arcane
  notes: shapes that only half reveal themselves
  avoid: flat even light
cozy: #bc6c25 #fefae0 brightness=0.05 contrast=-0.05 warmth=0.7 saturation=0.9
  when: cozy, cosy, snug, homely, hygge, comfort
  notes: lamplight you want to sit beside
  avoid: cold blue casts
""")
"""Moods: accent colours, and how each recolours and re-keys the rest (offsets)."""

LIGHTS = _looks("""
neon: #0a0f24 #ff2bd1 #00e5ff #7a04eb #d1f7ff brightness=0.3 contrast=0.75
  when: neon, cyberpunk, synthwave, hologra, arcade, blade runner
  notes: buzzing neon tubes and holographic signage
  avoid: flat daylight, pastel washes
night: #0b132b #1c2541 #3a506b #5bc0be #f2e8cf brightness=0.22 contrast=0.65
  when: night, midnight, nocturn, moonlit, moonlight, after dark
  notes: sodium streetlamps against cold moonlight
  avoid: lifted, milky shadows
golden hour: #2e1f27 #ff7f50 #ffb347 #f4d35e #fff1d0 brightness=0.58 contrast=0.55
  when: golden hour, golden-hour, sunset, magic hour, late afternoon
  notes: a low sun raking in from the side, long shadows
  avoid: cold blue midday light
dawn: #5d6d7e #92a8d1 #f7cac9 #fde2e4 #f3e1dd brightness=0.52 contrast=0.35
  when: dawn, sunrise, first light, daybreak, early morning
  notes: first light rising pink behind a pale sky
  avoid: heavy crushed blacks
dusk: #1f1d36 #2d3561 #c05c7e #f3826f #ffb961 brightness=0.38 contrast=0.5
  when: dusk, twilight, blue hour, evening
  notes: the last glow on the horizon and the first lamps coming on
  avoid: noon-bright skies
overcast: #495057 #6c757d #8d99ae #adb5bd #dee2e6 brightness=0.48 contrast=0.25
  when: overcast, cloudy, grey sky, gray sky, gloomy
  notes: a soft grey sky acting as one huge softbox
  avoid: hard sun shadows
daylight: #87ceeb #f5f5dc #4f772d #ffd166 #ffffff brightness=0.65 contrast=0.5
  when: daylight, noon, sunny, midday, daytime, sunlit, bright day
  notes: high clear sun with crisp shadows
  avoid: muddy underexposure
studio: #212529 #495057 #ced4da #e9ecef #f8f9fa brightness=0.6 contrast=0.5
  when: studio, softbox, backdrop, product shot, headshot
  notes: a key softbox at 45 degrees with a rim light behind
  avoid: uncontrolled spill
""")
"""Times of day and light sources: palette (dominant first) and absolute key and contrast."""

WILD_NIGHT = "cold moonlight and starlight over deep blue shadows"
"""The night's light away from streets: no streetlamps in a forest or on a mountain."""
_BUILT_UP = re.compile(
    r"\b(?:city|cities|streets?|alley|road|town|village|downtown|urban|avenue|market|"
    r"harbou?r|quay|cafe|café|pub|plaza|town square|neon|cyberpunk|lamp\w*)\b",
    re.I,
)


def light_notes(lighting: str, text: str) -> str:
    """How `lighting` reads in the scene `text` names: a night with no street in it is lit by
    the moon, not by sodium streetlamps."""
    if lighting == "night" and not _BUILT_UP.search(without_deliverables(text)):
        return WILD_NIGHT
    return LIGHTS[lighting].notes


MATERIALS = _looks("""
neon: #ff2bd1 #00e5ff contrast=0.08
  when: neon
  notes: glass tubes humming with halo bloom
chrome: #c0c7cf #5c6770 contrast=0.06
  when: chrome, steel, metallic, cyberpunk, robot, android
  notes: chrome throwing back hard specular highlights
wet asphalt: #1e1e24 #3d3d46 brightness=-0.03 contrast=0.05
  when: asphalt, street, road, puddle, pavement, alley
  notes: asphalt that doubles every light in its puddles
forest: #1b4332 #40916c #95d5b2 brightness=-0.04
  when: forest, woods, woodland, jungle, trees, grove
  notes: moss, bark and dappled leaf shadow
desert: #e9c46a #f4a261 #e76f51 brightness=0.08 contrast=0.05
  when: desert, dune, sand, sandy, canyon, mesa
  notes: wind-rippled sand and heat shimmer
ocean: #023e8a #006d77 #83c5be brightness=0.02
  when: ocean, sea, beach, wave, coast, harbour, harbor, shore, lighthouse, cliff
  notes: glassy swells and salt spray catching the light
snow: #f8f9fa #dbe9f4 #6c8ead brightness=0.12 contrast=-0.08
  when: snowfield, winter, ice, icy, frost, arctic, glacier
  notes: powder with blue-shadowed drifts
brick: #8b3a2b #b5651d brightness=-0.02 contrast=0.04
  when: brick, warehouse, tenement, factory
  notes: weathered brick, soot and mortar lines
candlelight: #ff9f1c #7f4f24 brightness=-0.04 contrast=0.1
  when: candle, fire, firelight, hearth, lantern, torch, lamplight, lamp-lit, fireplace
  notes: flickering flame light pooling warm
""")
"""Materials and settings: two or three colours each, small key and contrast offsets."""

WEATHERS = _looks("""
rain: #3b4856 brightness=-0.05 contrast=-0.03 warmth=-0.2 saturation=0.85
  when: rain, rainy, raining, rainfall, drizzl, downpour, storm, wet
  notes: rain streaks backlit by the lights and wet reflections on every surface
fog: #b8c0c8 brightness=0.05 contrast=-0.2 warmth=-0.1 saturation=0.7
  when: fog, foggy, mist, misty, haze, hazy, smog
  notes: fog that swallows the background and softens every light into a halo
snow: #eef4fa brightness=0.1 contrast=-0.1 warmth=-0.3 saturation=0.8
  when: snow, snowy, snowfall, blizzard, snowing
  notes: falling snow catching the light like slow sparks
clear:
  when: clear sky, clear weather, dry
  notes: clean, dry air with crisp edges
""")
"""Weather: one colour it adds, and how it recolours and re-keys the scene (offsets)."""

GENRES: dict[str, str] = {
    "noir": "night rain tense",
    "fairytale": "forest serene",
    "post-apocalyptic": "desert overcast tense",
    "gothic": "night fog mysterious",
    "steampunk": "brick candle",
}
"""Genre words and the looks they imply, read at the genre word's position."""

_NEGATORS = frozenset("no not without never avoid remove drop lose ditch".split())
"""Words that cancel a look even with one filler word between ("no more rain", "avoid the fog")."""
_NEXT_TO = frozenset("less fewer stop".split())
"""Words that cancel a look only right before it ("less fog"; but "bus stop at night" is night)."""
_BETWEEN = frozenset("the any more a so too much all".split())
_INSTEAD = (("instead", "of"), ("rather", "than"))
"""Words that set a look aside ("night instead of dawn": dawn is the one not wanted)."""
_SUBJECTS = (
    "woman man girl boy child couple detective samurai knight wizard witch astronaut robot android "
    "courier dancer musician fisherman sailor soldier runner skater chef farmer monk cat dog fox "
    "wolf horse bird owl dragon whale car motorcycle train ship boat lighthouse cabin castle "
    "temple tree bridge mountain figure person character bottle sneaker watch product"
).split()
SCENERY_SUBJECTS = ("pier", "jetty", "quay", "boardwalk", "wharf")
"""Places a brief can be about ("a quiet pier at night"): its subject, though the built-in
renderer draws them only as scenery, never as the subject's silhouette."""
_NOT_SUBJECTS = frozenset(
    "hero heroine can object home silhouette someone pet animal rider building plant bush "
    "people crowd camera face".split()
)
"""Words that name no subject in a brief: format words ("hero banner"), photography ("low
camera"), and words too vague or too often scenery ("city buildings", "a crowd")."""
_SUBJECT_WORDS: tuple[str, ...] = tuple(
    dict.fromkeys(
        w
        for w in (
            *_SUBJECTS,
            *(k for _, keys in SUBJECTS for k in keys),
            *(
                noun
                for group, nouns in LEXICON
                if group not in ("nature", "rooms", "food")
                for noun in nouns
            ),
            *SCENERY_SUBJECTS,
        )
        if w not in _NOT_SUBJECTS
        and (w not in SUBJECT_ONLY or w in ("cafe", "shop", "skyscraper", "product", "flacon"))
        and w not in DRAWN_ANYWAY
    )
)
"""What a brief can name as its subject: the studio's own list, everything the built-in
renderer draws as a silhouette, and the concrete things it knows it cannot draw (a
windmill: the spec still says so, and the renderer draws a placeholder and says why)."""
_FILLER = frozenset(
    "a an the some something anything stuff thing things cool nice awesome great good amazing "
    "beautiful pretty art artwork image images picture pictures pic make create draw generate do "
    "give me us please just really very idea whatever random interesting".split()
)


def _mentions(text: str, table: dict[str, Look]) -> list[tuple[int, str, bool]]:
    """Where each entry of `table` is mentioned: (position, key, negated), in text order."""
    found = []
    for key, look in table.items():
        for trigger in look.triggers:
            # short triggers must be whole words ("fun" is not "funeral"); longer ones are stems
            ending = r"(?:s|es)?\b" if len(trigger) <= 4 else ""
            for match in re.finditer(r"\b" + re.escape(trigger) + ending, text):
                before = [
                    "",
                    "",
                    *re.findall(r"[a-z']+", text[max(0, match.start() - 30) : match.start()]),
                ]
                negated = (
                    before[-1] in _NEGATORS | _NEXT_TO
                    or (before[-2] in _NEGATORS and before[-1] in _BETWEEN)
                    or tuple(before[-2:]) in _INSTEAD
                    or (tuple(before[-3:-1]) in _INSTEAD and before[-1] in _BETWEEN)
                )
                found.append((match.start(), key, negated))
    return sorted(found)


def named_looks(text: str) -> list[str]:
    """The moods, lights, weathers and materials a text names outright, in order, less any
    the text sets aside later ("at dawn … night instead of dawn": no dawn)."""
    low = _expand(" ".join(text.lower().split()))
    tables = (MOODS, LIGHTS, WEATHERS, MATERIALS)
    found = sorted(m for table in tables for m in _mentions(low, table))
    latest = {key: negated for _, key, negated in found}
    return list(dict.fromkeys(key for _, key, _ in found if key != "clear" and not latest[key]))


def _expand(text: str) -> str:
    """Append each genre's implied looks right after the genre word, so position still counts."""
    for genre, looks in GENRES.items():
        text = text.replace(genre, f"{genre} ({looks})")
    return text


_WARM_PALETTE = r"\b(warm (?:palette|colou?rs?|hues?)|palette(?: is| be)? warm)\b"
"""A warm palette asked for outright: the light warms fully, and orange and amber lead."""
_COLD_PALETTE = (
    r"\b((?:cold|cool|icy)(?: (?:blue|teal|cyan|grey|gray|silver|steel))? "
    r"(?:palette|colou?rs?|hues?)|palette(?: is| be)? (?:cold|cool))\b"
)
"""A cold palette asked for outright ("cold blue palette"): the light cools fully, and blue
leads (or the colour it names)."""
_MODIFIERS: tuple[tuple[str, str, float], ...] = (
    (r"\b(brighter|lighter|sunnier|more light|lift the shadows)\b", "brightness", 0.1),
    (r"\b(darker|dimmer|moodier|less light|low[- ]key)\b", "brightness", -0.1),
    (r"\b(more contrast|punchier|high[- ]contrast|contrasty|crisper)\b", "contrast", 0.12),
    (r"\b(softer|low[- ]contrast|less contrast|flatter|gentler)\b", "contrast", -0.12),
    (r"\b(warmer|warm tones?)\b", "warmth", 0.5),
    (_WARM_PALETTE, "warmth", 1.0),
    (r"\b(cooler|colder|cold tones?|cool tones?)\b", "warmth", -0.5),
    (_COLD_PALETTE, "warmth", -1.0),
    (r"\b(muted|desaturated|washed[- ]out|faded)\b", "saturation", -0.3),
    (r"\b(vivid|saturated|vibrant|bolder|more colou?r)\b", "saturation", 0.2),
)


_DURATION_WORD = re.compile(r"^(?:seconds?|secs?|minutes?|mins?|hours?|hrs?|long)$")
"""What a duration leaves before a noun ("12-second product"): never the subject's adjective."""
_WHAT_PRODUCT = re.compile(
    r"(?:^|\bfor )[a-z][\w'-]*(?: [a-z][\w'-]*)?, an? (?P<what>[a-z][a-z' -]{2,60}?)(?=[:.;,]|$)"
)
"""What a named product is: "for aurora, a quiet electric kettle" -> "quiet electric kettle"."""


def _subject(text: str) -> str:
    """The focal subject the brief names first (with one adjective), else a lone figure; a
    "product" is the thing the brief says it is ("aurora, a quiet electric kettle"). A thing
    said with "no"/"without" in its clause is not asked for."""
    found = sorted(mentions(text, _SUBJECT_WORDS), key=lambda m: m.start())
    if any(m.group().startswith("product") for m in found) and (what := _WHAT_PRODUCT.search(text)):
        return what.group("what").strip()
    for match in found:
        noun = match.group()
        before = re.search(r"(?<![\w-])([a-z][a-z-]*) $", text[: match.start()])
        adjective = before.group(1) if before else ""
        keep = adjective and adjective not in _FILLER and adjective not in {"of", "with", "and"}
        keep = keep and not _DURATION_WORD.match(adjective.rsplit("-", 1)[-1])
        return f"{adjective} {noun}" if keep else noun
    return "lone figure"


DEFAULT_MOODS: dict[str, str] = {
    "neon": "mysterious",
    "night": "mysterious",
    "golden hour": "nostalgic",
    "dawn": "serene",
    "dusk": "nostalgic",
    "overcast": "serene",
    "daylight": "joyful",
    "studio": "serene",
}
"""The mood a light suggests when the brief names none."""


_QUOTED = re.compile(r"\"[^\"]*\"|“[^”]*”")


def brief_targets(text: str) -> dict[str, Any]:
    """Concrete visual targets for a brief plus direction; later text overrides earlier.
    Quoted words are lettering, not scene: a product called "Nocturne" is no night scene.
    `subject` is the first thing the text names (`_subject`); `asked_colours` are the colours
    the spec's palette must carry (snow's white included), `named_colours` only those the
    person named ("a red fox", "cold blue palette", a bare warm palette's orange and amber):
    what Lens may call missing."""
    low = _expand(" ".join(_QUOTED.sub(" ", text).lower().split()))
    lights = _mentions(low, LIGHTS)
    weathers = _mentions(low, WEATHERS)
    moods = [m for m in _mentions(low, MOODS) if not m[2]]
    materials = list(dict.fromkeys(k for _, k, neg in _mentions(low, MATERIALS) if not neg))
    live = [k for _, k, neg in lights if not neg]
    lighting = live[-1] if live else ""
    if "neon" in live and lighting in ("night", "dusk"):
        lighting = "neon"  # neon is the night's own light: it stays the key unless day returns
    weather = weathers[-1][1] if weathers and not weathers[-1][2] else "clear"
    if weather == "snow" and "snow" not in materials:
        materials.append("snow")
    if not lighting:  # flames only read when the ambient light is low, so they imply evening
        wet = weather in ("rain", "fog")
        lighting = "dusk" if "candlelight" in materials else "overcast" if wet else "daylight"
    mood = moods[-1][1] if moods else ""
    light, sky = LIGHTS[lighting], WEATHERS[weather]
    warmth, saturation, brightness, contrast = sky.warmth, sky.saturation, light.brightness, 0.0
    contrast = light.contrast + sky.contrast
    keyed = [m for m in materials[:3] if not (m == "snow" and weather == "snow")]  # count once
    brightness += sky.brightness + sum(MATERIALS[m].brightness for m in keyed)
    if mood:
        look = MOODS[mood]
        warmth += look.warmth
        saturation *= look.saturation
        brightness += look.brightness
        contrast += look.contrast
    for pattern, axis, step in _MODIFIERS:
        count = len(re.findall(pattern, low))
        if axis == "brightness":
            brightness += step * count
        elif axis == "contrast":
            contrast += step * count
        elif axis == "warmth":
            warmth += step * count
        else:
            saturation *= (1 + step) ** count
    # Light first (it sets the scene's colour), then one colour per material, then the light's
    # remaining colours as filler; a named mood and the weather each get one accent slot.
    base = [*light.palette[:3], *(MATERIALS[m].palette[0] for m in materials[:2])]
    core: list[str] = []
    for colour in base + list(light.palette[3:]):
        shifted = recolour(colour, warmth, saturation, 0.92 if brightness < 0.3 else 1.0)
        if all(colour_distance(shifted, kept) > 0.15 for kept in core):
            core.append(shifted)
    palette = core[:4]
    for accent in [*(MOODS[mood].palette[:1] if mood else ()), *sky.palette, *core[4:]]:
        if all(colour_distance(accent, kept) > 0.15 for kept in palette):
            palette.append(accent)
    asked, things = asked_colours(low)
    if not asked and re.search(_WARM_PALETTE, low):  # a bare "warm palette": orange, amber
        asked = list(WARM_ASKS)
    elif not asked and re.search(_COLD_PALETTE, low):  # a bare "cold palette": blue, cyan
        asked = list(COLD_ASKS)
    snow = [NAMED["white"]] if weather == "snow" or "snow" in materials else []
    named = list(dict.fromkeys(things.values()))
    wanted = list(dict.fromkeys([*asked, *snow, *named]))
    # Asked palette colours lead; snow is the ground (the second colour); a named thing's
    # colour is an accent, so it keeps its slot without taking over the scene.
    rest = [c for c in palette if all(colour_distance(c, w) > 0.2 for w in wanted)]
    palette = list(dict.fromkeys([*asked, *rest]))
    palette[1:1] = [c for c in snow if c not in palette]
    palette = list(dict.fromkeys([*palette[: max(2, 5 - len(named))], *named]))
    return {
        "palette": palette,
        "brightness": round(max(0.08, min(0.92, brightness)), 3),
        "contrast": round(max(0.1, min(0.95, contrast)), 3),
        "lighting": lighting,
        "weather": weather,
        "mood": mood or DEFAULT_MOODS[lighting],
        "subject": _subject(low),
        "keywords": list(dict.fromkeys([lighting, weather, *([mood] if mood else []), *materials])),
        "colours": things,
        "asked_colours": wanted,
        "named_colours": list(dict.fromkeys([*asked, *named])),
    }


def asked_colours(text: str) -> tuple[list[str], dict[str, str]]:
    """The colours a text asks for: palette colours ("amber, orange and honey tones") and the
    colour of each named thing ("a red fox": `{"fox": red}`); later words win for a thing."""
    palette: list[str] = []
    things: dict[str, str] = {}
    for _, hex_colour, thing in colour_words(_QUOTED.sub(" ", text)):
        if thing:
            things.pop(thing, None)
            things[thing] = hex_colour
        elif hex_colour not in palette:
            palette.append(hex_colour)
    return palette, things


_CONCERNS: dict[str, str] = {
    "style": r"colou?r|palette|mood|light|bright|dark|warm|cool|cold|rain|fog|mist|snow|neon|"
    r"contrast|tone|saturat|vivid|muted|texture|style|atmospher|glow|hue",
    "composition": r"camera|angle|fram|wide|close|zoom|crop|lens|focal|left|right|centre|center|"
    r"horizon|composition|layout|perspective|foreground|background|shot|"
    r"bigger|smaller|placement|position",
    "story": r"story|character|emotion|feel|why|narrative|who|happen|meaning|moment|person|"
    r"protagonist|tell|backstory|melanchol|sad|lonely|hope|fear|joy|happy|tense|romantic|nostalg",
    "director": r"resolution|size|steps|seed|sampler|cfg|pixels|\d{3,4}\s*x\s*\d{3,4}|\b[48]k\b|"
    r"render|quality|aspect|faster|draft",
}


def concerns(text: str) -> list[str]:
    """The role ids a person's message is about; style, composition and story when unclear."""
    low = text.lower()
    roles = [role for role, words in _CONCERNS.items() if re.search(rf"\b(?:{words})", low)]
    return roles or ["style", "composition", "story"]


def is_vague(text: str) -> str | None:
    """A clarifying question when a brief is empty or too thin to work on, else None."""
    words = re.findall(r"[a-z][a-z'-]*", text.lower())
    if not words:
        return (
            "What should we make? Tell me the subject, the place and the feeling — e.g. "
            "'a lighthouse in a storm at dusk, lonely' — and any format you need."
        )
    content = [w for w in words if w not in _FILLER]
    named = any(_mentions(" ".join(words), table) for table in (LIGHTS, MOODS, MATERIALS))
    if len(content) >= 2 or named or (content and _subject(" ".join(content)) != "lone figure"):
        return None
    said = " ".join(words)
    return (
        f"'{said}' could go many ways. What should it show, and how should it feel? For "
        "example: a neon street at night in the rain (moody), a misty forest at dawn "
        "(serene) or a sunlit desert road (joyful)."
    )
