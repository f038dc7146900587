"""The person's directions: said once, pinned with scope and source, carried into every spec.

A direction is one clause of what the person said ("add a stray cat on the kerb", "avoid
faces"), scoped to the whole set (`*`) or to one deliverable. Pixel's specs carry every
direction in scope: positives in the prompt, negatives in the negative prompt, and no default
negative term may contradict a positive one. A later direction overrides an earlier one it
contradicts ("no cat" after "add a cat"), so what the person said last holds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from adapters.colours import colour_distance, colour_name, normal_hex
from adapters.craft import brief_targets, named_looks
from adapters.deliverables.brief import NOISE, without_deliverables
from graph.state import Deliverable, Direction, StudioState

_VERBS = r"add|make|show|keep|use|put|give|remove|drop|avoid|no|without|don'?t|do not|never"
_CLAUSES = re.compile(
    rf"(?:[.;!?\n]+\s*|,\s*(?:(?:and|but|also|plus)\s+)?|\s+and\s+(?=(?:{_VERBS})\b))",
    re.I,
)
_NEGATIVE = re.compile(
    r"^(?:please\s+)?(?:avoid|no|without|never show|never|don'?t (?:show|include|add|use)|"
    r"do not (?:show|include|add|use)|remove|drop|lose|get rid of)\s+(?:any\s+|the\s+|a\s+|an\s+)?",
    re.I,
)
_FILLER = re.compile(r"^(?:please\s+|also\s+|and\s+|but\s+|then\s+|ok(?:ay)?,?\s+)+", re.I)
_CHATTER = re.compile(
    r"^(?:(?:please|thanks|thank you|ok(?:ay)?|yes|yeah|sure|right|great|good|fine|now|then|"
    r"again|go on|go ahead|carry on|keep going|continue|proceed|resume|let'?s go|sounds good|"
    r"looks good)\b[\s,.!]*)+$",
    re.I,
)
"""A clause that only keeps the conversation going ("carry on please"): no direction."""
TEXT_WORDS = re.compile(
    r"\b(?:text|name|title|titled|entitled|logo|lettering|letters|words?|caption|headline|"
    r"typography|type|tagline|label|slogan|wordmark)\b|\"[^\"]+\"|“[^”]+”",
    re.I,
)
"""A positive direction asking for words in the image: the stock `text` negative must go."""
_TEXT_NEGATIVES = ("text",)
MAX_DIRECTION_CHARS = 300
MAX_PROMPT_CHARS = 2000


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def clauses(text: str) -> list[str]:
    """The clauses of what the person said, each a separate direction."""
    parts = [_FILLER.sub("", p).strip(" ,:-") for p in _CLAUSES.split(text or "")]
    return [" ".join(p.split())[:MAX_DIRECTION_CHARS] for p in parts if p and p.strip(" ,:-")]


def _scope_of(clause: str, scope: str, deliverables: Sequence[Deliverable]) -> str:
    """A clause naming exactly one deliverable ("make hero-b brighter") is about that one."""
    if scope != "*":
        return scope
    named = {
        d["id"]
        for d in deliverables
        if re.search(rf"\b{re.escape(d['id'])}\b", clause, re.I)
        or (d["title"] and re.search(rf"\b{re.escape(d['title'])}\b", clause, re.I))
    }
    return named.pop() if len(named) == 1 else "*"


def said(
    text: str,
    *,
    source: str,
    scope: str = "*",
    deliverables: Sequence[Deliverable] = (),
    at: str | None = None,
) -> list[Direction]:
    """Directions from one thing the person said, one per clause."""
    when = at or now()
    out: list[Direction] = []
    for clause in clauses(text):
        if _CHATTER.match(clause):
            continue
        negative = _NEGATIVE.match(clause)
        words = clause[negative.end() :].strip() if negative else clause
        if not words:
            continue
        out.append(
            Direction(
                text=words,
                scope=_scope_of(clause, scope, deliverables),
                source=source,
                negative=bool(negative),
                at=when,
            )
        )
    return out


_IMPERATIVE = re.compile(
    r"^(?:add|show|include|put|draw|give (?:it|them|the \w+)|make(?: it| them| the \w+)?|"
    r"let it be|i want|we need|there should be)\s+",
    re.I,
)


_SET_ASIDE = re.compile(r"\s*,?\s+(?:instead of|rather than)\b.*$", re.I)


def prompt_words(direction: Direction, deliverables: Sequence[Deliverable] = ()) -> str:
    """A direction as prompt words: the person's clause without its imperative or the name of
    the deliverable it is about ("make hero-b brighter" -> "brighter")."""
    words = direction["text"]
    for d in deliverables:
        for name in (d["id"], d["title"]):
            if name:
                words = re.sub(
                    rf"\b(?:for|in|on|of)?\s*(?:the\s+)?{re.escape(name)}\b", "", words, flags=re.I
                )
    words = " ".join(words.split()).strip(" ,:-")
    words = _SET_ASIDE.sub("", words)  # "night instead of dawn": dawn is not to be drawn
    return _IMPERATIVE.sub("", words).strip() or direction["text"]


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def _contains(haystack: str, needle: str) -> bool:
    return bool(needle) and f" {_norm(needle)} " in f" {_norm(haystack)} "


OPPOSITES: tuple[tuple[re.Pattern[str], re.Pattern[str]], ...] = tuple(
    (re.compile(a, re.I), re.compile(b, re.I))
    for a, b in (
        (r"\b(?:warm\w*|orange|golden|amber)\b", r"\b(?:cold|cool\w*|icy|moonlight|bluish)\b"),
        (r"\b(?:calm|flat|still|tranquil|glassy)\b", r"\b(?:waves?|swells?|choppy|rough|surf)\b"),
        (r"\b(?:sunny|dry|clear skies?|cloudless)\b", r"\b(?:rain\w*|wet|drizzl\w*|downpour)\b"),
        (r"\b(?:day\w*|noon|midday|morning)\b", r"\b(?:night\w*|midnight|moonlit)\b"),
    )
)
"""Pairs of looks that exclude each other: the person's latest word on one ends the other."""


