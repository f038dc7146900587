"""What the team's prompts contain: each persona's voice and job, and the full context."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from adapters.errors import ModelNotFound
from adapters.offline.reading import SECTIONS, read
from agents import prompts
from agents.calls import gap_note
from graph.directions import said

BRIEF = "a lighthouse in a storm at dusk"
PINNED = "no people in the frame"
PINNED_LINE = "avoid people in the frame"
"""How a prompt lists the pinned direction: a negative, in the words it keeps out."""


def state(**extra: Any) -> Any:
    """A session after planning and one exchange, with one pinned direction."""
    return {
        "messages": [
            HumanMessage(BRIEF),
            AIMessage("Storm-grey #3a4250 with one warm beam #ffc46b.", name="style"),
            AIMessage(
                "Low camera, lighthouse on the right third, horizon at 0.4.", name="composition"
            ),
            HumanMessage(PINNED),
        ],
        "brief": BRIEF,
        "directions": said(PINNED, source="interjection"),
        "plan": {
            "deliverables": [
                {"id": "hero-a", "title": "Hero A", "purpose": "the wide view", "aspect": "16:9"},
                {"id": "thumb", "title": "Thumb", "purpose": "reads small", "aspect": "1:1"},
            ],
            "style_guards": ["one warm light source", "storm palette"],
            "scope": "two images",
        },
        "specs": {"hero-a": {"prompt": "lighthouse", "width": 768, "height": 432, "seed": 5}},
        **extra,
    }


def system(messages: list[Any]) -> str:
    assert isinstance(messages[0], SystemMessage)
    return str(messages[0].content)


def human(messages: list[Any]) -> str:
    assert isinstance(messages[-1], HumanMessage) and isinstance(messages[-1].content, str)
    return messages[-1].content


@pytest.mark.parametrize(
    ("role", "voice"),
    [
        ("style", r"Luna.*vivid.*palette.*light"),
        ("composition", r"Frame.*spatial and precise.*focal length"),
        ("story", r"Saga.*ask why"),
        ("director", r"Pixel.*practical.*parameters"),
        ("critic", r"Lens.*constructive but thorough.*reasons"),
        ("planner", r"Planner.*deliverables.*style guards"),
    ],
)
def test_each_persona_has_its_voice_job_and_role_id(role: str, voice: str) -> None:
    header = prompts.role_header(role)
    assert re.search(voice, header, re.DOTALL | re.IGNORECASE)
    assert f"\nRole: {role}\n" in header
    assert "pinned" in header and "overrides the brief" in header


@pytest.mark.parametrize("kind", ["ideate", "refine", "answer"])
def test_discussion_prompts_carry_the_full_context(kind: str) -> None:
    s = state()
    messages = {
        "ideate": lambda: prompts.ideate("story", s),
        "refine": lambda: prompts.refine("story", s, 2),
        "answer": lambda: prompts.answer("story", s, PINNED),
    }[kind]()
    body = human(messages)
    assert "You are Saga" in system(messages)
    assert f"## Brief\n{BRIEF}" in body
    assert "- hero-a: Hero A (16:9) - the wide view" in body
    assert "## Style guards\n- one warm light source\n- storm palette" in body
    assert f"## Direction from the person\n- {PINNED_LINE}" in body
    assert "[Luna/style] Storm-grey #3a4250" in body
    assert "[Frame/composition] Low camera" in body and f"[Person] {PINNED}" in body
    assert re.search(rf"## Task \({kind}\)\n\S", body)
    assert body.rstrip().endswith(".")


def test_sections_are_ones_the_offline_model_reads() -> None:
    s = state()
    every = [
        prompts.plan(s),
        prompts.ideate("style", s),
        prompts.refine("composition", s, 2),
        prompts.answer("story", s, PINNED),
        prompts.specs(s, {"*": "brighter"}, ["hero-a"]),
        prompts.review_plan(s),
        prompts.critique(s, s["specs"]["hero-a"], {"brightness": 0.4}, ["too dark"]),
    ]
    for messages in every:
        titles = re.findall(r"^## (.+)$", human(messages), re.MULTILINE)
        assert titles[-1].startswith("Task (")
        assert set(titles[:-1]) <= set(SECTIONS), titles
        prompt = read(messages)
        assert prompt.brief == BRIEF and prompt.task != "unknown"


def test_the_discussion_is_windowed_to_the_recent_messages() -> None:
    many = [AIMessage(f"idea number {i}", name="style") for i in range(40)]
    body = human(prompts.ideate("story", state(messages=many)))
    assert "idea number 39" in body
    assert "idea number 0\n" not in body and "idea number 27" not in body
    assert body.count("[Luna/style]") == prompts.DISCUSSION_WINDOW


def test_a_gap_note_is_shown_to_the_person_but_not_fed_to_the_team() -> None:
    note = gap_note("style", ModelNotFound("model `x` is not installed; run `ollama pull x`"))
    s = state()
    s["messages"] = [*s["messages"], note]
    assert note.name == "style" and "Luna cannot take part" in str(note.content)
    assert "ollama pull" not in human(prompts.refine("composition", s, 2))


def test_structured_prompts_ask_for_json_and_give_their_inputs() -> None:
    s = state()
    plan = human(prompts.plan(s))
    assert "deliverables" in plan and "JSON matching the schema" in plan
    assert f"## Direction from the person\n- {PINNED_LINE}" in plan
    specs = human(prompts.specs(s, {"hero-a": "warmer"}, ["hero-a", "thumb"]))
    assert "## Current specs\n- hero-a: prompt=lighthouse; width=768; height=432" in specs
    assert "## Feedback\n- hero-a: warmer" in specs
    assert "## Deliverables to specify\nhero-a, thumb" in specs
    assert "multiples of 8" in specs and "JSON matching the schema" in specs
    review = human(prompts.review_plan(s))
    assert "## Current specs" in review and "Approve, or list concrete reasons" in review


def test_the_critique_prompt_gives_measurements_findings_and_the_spec() -> None:
    s = state()
    messages = prompts.critique(
        s, s["specs"]["hero-a"], {"brightness": 0.41234}, ["brightness: too dark"]
    )
    body = human(messages)
    assert "You are Lens" in system(messages)
    assert "## Spec\nprompt=lighthouse; width=768" in body
    assert "## Measurements\n- brightness: 0.412" in body
    assert "## Findings\n- brightness: too dark" in body
    assert "Score this output from 0 to 10" in body


def test_with_image_attaches_the_png_inline_to_the_last_human_message() -> None:
    s = state()
    messages = prompts.critique(s, s["specs"]["hero-a"], {"brightness": 0.4}, [])
    png = b"\x89PNG\r\n\x1a\n fake"
    seen = prompts.with_image(messages, png)
    assert seen[0] is messages[0] and len(seen) == len(messages)
    content = seen[-1].content
    assert isinstance(content, list) and len(content) == 2
    text, image = content
    assert isinstance(text, dict) and isinstance(image, dict)
    assert text["text"].startswith(human(messages)) and "attached" in text["text"]
    assert image == {
        "type": "image_url",
        "image_url": "data:image/png;base64," + base64.b64encode(png).decode(),
    }
    assert read(seen).task == "critique"  # the offline model still reads it


def test_prompts_are_versioned() -> None:
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}\.\d+", prompts.PROMPTS_VERSION)
