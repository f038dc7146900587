"""Directions reach the video's work: a note telling Saga what to say becomes the line (never the
instruction itself in the voice-over), through the real prompt and the offline model."""

from __future__ import annotations

from typing import Any

from adapters.offline import video as offline
from adapters.offline.reading import read
from agents.video import prompts

VIDEO = {"type": "product_ad", "seconds": 12, "scenes": 2, "subject": "Aurora", "name": "Aurora"}
SCENES = [
    {"id": "s1", "title": "The hook", "seconds": 6, "beat": "Aurora in the kitchen"},
    {"id": "s2", "title": "Call to action", "seconds": 6, "beat": "Aurora on screen"},
]


def lines(feedback: dict[str, str]) -> dict[str, str]:
    state: dict[str, Any] = {"brief": "a 12-second product ad for Aurora", "messages": []}
    answer = offline.script(read(prompts.script(state, VIDEO, SCENES, feedback)))
    return {line["scene"]: line["text"] for line in answer["lines"]}


def test_a_say_that_note_rewrites_the_line_instead_of_being_spoken() -> None:
    said = "say that it is a quiet electric kettle that boils water in near silence"
    got = lines({"*": said})
    assert got["s2"] == "Aurora: a quiet electric kettle that boils water in near silence."
    assert "say" not in got["s2"].lower()
    assert got["s1"] == "Meet Aurora."
    scoped = lines({"s1": "make it say it boils in ninety seconds"})
    assert scoped["s1"] == "Aurora boils in ninety seconds."
    assert lines({"s2": "Mention that it is cordless."})["s2"] == "Aurora: cordless."