def _sides(text: str) -> set[int]:
    """Which side of each opposite pair a text is on (2*i for the first, 2*i+1 the second)."""
    return {
        2 * i + side
        for i, pair in enumerate(OPPOSITES)
        for side, pattern in enumerate(pair)
        if pattern.search(text)
    }


def _against(phrase: str, wanted: str) -> bool:
    """A phrase of the model's that takes the other side of a look the person asked for
    ("cold moonlight" after "warm light from the lamp")."""
    clash = {s ^ 1 for s in _sides(wanted)} & _sides(phrase)
    return bool(clash) and not clash & _sides(wanted) and not _sides(phrase) & _sides(wanted)


def _overruled(earlier: str, later: str) -> bool:
    """True when `later` takes the other side of a look `earlier` is only about ("big waves"
    after "a flat calm sea"); a clause with more in it ("a lighthouse in a storm") stays."""
    clash = {s ^ 1 for s in _sides(later)} & _sides(earlier)
    if not clash or clash & _sides(later):
        return False
    rest = earlier
    for i in {s // 2 for s in clash}:
        rest = OPPOSITES[i][0].sub(" ", OPPOSITES[i][1].sub(" ", rest))
    return len([w for w in re.findall(r"[a-z]{3,}", rest.lower()) if w not in NOISE]) <= 1


def in_scope(directions: Iterable[Direction], deliverable: str | None) -> list[Direction]:
    """The directions that hold for one deliverable (or for the set when `None`), oldest
    first, with any that a later direction contradicts left out."""
    held: list[Direction] = []
    for d in directions:
        if d["scope"] not in ("*", deliverable):
            continue
        if d["negative"]:  # "no cat" ends "add a stray cat"; "no text" ends "title 'SALT'"
            wordless = bool(TEXT_WORDS.search(d["text"]))
            held = [
                h
                for h in held
                if h["negative"]
                or not (_contains(h["text"], d["text"]) or (wordless and asks_for_text([h])))
            ]
        else:  # "add a cat" ends "no cat"; "flat calm sea" ends "big waves"
            held = [h for h in held if not h["negative"] or not _contains(d["text"], h["text"])]
            held = [h for h in held if h["negative"] or not _overruled(h["text"], d["text"])]
        held = [h for h in held if _norm(h["text"]) != _norm(d["text"])]
        held.append(d)
    return held


def for_state(state: StudioState, deliverable: str | None = None) -> list[Direction]:
    return in_scope(state.get("directions") or [], deliverable)


def brief_text(state: StudioState, deliverable: str | None = None) -> str:
    """The brief, then every direction in scope (later text wins where targets are read)."""
    lines = [state.get("brief", "")]
    lines += [
        ("avoid " if d["negative"] else "") + d["text"] for d in for_state(state, deliverable)
    ]
    return "\n".join(line for line in lines if line).strip()


def bullet(direction: Direction) -> str:
    """A direction as one line for a prompt, the spec and the lineage."""
    words = ("avoid " if direction["negative"] else "") + direction["text"]
    where = "" if direction["scope"] == "*" else f" [{direction['scope']}]"
    return f"{words}{where} ({direction['source'].replace('_', ' ')})"


def asks_for_text(directions: Iterable[Direction]) -> bool:
    return any(not d["negative"] and TEXT_WORDS.search(d["text"]) for d in directions)


def scrub(
    prompt: str, keep_out: Sequence[Direction] = (), asked: Sequence[Direction] = ()
) -> tuple[str, list[str]]:
    """The prompt without phrases that name deliverables ("two hero banners"), that say what
    to avoid ("avoid faces" belongs in the negative prompt: in the prompt it draws faces), or
    that ask for what the person now keeps out (after "no cat", no "a cat on the kerb"; after
    "no text", no lettering)."""
    kept, notes = [], []
    for phrase in (p.strip() for p in prompt.split(",")):
        if not phrase:
            continue
        banned = next(
            (
                d["text"]
                for d in keep_out
                if _contains(phrase, d["text"])
                or (TEXT_WORDS.search(d["text"]) and TEXT_WORDS.search(phrase))
            ),
            None,
        )
        if banned:
            notes.append(f"prompt no longer says '{phrase}' (the person keeps out {banned})")
            continue
        against = next((d["text"] for d in reversed(asked) if _against(phrase, d["text"])), None)
        if against:
            notes.append(f"prompt no longer says '{phrase}' (the person asked for {against})")
            continue
        if _NEGATIVE.match(_FILLER.sub("", phrase)):
            notes.append(f"prompt no longer says '{phrase}' (it goes to the negative prompt)")
            continue
        bare = without_deliverables(phrase)
        if bare != phrase:
            notes.append(f"prompt no longer says '{phrase}' (it names deliverables)")
        if bare:
            kept.append(bare)
    return ", ".join(kept), notes


_ASIDE = re.compile(
    r"(?:^not\s+|\s+(?:instead of|rather than)\s+)(?:the\s+|a\s+|an\s+)?([\w' -]+)$", re.I
)


def set_aside(asked: Sequence[Direction]) -> list[str]:
    """The looks the person set aside ("night instead of dawn", "not dawn": dawn), oldest
    first, unless a later direction asks for one again."""
    out: list[str] = []
    for d in asked:
        found = _ASIDE.search(d["text"])
        wanted = d["text"][: found.start()] if found else d["text"]
        out = [look for look in out if not _contains(wanted, look)]
        if found and named_looks(found.group(1)):
            out.append(found.group(1).strip())
    return out


def without_aside(words: str, aside: Sequence[str]) -> str:
    """Words without the looks set aside ("a café at dawn" -> "a café" after "night instead
    of dawn"), so no prompt asks for both."""
    for look in aside:
        words = re.sub(
            rf"(?:\s*\b(?:at|in|during|by|not|instead of|rather than)\s+)?(?:\bthe\s+)?"
            rf"\b{re.escape(look)}\b"
            r"(?:\s+(?:lighting|light|glow|sky)\b)?",
            "",
            words,
            flags=re.I,
        )
    return " ".join(words.split()).strip(" ,:-")


def apply(
    spec: dict[str, Any],
    directions: Sequence[Direction],
    deliverables: Sequence[Deliverable] = (),
) -> tuple[dict[str, Any], list[str]]:
    """Carry every direction into the spec's prompts; return the spec and what changed.

    Positives join the prompt unless it already says them; negatives join the negative
    prompt; a negative term (a stock default included) that a positive direction asks for
    is removed, so no default contradicts the person."""
    prompt, notes = scrub(
        str(spec.get("prompt", "")),
        [d for d in directions if d["negative"]],
        [d for d in directions if not d["negative"]],
    )
    negative = str(spec.get("negative_prompt", ""))
    positives = [d for d in directions if not d["negative"]]
    if aside := set_aside(positives):  # "night instead of dawn": no "at dawn" left anywhere
        kept = [without_aside(p, aside) for p in prompt.split(",")]
        if ", ".join(p for p in kept if p) != prompt:
            prompt = ", ".join(p for p in kept if p)
            notes.append(f"prompt no longer says {', '.join(aside)} (the person set it aside)")
    wanted_text = asks_for_text(positives)
    terms = [t.strip() for t in negative.split(",") if t.strip()]
    kept_terms = []
    for term in terms:
        asked = any(_contains(d["text"], term) for d in positives)
        if asked or (wanted_text and term.lower() in _TEXT_NEGATIVES):
            notes.append(f"negative prompt no longer says '{term}' (the person asked for it)")
            continue
        kept_terms.append(term)
    words = [without_aside(prompt_words(d, deliverables), aside) for d in positives]
    missing = list(dict.fromkeys(w for w in words if w and not _contains(prompt, w)))
    if missing:
        addition = ", ".join(missing)
        room = MAX_PROMPT_CHARS - len(addition) - 2
        prompt = f"{prompt[: max(0, room)].rstrip(', ')}, {addition}".strip(", ")
        notes += [f"prompt carries '{m}'" for m in missing]
    for d in directions:
        term = prompt_words(d, deliverables)
        if d["negative"] and not any(_contains(t, term) for t in kept_terms):
            kept_terms.append(term)
            notes.append(f"negative prompt carries '{term}'")
    out = {**spec, "prompt": prompt, "negative_prompt": ", ".join(kept_terms)}
    out["directions"] = [bullet(d) for d in directions]
    notes += _colours(out, "\n".join(d["text"] for d in positives))
    return out, notes


MAX_PALETTE = 6


def _colours(spec: dict[str, Any], said: str) -> list[str]:
    """Carry the colours the person named into the spec (in place): a named thing's colour
    ("a red fox") into `colours` and the palette's end, asked palette colours ("amber and
    honey tones", "warm palette", snow's white) to its front, each only when the palette has
    nothing close to it; return what changed."""
    goal = brief_targets(said)
    things: dict[str, str] = dict(goal["colours"])
    palette = [c for c in (normal_hex(x) for x in spec.get("palette") or []) if c]
    absent = [w for w in goal["asked_colours"] if all(colour_distance(w, c) > 0.2 for c in palette)]
    notes = []
    if absent:
        named = [w for w in absent if w in things.values()]
        lead = [w for w in absent if w not in named]
        room = max(len(lead) + 1, MAX_PALETTE - len(named))
        spec["palette"] = list(dict.fromkeys([*lead, *palette][:room] + named))
        notes.append("palette carries " + ", ".join(colour_name(w) for w in absent))
    if things:
        spec["colours"] = {**(spec.get("colours") or {}), **things}
        notes += [f"the {t} is {colour_name(c)} {c}" for t, c in things.items()]
    return notes
