"""The offline model's video answers: Saga's scenes and script, Frame's shots, Luna's look.

Deterministic from the prompt: the video type, subject and name in `## Video`, the scene list in
`## Scenes`, the person's feedback in `## Feedback` (scoped `s2: ...` or for all).
"""

from __future__ import annotations

import re
from typing import Any

from adapters.media.speech import WORDS_PER_SECOND
from adapters.offline.reading import Prompt, bullets
from adapters.offline.scene import scene_of

BEATS: dict[str, tuple[tuple[str, str], ...]] = {
    "product_ad": (
        ("The hook", "{subject} catches the eye in its everyday setting"),
        ("The problem", "the small daily frustration that {subject} removes"),
        ("In action", "{subject} doing what it does best, up close"),
        ("The payoff", "the moment of relief and delight it brings"),
        ("Call to action", "{name} on screen with where to get it"),
    ),
    "moa": (
        ("The condition", "what goes wrong in the body, shown simply"),
        ("Where it acts", "the target where {subject} does its work"),
        ("How it works", "the mechanism step by step"),
        ("The result", "what changes for the patient"),
        ("Safety", "important safety information and next steps"),
    ),
    "doctor_ad": (
        ("The doctor", "a doctor introduces the concern patients raise"),
        ("What patients notice", "the everyday signs of the problem"),
        ("How it helps", "how {subject} helps, in plain words"),
        ("Ask your doctor", "an invitation to talk to a doctor about {name}"),
    ),
    "social_media": (
        ("Hook", "a scroll-stopping first look at {subject}"),
        ("Reveal", "the one surprising thing about {subject}"),
        ("Follow", "{name} with a prompt to follow for more"),
    ),
    "compliance_video": (
        ("Why it matters", "why the rule on {subject} protects everyone"),
        ("What to do", "the right way, step by step"),
        ("What not to do", "the common mistake and its cost"),
        ("Where to get help", "who to ask and where the policy lives"),
    ),
}
LINES: dict[str, tuple[str, ...]] = {
    "product_ad": (
        "Meet {name}.",
        "No more waiting, no more fuss.",
        "{Subject}, made to simply work.",
        "Feel the difference every day.",
        "{name}. Get yours today.",
    ),
    "moa": (
        "When the body's balance slips, symptoms follow.",
        "{Subject} acts right where the problem starts.",
        "Step by step, it restores the normal signal.",
        "So patients can feel like themselves again.",
        "Ask your doctor if it is right for you.",
    ),
    "doctor_ad": (
        "As a doctor, I hear this every week.",
        "Patients notice it first in small ways.",
        "{Subject} helps, gently and reliably.",
        "Ask your doctor about {name}.",
    ),
    "social_media": (
        "Wait for it.",
        "This is {name}, and it changes everything.",
        "Follow for more.",
    ),
    "compliance_video": (
        "These rules protect our customers and each of us.",
        "Do it the right way, every time.",
        "Cutting corners puts everyone at risk.",
        "Questions? Ask your manager or read the policy.",
    ),
}
SHOTS = (
    "wide establishing shot, slow push in",
    "medium shot, pan across the scene",
    "close-up on the detail, parallax as the camera glides",
    "medium close-up, gentle pull out",
    "locked-off hero shot, hold on the name",
)


def video_fields(prompt: Prompt) -> dict[str, str]:
    fields = {}
    for line in prompt.section("Video").splitlines():
        key, sep, value = line.removeprefix("- ").partition(":")
        if sep:
            fields[key.strip().lower()] = value.strip()
    return fields


def scene_list(prompt: Prompt) -> list[tuple[str, str, str]]:
    """`(id, title, beat)` per scene in `## Scenes`."""
    out = []
    for item in bullets(prompt.section("Scenes")):
        ident, _, rest = item.partition(":")
        title, _, beat = rest.partition(" - ")
        out.append((ident.strip(), re.sub(r"\s*\([\d.]+ s\)\s*$", "", title).strip(), beat))
    return out


def _feedback(prompt: Prompt) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in bullets(prompt.section("Feedback")):
        key, sep, text = item.partition(": ")
        scope, words = (key.strip(), text) if sep and " " not in key.strip() else ("*", item)
        out[scope] = f"{out.get(scope, '')} {words}".strip()
    return out


def _fill(text: str, fields: dict[str, str]) -> str:
    subject = fields.get("subject") or "the product"
    short = re.split(r",| - ", subject)[0].strip()
    name = fields.get("name") or short
    return text.format(subject=short, Subject=short[:1].upper() + short[1:], name=name)


