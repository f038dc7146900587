"""Lens's eye: one image scored against a brief, from its pixels and the critic model.

One code path for the critique node, `studio critique` and `POST /critique`: measure the
pixels, check what the measurements can check (tone, palette, layout, rain, whether there is
legible text), say what they cannot (what the subject is, the words of the text, anything
else the brief names), and blend in Lens's model judgement.
"""

from __future__ import annotations

import asyncio
import io
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from PIL import Image, UnidentifiedImageError

from adapters.craft import (
    GENRES,
    LIGHTS,
    MATERIALS,
    MOODS,
    SCENERY_SUBJECTS,
    WEATHERS,
    brief_targets,
)
from adapters.errors import InvalidInput, StudioError
from adapters.pixels import (
    MISSING_CAP,
    TEXT_LETTERS,
    Measurements,
    asked_moves,
    assess,
    drift,
    measure,
    outlier,
    without_asks,
)
from adapters.render_vocab import SUBJECTS, pick, undrawable
from adapters.render_words import subject_kind
from agents import prompts
from agents.calls import overrides, structured
from agents.schemas import CritiqueVerdict
from graph import directions
from graph.context import StudioContext
from graph.state import Direction, StudioState

MEASURED_WEIGHT = 0.7
"""Share of the final score that comes from pixel measurements (the rest: Lens's judgement)."""
UNVERIFIED_KNEE, UNVERIFIED_SLOPE = 7.5, 0.3
"""While some of the brief could not be checked, a score above the knee counts only at this
slope (at most 8.25): what nobody could see cannot earn top marks. Order is kept, so a
better image still scores higher."""
MAX_PIXELS = 40_000_000
"""Largest image (width x height) Lens opens from outside the studio."""
SKETCH_NOTE = (
    "This is a layout sketch (no generative model made it): it is scored on layout, palette, "
    "key and what it letters, not on finish"
)
_KEEP = frozenset(
    "a an the and or but with without of in on at to into from by for it its is are be more "
    "less much very so too bit little make keep give let add show use put want need please "
    "also some slightly really quite there this that than just feel feeling mood look tone "
    "tones colour color colours colors palette light lighting lit scene image picture shot "
    "frame overall whole legible readable clear clean bold big large small moody "
    "left right centre center centred centered middle third thirds horizon low high lower "
    "higher close closer up wide wider far further farther near subject foreground background "
    "top bottom red orange amber yellow lime green teal cyan blue indigo violet purple magenta "
    "pink rose gold golden silver grey gray black white brown instead rather not switch change "
    "turn swap dark darker sky".split()
)
"""Words a measurement covers (tone, colour, layout) or that carry nothing to check."""
_QUOTED = re.compile(r"\"([^\"]+)\"|“([^”]+)”")
_SKY = frozenset("sky skies sun moon stars star".split())
"""What a time of day brings to the sky: checked with it (its key is measured) in a clause
that names the light ("night: dark sky with a moon")."""


def _look_words() -> tuple[frozenset[str], tuple[str, ...]]:
    words: set[str] = set(GENRES)
    for table in (MOODS, LIGHTS, MATERIALS, WEATHERS):
        for look in table.values():
            for trigger in look.triggers:
                words.update(trigger.split())
    stems = tuple(w for w in words if len(w) > 4)
    return frozenset(words), stems


_LOOK_WORDS, _LOOK_STEMS = _look_words()


def _covered(word: str) -> bool:
    bare = word.strip("'-")
    plain = re.sub(r"(?:es|s)$", "", bare)
    return (
        bare in _KEEP or bare in _LOOK_WORDS or plain in _LOOK_WORDS or bare.startswith(_LOOK_STEMS)
    )


def asks_for_text(said: str) -> bool:
    """Whether a clause asks for words in the image (`directions.TEXT_WORDS`, but "a type of
    boat" asks for a boat)."""
    return any(
        not (m.group(0).lower() == "type" and said[m.end() :].lstrip().lower().startswith("of"))
        for m in directions.TEXT_WORDS.finditer(said)
    )


def asked_ways(asks: Sequence[Direction]) -> dict[str, int]:
    """Which way the person's directions ask each measurement to move ("brighter": +1), the
    latest direction winning."""
    ways: dict[str, int] = {}
    for d in asks:
        if not d["negative"]:
            ways.update({key: way for _, key, way in asked_moves(d["text"])})
    return ways


def letters_asked(asks: Sequence[Direction]) -> int | None:
    """How many letters the asked-for text needs in one line (None: no text asked): the
    longest quoted word, at most `TEXT_LETTERS`."""
    wanted = [d for d in asks if not d["negative"] and asks_for_text(d["text"])]
    if not wanted:
        return None
    quoted = [
        word
        for d in wanted
        for groups in _QUOTED.findall(d["text"])
        for word in "".join(groups).split()
    ]
    longest = max((len(re.sub(r"\W", "", w)) for w in quoted), default=TEXT_LETTERS)
    return max(1, min(TEXT_LETTERS, longest))


