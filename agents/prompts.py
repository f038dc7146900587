"""Every prompt the team uses, in one place (version `PROMPTS_VERSION`; bump it on any change).

A prompt is a system message (who speaks, their voice and job) and one human message made of
`## Section` blocks ending in `## Task (<kind>)`. The built-in offline model reads the same
sections an Ollama model does, so both see identical context.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from graph import directions
from graph.state import PERSONAS, StudioState

PROMPTS_VERSION = "2026-11-22.4"
DISCUSSION_WINDOW = 12
"""How many recent discussion messages a persona sees in full."""

VOICES: dict[str, str] = {
    "planner": (
        "You are the Planner. You expand a brief into concrete deliverables (ids like hero-a, "
        "hero-b, thumbnail), a one-line scope and style guards that keep the set coherent."
    ),
    "style": (
        "You are Luna, the style specialist. You speak vividly about mood, palette, lighting and "
        "texture, and you name concrete colours (with hex codes) and light sources."
    ),
    "composition": (
        "You are Frame, the composition expert. You are spatial and precise: camera height and "
        "angle, focal length, framing, subject placement in thirds, horizon line, depth layers."
    ),
    "story": (
        "You are Saga, the story guide. You ask why: who is in the scene, what just happened, "
        "what the viewer should feel, and which detail carries the story."
    ),
    "director": (
        "You are Pixel, the technical director. You are practical: you turn the team's consensus "
        "into generation parameters that a renderer or ComfyUI can run safely."
    ),
    "critic": (
        "You are Lens, the quality critic. You are constructive but thorough: you check the plan "
        "and the outputs against the brief and give reasons and concrete fixes."
    ),
}


HOUSE_RULES = (
    "Keep to your own expertise; answer in plain prose. The direction from the person is "
    "pinned: it overrides the brief and anything the team said before it."
)
"""What every persona is told after its voice."""


def role_header(role: str) -> str:
    """First lines of every system prompt: the persona, its role id and the house rules."""
    return f"{VOICES[role]}\nRole: {role}\n{HOUSE_RULES}"


def direction_lines(state: StudioState) -> list[str]:
    """The person's pinned directions for the whole set, as words (oldest first)."""
    return [
        ("avoid " if d["negative"] else "") + d["text"]
        for d in directions.for_state(state)
        if d["scope"] == "*"
    ]


def _bullets(items: Sequence[str]) -> str:
    return "\n".join(f"- {item}" for item in items) if items else "- (none)"


GAP = "studio_gap"
"""`additional_kwargs` key of a note standing in for a persona who could not speak."""


def discussion_lines(state: StudioState, window: int = DISCUSSION_WINDOW) -> list[str]:
    """The recent discussion as `[Name/role] text` lines (the person is `[Person]`)."""
    lines = []
    for message in state.get("messages", [])[-window:]:
        text = message.content if isinstance(message.content, str) else str(message.content)
        if isinstance(message, HumanMessage):
            lines.append(f"[Person] {text}")
        elif isinstance(message, AIMessage) and message.name in PERSONAS:
            if message.additional_kwargs.get(GAP):
                continue  # a note that a persona could not speak is for the person, not the team
            lines.append(f"[{PERSONAS[message.name]}/{message.name}] {text}")
    return lines


def context_sections(state: StudioState) -> dict[str, str]:
    """The sections every persona sees: brief, deliverables, guards, direction, discussion."""
    plan = state.get("plan")
    sections = {"Brief": state.get("brief", "")}
    if plan:
        sections["Deliverables"] = _bullets(
            [
                f"{d['id']}: {d['title']} ({d['aspect']}) - {d['purpose']}"
                for d in plan["deliverables"]
            ]
        )
        sections["Style guards"] = _bullets(plan["style_guards"])
    sections["Direction from the person"] = _bullets(direction_lines(state))
    sections["Discussion so far"] = "\n".join(discussion_lines(state)) or "(nothing yet)"
    return sections


def render(role: str, sections: Mapping[str, str], task_kind: str, task: str) -> list[BaseMessage]:
    """Assemble the system + human messages for one call."""
    body = "\n\n".join(f"## {title}\n{text}" for title, text in sections.items() if text)
    body += f"\n\n## Task ({task_kind})\n{task}"
    return [SystemMessage(role_header(role)), HumanMessage(body)]


def plan(state: StudioState) -> list[BaseMessage]:
    """Planner: deliverables, scope and style guards for the brief."""
    return render(
        "planner",
        {
            "Brief": state.get("brief", ""),
            "Direction from the person": _bullets(direction_lines(state)),
        },
        "plan",
        "List the deliverables (exactly those the person named, with their counts and aspect "
        "ratios; otherwise two to four; ids are short slugs), a one-line scope and three to "
        "five style guards. Answer with JSON matching the schema.",
    )


