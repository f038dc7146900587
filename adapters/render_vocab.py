"""Every word the built-in renderer understands, grouped by what it draws, and what it cannot.

The render modules read their keyword tables from here and nowhere else, so `vocabulary()`
(shown by `studio check`) is exactly what the renderer reacts to. A keyword is a whole word
or phrase (plurals match too); a trailing `*` makes it a prefix (`harbo*`: harbour, harbor).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

Keywords = tuple[tuple[str, tuple[str, ...]], ...]
"""A lookup table: (name, keywords naming it)."""

# fmt: off
FAMILIES: Keywords = (
    ("studio", ("studio", "product shot", "product photo", "packshot", "backdrop",
                "still life")),
    ("water", ("sea", "seascape", "ocean", "beach", "lake", "coast*", "harbo*", "river", "shore",
               "lighthouse", "swells", "salt spray", "waves", "bay", "seaside", "seafront",
               "waterfront", "pier", "quay", "marina", "dock")),
    ("city", ("city", "street", "urban", "cyberpunk", "alley", "downtown", "skyline", "rooftop",
              "metropol*", "avenue", "market", "neon", "kerb", "curb", "pavement", "sidewalk")),
    ("mountains", ("mountain", "peak", "alps", "cliff", "canyon", "valley", "summit")),
    ("forest", ("forest", "wood", "woodland", "jungle", "grove", "pine")),
    ("meadow", ("meadow", "field", "grass", "prairie", "garden", "park", "hill", "farm")),
)
"""Scene families: the scenery drawn behind the subject."""

SUBJECTS: Keywords = (
    ("vehicle", ("car", "vehicle", "truck", "bike", "bicycle", "motorbike", "motorcycle", "bus",
                 "van", "taxi", "cab", "tram")),
    ("boat", ("boat", "ship", "sailboat", "sailing boat", "yacht", "ferry", "canoe", "trawler")),
    ("lamp", ("lamp", "lamppost", "lamp post", "streetlamp", "street lamp", "street light",
              "streetlight", "lantern")),
    ("tree", ("tree", "oak", "pine", "plant", "bush", "willow")),
    ("house", ("house", "cabin", "cottage", "hut", "barn", "home", "shop", "cafe")),
    ("tower", ("tower", "building", "castle", "lighthouse", "church", "temple", "monument",
               "skyscraper")),
    ("cat", ("cat", "kitten", "kitty")),
    ("bird", ("bird", "gull", "seagull", "crow", "raven", "pigeon", "dove", "swallow")),
    ("fox", ("fox", "foxes", "vixen", "fox cub")),
    ("animal", ("dog", "puppy", "hound", "horse", "pony", "deer", "stag", "wolf",
                "wolves", "cow", "animal", "pet")),
    ("object", ("bottle", "product", "perfume", "vase", "cup", "mug", "jar", "can", "object",
                "flacon")),
    ("person", ("person", "figure", "man", "men", "woman", "women", "child", "children", "kid",
                "girl", "boy", "walker", "pedestrian", "passer by", "passerby", "stranger",
                "traveller", "traveler", "wanderer", "hiker", "detective", "couple", "people",
                "crowd", "someone", "silhouette", "hero", "heroine", "rider", "fisherman")),
)
"""Things the renderer draws as silhouettes: the spec's subject, and any other named in the
prompt as a secondary element (a stray cat, a lamp, birds, a passer-by)."""

BEAMS = ("beam", "beam of light", "light beam", "searchlight", "god rays", "light rays",
         "rays of light", "sunbeam", "shaft of light")
"""A beam of light: from the subject's top when it is a tower (a lighthouse), else from above."""

SUBJECT_ONLY = ("hero", "heroine", "can", "object", "product", "flacon", "building",
                "skyscraper", "home", "shop", "cafe", "plant", "bush", "silhouette", "someone",
                "pet", "animal", "rider")
"""Subject words too common in prompts ("hero banner", "city buildings") to add an element."""

PLACES: Keywords = (
    ("kerb", ("kerb", "curb", "kerbside", "pavement", "sidewalk", "doorstep")),
    ("far", ("in the distance", "distant", "far away", "far off", "on the horizon")),
    ("near", ("foreground", "in front", "close up", "up close", "nearby")),
    ("left", ("left", "on the left")),
    ("right", ("right", "on the right")),
)
"""Where an element named in the prompt stands, from words in its own clause."""