def unverifiable(asks: Sequence[Direction]) -> list[str]:
    """What the brief and directions ask that pixel measurements cannot see: anything named
    beyond tone, colour, layout, weather and rain (a cat, waves, "no faces"), and the words
    of any text asked for (text is found, not read)."""
    out: list[str] = []
    aside = directions.set_aside([d for d in asks if not d["negative"]])
    for d in asks:
        said = d["text"]
        if not d["negative"] and asks_for_text(said):
            out.append(f"the wording of '{said}' (text is found, not read)")
            continue
        rest = directions.TEXT_WORDS.sub(" ", without_asks(said.lower()))
        lit = not d["negative"] and any(
            re.search(rf"\b{re.escape(t)}", rest) for look in LIGHTS.values() for t in look.triggers
        )
        if all(_covered(w) or (lit and w in _SKY) for w in re.findall(r"[a-z][a-z'-]*", rest)):
            continue
        words = re.sub(r"^(?:with|and|plus|also)\s+", "", directions.prompt_words(d), flags=re.I)
        words = directions.without_aside(words, aside) or words  # no "at dawn" after "not dawn"
        out.append(f"the absence of {words}" if d["negative"] else words)
    return list(dict.fromkeys(out))


def layout_words(text: str) -> dict[str, float]:
    """Layout targets a brief states in words ("subject on the left", "low horizon"), for
    images that carry no spec."""
    low = text.lower()
    out: dict[str, float] = {}
    if re.search(r"\b(?:on|to|at) the left\b|\bleft third\b", low):
        out["subject_x"] = 0.33
    elif re.search(r"\b(?:on|to|at) the right\b|\bright third\b", low):
        out["subject_x"] = 0.67
    elif re.search(r"\bcent(?:er|re)d\b|\bin the (?:middle|cent(?:er|re))\b", low):
        out["subject_x"] = 0.5
    if re.search(r"\blow horizon\b|\bhorizon (?:is )?low\b", low):
        out["horizon"] = 0.67
    elif re.search(r"\bhigh horizon\b|\bhorizon (?:is )?high\b", low):
        out["horizon"] = 0.33
    return out


def undrawn_names(recipe: Mapping[str, Any] | None, asked: str | None = None) -> list[str]:
    """What the image's renderer says it could not draw of what was asked: of what the person
    asked (`asked`: the brief and their directions) when given, so the team's own wording
    ("dappled leaf shadow") never counts as something missing."""
    drawn = (recipe or {}).get("drawn")
    names = [
        str(name)
        for name in (drawn.get("cannot_draw") if isinstance(drawn, Mapping) else None) or []
    ]
    if asked is None:
        return names
    wanted = set(undrawable(asked))
    return [name for name in names if name in wanted]


def not_drawn(recipe: Mapping[str, Any] | None, asked: str | None = None) -> list[str]:
    """What the image's renderer could not draw of what was asked, as findings."""
    return [
        f"not drawn: {name} (this renderer cannot draw it)" for name in undrawn_names(recipe, asked)
    ]


def _stem(noun: str) -> str:
    return re.sub(
        r"(?:es|s)$", "", unicodedata.normalize("NFKD", noun).encode("ascii", "ignore").decode()
    )


SWITCH = re.compile(
    r"\b(?:instead|rather than|replace|swap|turn (?:it|the \w+) into|make it (?:a|an)\b)", re.I
)
"""A direction that changes the subject ("make it an owl instead"), not one that adds to the
picture ("add a red boat", whose boat is no new subject)."""


def asked_subject(asked: str) -> str | None:
    """The subject the person named (`brief_targets`' subject of the brief, or of the latest
    direction that changes it), or None when they named none (the team's own "lone figure"
    then stands in, and nothing is missing)."""
    lines = [line for line in asked.splitlines() if line.strip()]
    named = [str(brief_targets(lines[0])["subject"])] if lines else []
    named += [
        str(brief_targets(line)["subject"])
        for line in lines[1:]
        if SWITCH.search(line) and not line.startswith("avoid ")
    ]
    subjects = [subject for subject in named if subject != "lone figure"]
    return subjects[-1] if subjects else None


