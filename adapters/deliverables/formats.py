"""What a deliverable can be: the known aspect ratios, the formats a person names (with their
default ratio and purpose), the built-in defaults, and how repeated names become variants."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace

ASPECTS = ("16:9", "9:16", "4:5", "5:4", "3:2", "2:3", "4:3", "3:4", "1:1", "21:9")
MAX_DELIVERABLES = 8
"""Images per session (one each per iteration); a request over it is cut and the plan says so."""
LETTERS = "abcdefgh"
ANGLES = ("eye-level", "alternate angle", "closer", "wider", "low", "high", "detail", "atmospheric")


@dataclass(frozen=True)
class Requested:
    """One deliverable the person asked for."""

    id: str
    title: str
    aspect: str
    purpose: str = ""


@dataclass(frozen=True)
class Format:
    id: str
    title: str
    aspect: str
    purpose: str
    pattern: re.Pattern[str]
    weak: bool = False
    """Also an everyday word ("hero", "story"): counts only with an aspect, `x N` or in a list."""
    generic: bool = False
    """A plain noun ("images", "variations"): counts only with a number; may take a format
    ("three variations of the poster")."""
    counted: bool = False
    """A weak format a number makes a deliverable where it is asked for ("5 icons for my
    app", "4 stickers of a cat"), as a list does; not inside a scene ("covered in 5 stickers")."""


def _f(ident: str, title: str, aspect: str, purpose: str, pattern: str, **kw: bool) -> Format:
    return Format(ident, title, aspect, purpose, re.compile(pattern), **kw)


FORMATS = (
    _f(
        "hero",
        "Hero",
        "16:9",
        "wide establishing view of the scene",
        r"hero(?:es)?[ -](?:banner|image|shot|visual|picture|header|section|graphic|art)s?",
    ),
    _f("hero", "Hero", "16:9", "wide establishing view of the scene", r"hero(?:es)?", weak=True),
    _f(
        "thumbnail",
        "Thumbnail",
        "16:9",
        "video thumbnail that reads at a glance",
        r"(?:youtube|video) thumbnails?",
    ),
    _f(
        "thumbnail",
        "Thumbnail",
        "1:1",
        "small preview that reads at a glance",
        r"thumbnails?(?: images?)?",
    ),
    _f(
        "banner",
        "Banner",
        "21:9",
        "wide strip with room for a title",
        r"(?:(?:web|website|site|twitter|linkedin|email) )?(?:banner|header)s?"
        r"(?: (?:image|graphic)s?)?"
        r"|(?:facebook|fb|linkedin|twitter|youtube|channel) (?:cover|header)s?"
        r"(?: (?:photo|image)s?)?"
        r"|cover (?:photo|image)s?",
    ),
    _f("billboard", "Billboard", "21:9", "very wide roadside read", r"billboards?"),
    _f("poster", "Poster", "2:3", "print poster with a strong vertical read", r"posters?"),
    _f("flyer", "Flyer", "2:3", "printed flyer with room for the details", r"(?:flyer|flier)s?"),
    _f("postcard", "Postcard", "3:2", "landscape card that reads at arm's length", r"postcards?"),
    _f(
        "book-cover",
        "Book cover",
        "2:3",
        "cover with room for the title",
        r"book (?:cover|jacket)s?",
    ),
    _f(
        "album-cover",
        "Album cover",
        "1:1",
        "square cover that reads small",
        r"(?:album|record|ep|podcast) (?:covers?|art(?:work)?s?)|cover art(?:work)?s?",
    ),
    _f(
        "story",
        "Story",
        "9:16",
        "full-screen vertical story",
        r"(?:instagram|insta|ig|facebook|snapchat) stor(?:y|ies)"
        r"|stor(?:y|ies) (?:for|on) (?:instagram|insta|ig|facebook|snapchat)",
    ),
    _f("story", "Story", "9:16", "full-screen vertical story", r"stor(?:y|ies)", weak=True),
    _f(
        "reel",
        "Reel",
        "9:16",
        "full-screen vertical cover frame",
        r"(?:(?:instagram|insta|ig|facebook) )?reels?|tiktoks?",
    ),
    _f(
        "phone-wallpaper",
        "Phone wallpaper",
        "9:16",
        "full-screen phone format",
        r"(?:phone|mobile|iphone|android) (?:wallpaper|background)s?|lock ?screens?",
    ),
    _f(
        "wallpaper",
        "Wallpaper",
        "16:9",
        "desktop wallpaper",
        r"(?:desktop )?wallpapers?|desktop backgrounds?",
    ),
    _f(
        "post",
        "Social post",
        "4:5",
        "feed post that stops the scroll",
        r"(?:instagram|insta|ig|social(?: media)?|feed|facebook|linkedin) posts?"
        r"|posts? (?:for|on) (?:instagram|insta|ig|social(?: media)?|the feed|facebook|linkedin)",
    ),
    _f(
        "avatar",
        "Avatar",
        "1:1",
        "square format that reads small",
        r"avatars?|pfps?|profile (?:pic(?:ture)?|photo|image)s?",
    ),
    _f(
        "icon",
        "Icon",
        "1:1",
        "square mark that reads tiny",
        r"(?:app )?icons?",
        weak=True,
        counted=True,
    ),
    _f("logo", "Logo", "1:1", "square mark that reads tiny", r"logos?"),
    _f(
        "sticker",
        "Sticker",
        "1:1",
        "die-cut sticker that reads small",
        r"stickers?",
        weak=True,
        counted=True,
    ),
    _f("pin", "Pin", "2:3", "tall pin that reads in a grid", r"pinterest pins?"),
    _f("pin", "Pin", "2:3", "tall pin that reads in a grid", r"pins?", weak=True, counted=True),
    _f(
        "variation",
        "Variation",
        "16:9",
        "one take on the brief",
        r"(?:variation|version|option|variant|take|alternative|alternate|concept)s?",
        generic=True,
    ),
    _f(
        "image",
        "Image",
        "16:9",
        "one image of the brief",
        r"(?:image|picture|shot|illustration|render|visual|artwork|photo)s?",
        generic=True,
    ),
)
DEFAULTS = (
    Requested("hero-a", "Hero A", "16:9", "wide establishing view of the scene"),
    Requested("hero-b", "Hero B", "4:5", "closer alternate angle on the subject"),
    Requested("thumbnail", "Thumbnail", "1:1", "small preview that reads at a glance"),
)
"""What a brief that names no deliverables gets from the built-in planner."""


def slug(text: str, limit: int = 24) -> str:
    """A short id: lowercase letters, digits and hyphens ("" when nothing is left)."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:limit].strip("-")


def nearest_aspect(width: float, height: float) -> str:
    """The known aspect ratio closest to width:height."""

    def distance(aspect: str) -> float:
        w, h = aspect.split(":")
        return abs(math.log(int(w) / int(h)) - math.log(max(width, 1) / max(height, 1)))

    return min(ASPECTS, key=distance)


def lettered(units: list[Requested]) -> list[Requested]:
    """Repeated ids become variants (`hero-a`, `hero-b` …, each its own angle); ids unique."""
    totals: dict[str, int] = {}
    for unit in units:
        totals[unit.id] = totals.get(unit.id, 0) + 1
    seen: dict[str, int] = {}
    out: list[Requested] = []
    taken: set[str] = set()
    for unit in units:
        if totals[unit.id] > 1:
            n = seen.get(unit.id, 0)
            seen[unit.id] = n + 1
            letter, angle = LETTERS[n] if n < len(LETTERS) else str(n + 1), ANGLES[n % 8]
            purpose = f"{unit.purpose}; {angle} take" if unit.purpose else f"{angle} take"
            unit = Requested(
                f"{unit.id}-{letter}", f"{unit.title} {letter.upper()}", unit.aspect, purpose
            )
        ident, m = unit.id, 2
        while ident in taken:
            ident, m = f"{unit.id}-{m}", m + 1
        taken.add(ident)
        out.append(replace(unit, id=ident))
    return out
