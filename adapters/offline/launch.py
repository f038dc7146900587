"""The offline model's launch answers: angles, hooks and scripts from craft knowledge.

Nothing here is a number about the world: the angles are video formats that work for any topic,
and a keyword or figure appears only when the person's trend data names it.
"""

from __future__ import annotations

import random
import re
from typing import Any

from adapters.offline.reading import Prompt, bullets

ANGLES: tuple[tuple[str, str, str, str], ...] = (
    (
        "common mistakes",
        "Stop ruining your {topic}: three mistakes almost everyone makes.",
        "Mistakes promise a quick win and a little self-recognition.",
        "3 {Topic} Mistakes",
    ),
    (
        "beginner's guide",
        "Everything I wish I'd known before I started with my {topic}.",
        "A clear first step lowers the fear of starting.",
        "{Topic} for Beginners",
    ),
    (
        "myth versus fact",
        "The advice everyone repeats about your {topic} is wrong, and here is why.",
        "Contradicting a common belief creates curiosity.",
        "The {Topic} Myth",
    ),
    (
        "30-day challenge",
        "I spent 30 days with my {topic}; this is what changed.",
        "A personal stake and a time frame make people stay to the end.",
        "30 Days of {Topic}",
    ),
    (
        "cheap versus expensive",
        "Does spending more on your {topic} actually make a difference?",
        "Comparisons invite the viewer to guess before the reveal.",
        "Cheap vs Pro {Topic}",
    ),
)
"""Angle, hook, why it works, title pattern: formats that carry any topic. A hook reads the
topic or keyword as a noun phrase after "your"/"my", which fits a countable one ("your espresso
grinder"), a mass one ("your home espresso") and a plural one alike; never as a verb."""

_SHORT = re.compile(r"\s+\b(?:for|with|on|in|to|at|when|if|that|and)\b.*$", re.I)
_DETERMINER = re.compile(r"^(?:a|an|the|my|your|our|their|his|her)\s+", re.I)
_HOW_TO = re.compile(r"^(?:how|(?:the\s+)?(?:best\s+)?ways?)\s+to\s+\w+\s+", re.I)
_NOT_A_NOUN = re.compile(
    r"^(?:how|what|why|when|where|which|who|can|could|should|is|are|do|does|best\s+way)\b", re.I
)


def fields(prompt: Prompt) -> dict[str, str]:
    """The `## Launch` section's `key: value` lines."""
    out = {}
    for item in bullets(prompt.section("Launch")):
        key, sep, value = item.partition(":")
        if sep:
            out[key.strip().lower()] = value.strip()
    return out


def short_topic(topic: str) -> str:
    """The topic's head words, for a title ("home espresso for beginners" -> "home espresso")."""
    words = _SHORT.sub("", topic.strip()).split()[:3]
    return " ".join(words) or "this"


def _keywords(prompt: Prompt) -> list[str]:
    """The data's keywords, each once (a keyword given on its own and as a row with figures
    is one keyword), in the order given."""
    rows = bullets(prompt.section("Trend data"))
    once: dict[str, str] = {}
    for row in rows:
        keyword = re.split(r"[:(]", row)[0].strip()
        if keyword:
            once.setdefault(keyword.lower(), keyword)
    return list(once.values())


def noun_phrase(words: str) -> str:
    """`words` as the noun phrase a hook puts after "your"/"my" ("the best espresso grinder" ->
    "best espresso grinder"); '' for a search phrase that is no noun ("how to make latte art")."""
    words = _DETERMINER.sub("", _HOW_TO.sub("", words.strip()))
    return "" if _NOT_A_NOUN.match(words) else words


def topic_noun(topic: str) -> str:
    """The topic's head words as a noun phrase ("how to make latte art at home" -> "latte
    art"), for the hooks and outlines."""
    return noun_phrase(short_topic(noun_phrase(topic) or topic)) or "craft"


def trends(prompt: Prompt, seed: int) -> dict[str, Any]:
    """Three angles: the data's keywords first (as given), then formats from craft."""
    topic = fields(prompt).get("topic") or prompt.brief or "this topic"
    audience = fields(prompt).get("audience", "")
    rng = random.Random(f"{seed}:{topic}")
    chosen = rng.sample(ANGLES, 3)
    keywords = _keywords(prompt)
    angles = []
    for index, (angle, hook, why, _) in enumerate(chosen):
        keyword = keywords[index] if index < len(keywords) else ""
        subject = noun_phrase(keyword) or topic_noun(topic)
        reason = f"{why} For {audience}." if audience else why
        angles.append(
            {
                "angle": angle,
                "hook": hook.format(topic=subject),
                "why": reason,
                "keyword": keyword,
            }
        )
    return {"angles": angles}


def _title(angle: str, topic: str) -> str:
    pattern = next((t for a, _, _, t in ANGLES if a == angle), "{Topic}, Explained")
    title = pattern.format(Topic=short_topic(topic).title())
    return title if len(title) <= 40 else short_topic(topic).title()[:40]