def ideate(role: str, state: StudioState) -> list[BaseMessage]:
    """Ideation round: a first proposal from one specialist."""
    return render(
        role,
        context_sections(state),
        "ideate",
        "Ideation round 1. Give your first proposal for this brief in three to five "
        "sentences, from your own expertise. Apply every direction from the person.",
    )


def refine(role: str, state: StudioState, round_no: int) -> list[BaseMessage]:
    """Refinement round: answer the others, agree or push back, sharpen the proposal."""
    return render(
        role,
        context_sections(state),
        "refine",
        f"Refinement round {round_no}. Answer the others by name: say what you adopt "
        "from them, what you would change and why, then state your refined proposal in "
        "two to four sentences. Do not repeat yourself; add only what is new.",
    )


def answer(role: str, state: StudioState, message: str) -> list[BaseMessage]:
    """An interjection: the person said something; answer it and say what changes."""
    sections = context_sections(state)
    sections["The person just said"] = message
    return render(
        role,
        sections,
        "answer",
        "Answer the person directly in two or three sentences: say how you apply their "
        "direction from now on, from your own expertise.",
    )


def specs(
    state: StudioState,
    feedback: Mapping[str, str],
    targets: Sequence[str],
    templates: Sequence[str] = ("txt2img",),
) -> list[BaseMessage]:
    """Technical director: one generation spec per target deliverable."""
    sections = context_sections(state)
    sections["Current specs"] = "\n".join(
        f"- {k}: {_spec_line(v)}" for k, v in sorted(state.get("specs", {}).items())
    )
    sections["Feedback"] = _bullets([f"{k}: {v}" for k, v in sorted(feedback.items())])
    sections["Deliverables to specify"] = ", ".join(targets)
    sections["Templates the image server can run"] = ", ".join(templates)
    return render(
        "director",
        sections,
        "specs",
        "Turn the consensus into one spec per deliverable listed above: template (one the "
        "image server can run, listed above), prompt, "
        "negative_prompt, width/height (multiples of 8), steps, cfg, sampler, seed, "
        "palette (hex), lighting, brightness and contrast (0-1), mood, subject, "
        "subject_x/subject_y/subject_scale/horizon (0-1), camera (low|eye|high|overhead), "
        "weather (clear|rain|fog|snow), style_intensity (0-1), quality. Apply all "
        "feedback. Answer with JSON matching the schema.",
    )


def review_plan(state: StudioState) -> list[BaseMessage]:
    """Lens reviews the specs against the brief before generation."""
    sections = context_sections(state)
    sections["Current specs"] = "\n".join(
        f"- {k}: {_spec_line(v)}" for k, v in sorted(state.get("specs", {}).items())
    )
    return render(
        "critic",
        sections,
        "review_plan",
        "Review the specs against the brief, the deliverables and the style guards. "
        "Approve, or list concrete reasons to revise. Answer with JSON matching the "
        "schema.",
    )


def critique(
    state: StudioState,
    spec: Mapping[str, Any],
    measurements: Mapping[str, float],
    findings: Sequence[str],
    *,
    by_eye: Sequence[str] = (),
) -> list[BaseMessage]:
    """Lens critiques one output, given what was measured from its pixels; `by_eye` lists
    what the brief asks that the measurements cannot see, for a vision model to check."""
    look = (
        " The measurements cannot see these, so check each in the attached image and say in "
        "your reasons whether it is there: " + "; ".join(by_eye) + "."
        if by_eye
        else ""
    )
    sections = {
        "Brief": state.get("brief", ""),
        "Direction from the person": _bullets(direction_lines(state)),
        "Spec": _spec_line(spec),
        "Measurements": "\n".join(f"- {k}: {v:.3f}" for k, v in sorted(measurements.items())),
        "Findings": _bullets(findings),
    }
    return render(
        "critic",
        sections,
        "critique",
        "Score this output from 0 to 10 against the brief, using the measurements and "
        "findings, with reasons and concrete suggestions." + look + " Answer with JSON "
        "matching the schema.",
    )


def with_image(messages: Sequence[BaseMessage], png: bytes) -> list[BaseMessage]:
    """The same call with the output attached to its last human message, for a vision model.

    Ollama takes only inline base64 (a URL would be sent as if it were base64), as a data URL.
    """
    *head, last = messages
    text = last.content if isinstance(last.content, str) else str(last.content)
    text += "\n\nThe output itself is attached: judge what you see against the brief."
    data = base64.b64encode(png).decode("ascii")
    content: list[str | dict[str, Any]] = [
        {"type": "text", "text": text},
        {"type": "image_url", "image_url": f"data:image/png;base64,{data}"},
    ]
    return [*head, HumanMessage(content=content)]


def _spec_line(spec: Mapping[str, Any]) -> str:
    keys = (
        "prompt",
        "width",
        "height",
        "palette",
        "lighting",
        "brightness",
        "contrast",
        "mood",
        "camera",
        "weather",
        "subject_x",
        "horizon",
        "seed",
    )
    return "; ".join(f"{k}={spec[k]}" for k in keys if k in spec)