def subject_swaps(
    asked: str, spec: Mapping[str, Any], recipe: Mapping[str, Any] | None
) -> tuple[list[str], list[str]]:
    """Whether the image has the subject the person named in `asked` (the brief and their
    directions): (findings, names the renderer could not draw). Missing when the image's spec
    puts something else in its place ("lone figure" for "a small harbour cafe"), or when the
    built-in renderer's recipe says it drew another silhouette ("a quiet pier": a person).
    A subject the renderer cannot draw at all is already in its `cannot_draw`."""
    subject = asked_subject(asked)
    if subject is None:
        return [], []
    head = _stem(subject.split()[-1].lower())
    planned = " ".join(str(spec.get("subject") or "").lower().split())
    same_kind = pick(planned, SUBJECTS) is not None and pick(planned, SUBJECTS) == pick(
        subject, SUBJECTS
    )
    # a spec's subject the studio knows as something else ("lone figure", another kind) is a
    # swap; words it does not know ("bistro on the quay") may be the model's paraphrase
    known = planned == "lone figure" or pick(planned, SUBJECTS) is not None
    named = head in map(_stem, re.findall(r"[^\W\d_]+", planned))
    if planned and known and not named and not same_kind:
        return [f"subject: {subject} (asked; the spec's subject is {planned})"], []
    drawn = (recipe or {}).get("drawn")
    shown = drawn.get("subject") if isinstance(drawn, Mapping) else None
    if not isinstance(shown, str) or shown == "placeholder":
        return [], []
    want = subject_kind(subject) if pick(subject, SUBJECTS) else None
    if want is None and head in SCENERY_SUBJECTS:
        want = "scenery"  # drawn as the place around the subject, never as the subject
    if want is None or want in (shown, "placeholder"):
        return [], []
    return [f"not drawn: {subject} (this renderer drew a {shown} in its place)"], [head]


def soften(score: float) -> float:
    """A score while something asked could not be checked (see `UNVERIFIED_KNEE`)."""
    if score <= UNVERIFIED_KNEE:
        return score
    return UNVERIFIED_KNEE + (score - UNVERIFIED_KNEE) * UNVERIFIED_SLOPE


@dataclass
class Scorecard:
    """Lens's score for one image and everything behind it."""

    score: float
    measured: float
    """The pixel measurements' own score, 0-10."""
    judged: float
    """Lens's model judgement, 0-10."""
    reasons: list[str]
    measurements: dict[str, float]
    targets: dict[str, float]
    """What each checked measurement was checked against."""
    parts: dict[str, float]
    unchecked: list[str]
    """What the brief asks that nobody could check (a vision model checks these itself)."""
    missing: list[str]
    """Asked-for elements not found (legible text)."""
    undrawn: list[str]
    """What the renderer says it could not draw of what was asked (its recipe's cannot_draw)."""
    uncapped: float
    """The score before the `undrawn` cap: what iterating could still improve."""
    sketch: bool
    looked: bool
    """A vision model saw the image."""
    tokens: int

    def as_json(self) -> dict[str, Any]:
        """The card as people and scripts read it: each measurement with its target."""
        return {
            "score": self.score,
            "measured": round(self.measured, 2),
            "judged": round(self.judged, 2),
            "sketch": self.sketch,
            "measurements": {
                k: {"measured": v, "target": self.targets.get(k)}
                for k, v in self.measurements.items()
                if k != "measured_score"
            },
            "reasons": self.reasons,
            "missing": self.missing,
            "unchecked": self.unchecked,
            "looked": self.looked,
        }


def measured_only(error: StudioError, measured: float) -> CritiqueVerdict:
    """Lens could not judge an output: its score is the pixel measurement alone."""
    return CritiqueVerdict(
        score=measured, reasons=[f"Scored from pixel measurements only ({error.message})"]
    )