ASKED = re.compile(
    r"^(?:please\s+)?(?:(?:can|could|would)\s+you\s+)?(?:"
    r"(?:make|have|let)\s+(?:it|the\s+(?:line|voice[\s-]?over|narrat(?:ion|or)))\s+(?:say|mention)"
    r"|(?:the\s+)?(?:line|voice[\s-]?over|narrat(?:ion|or))\s+should\s+(?:say|mention)"
    r"|tell\s+(?:them|people|viewers|the\s+viewers?)|point\s+out"
    r"|say|mention|add|state|explain|stress|emphasi[sz]e|include)\b[\s:,]*(?:that\b\s*)?",
    re.IGNORECASE,
)
"""An instruction to the writer ("say that …", "mention …", "make it say …"): what follows it is
what the line should say, never words for the voice to speak."""


def spoken(note: str, fields: dict[str, str]) -> str | None:
    """The line a note asks for, when it tells the writer what to say ("say that it is a quiet
    kettle" -> "Aurora: a quiet kettle."): the instruction dropped, "it" made the product's name.
    None when the note is no such instruction."""
    said = ASKED.match(note.strip())
    if not said or not (content := note.strip()[said.end() :].strip(" \"'.")):
        return None
    name = _fill("{name}", fields)
    name = name[:1].upper() + name[1:]
    if found := re.match(r"(?:it\s+is|it's|it\s+was)\s+", content, re.IGNORECASE):
        content = f"{name}: {content[found.end() :]}"
    elif found := re.match(r"it\s+", content, re.IGNORECASE):
        content = f"{name} {content[found.end() :]}"
    return f"{content[:1].upper()}{content[1:]}."


def _count(fields: dict[str, str], kind: str) -> int:
    try:
        return max(1, min(12, int(fields.get("scenes", "0"))))
    except ValueError:
        return len(BEATS[kind])


def scenes(prompt: Prompt) -> dict[str, Any]:
    """Saga's scene list for the video type, as many as asked, timed to the target."""
    fields = video_fields(prompt)
    kind = fields.get("type", "product_ad") if fields.get("type") in BEATS else "product_ad"
    beats = BEATS[kind]
    count = _count(fields, kind)
    picked = [beats[0], *beats[1:-1][: max(0, count - 2)], beats[-1]][:count]
    while len(picked) < count:
        picked.insert(-1, beats[len(picked) % len(beats)])
    seconds = float(fields.get("seconds", "20") or 20)
    each = round(seconds / count * 2) / 2
    feedback = _feedback(prompt).get("*", "")
    out = []
    for index, (title, beat) in enumerate(picked):
        text = _fill(beat, fields)
        if feedback and index == len(picked) // 2:
            text = f"{text}; {feedback}"
        out.append({"title": title, "beat": text[:1].upper() + text[1:], "seconds": each})
    return {"scenes": out}


def shots(prompt: Prompt) -> dict[str, Any]:
    """Frame's shot per scene: an establishing move first, the name held last."""
    listed = scene_list(prompt)
    feedback = _feedback(prompt)
    out = []
    for index, (ident, _, _) in enumerate(listed):
        shot = SHOTS[-1] if index == len(listed) - 1 and index else SHOTS[index % (len(SHOTS) - 1)]
        if extra := feedback.get(ident) or feedback.get("*"):
            shot = f"{shot}, {extra}"
        out.append({"scene": ident, "shot": shot})
    return {"shots": out}


def look(prompt: Prompt) -> dict[str, Any]:
    """Luna's look: one palette, light and mood for every scene (no drift between them)."""
    scene = scene_of(prompt)
    return {
        "palette": scene.palette[:4],
        "lighting": scene.lighting,
        "mood": scene.mood,
        "notes": f"{scene.light_notes()}; {scene.mood_notes()}",
    }