WEATHER: tuple[tuple[str, float, tuple[str, ...]], ...] = (
    ("rain", 1.8, ("heavy rain", "downpour", "pouring", "pouring rain", "torrential",
                   "torrential rain", "rainstorm", "thunderstorm", "storm", "stormy",
                   "driving rain", "lashing rain")),
    ("rain", 0.5, ("light rain", "drizzle", "drizzly", "drizzling", "light shower", "spitting")),
    ("rain", 1.0, ("rain", "rainy", "raining", "rainfall", "shower", "rain soaked")),
    ("fog", 1.8, ("thick fog", "dense fog", "heavy fog", "pea souper")),
    ("fog", 0.5, ("light fog", "mist", "misty", "haze", "hazy")),
    ("fog", 1.0, ("fog", "foggy")),
    ("snow", 1.8, ("heavy snow", "blizzard", "snowstorm")),
    ("snow", 0.5, ("light snow", "flurry", "flurries", "dusting of snow")),
    ("snow", 1.0, ("snow", "snowy", "snowing", "snowfall")),
)
"""Weather, with the intensity each phrase sets (1 is plain rain, fog or snow)."""

MORE_WEATHER: tuple[tuple[str, float, tuple[str, ...]], ...] = (
    ("rain", 1.4, ("rainier", "more rain", "heavier rain", "wetter", "harder rain")),
    ("rain", 0.6, ("less rain", "lighter rain")),
    ("fog", 1.4, ("foggier", "mistier", "more fog", "thicker fog", "more mist")),
    ("fog", 0.6, ("less fog", "thinner fog", "less mist")),
    ("snow", 1.4, ("snowier", "more snow", "heavier snow")),
    ("snow", 0.6, ("less snow", "lighter snow")),
)
"""Comparatives a direction uses ("make it rainier"): each scales the intensity."""

SEA: tuple[tuple[float, tuple[str, ...]], ...] = (
    (2.4, ("big waves", "huge waves", "high waves", "rough sea", "rough seas", "stormy sea",
           "crashing waves", "choppy", "breakers", "surf")),
    (0.3, ("calm sea", "calm water", "still water", "glassy sea", "mirror calm", "flat calm")),
    (1.6, ("wave", "waves")),
)
"""Sea state on water scenes: how far ripples reach and how many whitecaps break."""

MORE_SEA: tuple[tuple[float, tuple[str, ...]], ...] = (
    (1.5, ("bigger waves", "higher waves", "rougher", "choppier", "more waves")),
    (0.6, ("smaller waves", "calmer", "gentler waves")),
)

WARMTH: tuple[tuple[float, tuple[str, ...]], ...] = (
    (0.5, ("warm", "warm light", "warmth", "orange glow", "orange light", "golden",
           "amber glow", "amber light", "candlelight", "candlelit", "firelight", "sodium",
           "tungsten", "glowing orange")),
    (-0.5, ("cold", "cold light", "cool light", "icy", "blue light", "bluish", "moonlit",
            "moonlight", "steely", "frosty", "wintry", "clinical")),
    (0.5, ("warmer", "more orange")),
    (-0.5, ("colder", "cooler", "bluer")),
)
"""Light warmth: each word moves the light toward orange (+) or blue (-); -1..1 in all."""

TIMES: Keywords = (
    ("golden hour", ("golden hour", "sunset", "late afternoon", "magic hour")),
    ("dawn", ("dawn", "daybreak", "sunrise", "first light", "early morning")),
    ("dusk", ("dusk", "twilight", "evening", "blue hour", "nightfall")),
    ("night", ("night", "nighttime", "night time", "midnight", "after dark", "nocturnal")),
    ("daylight", ("daylight", "daytime", "midday", "noon", "morning", "afternoon", "sunny",
                  "sunlit", "bright day")),
    ("overcast", ("overcast", "grey sky", "gray sky", "cloudy")),
)
"""Time of day and the lighting it calls for, when the prompt says so."""