async def score_image(
    context: StudioContext,
    state: StudioState,
    png: bytes,
    *,
    deliverable: str | None = None,
    spec: Mapping[str, Any] | None = None,
    recipe: Mapping[str, Any] | None = None,
    measured: Measurements | None = None,
) -> Scorecard:
    """Score one image 0-10 against the brief and the directions in scope for `deliverable`.

    Layout targets come from the image's spec (else from the brief's words); the score rates
    what was checked, is `soften`ed while something asked could not be checked, and is at
    most `MISSING_CAP` when something asked is missing."""
    spec = spec or {}
    m = measured if measured is not None else await asyncio.to_thread(measure, png)
    asks = directions.for_state(state, deliverable)
    goal = brief_targets(directions.brief_text(state, deliverable))
    layout = {**layout_words(directions.brief_text(state, deliverable)), **spec}
    assessment = assess(
        m,
        palette=list(goal["palette"]),
        brightness=float(goal["brightness"]),
        contrast=float(goal["contrast"]),
        subject_x=_number(layout.get("subject_x")),
        subject_scale=_number(spec.get("subject_scale")),
        horizon=_number(layout.get("horizon")),
        weather=str(goal["weather"]),
        text=letters_asked(asks),
        asked=asked_ways(asks),
        colours=list(goal["named_colours"]),
    )
    numbers = {**m.scalars(), "measured_score": assessment.score}
    if "palette_distance" in assessment.checks:
        numbers["palette_distance"] = assessment.checks["palette_distance"][0]
    hidden = unverifiable(asks)
    looked = await context.models.accepts_images("critic", overrides(state))
    prompt = prompts.critique(
        state, spec, numbers, assessment.findings, by_eye=hidden if looked else ()
    )
    if looked:
        prompt = prompts.with_image(prompt, png)
    verdict, tokens = await structured(
        context,
        state,
        "critic",
        CritiqueVerdict,
        prompt,
        fallback=partial(measured_only, measured=assessment.score),
    )
    judged = max(0.0, min(10.0, verdict.score))
    said = directions.brief_text(state, deliverable)
    swapped, stood_in = subject_swaps(said, spec, recipe)
    undrawn = [*not_drawn(recipe, said), *swapped]
    if assessment.missing:  # the model may not weigh a missing element; the pixels did
        judged = min(judged, MISSING_CAP)
    score = MEASURED_WEIGHT * assessment.score + (1 - MEASURED_WEIGHT) * judged
    unchecked = [*assessment.unchecked, *([] if looked else hidden)]
    if unchecked:
        score = soften(score)
    uncapped = score
    if undrawn:  # the renderer says it left out something asked: no score may praise that
        score = min(score, MISSING_CAP)
    sketch = bool((recipe or {}).get("sketch"))
    reasons = list(dict.fromkeys([*undrawn, *assessment.findings, *verdict.reasons]))[:6]
    return Scorecard(
        score=round(score, 1),
        measured=assessment.score,
        judged=judged,
        reasons=[*reasons, SKETCH_NOTE] if sketch else reasons,
        measurements={k: round(v, 4) for k, v in numbers.items()},
        targets={k: t for k, (_, t) in assessment.checks.items()},
        parts=assessment.parts,
        unchecked=unchecked,
        missing=[*assessment.missing, *undrawn],
        undrawn=[*undrawn_names(recipe, said), *stood_in],
        uncapped=round(uncapped, 1),
        sketch=sketch,
        looked=looked,
        tokens=tokens,
    )


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def open_image(name: str, data: bytes) -> Image.Image:
    """The image in `data`, fully decoded, or `InvalidInput` saying why it cannot be scored."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.width * img.height > MAX_PIXELS:
                raise InvalidInput(
                    f"{name}: {img.width}x{img.height} is too large to score "
                    f"(at most {MAX_PIXELS // 1_000_000} megapixels)"
                )
            img.load()
            return img.convert("RGB")
    except (UnidentifiedImageError, Image.DecompressionBombError):
        raise InvalidInput(f"{name}: not an image Lens can read (PNG, JPEG, WebP ...)") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise InvalidInput(f"{name}: the image is damaged and cannot be read ({exc})") from None


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png(img: Image.Image) -> bytes:
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def _recipe(data: bytes) -> dict[str, Any]:
    """The studio recipe a PNG carries (`studio:recipe`), else empty."""
    from adapters.renderer import read_recipe

    try:
        return dict(read_recipe(data))
    except (OSError, ValueError):
        return {}


async def critique_images(
    context: StudioContext, brief: str, images: Sequence[tuple[str, bytes]]
) -> dict[str, Any]:
    """Score images brought from anywhere against `brief`, as Lens scores the studio's own,
    and measure how far the set drifts. One JSON-ready object for the CLI and HTTP API.

    Images the studio made keep their spec (from the recipe they carry), so their layout is
    checked against it; others are checked against what the brief says in words."""
    brief = " ".join(brief.split())
    if not brief:
        raise InvalidInput("a brief is needed: what should these images show?")
    if not images:
        raise InvalidInput("no images to score")
    opened = [(name, await asyncio.to_thread(open_image, name, data)) for name, data in images]
    state = StudioState(messages=[], brief=brief, directions=directions.said(brief, source="brief"))
    cards: list[dict[str, Any]] = []
    measured: list[tuple[str, Measurements]] = []
    for (name, img), (_, data) in zip(opened, images, strict=True):
        m = await asyncio.to_thread(measure, img)
        recipe = _recipe(data)
        spec = recipe.get("spec") if isinstance(recipe.get("spec"), dict) else None
        png = data if data.startswith(PNG_SIGNATURE) else await asyncio.to_thread(_png, img)
        card = await score_image(context, state, png, spec=spec, recipe=recipe, measured=m)
        cards.append({"name": name, **card.as_json()})
        measured.append((name, m))
    spread = drift(measured)
    return {
        "brief": brief,
        "images": cards,
        "drift": {**spread, "drifts": outlier(spread)},
    }
