"""Read the deliverables a brief names ("two hero banners and one thumbnail", "one 9:16 story",
"thumbnail x3") and tell them apart from formats that are only part of the scene ("neon posters
on the walls"). A small scanner over words, counts, ratios and separators: a format counts when a
number or article, a ratio, `x N` or a list introduces it."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, replace

from adapters.deliverables.formats import (
    ASPECTS,
    FORMATS,
    MAX_DELIVERABLES,
    Format,
    Requested,
    lettered,
    nearest_aspect,
    slug,
)


@dataclass(frozen=True)
class Request:
    """What a brief asks for: the deliverables (at most `MAX_DELIVERABLES`; empty when it names
    none) and how many images it asked for in all (more than listed when over the cap)."""

    deliverables: list[Requested]
    asked: int


NUMBERS = {
    w: n
    for n, w in enumerate(
        (
            "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
            "fifteen sixteen seventeen eighteen nineteen twenty"
        ).split()
    )
    if n
}
STOP = set(
    "a an and or with of on in for the to at from plus but by as is are that which each per then "
    "also this these those my our your their its".split()
)
"""Words that end a run of modifiers before a format ("neon posters ON the walls")."""
VETO = set(
    "with on in of under beside near behind above over like showing holding from into onto at "
    "through wearing carrying against".split()
)
"""Before `a`/`an`, these make the noun part of the scene ("a street with a poster")."""
VERBS = set(
    "i we me us please would like love to want need get make create design draw generate render "
    "paint give do can could you also just".split()
)
LINKS = {",", ";", "&", "+", "and", "plus", "or"}
SETS = {"set", "pack", "series", "collection", "batch"}
_CLOSES = {"of", "for", "with", "showing", "featuring"}
ORIENT = {
    "square": "1:1",
    "vertical": "portrait",
    "portrait": "portrait",
    "tall": "portrait",
    "landscape": "landscape",
    "horizontal": "landscape",
    "wide": "landscape",
}
_TOKEN = re.compile(
    r"(?P<aspect>\b\d{1,2} ?: ?\d{1,2}\b)"
    r"|(?P<times>(?<![\w:])[x×] ?\d{1,2}\b|\b\d{1,2} ?[x×](?=\s|$|[,.;]))"
    r"|(?P<word>[a-z0-9][a-z0-9'’-]*)|(?P<sep>[,;.!?:\n&+])"
)


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str


@dataclass
class _Item:
    fmt: Format
    count: int
    aspect: str | None


def _tokens(text: str) -> list[_Tok]:
    found = _TOKEN.finditer(text.lower())
    return [_Tok(str(m.lastgroup), m.group().replace(" ", "")) for m in found]


def _format_at(toks: list[_Tok], i: int) -> tuple[Format, int] | None:
    """The longest format phrase (up to four words: "posts for social media") that starts at
    token i."""
    for n in (4, 3, 2, 1):
        words = toks[i : i + n]
        if len(words) == n and all(t.kind == "word" for t in words):
            phrase = " ".join(t.text for t in words)
            for fmt in FORMATS:
                if fmt.pattern.fullmatch(phrase):
                    return fmt, n
    return None


def _count_at(toks: list[_Tok], j: int) -> tuple[int, bool, int] | None:
    """The count that ends at token j: (value, True for a number and False for an article,
    the token it starts at)."""
    if j < 0 or toks[j].kind not in ("word", "times"):
        return None
    word, before = toks[j].text, toks[j - 1].text if j > 0 else ""
    if toks[j].kind == "times":
        return int(re.sub(r"\D", "", word)), True, j
    if word.isdigit() and 0 < int(word) < 100:
        return int(word), True, j
    if word in NUMBERS:
        return NUMBERS[word], True, j
    if word == "dozen":
        half = before == "a" and j > 1 and toks[j - 2].text == "half"
        return (6, True, j - 2) if half else (12, True, j - (before == "a"))
    if word == "of" and before in ("pair", "couple", "trio"):
        return (3 if before == "trio" else 2), True, j - 1 - (j > 1 and toks[j - 2].text == "a")
    if word == "single":
        return 1, True, j - (before == "a")
    if word == "another" or (word in ("a", "an") and before not in VETO):
        return 1, False, j
    return None


@dataclass(frozen=True)
class _Left:
    """What stands left of a format: its count, how it is introduced (`number`, `article`,
    `start` of a sentence, after a `label:`, or `none`), whether it continues a list of
    deliverables, an aspect ratio, the orientation word after the count ("a square poster")
    and the modifiers ("a detail shot")."""

    count: int | None
    how: str
    listed: bool
    aspect: str | None
    orient: str
    mods: tuple[str, ...]
    opens: bool = False
    """The count opens its clause ("4 stickers of …", "I need 5 icons", "a set of 5 icons"),
    as a request does, not in the middle of a scene ("covered in 5 stickers")."""


def _before(toks: list[_Tok], i: int, floor: int) -> _Left:
    """Left of a format at token i, never past `floor` (the end of the last deliverable)."""
    j, aspect, mods = i - 1, None, list[str]()
    while j > floor and len(mods) < 3:
        tok = toks[j]
        if tok.kind == "aspect":
            aspect = aspect or tok.text
        elif tok.kind != "word" or tok.text in STOP or _count_at(toks, j):
            break
        else:
            mods.append(tok.text)
        j -= 1
    counted = _count_at(toks, j) if j > floor else None
    first = counted[2] - 1 if counted else j
    listed = floor >= 0 and all(t.text in LINKS for t in toks[floor + 1 : first + 1])
    words = tuple(reversed(mods))
    if counted is not None:
        how, orient = (
            ("number" if counted[1] else "article"),
            ORIENT.get(mods[-1], "") if mods else "",
        )
        q = counted[2] - 1
        while q >= 0 and toks[q].kind == "word" and toks[q].text in VERBS:
            q -= 1
        set_of = q >= 1 and toks[q].text == "of" and toks[q - 1].text in SETS
        opens = q < 0 or toks[q].kind == "sep" or set_of
        return _Left(counted[0], how, listed, aspect, orient, words, opens)
    p = j
    while p > floor and toks[p].kind == "word" and toks[p].text in VERBS:
        p -= 1
    how = "none"
    if p < 0 or (toks[p].kind == "sep" and toks[p].text in ".!?\n:"):
        how = "label" if p >= 0 and toks[p].text == ":" else "start"
    return _Left(None, how, listed, aspect, "", words)


def _after(toks: list[_Tok], k: int) -> tuple[int, str | None, int | None, str]:
    """Right of a format ending before token k: the new end, aspect, `x N` and orientation
    ("poster 4:5", "poster (4:5)", "poster in 4:5", "thumbnail x3", "poster in landscape")."""
    aspect, times, orient = None, None, ""
    while k < len(toks):
        tok, nxt = toks[k], toks[k + 1] if k + 1 < len(toks) else _Tok("", "")
        if tok.kind == "aspect" and aspect is None:
            aspect = tok.text
        elif tok.kind == "times" and times is None:
            times = int(re.sub(r"\D", "", tok.text))
        elif tok.text in ("in", "at") and (nxt.kind == "aspect" or nxt.text in ORIENT):
            orient = ORIENT.get(nxt.text, "")
            aspect, k = (nxt.text if nxt.kind == "aspect" else aspect), k + 1
        elif not (tok.text == "format" and (aspect or orient)):
            break
        k += 1
    return k, aspect, times, orient


def _shape(aspect: str | None, default: str, orient: str) -> str:
    """The aspect ratio: the one written (nearest known), else the format's, turned by the
    orientation word when it disagrees."""
    if aspect:
        w, h = (int(x) for x in aspect.split(":"))
        return aspect if aspect in ASPECTS else nearest_aspect(w, h)
    w, h = (int(x) for x in default.split(":"))
    if orient == "1:1":
        return "1:1"
    if (orient == "portrait" and w > h) or (orient == "landscape" and w < h):
        return nearest_aspect(h, w)
    return default


def _lists_on(toks: list[_Tok], k: int) -> bool:
    """Whether a list of deliverables goes on after token k ("story, a poster and …")."""
    if k >= len(toks) or toks[k].text not in LINKS:
        return False
    ahead = toks[k + 1 : k + 4]
    return any(t.kind == "word" and _format_at(toks, k + 1 + n) for n, t in enumerate(ahead))


def _closes(toks: list[_Tok], k: int) -> bool:
    """Whether the phrase ending before token k ends its clause or goes on to its subject."""
    return k >= len(toks) or toks[k].kind in ("sep", "times") or toks[k].text in _CLOSES


def _explicit(
    fmt: Format, left: _Left, variations: bool, lists_on: bool, closes: bool = False
) -> bool:
    """Whether a format without an aspect or `x N` is asked for, not just mentioned."""
    listed = left.listed or lists_on
    if fmt.generic:  # "3 images", "a hero shot, a detail shot"
        return left.how == "number" or (listed and left.how != "none")
    if fmt.weak:  # "hero, poster and thumbnail", "two hero variations"; not "a lone hero"
        # "4 stickers of a cat", not "two religious icons on a chapel wall"
        requested = fmt.counted and left.opens and closes
        counted = left.how == "number" and (variations or requested)
        return listed or left.how == "label" or counted
    return left.how != "none" or listed


def deliverables_in(text: str) -> Request:
    """The deliverables a brief names, in order: counts (words, digits, "x3", "a pair of"),
    formats (`FORMATS`, singular or plural) and the aspect ratios written next to them ("one
    9:16 story", "poster (4:5)"). Empty when it names none; a format only mentioned as part of
    the scene ("neon posters on the walls", "a lone hero") is not a deliverable."""
    toks, items, each, floor, i = _tokens(text), list[_Item](), 0, -1, 0
    while i < len(toks):
        hit = _format_at(toks, i)
        if hit is None:
            i += 1
            continue
        fmt, k = hit[0], i + hit[1]
        left, variations = _before(toks, i, floor), False
        if fmt.generic:  # "three variations of the poster", "3 images for instagram stories"
            m = k + 1 + (k + 1 < len(toks) and toks[k + 1].text in STOP)
            of = k < len(toks) and toks[k].text in ("of", "for")
            target = _format_at(toks, m) if of else None
            if target and not target[0].generic:
                fmt, k = target[0], m + target[1]
        elif (after := _format_at(toks, k)) and after[0].generic:
            variations, k = True, k + after[1]  # "three thumbnail variations"
        k, aspect, times, turned = _after(toks, k)
        aspect, orient = aspect or left.aspect, turned or left.orient
        if (
            aspect is None
            and times is None
            and not _explicit(fmt, left, variations, _lists_on(toks, k), _closes(toks, k))
        ):
            i = k
            continue
        floor, i, count = k - 1, k, left.count
        if fmt.id == "variation" and not aspect and times is None and left.how == "number":
            each = max(each, count or 1)  # multiplies the formats named, else N variations
            continue
        if fmt.generic and left.mods:  # "a detail shot": named by its words
            name = " ".join((*left.mods, toks[i - 1].text))
            fmt = replace(fmt, id=slug(name), title=name[:1].upper() + name[1:], purpose=name)
        shape = _shape(aspect, fmt.aspect, orient) if aspect or orient else None
        same = [it for it in items if it.fmt.id == fmt.id]
        if same and count is None and times is None:  # "a poster … the poster in 4:5"
            for it in (it for it in same if it.aspect is None):
                it.aspect = shape
            if shape is None or any(it.aspect == shape for it in same):
                continue
        items.append(_Item(fmt, times if times is not None else count or 1, shape))
    if each and items:
        for it in items:
            it.count = each if it.count == 1 else it.count * each
    elif each:
        items.append(_Item(FORMATS[-2], each, None))
    units = [
        Requested(it.fmt.id, it.fmt.title, it.aspect or it.fmt.aspect, it.fmt.purpose)
        for it in items
        for _ in range(min(it.count, MAX_DELIVERABLES))
    ]
    return Request(lettered(units[:MAX_DELIVERABLES]), sum(it.count for it in items))


# -- the words that name deliverables, taken out of what is to be drawn -------------------
_FORMAT = (
    r"(?:hero(?:es)?|banners?|thumbnails?|posters?|wallpapers?|"
    r"cover\s+(?:photo|image|art)s?|covers?|stor(?:y|ies)|posts?|"
    r"variations?|versions?|variants?|options?|images?|headers?|icons?|avatars?|takes?|"
    r"profile\s+(?:pic(?:ture)?|photo|image)s?|pfps?)"
)
_COUNT = r"(?:one|two|three|four|five|six|seven|eight|a|an|single|\d+)"
_NUMBER = r"(?:two|three|four|five|six|seven|eight|nine|ten|\d+)"
_COUNTED = r"(?:stickers|pins|icons|logos)"
"""Everyday nouns that name deliverables only after a number ("4 stickers", not "a sticker
on its nose"), as `Format.counted` says."""
_PLATFORM = (  # where a deliverable goes ("two posts for instagram"): not something to draw
    r"(?:\s+(?:for|on)\s+(?:the\s+)?(?:instagram|insta|ig|facebook|linkedin|tiktok|snapchat|"
    r"twitter|youtube|pinterest|social(?:\s+media)?|feed|web(?:site)?|blog)"
    r"|\s+for\s+(?:my|our)\s+(?:web(?:site)?|site|blog|channel|shop|store|page))?"
)
_DELIVERABLE_TALK = re.compile(
    rf"\bdeliverables?\s*:.*$|"
    rf"\b{_COUNT}\s+(?:[\w-]+\s+){{0,2}}?{_FORMAT}(?:\s+{_FORMAT})*{_PLATFORM}\b|"
    rf"\b{_NUMBER}\s+(?:[\w-]+\s+){{0,1}}?(?:pinterest\s+)?{_COUNTED}{_PLATFORM}\b|"
    rf"(?:\bpinterest\s+)?\b{_COUNTED}\s*[x×]\s?\d{{1,2}}\b|"
    rf"(?:\b{_FORMAT}\s+)*(?:\b[\w-]+\s+)?\b\d{{1,2}}:\d{{1,2}}\b(?:\s+{_FORMAT}\b)*|"
    # a clause that is only a format ("…, hero banner"), or opens one ("hero banner of a fox")
    rf"(?:^|(?<=[,.;:]))\s*(?:{_FORMAT}\s+)*{_FORMAT}{_PLATFORM}\s*"
    rf"(?=[,.;:]|$|\s+(?:of|for|showing)\b)",
    re.I | re.M,
)
_LINK = re.compile(r"^(?:\s*(?:and|of|for|with|showing|featuring|in|at|,|:|-)\b)+\s*", re.I)
NOISE = frozenset({"and", "or", "of", "for", "with", "the", "a", "an", "plus", "in"})


_RATIO_OR_LIST = re.compile(r"\d{1,2}\s?:\s?\d{1,2}|\bdeliverables?\s*:", re.I)


def _base(ident: str) -> str:
    """A deliverable's format id without its variant letter ("hero-b" -> "hero")."""
    return re.sub(r"-[a-h]$", "", ident)


def without_deliverables(text: str) -> str:
    """A clause without the words that name what to deliver ("a poster of a lighthouse" ->
    "a lighthouse"; "two hero banners and a thumbnail" -> ""): the planner takes those; they
    are not something to draw in every image. A brief that asks for no deliverable keeps the
    format words inside its scene ("a cat holding a poster", "a lone hero facing a dragon");
    only a clause that is nothing but one goes ("a fox in snow, thumbnail")."""
    budget = Counter(_base(d.id) for d in deliverables_in(text).deliverables)

    def cut(m: re.Match[str]) -> str:
        said = m.group()
        before, after = text[: m.start()].rstrip(), text[m.end() :].lstrip()
        alone = (not before or before[-1] in ",.;:\n") and (not after or after[0] in ",.;:\n")
        if alone or not said.strip() or _RATIO_OR_LIST.search(said):
            return "\x00"
        # a phrase the parser counted, each once: "a poster of a cat holding a poster" keeps
        # the second poster, "a poster of a lone hero" its hero
        named = {_base(d.id) for d in deliverables_in(said).deliverables}
        if not named or any(budget[n] <= 0 for n in named):
            return said
        budget.subtract(named)
        return "\x00"

    rest = _DELIVERABLE_TALK.sub(cut, text)
    # the words that tied a removed name to the rest go with it ("… and one thumbnail of a")
    rest = re.sub(
        r"(?:\b(?:and|or|plus)\s+)?(?:\ba\s+(?:set|pack|series|collection)\s+of\s+)?"
        r"\x00(?:\s+(?:of|for|with|showing|featuring)\b)?",
        " ",
        rest,
    )
    rest = re.sub(r"\s*,(?:\s*,)+", ",", " ".join(rest.split()))
    rest = re.sub(r"\s+(?:and|or|plus|for|as|in|on|with)\s*(?=[,.;]|$)", "", rest)
    rest = _LINK.sub("", rest).strip(" ,:;-")
    words = [w for w in re.findall(r"[\w'-]+", rest.lower()) if w not in NOISE]
    return rest if words else ""
