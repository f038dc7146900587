"""The offline model's launch words read aloud: a keyword is a noun phrase in every hook and
outline ("I spent 30 days with my espresso grinder", never "I did espresso grinder every day"),
and each angle cites its own row of the person's data."""

from __future__ import annotations

import re
from typing import Any

import pytest

from adapters.offline import launch
from adapters.offline.reading import read
from agents.launch import prompts

GRINDER = {
    "topic": "home espresso",
    "niche": "home coffee",
    "audience": "beginners on a budget",
    "keywords": ["espresso grinder"],  # --keyword, and also a row of the CSV
    "figures": [
        {"keyword": "espresso grinder", "searches": 12000, "views": 340000},
        {"keyword": "home espresso machine", "searches": 8000, "views": 120000},
        {"keyword": "latte art at home", "searches": 5000},
    ],
}


def angles(info: dict[str, Any], seed: int) -> list[dict[str, Any]]:
    return list(launch.trends(read(prompts.trends(info, [])), seed)["angles"])


@pytest.mark.parametrize("keyword", ["espresso grinder", "home espresso", "sourdough bread"])
def test_every_hook_takes_the_keyword_as_a_noun_phrase(keyword: str) -> None:
    for _, hook, _, _ in launch.ANGLES:
        said = hook.format(topic=keyword)
        assert re.search(rf"\b(?:your|my) {keyword}\b", said), said
    said = " ".join(h.format(topic="espresso grinder") for _, h, _, _ in launch.ANGLES)
    assert "did espresso grinder" not in said and "about espresso grinder" not in said


def test_the_angles_hooks_name_the_keyword_grammatically_for_every_seed() -> None:
    seen = set()
    for seed in range(12):
        for angle in angles(GRINDER, seed):
            if angle["keyword"]:
                said = rf"\b(?:your|my) {angle['keyword']}\b"
                assert re.search(said, angle["hook"]), angle["hook"]
            seen.add(angle["hook"].split(angle["keyword"] or "home espresso")[0])
    assert len(seen) == len(launch.ANGLES)  # every template was read


def test_each_angle_cites_a_different_row_of_the_data() -> None:
    for seed in range(6):
        cited = [a["keyword"] for a in angles(GRINDER, seed)]
        assert cited == ["espresso grinder", "home espresso machine", "latte art at home"]
    listed = prompts.trends(GRINDER, [])[1].content
    assert isinstance(listed, str)
    assert listed.count("espresso grinder") == 1  # once, with its figures
    assert "espresso grinder: searches=12000, views=340000" in listed


def test_a_search_phrase_or_a_determiner_becomes_a_noun_phrase() -> None:
    assert launch.noun_phrase("how to make latte art") == "latte art"
    assert launch.noun_phrase("the best espresso grinder") == "best espresso grinder"
    assert launch.noun_phrase("what grinder should I buy") == ""
    assert launch.topic_noun("how to make latte art at home") == "latte art"
    info = {"topic": "home espresso", "keywords": ["how to make latte art"]}
    hooks = " ".join(a["hook"] for a in angles(info, 3))
    assert "how to" not in hooks and "latte art" in hooks


def test_the_outline_names_the_topic_as_a_noun_phrase() -> None:
    angle_lines = prompts.scripts({**GRINDER, "trends": {"angles": angles(GRINDER, 7)}}, [], [])
    scripts = launch.scripts(read(angle_lines), 7)["scripts"]
    for script in scripts:
        outline = " ".join(script["outline"])
        assert "step by step on your home espresso" in outline, outline
        assert script["hook"].startswith(("Stop", "Everything", "The advice", "I spent", "Does"))