MOODS: Keywords = (
    ("#4f6f9f", ("melanchol*", "sad", "lonely", "cold", "somber", "sombre")),
    ("#ffb06a", ("warm", "cozy", "cosy", "nostalg*", "hopeful", "inviting")),
    ("#6a4a9a", ("myster*", "dreamy", "magic*", "surreal")),
    ("#3f6a52", ("ominous", "eerie", "tense", "menac*", "dark")),
    ("#ffd45a", ("joy*", "happy", "cheer*", "playful", "energetic", "vibrant")),
    ("#9fc8d8", ("calm", "serene", "peace*", "tranquil")),
)
"""Mood words (the spec's `mood`) and the tint each casts over the frame."""

LETTERING: tuple[str, ...] = (
    "text", "lettering", "typography", "typographic", "title", "titled", "entitled", "headline",
    "caption", "logo", "wordmark", "tagline", "slogan", "product name", "brand name",
    "legible name", "legible", "inscription", "words", "signage reading", "sign reading",
)
"""Words that ask for legible text; quoted words ask for themselves."""

LAYOUT_FIELDS = ("subject_x", "subject_y", "subject_scale", "horizon", "camera")
"""Layout is read from these spec fields only: Lens measures the image against them."""

NEGATORS = ("no", "not", "without", "avoid", "never", "remove", "drop", "lose", "minus")
"""Words that negate what follows them in the same clause ("no birds", "without the cat")."""

LEXICON: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("animals", ("giraffe", "elephant", "lion", "tiger", "bear", "zebra", "monkey", "rabbit",
                 "squirrel", "mouse", "mice", "rat", "sheep", "goat", "pig", "chicken", "duck",
                 "swan", "owl", "eagle", "parrot", "penguin", "fish", "whale", "dolphin",
                 "shark", "octopus", "crab", "snake", "lizard", "frog", "turtle", "butterfly",
                 "bee", "spider", "dragon", "unicorn", "camel", "kangaroo", "panda", "heron",
                 "cow", "dog", "cat", "horse", "deer", "fox", "wolf", "bird", "gull")),
    ("people", ("person", "man", "woman", "child", "girl", "boy", "baby", "crowd", "couple",
                "family", "soldier", "knight", "robot", "astronaut", "dancer", "musician",
                "chef", "doctor", "policeman", "face", "skier", "surfer", "cyclist", "runner",
                "athlete", "bride", "king", "queen", "wizard")),
    ("vehicles", ("car", "bus", "train", "tram", "plane", "airplane", "aeroplane",
                  "helicopter", "rocket", "spaceship", "submarine", "tractor", "scooter",
                  "skateboard", "balloon", "hot air balloon", "zeppelin", "boat", "ship",
                  "truck", "bicycle", "motorcycle", "taxi", "van", "carriage", "sled")),
    ("buildings", ("bridge", "windmill", "pyramid", "statue", "fountain", "stadium", "factory",
                   "station", "tent", "igloo", "lighthouse", "castle", "church", "house",
                   "tower", "skyscraper", "temple", "ferris wheel", "carousel", "fence",
                   "staircase", "stairs", "arch", "pagoda", "cafe", "café", "coffee shop",
                   "bakery", "shop", "store", "market", "restaurant", "pub", "hotel", "school",
                   "library", "museum", "barn", "cabin", "cottage", "hut", "palace", "mill",
                   "greenhouse", "garage", "kiosk", "stall")),
    ("objects", ("umbrella", "guitar", "piano", "violin", "book", "clock", "phone",
                 "computer", "laptop", "camera", "chair", "table", "sofa", "lamp",
                 "lantern", "candle", "bottle", "cup", "mug", "vase", "bag", "hat", "shoe",
                 "sneaker", "necklace", "sword", "shield", "crown",
                 "flag", "kite", "ball", "bench", "mailbox", "hydrant", "fire hydrant",
                 "traffic light", "billboard", "neon sign", "sign", "telescope", "door", "window",
                 "suitcase", "gift", "teapot", "glasses", "jar", "headphones", "microphone",
                 "microscope", "test tube", "beaker", "backpack", "wallet")),
    ("kitchen", ("kettle", "toaster", "blender", "mixer", "microwave", "fridge",
                 "refrigerator", "oven", "stove", "hob", "saucepan", "frying pan", "wok",
                 "espresso machine", "coffee machine", "coffee maker", "grinder",
                 "coffee grinder", "espresso grinder", "portafilter", "tamper", "milk jug",
                 "espresso cup", "coffee cup", "teacup", "plate", "bowl", "spoon", "fork",
                 "knife", "cutting board", "chopping board")),
    ("rooms", ("kitchen", "counter", "countertop", "worktop", "kitchen counter", "laboratory",
               "lab", "office", "classroom", "bedroom", "living room", "bathroom", "gym",
               "workshop")),
    ("food", ("cake", "pizza", "burger", "coffee", "tea", "apple", "banana", "bread",
              "ice cream", "sushi", "fruit", "cocktail", "espresso", "latte", "cappuccino",
              "croissant", "sandwich", "loaf", "sourdough", "cookie", "pasta", "salad")),
    ("nature", ("rainbow", "volcano", "waterfall", "iceberg", "glacier", "desert", "dune",
                "island", "cave", "rock", "boulder", "flower", "rose", "sunflower", "tulip",
                "cactus", "palm", "palm tree", "mushroom", "leaf", "leaves", "lightning",
                "aurora", "comet", "planet", "moon", "star", "sun", "cloud", "tree", "forest",
                "mountain", "river", "lake", "sea", "wave", "beach", "field", "steam", "smoke",
                "fire", "flame")),
)
"""Common concrete nouns, for naming what a text asks for that the renderer cannot draw."""

