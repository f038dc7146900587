"""Read a studio prompt: the role from the system message, the `## Section` blocks, the task.

The section names are the contract in `agents/prompts.py`; only those names split the human
message, so a persona quoting a markdown heading cannot break the reading.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

SECTIONS = (
    "Brief",
    "Deliverables",
    "Style guards",
    "Direction from the person",
    "Discussion so far",
    "Current specs",
    "Feedback",
    "Deliverables to specify",
    "Templates the image server can run",
    "The person just said",
    "Spec",
    "Measurements",
    "Findings",
    "Launch",
    "Trend data",
    "Angles",
    "Video",
    "Scenes",
)
SPEC_KEYS = (
    "prompt width height palette lighting brightness contrast mood camera weather subject_x "
    "horizon seed negative_prompt subject subject_y subject_scale style_intensity"
).split()
_SECTION = re.compile(r"^## (" + "|".join(map(re.escape, SECTIONS)) + r")\s*$", re.MULTILINE)
_TASK = re.compile(r"^## Task \(([\w-]+)\)\s*$", re.MULTILINE)
_TURN = re.compile(r"^\[(?P<name>[^\]/]+)(?:/(?P<role>[\w-]+))?\]\s?(?P<text>.*)$")
_DELIVERABLE = re.compile(r"^(?P<id>[^:]+):\s*(?P<title>.*?)\s*\((?P<aspect>[^)]*)\)(?:\s*-\s*)?")
_FINDING = re.compile(
    r"(?<![\w-])(?P<key>[a-z][a-z_ ]*?):\s*(?P<text>[^;()]*?)\s*"
    r"\(measured (?P<measured>-?[\d.]+),\s*target (?P<target>-?[\d.]+)\)"
)
HEX = re.compile(r"#[0-9a-fA-F]{6}\b")


@dataclass(frozen=True)
class Deliverable:
    """One deliverable as the prompt lists it (`hero-a: Hero A (16:9) - purpose`)."""

    id: str
    title: str = ""
    aspect: str = ""
    purpose: str = ""


@dataclass(frozen=True)
class Turn:
    """One line of the discussion: who spoke (persona name), their role id, what they said."""

    name: str
    role: str
    text: str


@dataclass(frozen=True)
class Finding:
    """A machine-readable finding, e.g. `brightness: too dark (measured 0.21, target 0.45)`."""

    key: str
    text: str
    measured: float
    target: float


def bullets(text: str) -> list[str]:
    """The items of a `- item` list; the `- (none)` placeholder means no items."""
    items = [line[2:].strip() for line in text.splitlines() if line.startswith("- ")]
    return [item for item in items if item and item != "(none)"]


def findings(text: str) -> list[Finding]:
    """Every `key: words (measured x, target y)` finding in a text."""
    return [
        Finding(m["key"].strip(), m["text"].strip(), float(m["measured"]), float(m["target"]))
        for m in _FINDING.finditer(text.lower())
    ]


def spec_fields(line: str) -> dict[str, Any]:
    """A `key=value; key=value` spec line (as prompts render specs) back into typed values."""
    pattern = r";\s*(?=(?:" + "|".join(SPEC_KEYS) + r")=)"
    fields: dict[str, Any] = {}
    for part in re.split(pattern, line.strip()):
        key, sep, value = part.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or key not in SPEC_KEYS:
            continue
        if key == "palette":
            fields[key] = [h.lower() for h in HEX.findall(value)]
        elif re.fullmatch(r"-?\d+", value):
            fields[key] = int(value)
        elif re.fullmatch(r"-?\d*\.\d+(e-?\d+)?", value):
            fields[key] = float(value)
        else:
            fields[key] = value
    return fields


@dataclass(frozen=True)
class Prompt:
    """What one call asks: the speaking role, the task kind and text, and the sections."""

    role: str
    task: str
    task_text: str = ""
    sections: dict[str, str] = field(default_factory=dict)

    def section(self, name: str) -> str:
        """A section's text, or "" when the prompt has none."""
        return self.sections.get(name, "").strip()

    @property
    def brief(self) -> str:
        return self.section("Brief")

    @property
    def direction(self) -> list[str]:
        return bullets(self.section("Direction from the person"))

    @property
    def said(self) -> str:
        return self.section("The person just said")

    @property
    def style_guards(self) -> list[str]:
        return bullets(self.section("Style guards"))

    @property
    def round_no(self) -> int:
        match = re.search(r"round (\d+)", self.task_text, re.IGNORECASE)
        return int(match.group(1)) if match else 1

    @cached_property
    def discussion(self) -> list[Turn]:
        """Discussion lines; text that does not open with `[Name]` continues the last turn."""
        turns: list[Turn] = []
        for line in self.section("Discussion so far").splitlines():
            match = _TURN.match(line)
            if match:
                name = match["name"].strip()
                role = match["role"] or ("person" if name.lower() == "person" else name.lower())
                turns.append(Turn(name, role, match["text"].strip()))
            elif turns and line.strip() and line.strip() != "(nothing yet)":
                last = turns.pop()
                turns.append(Turn(last.name, last.role, f"{last.text}\n{line.strip()}"))
        return turns

    @cached_property
    def deliverables(self) -> list[Deliverable]:
        out = []
        for item in bullets(self.section("Deliverables")):
            match = _DELIVERABLE.match(item)
            if match:
                purpose = item[match.end() :].strip()
                out.append(
                    Deliverable(match["id"].strip(), match["title"], match["aspect"], purpose)
                )
            else:
                out.append(Deliverable(item.split(":")[0].strip()))
        return out

    @property
    def targets(self) -> list[str]:
        """Deliverable ids to specify (falls back to every listed deliverable)."""
        listed = [t.strip() for t in self.section("Deliverables to specify").split(",")]
        return [t for t in listed if t] or [d.id for d in self.deliverables]

    @property
    def templates(self) -> list[str]:
        """Templates the image server can run, preferred first (txt2img when not said)."""
        listed = [t.strip() for t in self.section("Templates the image server can run").split(",")]
        return [t for t in listed if t] or ["txt2img"]

    @cached_property
    def current_specs(self) -> dict[str, dict[str, Any]]:
        specs: dict[str, dict[str, Any]] = {}
        for line in self.section("Current specs").splitlines():
            key, sep, rest = line.removeprefix("- ").partition(": ")
            if sep and key.strip():
                specs[key.strip()] = spec_fields(rest)
        return specs

    @cached_property
    def feedback(self) -> dict[str, str]:
        """Feedback per deliverable id (`*` means every deliverable)."""
        out: dict[str, str] = {}
        for item in bullets(self.section("Feedback")):
            key, sep, text = item.partition(": ")
            if sep:
                out[key.strip()] = f"{out.get(key.strip(), '')} {text}".strip()
            else:
                out["*"] = f"{out.get('*', '')} {item}".strip()
        return out

    @property
    def measurements(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for item in bullets(self.section("Measurements")):
            key, _, value = item.partition(":")
            try:
                out[key.strip()] = float(value)
            except ValueError:
                continue
        return out

    @property
    def findings(self) -> list[str]:
        return bullets(self.section("Findings"))

    def spoken_by(self, role: str) -> list[str]:
        """What `role` said in the discussion so far, oldest first."""
        return [t.text for t in self.discussion if t.role == role]


def _text(message: BaseMessage) -> str:
    content = message.content
    if isinstance(content, str):
        return content
    return "\n".join(p if isinstance(p, str) else str(p.get("text", "")) for p in content)


def read(messages: Sequence[BaseMessage]) -> Prompt:
    """Turn a call's messages into a `Prompt`; a plain chat becomes an `unknown` task."""
    system = "\n".join(_text(m) for m in messages if isinstance(m, SystemMessage))
    humans = [_text(m) for m in messages if isinstance(m, HumanMessage)]
    role_match = re.search(r"^Role:\s*([\w-]+)", system, re.MULTILINE)
    role = role_match.group(1) if role_match else _persona_role(system)
    body = next((h for h in reversed(humans) if _TASK.search(h) or _SECTION.search(h)), "")
    if not body:
        said = humans[-1] if humans else ""
        return Prompt(role, "unknown", "", {"The person just said": said} if said else {})
    task = _TASK.search(body)
    sections_text = body[: task.start()] if task else body
    task_text = body[task.end() :].strip() if task else ""
    parts = _SECTION.split(sections_text)
    sections = {parts[i]: parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}
    if humans and humans[-1] is not body:  # a retry note after the prompt (invalid JSON)
        task_text = f"{task_text}\n{humans[-1]}".strip()
    return Prompt(role, task.group(1) if task else "unknown", task_text, sections)


def _persona_role(system: str) -> str:
    names = {
        "luna": "style",
        "frame": "composition",
        "saga": "story",
        "pixel": "director",
        "lens": "critic",
        "planner": "planner",
    }
    match = re.search(r"you are (?:the )?(\w+)", system.lower())
    return names.get(match.group(1), "assistant") if match else "assistant"
