"""What a video brief asks for: the video type, the target duration and what it is about."""

from __future__ import annotations

import re
from dataclasses import dataclass

from graph.video_settings import VIDEO_TYPES

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
    r"\b(\d{1,3}(?:\.\d+)?)\s*-?\s*(seconds?|secs?|s|minutes?|mins?)\b(?![-\w]*\s*(?:later|ago))",
    re.I,
)
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
    value = float(match.group(1))
    return value * 60 if match.group(2).lower().startswith("m") else value


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
    return VideoBrief(chosen, float(min(180.0, max(2.0, length))), subject[:160], name.strip())