STAND_INS = ("cup", "mug", "vase", "jar")
"""Objects the renderer draws only as its one object silhouette, a bottle: it names them as
things it cannot draw (an asked-for cup that comes out a bottle is not drawn)."""

DRAWN_ANYWAY = ("window", "sign", "neon sign", "moon", "star", "sun", "cloud", "flower",
                "umbrella", "rock", "lightning")
"""Nouns the renderer draws as part of a scene: lit windows and neon signs in cities, moon,
sun, stars and clouds in the sky, meadow flowers, a figure's umbrella in the rain."""
# fmt: on


def _plural(word: str) -> str:
    if word.endswith("y") and len(word) > 2 and word[-2] not in "aeiou":
        return f"{re.escape(word[:-1])}(?:y|ies)"
    if word.endswith("f"):
        return f"{re.escape(word[:-1])}(?:f|fs|ves)"
    return f"{re.escape(word)}(?:e?s)?"


@functools.cache
def pattern(keys: tuple[str, ...]) -> re.Pattern[str]:
    """One regex for a group of keywords, longest first so phrases beat their words."""
    parts = []
    for key in sorted(keys, key=len, reverse=True):
        words = key.rstrip("*").split()
        if key.endswith("*"):
            tail = re.escape(words[-1]) + "[a-z]*"
        else:
            tail = _plural(words[-1])
        parts.append(r"[\s-]+".join([*map(re.escape, words[:-1]), tail]))
    return re.compile(r"(?<![a-z])(?:" + "|".join(parts) + r")(?![a-z])")


def normalise(text: str) -> str:
    """Lower case, with typographic apostrophes and dashes made plain."""
    return text.lower().replace("\u2019", "'").replace("\u2013", "-").replace("\u2014", "-")


_CLAUSE = re.compile(r"[,.;:!?()\n]|\bbut\b|\binstead\b")
_NEGATOR = pattern(NEGATORS)


def mentions(text: str, keys: tuple[str, ...]) -> list[re.Match[str]]:
    """Where `keys` occur in `text`, leaving out those negated in their clause ("no cats")."""
    low = normalise(text)
    found = []
    for match in pattern(keys).finditer(low):
        start = max((m.end() for m in _CLAUSE.finditer(low, 0, match.start())), default=0)
        if not _NEGATOR.search(low, start, match.start()):
            found.append(match)
    return found


def pick(text: str, table: Keywords) -> str | None:
    """The first table entry with a keyword in `text`."""
    low = normalise(text)
    return next((name for name, keys in table if pattern(keys).search(low)), None)


def drawable(noun: str) -> bool:
    """Whether the renderer draws `noun` (a subject, an element, scenery or weather)."""
    tables = [keys for _, keys in (*FAMILIES, *SUBJECTS)]
    tables += [keys for *_, keys in WEATHER] + [keys for _, keys in SEA] + [BEAMS]
    tables.append(DRAWN_ANYWAY)
    if pattern(STAND_INS).fullmatch(noun):
        return False
    return any(pattern(keys).fullmatch(noun) for keys in tables)


