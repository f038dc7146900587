"""Deliverables come from the brief and the form, exactly: one parser (`adapters.deliverables`)
for briefs and for `settings.deliverables`, honoured by the built-in planner, held against an
LLM planner (one corrective retry, then the named list), and reachable from the CLI and the UI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from adapters.deliverables import (
    DEFAULTS,
    MAX_DELIVERABLES,
    deliverables_in,
    parse_deliverables,
    required_in,
    required_line,
)
from adapters.llm import ollama_models
from graph.state import ROLES, THREAD_SETTINGS
from tests.ollama_server import LoopbackOllama
from tests.studio_helpers import make_context, run, start

Pairs = list[tuple[str, str]]

BRIEFS: list[tuple[str, Pairs]] = [
    # the issue's own examples
    (
        "two hero banners and one thumbnail",
        [("hero-a", "16:9"), ("hero-b", "16:9"), ("thumbnail", "1:1")],
    ),
    (
        "three thumbnail variations",
        [("thumbnail-a", "1:1"), ("thumbnail-b", "1:1"), ("thumbnail-c", "1:1")],
    ),
    (
        "hero 16:9, poster 4:5, thumbnail 1:1",
        [("hero", "16:9"), ("poster", "4:5"), ("thumbnail", "1:1")],
    ),
    (
        "Lighthouse at dusk\nDeliverables: hero 16:9, poster 4:5, thumbnail 1:1",
        [("hero", "16:9"), ("poster", "4:5"), ("thumbnail", "1:1")],
    ),
    # numbers as words or digits, articles, plural formats, x N
    (
        "a poster and 2 thumbnails",
        [("poster", "2:3"), ("thumbnail-a", "1:1"), ("thumbnail-b", "1:1")],
    ),
    ("3 Instagram posts for a bakery", [("post-a", "4:5"), ("post-b", "4:5"), ("post-c", "4:5")]),
    ("one 9:16 story of a coffee shop", [("story", "9:16")]),
    ("a hero image of a lighthouse at dawn", [("hero", "16:9")]),
    ("a jazz festival poster", [("poster", "2:3")]),
    ("Posters for a summer festival", [("poster", "2:3")]),
    (
        "thumbnail x3, a sunset over the bay",
        [("thumbnail-a", "1:1"), ("thumbnail-b", "1:1"), ("thumbnail-c", "1:1")],
    ),
    ("2x poster for a gig", [("poster-a", "2:3"), ("poster-b", "2:3")]),
    ("make 4 wallpapers of a misty forest", [(f"wallpaper-{c}", "16:9") for c in "abcd"]),
    ("a pair of posters and a logo", [("poster-a", "2:3"), ("poster-b", "2:3"), ("logo", "1:1")]),
    (
        "I need a logo and two instagram posts",
        [("logo", "1:1"), ("post-a", "4:5"), ("post-b", "4:5")],
    ),
    (
        "Create 2 hero images (16:9) and 3 square thumbnails",
        [
            ("hero-a", "16:9"),
            ("hero-b", "16:9"),
            ("thumbnail-a", "1:1"),
            ("thumbnail-b", "1:1"),
            ("thumbnail-c", "1:1"),
        ],
    ),
    (
        "1 hero 16:9 + 2 thumbnails 1:1",
        [("hero", "16:9"), ("thumbnail-a", "1:1"), ("thumbnail-b", "1:1")],
    ),
    (
        "one phone wallpaper and a desktop wallpaper",
        [("phone-wallpaper", "9:16"), ("wallpaper", "16:9")],
    ),
    ("a book cover and an album cover", [("book-cover", "2:3"), ("album-cover", "1:1")]),
    ("two youtube thumbnails", [("thumbnail-a", "16:9"), ("thumbnail-b", "16:9")]),
    (
        "A poster, a story and a thumbnail for a coffee brand",
        [("poster", "2:3"), ("story", "9:16"), ("thumbnail", "1:1")],
    ),
    (
        "Deliverables: hero, poster and thumbnail",
        [("hero", "16:9"), ("poster", "2:3"), ("thumbnail", "1:1")],
    ),
    (
        "a hero shot, a detail shot and a thumbnail",
        [("hero", "16:9"), ("detail-shot", "16:9"), ("thumbnail", "1:1")],
    ),
    # explicit aspect ratios and orientation words win over a format's default
    ("a poster in 4:5", [("poster", "4:5")]),
    (
        "Two posters (4:5) and a banner",
        [("poster-a", "4:5"), ("poster-b", "4:5"), ("banner", "21:9")],
    ),
    (
        "a 16:9 hero and a 4:5 hero and a thumbnail",
        [("hero-a", "16:9"), ("hero-b", "4:5"), ("thumbnail", "1:1")],
    ),
    ("a square poster", [("poster", "1:1")]),
    ("a landscape poster for a gig", [("poster", "3:2")]),
    ("a 7:3 banner", [("banner", "21:9")]),  # an unknown ratio in prose: the nearest known one
    ("a poster. The poster in 4:5, please", [("poster", "4:5")]),  # refines, does not add
    # variations: of a format, of the named formats, or on their own
    (
        "three variations of the poster",
        [("poster-a", "2:3"), ("poster-b", "2:3"), ("poster-c", "2:3")],
    ),
    (
        "a poster for a jazz night, three variations",
        [("poster-a", "2:3"), ("poster-b", "2:3"), ("poster-c", "2:3")],
    ),
    ("three variations of a lighthouse in a storm", [(f"variation-{c}", "16:9") for c in "abc"]),
    ("3 images of a fox", [(f"image-{c}", "16:9") for c in "abc"]),
    ("3 images for instagram stories", [(f"story-{c}", "9:16") for c in "abc"]),
    # the platform after the format (a new user's "two hero banners": this one gave 1 of 3)
    (
        "a lighthouse at dawn, two square posts for instagram and a wide banner",
        [("post-a", "1:1"), ("post-b", "1:1"), ("banner", "21:9")],
    ),
    ("three posts for social media of a cat", [(f"post-{c}", "4:5") for c in "abc"]),
    ("two stories for facebook", [("story-a", "9:16"), ("story-b", "9:16")]),
    ("lamp posts along the harbour at night", []),
    # formats a creator names that it did not know (each gave the three defaults)
    ("4 stickers of a cute cat", [(f"sticker-{c}", "1:1") for c in "abcd"]),
    ("pinterest pins x3 of fall recipes", [(f"pin-{c}", "2:3") for c in "abc"]),
    ("a set of 5 icons for a weather app", [(f"icon-{c}", "1:1") for c in "abcde"]),
    ("a facebook cover photo for a bakery", [("banner", "21:9")]),
    ("cover art for my podcast about space", [("album-cover", "1:1")]),
    ("a cat with a sticker on its nose", []),
    ("bowling pins in a neon alley", []),
    ("the app icon glowing in a dark sky", []),
    ("two religious icons on a chapel wall", []),  # a number inside a scene counts nothing
    ("an old laptop covered in 5 stickers", []),
    ("a boy with three pins in his hat", []),
    ("a poster of ten bowling pins", [("poster", "2:3")]),
    ("I need 5 icons for my app", [(f"icon-{c}", "1:1") for c in "abcde"]),
    # a format that is part of the scene is not a deliverable: the defaults apply
    ("cyberpunk street scene at night, neon signs", []),
    ("a street with neon posters on the walls", []),
    ("a cat holding a poster", []),
    ("a lone hero facing a dragon", []),
    ("a story about a girl and her dog", []),
    ("an image of a fox at dawn", []),
]


@pytest.mark.parametrize(("brief", "expected"), BRIEFS, ids=[b for b, _ in BRIEFS])
def test_a_brief_names_exactly_these_deliverables(brief: str, expected: Pairs) -> None:
    found = deliverables_in(brief).deliverables
    assert [(d.id, d.aspect) for d in found] == expected


def test_a_request_over_the_cap_keeps_the_first_and_counts_them_all() -> None:
    request = deliverables_in("a pair of posters and a dozen thumbnails")
    assert request.asked == 14 and len(request.deliverables) == MAX_DELIVERABLES == 8
    assert [d.id for d in request.deliverables[:3]] == ["poster-a", "poster-b", "thumbnail-a"]


SETTINGS: list[tuple[list[str] | str, Pairs]] = [
    (
        ["hero 16:9", "poster 4:5", "thumbnail 1:1"],
        [("hero", "16:9"), ("poster", "4:5"), ("thumbnail", "1:1")],
    ),
    (
        "hero 16:9, poster 4:5, thumbnail 1:1",
        [("hero", "16:9"), ("poster", "4:5"), ("thumbnail", "1:1")],
    ),
    (
        ["hero", "poster", "key art 21:9"],
        [("hero", "16:9"), ("poster", "2:3"), ("key-art", "21:9")],
    ),
    (["hero 16:9", "hero 4:5"], [("hero-a", "16:9"), ("hero-b", "4:5")]),
    (
        ["3 thumbnails 1:1"],
        [("thumbnail-a", "1:1"), ("thumbnail-b", "1:1"), ("thumbnail-c", "1:1")],
    ),
    (
        ["thumbnail 1x1 x2", "Instagram post"],
        [("thumbnail-a", "1:1"), ("thumbnail-b", "1:1"), ("post", "4:5")],
    ),
    (
        ["poster (4:5)", "hero: 16:9", "hero-b 9:16"],
        [("poster", "4:5"), ("hero", "16:9"), ("hero-b", "9:16")],
    ),
    (["hero16:9", "key art21:9"], [("hero", "16:9"), ("key-art", "21:9")]),  # glued: spaced
    ([], []),
]


@pytest.mark.parametrize(("entries", "expected"), SETTINGS, ids=[str(e) for e, _ in SETTINGS])
def test_settings_deliverables_give_exactly_those_names_and_ratios(
    entries: list[str] | str, expected: Pairs
) -> None:
    assert [(d.id, d.aspect) for d in parse_deliverables(entries)] == expected


def test_a_formats_id_reads_back_as_that_format() -> None:
    """The plan's ids, read back from the planner's required line, keep their format's title
    and purpose ("post-a" was titled "Post a", with no purpose)."""
    read = parse_deliverables(["post-a 1:1", "album-cover", "phone-wallpaper-b", "key-art"])
    assert [(d.title, d.purpose) for d in read] == [
        ("Social post A", "feed post that stops the scroll"),
        ("Album cover", "square cover that reads small"),
        ("Phone wallpaper B", "full-screen phone format"),
        ("Key art", ""),
    ]


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        (["hero 7:3"], "unknown aspect ratio 7:3 in 'hero 7:3'; use one of 16:9"),
        (["hero7:3"], "unknown aspect ratio 7:3 in 'hero 7:3'; use one of 16:9"),  # as spaced
        ([""], "an empty deliverable"),
        (["16:9"], "'16:9' has no name"),
        (["hero 16:9 4:5"], "more than one aspect ratio"),
        (["thumbnail x9"], "9 deliverables asked for; a session makes at most 8"),
        (["0 posters"], "asks for no images"),
    ],
)
def test_an_invalid_entry_is_a_readable_value_error(entries: list[str], message: str) -> None:
    with pytest.raises(ValueError, match="NAME|aspect|8|no images") as caught:
        parse_deliverables(entries)
    assert message in str(caught.value)


def test_the_required_line_reads_back_to_the_same_list() -> None:
    wanted = parse_deliverables(["hero 16:9", "hero 4:5", "key art 21:9"])
    back = required_in(f"- {required_line(wanted)}\n- warmer") or []
    assert [(d.id, d.title, d.aspect) for d in back] == [
        ("hero-a", "Hero A", "16:9"),
        ("hero-b", "Hero B", "4:5"),
        ("key-art", "Key art", "21:9"),
    ]
    assert [(d.id, d.aspect) for d in wanted] == [(d.id, d.aspect) for d in back]
    assert required_in("- warmer") is None


# -- the built-in planner in the graph ------------------------------------------------------


async def planned(graph: Any, context: Any, brief: str, **settings: Any) -> dict[str, Any]:
    """The state right after the planner ran."""
    payload = start(brief, **settings)
    return await run(graph, payload, str(uuid.uuid4()), context, interrupt_after=["plan"])


def pairs(state: dict[str, Any]) -> Pairs:
    return [(d["id"], d["aspect"]) for d in state["plan"]["deliverables"]]


def planner_says(state: dict[str, Any]) -> str:
    return next(str(m.content) for m in state["messages"] if m.type == "ai" and m.name == "planner")


@pytest.mark.anyio
async def test_the_offline_planner_plans_what_the_brief_names(graph: Any, context: Any) -> None:
    state = await planned(
        graph, context, "a lighthouse in a storm: two hero banners and one thumbnail"
    )
    assert pairs(state) == [("hero-a", "16:9"), ("hero-b", "16:9"), ("thumbnail", "1:1")]
    plain = await planned(graph, context, "a lighthouse in a storm at dusk, lonely")
    assert pairs(plain) == [(d.id, d.aspect) for d in DEFAULTS]  # nothing named: the defaults
    brief = "a lighthouse on a rocky coast at dawn, two square posts for instagram and a banner"
    posts = await planned(graph, context, brief)
    assert pairs(posts) == [("post-a", "1:1"), ("post-b", "1:1"), ("banner", "21:9")]
    said = planner_says(posts)  # the scope is the subject, not the order repeated
    assert "of a lighthouse on a rocky coast at dawn:" in said and "instagram" not in said


@pytest.mark.anyio
async def test_settings_deliverables_win_over_the_brief_and_reach_the_specs(
    graph: Any, context: Any
) -> None:
    wanted = ["hero 16:9", "poster 4:5", "thumbnail 1:1"]
    payload = start("a lighthouse in a storm, three variations", deliverables=wanted)
    state = await run(graph, payload, str(uuid.uuid4()), context)  # to the plan gate
    assert pairs(state) == [("hero", "16:9"), ("poster", "4:5"), ("thumbnail", "1:1")]
    assert "Deliverables" not in state["brief"] and "hero 16:9" not in state["brief"]
    ratios = {d: s["width"] / s["height"] for d, s in state["specs"].items()}
    assert ratios.keys() == {"hero", "poster", "thumbnail"}
    assert ratios["hero"] == pytest.approx(16 / 9, abs=0.05)
    assert ratios["poster"] == pytest.approx(4 / 5, abs=0.05)
    assert ratios["thumbnail"] == 1
    assert not any("Required deliverables" in str(s["prompt"]) for s in state["specs"].values())


@pytest.mark.anyio
async def test_over_the_cap_the_plan_message_says_so(graph: Any, context: Any) -> None:
    state = await planned(graph, context, "twelve thumbnails of a cat on a windowsill")
    assert len(pairs(state)) == 8
    assert "You asked for 12 images; a session makes at most 8" in planner_says(state)


@pytest.mark.anyio
async def test_settings_with_an_invalid_entry_are_refused_and_never_stall_a_thread(
    graph: Any, context: Any
) -> None:
    with pytest.raises(ValidationError, match="unknown aspect ratio 7:3 in 'hero 7:3'"):
        THREAD_SETTINGS.validate_python({"deliverables": ["hero 7:3", "poster 4:5"]})
    # stored anyway (a client that skipped the edge): the schema drops the field, the brief plans
    state = await planned(graph, context, "a lighthouse", deliverables=["hero 7:3", "poster 4:5"])
    assert pairs(state) == [("hero-a", "16:9"), ("hero-b", "4:5"), ("thumbnail", "1:1")]


# -- an LLM planner over the loopback Ollama ------------------------------------------------

WRONG = [
    {"id": "banner", "title": "Banner", "purpose": "wide strip", "aspect": "21:9"},
    {"id": "thumbnail", "title": "Tiny preview", "purpose": "reads small", "aspect": "1:1"},
]


class WrongPlanner:
    """The offline model behind the loopback server, except that its first `times` plans list
    a banner and a thumbnail, whatever was asked."""

    def __init__(self, inner: Any, times: int) -> None:
        self.inner, self.times = inner, times

    def respond(self, messages: Any, schema: Any) -> str:
        text: str = self.inner.respond(messages, schema)
        if isinstance(schema, dict) and schema.get("title") == "Plan" and self.times > 0:
            self.times -= 1
            return json.dumps({**json.loads(text), "deliverables": WRONG})
        return text


@pytest.fixture
async def ollama() -> AsyncIterator[LoopbackOllama]:
    async with LoopbackOllama({"llama3.2:latest": ["completion"]}) as server:
        yield server


@pytest.fixture
async def ollama_context(
    ollama: LoopbackOllama, database: Any, tmp_path: Path
) -> AsyncIterator[Any]:
    every_role = dict.fromkeys(ROLES, "llama3.2")
    models = ollama_models(
        ollama.base_url, every_role, timeout_s=5.0, retry_attempts=1, retry_backoff_s=0.01
    )
    yield make_context(database.pool, tmp_path / "assets", models=models)
    await models.aclose()


HEROES = "a lighthouse in a storm: two hero banners and one thumbnail"


@pytest.mark.anyio
async def test_a_wrong_plan_gets_one_corrective_retry(
    ollama: LoopbackOllama, ollama_context: Any, graph: Any
) -> None:
    ollama._model = WrongPlanner(ollama._model, times=1)
    state = await planned(graph, ollama_context, HEROES)

    assert pairs(state) == [("hero-a", "16:9"), ("hero-b", "16:9"), ("thumbnail", "1:1")]
    first, second = ollama.chats_for("planner")
    assert "Required deliverables (exactly these ids and aspect ratios): hero-a 16:9" in first.text
    note = second.body["messages"][-1]["content"]
    assert note.startswith("Your plan lists banner 21:9, thumbnail 1:1, but the person asked")
    assert "hero-a 16:9, hero-b 16:9, thumbnail 1:1" in note
    assert "not the deliverables asked for" not in planner_says(state)


@pytest.mark.anyio
async def test_a_plan_wrong_twice_is_replaced_by_the_named_list(
    ollama: LoopbackOllama, ollama_context: Any, graph: Any
) -> None:
    ollama._model = WrongPlanner(ollama._model, times=2)
    state = await planned(graph, ollama_context, HEROES)

    assert len(ollama.chats_for("planner")) == 2  # one retry, no more
    assert pairs(state) == [("hero-a", "16:9"), ("hero-b", "16:9"), ("thumbnail", "1:1")]
    titles = {d["id"]: d["title"] for d in state["plan"]["deliverables"]}
    assert titles == {"hero-a": "Hero A", "hero-b": "Hero B", "thumbnail": "Tiny preview"}
    said = planner_says(state)
    assert "The planner twice answered banner 21:9, thumbnail 1:1" in said
    assert "the plan uses exactly yours: hero-a 16:9, hero-b 16:9, thumbnail 1:1" in said


# -- the CLI and the UI ---------------------------------------------------------------------


def studio(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "api", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def test_cli_deliverable_flag_gives_exactly_those(database_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": database_url, "STUDIO_HOME": str(tmp_path / "home")}
    refused = studio(env, "run", "a lighthouse", "--deliverable", "hero 7:3")
    assert refused.returncode == 2
    assert "error: --deliverable: unknown aspect ratio 7:3 in 'hero 7:3'" in refused.stderr

    done = studio(
        env,
        *("run", "a lighthouse in a storm, three posters", "--auto-approve", "--json"),
        *("--max-iterations", "1", "--deliverable", "hero 16:9", "--deliverable", "thumbnail 1:1"),
    )
    assert done.returncode == 0, done.stderr
    assert sorted(a["deliverable"] for a in json.loads(done.stdout)["assets"]) == [
        "hero",
        "thumbnail",
    ]


def test_the_ui_form_sends_deliverables_as_settings(page: Any, server: Any) -> None:
    page.goto(server.url + "/")
    page.get_by_label("Title").fill("Lighthouse in a storm")
    page.get_by_label("Deliverables").fill("hero 16:9, poster 4:5 ,, thumbnail 1:1")
    with page.expect_request(lambda r: r.method == "POST" and "/runs" in r.url) as sent:
        page.get_by_role("button", name="Start session").click()
    body = sent.value.post_data_json
    assert body["input"]["settings"]["deliverables"] == ["hero 16:9", "poster 4:5", "thumbnail 1:1"]
    assert [m["content"] for m in body["input"]["messages"]] == ["Lighthouse in a storm"]
    specs = page.locator("#gate[data-gate='plan']:not([hidden]) .spec")
    specs.first.wait_for(timeout=60_000)
    assert specs.evaluate_all("els => els.map(e => e.dataset.deliverable)") == [
        "hero",
        "poster",
        "thumbnail",
    ]


def test_a_refused_deliverable_in_the_form_leaves_no_thread_and_says_why(
    page: Any, server: Any
) -> None:
    page.goto(server.url + "/")
    refused: list[str] = []  # the browser logs the refused run; that is this test's point
    page.console_errors.add = lambda text: refused.append(text)
    page.get_by_label("Title").fill("Bad formats")
    page.get_by_label("Deliverables").fill("hero 7:3, poster")
    page.get_by_role("button", name="Start session").click()
    status = page.locator("#start-status")
    status.filter(has_text="unknown aspect ratio 7:3").wait_for(timeout=30_000)
    assert page.locator("#start").is_visible(), "the form is back, with the reason"
    assert "/t/" not in page.url
    page.locator("#thread-list").filter(has_text="Bad formats").wait_for(
        state="detached", timeout=10_000
    )
    assert all("422" in text for text in refused), refused
