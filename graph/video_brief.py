"""What a video brief asks for: the video type, the target duration and what it is about."""

from __future__ import annotations

import re
from dataclasses import dataclass

from graph.video_settings import DEFAULT_MAX_VIDEO_SECONDS, VIDEO_TYPES

DEFAULT_SECONDS = {
    "product_ad": 20.0,
    "moa": 45.0,
    "doctor_ad": 30.0,
    "social_media": 15.0,
    "compliance_video": 30.0,
}
_TYPES = (
    ("moa", r"\bmoa\b|mechanism[- ]of[- ]action|how (?:the|this|it) (?:drug|medicine) works"),
    (
        "doctor_ad",
        r"\bdoctor(?:'s)?[- ](?:ad|spot|video|led)|\b(?:doctor|physician|gp) (?:talks|"
        r"explains|presents|introduces)",
    ),
    (
        "compliance_video",
        r"\bcompliance\b|\bregulatory\b|\bpolicy (?:video|training)\b|"
        r"\btraining video\b",
    ),
    (
        "social_media",
        r"\bsocial(?: media)?\b|\btiktok\b|\binstagram\b|\breels?\b|\bshorts?\b|"
        r"\bstory\b",
    ),
    ("product_ad", r"\bproduct\b|\bad\b|\badvert|\bcommercial\b|\bspot\b|\bpromo\b"),
)
_SECONDS = re.compile(
    r"(?:(?<![\w-])(?P<sign>[-\u2212])|(?<![\w.]))(?P<n>\d+(?:\.\d+)?)\s*-?\s*"
    r"(?P<unit>hours?|hrs?|h|minutes?|mins?|seconds?|secs?|s)\b(?![-\w]*\s*(?:later|ago))"
    r"|\b(?:an|one)\s+(?P<hour>hour)\b(?!\s*(?:later|ago))",
    re.I,
)
"""A duration as the brief says it: "20-second", "30 s", "1.5 minutes", "3 hour", "-5-second"
(the sign kept, so a negative one is refused rather than read as 5), "an hour"."""
MIN_SECONDS, MAX_SECONDS = 2.0, 180.0
"""The target durations a video can have (as `settings.video.seconds`)."""
_VIDEO_WORDS = re.compile(
    r"\b(?:video|clip|reel|commercial|explainer|animation|spot|tiktok|short film|tv ad|"
    r"moa|mechanism of action)\b",
    re.I,
)
_NOT_VIDEO = re.compile(r"\bvideo[- ]game\b|\bthumbnails?\b|\bposter\b", re.I)
_ABOUT = re.compile(
    r"\b(?:for|about|of|on|showing|featuring|introducing|explaining)\s+(?P<rest>.+)$", re.I
)
_NAME = re.compile(
    r"[\"“](?P<quoted>[^\"”]{1,40})[\"”]"
    r"|\b(?:called|named|brand|product name)\s+(?P<named>[A-Z][\w-]*)"
    r"|\bfor\s+(?P<first>[A-Z][\w-]+)\b"
)


@dataclass(frozen=True)
class VideoBrief:
    """The video the brief describes."""

    type: str
    seconds: float
    subject: str
    """What the video is about ("Aurora, a quiet electric kettle")."""
    name: str
    """A product or brand name to show and say, when the brief names one."""


def is_video_brief(text: str) -> bool:
    """True for a brief that asks for a video ("a 20-second product ad for ...")."""
    if _NOT_VIDEO.search(text) and not _SECONDS.search(text):
        return False
    return bool(_VIDEO_WORDS.search(text) or (_SECONDS.search(text) and _kind(text)))


def _kind(text: str) -> str | None:
    for kind, pattern in _TYPES:
        if re.search(pattern, text, re.I):
            return kind
    return None


def seconds_in(text: str) -> float | None:
    """The duration a brief names ("20-second", "30 s", "1 minute"), if any."""
    match = _SECONDS.search(text)
    if not match:
        return None
    if match.group("hour"):
        return 3600.0
    unit = match.group("unit").lower()
    value = float(match.group("n")) * (
        3600 if unit.startswith("h") else 60 if unit[0] == "m" else 1
    )
    return -value if match.group("sign") else value


def duration_problem(text: str, budget: float = DEFAULT_MAX_VIDEO_SECONDS) -> str | None:
    """Why the duration a video brief asks for cannot be made (None: it names none, or it
    fits): not above zero, outside 2-180 seconds, or over the seconds-of-video budget."""
    match, asked = _SECONDS.search(text), seconds_in(text)
    if match is None or asked is None:
        return None
    length = f'"{match.group(0).strip()}" ({asked:g} s)'
    if asked <= 0:
        return f"a video of {length} cannot be made; a video runs 2 to 180 seconds"
    if asked > budget:
        return (
            f"a video of {length} is over the seconds-of-video budget ({budget:g} s); "
            "ask for a shorter one (2 to 180 seconds)"
        )
    if not MIN_SECONDS <= asked <= MAX_SECONDS:
        return f"a video of {length} cannot be made; a video runs 2 to 180 seconds"
    return None


def read_brief(text: str, *, kind: str | None = None, seconds: float | None = None) -> VideoBrief:
    """The video type, duration and subject of a brief; settings (`kind`, `seconds`) win."""
    chosen = kind if kind in VIDEO_TYPES else (_kind(text) or "product_ad")
    length = seconds or seconds_in(text) or DEFAULT_SECONDS[chosen]
    first = re.split(r"[.;\n]", text.strip(), maxsplit=1)[0]
    about = _ABOUT.search(first)
    subject = (about.group("rest") if about else first).strip(" ,.") or "the product"
    subject = re.sub(r"^(?:a|an|the)\s+", "", subject, flags=re.I) if not about else subject
    named = _NAME.search(text)
    name = ""
    if named:
        name = named.group("quoted") or named.group("named") or named.group("first") or ""
    return VideoBrief(
        chosen, float(min(MAX_SECONDS, max(MIN_SECONDS, length))), subject[:160], name.strip()
    )