@functools.cache
def _undrawable_keys() -> tuple[str, ...]:
    return tuple(dict.fromkeys(n for _, nouns in LEXICON for n in nouns if not drawable(n)))


def undrawable(text: str) -> list[str]:
    """Concrete things `text` asks for that the renderer cannot draw, singular, in order.

    `undrawable("a giraffe by a lighthouse, no pianos")` is `["giraffe"]`: the lighthouse is
    drawn, and a negated noun is not asked for.
    """
    keys = _undrawable_keys()
    found = sorted(mentions(text, keys), key=lambda m: m.start())
    names: list[str] = []
    named = _names(text, found)
    for match in found:
        said = re.sub(r"[\s-]+", " ", match.group())
        if said in named:
            continue
        name = next(k for k in keys if pattern((k,)).fullmatch(said))
        if name not in names:
            names.append(name)
    return names


_QUOTES = re.compile(r"\"[^\"]*\"|“[^”]*”")


def _names(text: str, found: list[re.Match[str]]) -> set[str]:
    """Words `text` uses as a name, not a thing: capitalised after a sentence's start ("an ad
    for Aurora, a kettle": Aurora is the product) or quoted (lettered, not drawn)."""
    if len(normalise(text)) != len(text):  # offsets would not line up with the original
        return set()
    quoted = [m.span() for m in _QUOTES.finditer(text)]
    named: set[str] = set()
    for match in found:
        start = match.start()
        word = text[start : match.end()]
        before = text[:start].rstrip()
        capital = word[:1].isupper() and not word.isupper()
        mid_sentence = bool(before) and before[-1] not in ".!?:;\n\"“'"
        if (capital and mid_sentence) or any(a <= start < b for a, b in quoted):
            named.add(re.sub(r"[\s-]+", " ", match.group()))
    return named


_MASS = frozenset(
    "steam smoke fire coffee tea bread espresso latte cappuccino sushi fruit pasta salad "
    "ice cream lightning glasses headphones stairs leaves mice wolves".split()
)


def cannot_draw_line(names: Sequence[str], most: int = 4) -> str:
    """The one line that tells people what the built-in renderer cannot draw of what they
    asked (empty when nothing): the prompt still carries it, for ComfyUI."""
    if not names:
        return ""
    shown = [n if n in _MASS else f"{'an' if n[:1] in 'aeiou' else 'a'} {n}" for n in names[:most]]
    things = ", ".join(shown[:-1]) + f" or {shown[-1]}" if len(shown) > 1 else shown[0]
    return (
        f"The built-in renderer cannot draw {things}; the prompt carries "
        f"{'it' if len(names) == 1 else 'them'} for ComfyUI (set COMFYUI_URL)."
    )


def vocabulary() -> dict[str, dict[str, list[str]]]:
    """What the renderer understands, grouped by what it draws (for `studio check`)."""
    weather: dict[str, list[str]] = {}
    for name, level, keys in (*WEATHER, *MORE_WEATHER):
        label = f"{name} x{level:g}" if level != 1 else name
        weather.setdefault(label, []).extend(keys)
    sea = {f"waves x{level:g}": list(keys) for level, keys in (*SEA, *MORE_SEA)}
    warmth: dict[str, list[str]] = {}
    for level, keys in WARMTH:
        warmth.setdefault("warmer" if level > 0 else "colder", []).extend(keys)
    return {
        "scene": {name: list(keys) for name, keys in FAMILIES},
        "subject and elements": {
            **{name: list(keys) for name, keys in SUBJECTS},
            "as the subject only": list(SUBJECT_ONLY),
        },
        "weather": weather,
        "sea": sea,
        "light warmth": warmth,
        "light beams": {"beam": list(BEAMS)},
        "time of day": {name: list(keys) for name, keys in TIMES},
        "mood (spec field)": {colour: list(keys) for colour, keys in MOODS},
        "lettering": {"asks for text": [*LETTERING, "quoted words", "called/named X"]},
        "layout (spec fields)": {"fields": list(LAYOUT_FIELDS)},
        "negation": {"keeps out": [*NEGATORS, "the negative prompt"]},
    }