_SHORTER = re.compile(r"\b(shorter|short|tighter|quicker|faster|cut|punchier)\b", re.I)
_TITLES = re.compile(r"\b(titles?|headlines?|names?)\b", re.I)
_AIM = re.compile(
    r"\b(?:aim(?:ed)?|pitch(?:ed)?|target(?:ed)?|gear(?:ed)?)\b(?:\s+(?:them|it|this|these|"
    r"the\s+\w+))?\s+(?:at|to|towards?|for)\s+([^,.;!?]+)",
    re.I,
)


def titles_shorter(feedback: str) -> bool:
    """Whether the note asks for shorter titles ("make the titles shorter")."""
    return any(
        _TITLES.search(part) and _SHORTER.search(part)
        for part in re.split(r"[,.;]|\band\b", feedback)
    )


def aimed_at(feedback: str) -> str:
    """Who the note aims the scripts at ("aim them at beginners on a budget"), else ''."""
    found = _AIM.search(feedback)
    return found.group(1).strip() if found else ""


SHORT_TITLES = {
    "common mistakes": "{Topic} Mistakes",
    "beginner's guide": "{Topic} Basics",
    "myth versus fact": "{Topic} Myths",
    "30-day challenge": "{Topic}: 30 Days",
    "cheap versus expensive": "Cheap {Topic}?",
}
"""A shorter title per angle, for a note that asks for shorter titles."""


def shorter_title(title: str, angle: str, topic: str) -> str:
    """A title clearly shorter (3+ characters, else any shorter): the angle's short pattern
    ("Home Espresso Basics"), else the title on the topic's last word ("30 Days of Espresso"),
    else the short pattern on it ("Sourdough: 30 Days"); the title itself when none is."""
    head = short_topic(topic).split() or ["this"]
    last = head[-1].title()
    short = SHORT_TITLES.get(angle, "{Topic}")
    candidates = [
        short.format(Topic=" ".join(head).title()),
        title.replace(" ".join(head).title(), last),
        short.format(Topic=last),
    ]
    clearly = (c for c in candidates if len(c) <= len(title) - 3)
    return next(clearly, None) or next((c for c in candidates if len(c) < len(title)), title)


def _lengthen(seconds: int, feedback: str) -> int:
    if titles_shorter(feedback) and not re.search(r"\b(video|length|runtime)", feedback, re.I):
        return seconds  # "make the titles shorter" is about the titles, not the video
    if _SHORTER.search(feedback):
        return max(30, int(seconds * 0.6))
    if re.search(r"\b(longer|deeper|more detail|in depth)\b", feedback, re.I):
        return min(1800, int(seconds * 1.5))
    return seconds


def scripts(prompt: Prompt, seed: int) -> dict[str, Any]:
    """One script per angle: a title for the thumbnail, the hook, beats, a call to action."""
    info = fields(prompt)
    topic = info.get("topic") or prompt.brief or "this topic"
    audience = info.get("audience") or "viewers"
    feedback = " ".join(prompt.feedback.values()) or " ".join(bullets(prompt.section("Feedback")))
    audience = aimed_at(feedback) or audience  # "aim them at beginners on a budget"
    rng = random.Random(f"{seed}:{topic}:scripts")
    out = []
    for line in bullets(prompt.section("Angles"))[:4] or ["beginner's guide | | "]:
        angle, hook = ([*(p.strip() for p in line.split("|")), ""])[:2]
        hook = hook or f"Your {topic_noun(topic)}, explained without the jargon."
        quoted = re.search(r"[\"“]([^\"”]{2,40})[\"”]", feedback)
        title = quoted.group(1) if quoted else _title(angle, topic)
        if titles_shorter(feedback) and not quoted:
            title = shorter_title(title, angle, topic)
        beats = [
            f"Cold open: {hook}",
            f"Why it matters to {audience}: the problem in one sentence",
            f"The {angle} itself, shown step by step on your {topic_noun(topic)}",
            "The payoff: the result side by side with where we started",
        ]
        if re.search(r"\b(funn|humou?r|joke|playful)", feedback, re.I):
            beats.insert(2, "A light joke at the mistake everyone makes")
        out.append(
            {
                "title": title[:60],
                "hook": hook,
                "outline": beats[:8],
                "call_to_action": rng.choice(
                    (
                        f"Subscribe for the next {short_topic(topic)} video.",
                        "Tell me in the comments which step surprised you.",
                        "Save this for the next time you need it.",
                    )
                ),
                "length_seconds": _lengthen(rng.choice((360, 480, 600)), feedback),
                "angle": angle,
            }
        )
    while len(out) < 2:
        out.append({**out[0], "title": f"{short_topic(topic).title()}, Explained"})
    return {"scripts": out}