def script(prompt: Prompt) -> dict[str, Any]:
    """Saga's voice-over: one line per scene, in the type's voice; feedback reaches the line of
    the scene it names (or the middle scene's): a note saying what to say ("say that …") becomes
    the line, anything else is added to it."""
    fields = video_fields(prompt)
    kind = fields.get("type", "product_ad") if fields.get("type") in LINES else "product_ad"
    pool = LINES[kind]
    listed = scene_list(prompt)
    feedback = _feedback(prompt)
    lines = []
    for index, (ident, _, _) in enumerate(listed):
        text = pool[-1] if index == len(listed) - 1 and index else pool[index % (len(pool) - 1)]
        text = _fill(text, fields)
        text = text[:1].upper() + text[1:]  # "{name}. Get yours today." with no name given
        note = feedback.get(ident) or (feedback.get("*") if index == len(listed) // 2 else "")
        if note and (line := spoken(note, fields)):
            text = line  # the line rewritten to say what was asked, not the request itself
        elif note:
            text = f"{text} {note.strip().rstrip('.').capitalize()}."
        lines.append({"scene": ident, "text": text, "asked": bool(note)})
    _name_the_product(kind, lines, fields, _slot_seconds(prompt))
    _fill_the_slots(lines, _filler(kind, fields, lines), _scene_seconds(prompt))
    return {"lines": [{"scene": line["scene"], "text": line["text"]} for line in lines]}


MAX_SILENCE_S = 2.0
"""A line may leave at most this much of its scene silent (Lens flags gaps from 2.5 s)."""
MAX_PACE = 3.0
"""A filled line stays below this many words a second (Lens flags lines faster than 3.2)."""


def _scene_seconds(prompt: Prompt) -> dict[str, float]:
    """Each scene's seconds, from `## Scenes` ("s1: The hook (6.0 s) - ...")."""
    found = re.finditer(r"^-\s*(\S+?):.*?\(([\d.]+) s\)", prompt.section("Scenes"), re.M)
    return {match.group(1): float(match.group(2)) for match in found}


def _filler(kind: str, fields: dict[str, str], lines: list[dict[str, Any]]) -> list[str]:
    """The type's lines the script does not say yet, in order (the opening and the closing
    line excepted): what a too-short line is filled with."""

    def opening(text: str) -> str:  # "This is Aurora" twice reads as a stutter
        return " ".join(re.findall(r"[a-z']+", text.lower())[:3])

    said = {opening(line["text"]) for line in lines}
    pool = [_fill(text, fields) for text in LINES[kind][1:-1]]
    return [text[:1].upper() + text[1:] for text in pool if opening(text) not in said]


def _fill_the_slots(
    lines: list[dict[str, Any]], filler: list[str], seconds: dict[str, float]
) -> None:
    """A line that would leave most of its scene silent ("Meet Aurora." in 6 s) gets the type's
    unused lines added (before a closing call to action, after anything else) while they fit
    at a comfortable pace. A line the person's note asked for is kept as they asked."""
    order = [len(lines) - 1, *range(len(lines) - 1)]  # the closing line's silence is heard last
    for index in order if lines else []:
        line = lines[index]
        slot = seconds.get(line["scene"], 0.0) - 0.5
        if line["asked"] or slot <= 0:
            continue
        closing = index == len(lines) - 1 and index > 0
        while filler and slot - len(line["text"].split()) / WORDS_PER_SECOND > MAX_SILENCE_S:
            at = -1 if closing else 0  # the type's line nearest the call to action, before it
            more = filler[at]
            if (len(line["text"].split()) + len(more.split())) / slot > MAX_PACE:
                break
            filler.pop(at)
            line["text"] = f"{more} {line['text']}" if closing else f"{line['text']} {more}"


INTRODUCES = {"product_ad": "Meet", "social_media": "This is"}
"""The video types whose script must say the product's name and what it is."""


def _slot_seconds(prompt: Prompt) -> float:
    """The first scene's seconds, from `## Scenes` ("s1: The hook (5.0 s) - ..."); 0 if none."""
    found = re.search(r"\(([\d.]+) s\)", prompt.section("Scenes"))
    return float(found.group(1)) if found else 0.0


def _name_the_product(
    kind: str, lines: list[dict[str, Any]], fields: dict[str, str], seconds: float
) -> None:
    """A product's script names it and says what it is ("Meet Aurora, a quiet electric
    kettle."), in the first line, where a line that leaves either out would stand; what it is
    is said only where the line still fits its scene at a comfortable pace."""
    subject = fields.get("subject") or ""
    short = re.split(r",| - ", subject)[0].strip()
    name = fields.get("name") or short
    if (
        kind not in INTRODUCES
        or not lines
        or not name
        or lines[0]["text"] != _opening(kind, fields)
    ):
        return
    what = subject[len(short) :].strip(" ,-") if name == short else ""
    said = " ".join(line["text"] for line in lines).lower()
    if kind == "social_media" and name.lower() in said:
        return  # "This is Aurora, and it changes everything." already
    if what and what.lower() not in said:
        full = f"{INTRODUCES[kind]} {name}, {what}."
        if len(full.split()) <= 3.0 * max(0.0, seconds - 0.5):  # not faster than Lens allows
            lines[0]["text"] = full
            return
    if name.lower() not in said:
        lines[0]["text"] = f"{INTRODUCES[kind]} {name}."


def _opening(kind: str, fields: dict[str, str]) -> str:
    text = _fill(LINES[kind][0], fields)
    return text[:1].upper() + text[1:]
