"""The built-in offline chat model: a real LangChain chat model that reads the studio's prompts."""

from __future__ import annotations

import colorsys
import re
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage
from pydantic import BaseModel, Field

from adapters.colours import rgb
from adapters.craft import brief_targets, concerns, is_vague
from adapters.offline.model import OfflineChatModel
from adapters.specs import LIGHTINGS, WEATHERS, SpecBatch, clamp_spec
from agents import prompts
from agents.moderator import NOVELTY_MIN, review_round
from agents.schemas import CritiqueVerdict, PlanOut, PlanReview
from graph.directions import said
from graph.state import Contribution, StudioState

pytestmark = pytest.mark.anyio

BRIEF = "cyberpunk street scene at night, neon signs"
RAINY = "more rainy and melancholic"
HEX = re.compile(r"#[0-9a-f]{6}")


def studio(brief: str = BRIEF, direction: list[str] | None = None) -> StudioState:
    """A minimal session state with the offline planner's plan, as the graph would hold it."""
    state: StudioState = {
        "messages": [HumanMessage(brief)],
        "brief": brief,
        "directions": [d for t in direction or [] for d in said(t, source="interjection")],
    }
    plan = OfflineChatModel().with_structured_output(PlanOut).invoke(prompts.plan(state))
    assert isinstance(plan, PlanOut)
    state["plan"] = {
        "deliverables": [d.model_dump() for d in plan.deliverables],  # type: ignore[misc]
        "style_guards": plan.style_guards,
        "scope": plan.scope,
    }
    return state


def ids(state: StudioState) -> list[str]:
    return [d["id"] for d in state["plan"]["deliverables"]]


def say(model: OfflineChatModel, messages: Any) -> str:
    reply = model.invoke(messages)
    assert isinstance(reply.content, str)
    return reply.content


def specs_for(
    state: StudioState, feedback: dict[str, str] | None = None, targets: list[str] | None = None
) -> dict[str, Any]:
    batch = (
        OfflineChatModel()
        .with_structured_output(SpecBatch)
        .invoke(prompts.specs(state, feedback or {}, targets or ids(state)))
    )
    assert isinstance(batch, SpecBatch)
    return {p.deliverable: clamp_spec(p)[0].model_dump() for p in batch.specs}


def test_is_a_langchain_chat_model() -> None:
    model = OfflineChatModel(seed=3)
    assert isinstance(model, BaseChatModel)
    assert model._llm_type == "studio-offline"
    assert model.model_name == "studio-offline-1"


async def test_ainvoke_answers_with_usage_metadata() -> None:
    reply = await OfflineChatModel().ainvoke(prompts.ideate("style", studio()))
    assert isinstance(reply, AIMessage) and reply.content
    usage = reply.usage_metadata
    assert usage and usage["input_tokens"] > 0 and usage["output_tokens"] > 0
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]


async def test_astream_yields_words_that_join_into_the_invoke_text() -> None:
    model, prompt = OfflineChatModel(), prompts.ideate("composition", studio())
    chunks = [chunk async for chunk in model.astream(prompt)]
    assert len(chunks) > 10
    assert "".join(str(c.content) for c in chunks) == say(model, prompt)
    final = [c for c in chunks if c.usage_metadata]
    assert len(final) == 1 and final[0].usage_metadata["output_tokens"] > 0  # type: ignore[index]
    assert final[0].response_metadata["model_name"] == "studio-offline-1"


def test_stream_with_a_token_delay_still_joins_exactly() -> None:
    model, prompt = OfflineChatModel(token_delay_s=0.0005), prompts.ideate("story", studio())
    chunks = list(model.stream(prompt))
    assert all(isinstance(c, AIMessageChunk) for c in chunks)
    assert "".join(str(c.content) for c in chunks) == say(OfflineChatModel(), prompt)


def test_same_seed_same_words_other_seeds_vary() -> None:
    prompt = prompts.ideate("style", studio())
    assert say(OfflineChatModel(seed=7), prompt) == say(OfflineChatModel(seed=7), prompt)
    wordings = {say(OfflineChatModel(seed=seed), prompt) for seed in range(1, 9)}
    assert len(wordings) > 1


def test_each_persona_speaks_its_own_craft() -> None:
    state, model = studio(), OfflineChatModel()
    luna = say(model, prompts.ideate("style", state))
    frame = say(model, prompts.ideate("composition", state))
    saga = say(model, prompts.ideate("story", state))
    assert len({luna, frame, saga}) == 3
    assert len(HEX.findall(luna)) >= 3 and "magenta" in luna and "cyan" in luna
    assert "neon" in luna
    assert re.search(r"\d+mm", frame) and re.search(r"(low|high) angle|eye level", frame)
    assert "third" in frame and "horizon" in frame and "hero-a" in frame
    assert "?" in saga and "Why" in saga and "detail" in saga


def test_direction_changes_what_luna_proposes() -> None:
    model = OfflineChatModel()
    plain = say(model, prompts.ideate("style", studio()))
    rainy = say(model, prompts.ideate("style", studio(direction=[RAINY])))
    assert plain != rainy
    assert "rain" in rainy and "wet reflections" in rainy and "melancholic" in rainy
    assert set(HEX.findall(rainy)) != set(HEX.findall(plain))


def test_direction_changes_the_directors_specs() -> None:
    plain, rainy = specs_for(studio()), specs_for(studio(direction=[RAINY]))
    for deliverable in plain:
        assert plain[deliverable]["weather"] == "clear"
        assert rainy[deliverable]["weather"] == "rain"
        assert rainy[deliverable]["mood"] == "melancholic"
        assert rainy[deliverable]["brightness"] < plain[deliverable]["brightness"]


def test_brief_targets_let_later_direction_override() -> None:
    before = brief_targets("cyberpunk street at night")
    after = brief_targets(f"cyberpunk street at night\n{RAINY}")
    assert before["lighting"] == after["lighting"] == "neon"
    assert (after["weather"], after["mood"]) == ("rain", "melancholic")
    assert after["brightness"] < before["brightness"]

    def saturation(palette: list[str]) -> float:
        return sum(colorsys.rgb_to_hls(*rgb(c))[2] for c in palette) / len(palette)

    assert saturation(after["palette"]) < saturation(before["palette"])
    assert brief_targets(f"{BRIEF}, rain\nno rain please")["weather"] == "clear"
    for text in ("", BRIEF, "misty forest at dawn", "desert road, golden hour", "studio portrait"):
        targets = brief_targets(text)
        assert targets["lighting"] in LIGHTINGS and targets["weather"] in WEATHERS
        assert all(HEX.fullmatch(c) for c in targets["palette"])


def test_plan_is_structured_output_like_ollama() -> None:
    plan = (
        OfflineChatModel()
        .with_structured_output(PlanOut, method="json_schema")
        .invoke(prompts.plan({"messages": [], "brief": BRIEF}))
    )
    assert isinstance(plan, PlanOut)
    assert [d.id for d in plan.deliverables] == ["hero-a", "hero-b", "thumbnail"]
    assert 3 <= len(plan.style_guards) <= 5 and plan.scope
    assert any("#" in guard for guard in plan.style_guards)


def test_plan_honours_formats_the_brief_names() -> None:
    model = OfflineChatModel().with_structured_output(PlanOut)
    poster = model.invoke(prompts.plan({"messages": [], "brief": "a jazz festival poster"}))
    variations = model.invoke(
        prompts.plan({"messages": [], "brief": "three variations of a lighthouse in a storm"})
    )
    assert isinstance(poster, PlanOut) and isinstance(variations, PlanOut)
    assert [(d.id, d.aspect) for d in poster.deliverables][0] == ("poster", "2:3")
    assert len(variations.deliverables) == 3


async def test_structured_output_include_raw_carries_usage() -> None:
    runnable = OfflineChatModel().with_structured_output(PlanReview, include_raw=True)
    state = studio()
    state["specs"] = specs_for(state)
    result: Any = await runnable.ainvoke(prompts.review_plan(state))
    assert isinstance(result["parsed"], PlanReview) and result["parsing_error"] is None
    assert result["raw"].usage_metadata["total_tokens"] > 0


def test_specs_cover_every_requested_deliverable_with_sane_sizes() -> None:
    specs = specs_for(studio())
    assert set(specs) == {"hero-a", "hero-b", "thumbnail"}
    assert (specs["hero-a"]["width"], specs["hero-a"]["height"]) == (1024, 576)
    assert (specs["hero-b"]["width"], specs["hero-b"]["height"]) == (640, 800)
    assert (specs["thumbnail"]["width"], specs["thumbnail"]["height"]) == (512, 512)
    for spec in specs.values():
        assert spec["lighting"] == "neon" and spec["negative_prompt"]
        assert "neon" in spec["prompt"] and spec["prompt"].count(",") >= 5
    assert len({s["seed"] for s in specs.values()}) == 3
    only = specs_for(studio(), targets=["thumbnail"])
    assert list(only) == ["thumbnail"]


def test_a_night_away_from_streets_has_no_streetlamps() -> None:
    """A snowy forest at night was lit "by sodium streetlamps" in every prompt and in Luna's
    words; a harbour keeps them."""
    forest = specs_for(studio("a red fox in a snowy birch forest at night, one poster"))
    harbour = specs_for(studio("a harbour at night, one poster"))
    assert "streetlamp" not in forest["poster"]["prompt"]
    assert "moonlight" in forest["poster"]["prompt"]
    assert "sodium streetlamps" in harbour["poster"]["prompt"]
    square = specs_for(studio("a snowy birch forest at night, two square posts"))
    assert not any("streetlamp" in spec["prompt"] for spec in square.values())  # not a square


def test_specs_follow_franes_shot_from_the_discussion() -> None:
    state = studio()
    state["messages"] = [
        *state["messages"],
        AIMessage(
            "For hero-a: low angle from knee height, 20mm, the figure on the right third, "
            "horizon at 80% of the height.",
            name="composition",
        ),
    ]
    hero = specs_for(state)["hero-a"]
    assert (hero["camera"], hero["subject_x"], hero["horizon"]) == ("low", 0.67, 0.8)


def test_measured_feedback_moves_the_current_spec() -> None:
    state = studio()
    state["specs"] = current = specs_for(state)
    fixed = specs_for(
        state,
        {
            "hero-a": "brightness: too dark (measured 0.20, target 0.50); "
            "composition: subject too far right (measured 0.78, "
            "target 0.33)"
        },
        ["hero-a"],
    )["hero-a"]
    assert fixed["brightness"] > current["hero-a"]["brightness"] + 0.2
    assert fixed["subject_x"] < current["hero-a"]["subject_x"]
    assert fixed["seed"] == current["hero-a"]["seed"] + 1


def test_a_persons_words_move_the_spec() -> None:
    state = studio()
    state["specs"] = current = specs_for(state)
    fixed = specs_for(state, {"*": "brighter, more rain, move the figure left, closer"})
    for deliverable, spec in fixed.items():
        before = current[deliverable]
        assert spec["brightness"] > before["brightness"]
        assert spec["weather"] == "rain"
        assert spec["subject_x"] == 0.33
        assert spec["subject_scale"] > before["subject_scale"]


def test_review_flags_a_spec_that_misses_the_brief() -> None:
    state = studio(brief="cyberpunk street scene at night in heavy rain, neon signs")
    state["specs"] = specs_for(state)
    review = OfflineChatModel().with_structured_output(PlanReview)
    assert review.invoke(prompts.review_plan(state)) == PlanReview(
        approved=True,
        reasons=[
            "every spec keeps neon light, rain, a mysterious mood and the brief's palette, at the "
            "right size for its format"
        ],
    )
    dry = {**state["specs"]["hero-a"], "weather": "clear"}
    wide = {**state["specs"]["thumbnail"], "width": 768, "height": 512}
    state["specs"] = {**state["specs"], "hero-a": dry, "thumbnail": wide}
    verdict = review.invoke(prompts.review_plan(state))
    assert isinstance(verdict, PlanReview) and not verdict.approved
    assert any("hero-a" in r and "rain" in r for r in verdict.reasons)
    assert any("thumbnail" in r and "square" in r for r in verdict.reasons)


def critique(
    findings: list[str], measurements: dict[str, float] | None = None, brief: str = BRIEF
) -> CritiqueVerdict:
    state = studio(brief)
    spec = specs_for(state)["hero-a"]
    verdict = (
        OfflineChatModel()
        .with_structured_output(CritiqueVerdict)
        .invoke(prompts.critique(state, spec, measurements or {"brightness": 0.3}, findings))
    )
    assert isinstance(verdict, CritiqueVerdict)
    return verdict


def test_critique_score_tracks_the_findings() -> None:
    clean = critique([])
    one = critique(["brightness: too dark (measured 0.20, target 0.30)"])
    many = critique(
        [
            "brightness: too dark (measured 0.05, target 0.45)",
            "palette: off-target colours (measured 0.42, target 0.15)",
            "horizon: too high (measured 0.30, target 0.60)",
        ]
    )
    assert clean.score > one.score > many.score
    assert len(many.suggestions) == 3 and any("palette" in s.lower() for s in many.suggestions)
    assert any(r.startswith("Strength") for r in one.reasons)
    anchored = critique(
        ["brightness: too dark (measured 0.20, target 0.30)"], {"measured_score": 6.4}
    )
    assert anchored.score == 6.4


def test_critique_reasons_read_well() -> None:
    verdict = critique(["composition: subject too far left (measured 0.37, target 0.50)"])
    assert "The subject sits too far left: x=0.37, planned 0.50" in verdict.reasons
    # a storm's palette starts with two slate greys: each colour is named once
    stormy = critique([], brief="a lighthouse in a storm, crashing waves, warm beam of light")
    strength = next(r for r in stormy.reasons if r.startswith("Strength: the palette"))
    assert strength == "Strength: the palette stays on brief (slate grey, dusty blue)"


def test_refinement_answers_the_others_then_converges() -> None:
    model, state = OfflineChatModel(), studio()
    messages = list(state["messages"])
    contributions: list[Contribution] = []
    for round_no in (1, 2, 3):
        for role in ("style", "composition", "story"):
            state["messages"] = messages
            prompt = (
                prompts.ideate(role, state)
                if round_no == 1
                else prompts.refine(role, state, round_no)
            )
            text = say(model, prompt)
            messages = [*messages, AIMessage(text, name=role)]
            contributions.append(Contribution(role=role, round=round_no, text=text))
    second = {c["role"]: c["text"] for c in contributions if c["round"] == 2}
    assert "Frame" in second["style"] and "Luna" in second["composition"]
    assert "Luna" in second["story"] or "Frame" in second["story"]
    assert all(c["text"].startswith("Nothing") for c in contributions if c["round"] == 3)
    assert len(review_round(contributions, 2)["new"]) >= NOVELTY_MIN
    assert len(review_round(contributions, 3)["new"]) < NOVELTY_MIN


def test_answer_says_how_the_direction_changes_the_proposal() -> None:
    model, state = OfflineChatModel(), studio(direction=[RAINY])
    luna = say(model, prompts.answer("style", state, RAINY))
    saga = say(model, prompts.answer("story", state, RAINY))
    assert "rain" in luna.lower() and "melancholic" in luna and "0.27 to" in luna
    assert "melancholic" in saga and "?" in saga
    frame = say(model, prompts.answer("composition", state, "use a low angle"))
    assert "low" in frame and "hero-a" in frame


def test_unknown_schemas_and_plain_chat_still_get_an_answer() -> None:
    class Caption(BaseModel):
        title: str
        lines: list[str] = Field(min_length=1)
        rating: int = Field(ge=1, le=5)

    prompt = prompts.ideate("style", studio())
    caption = OfflineChatModel().with_structured_output(Caption).invoke(prompt)
    assert isinstance(caption, Caption) and caption.lines[0]
    as_dict = OfflineChatModel().with_structured_output(Caption.model_json_schema()).invoke(prompt)
    assert isinstance(as_dict, dict) and set(as_dict) == {"title", "lines", "rating"}
    question = "what palette for a snowy forest at dawn?"
    chat = say(OfflineChatModel(), question)
    assert set(HEX.findall(chat)) & set(brief_targets(question)["palette"])


@pytest.mark.parametrize("brief", ["", "   ", "something cool", "make art", "a nice picture"])
def test_is_vague_asks_a_question(brief: str) -> None:
    question = is_vague(brief)
    assert question and question.rstrip().endswith((".", "?")) and "?" in question


@pytest.mark.parametrize("brief", [BRIEF, "a lighthouse in a storm", "sunset", "a cat"])
def test_is_vague_accepts_a_real_brief(brief: str) -> None:
    assert is_vague(brief) is None


@pytest.mark.parametrize(
    ("message", "roles"),
    [
        ("make it brighter and more rainy", ["style"]),
        ("use a low angle, closer on the figure", ["composition"]),
        ("why is she out there alone?", ["story"]),
        ("render at 1024x1024 with more steps", ["director"]),
        ("hmm, not sure", ["style", "composition", "story"]),
    ],
)
def test_concerns_route_a_message_to_the_right_specialists(message: str, roles: list[str]) -> None:
    assert concerns(message) == roles


def test_feedback_words_move_the_fields_they_name() -> None:
    from adapters.offline.framing import parse_shot

    # "bigger waves" grows the sea, not the subject; "lower the horizon" moves the horizon
    assert parse_shot("bigger waves, a beam of warm light, and lower the horizon") == {
        "shift": 0.15
    }
    assert parse_shot("make it bigger")["scale"] == 1.3
    assert parse_shot("raise the horizon")["shift"] == -0.15


def test_an_added_element_does_not_replace_the_briefs_subject() -> None:
    state = studio("a lighthouse on a rocky coast at dusk", ["add a stray cat on the kerb"])
    assert all("lighthouse" in spec["subject"] for spec in specs_for(state).values())


def test_quoted_lettering_is_not_read_as_the_scene() -> None:
    # a product called "Nocturne" is lettering, not a night scene
    plain = brief_targets("a lighthouse in a storm at dusk")
    named = brief_targets('a lighthouse in a storm at dusk, legible product name "NOCTURNE"')
    assert (
        (named["lighting"], named["mood"])
        == (plain["lighting"], plain["mood"])
        == (
            "dusk",
            "nostalgic",
        )
    )


def test_the_planner_answer_is_the_kept_plan_loosened() -> None:
    """`PlanOut` (what the planner may answer) has the fields of `graph.state.Plan` (what the
    thread keeps), and `clean_plan` fills what an answer leaves out."""
    from agents.planner import clean_plan
    from agents.schemas import DeliverableOut
    from graph.state import Deliverable, Plan

    assert list(PlanOut.model_fields) == list(Plan.__annotations__)
    assert list(DeliverableOut.model_fields) == list(Deliverable.__annotations__)
    kept = clean_plan(PlanOut.model_validate({"deliverables": [{"id": "Hero A", "title": "Hero"}]}))
    assert kept == {
        "deliverables": [{"id": "hero-a", "title": "Hero", "purpose": "", "aspect": "16:9"}],
        "style_guards": [],
        "scope": "",
    }


def test_a_duration_is_no_part_of_the_subject_and_a_product_is_what_the_brief_says_it_is() -> None:
    """V1: "a 12-second product ad" made Frame frame "the -second product"."""
    brief = "a 12-second product ad for Aurora, a quiet electric kettle"
    assert brief_targets(brief)["subject"] == "quiet electric kettle"
    assert brief_targets("Aurora, a quiet electric kettle: a 12-second product ad video")[
        "subject"
    ] == ("quiet electric kettle")
    assert brief_targets("a 20-second product ad, warm light")["subject"] == "product"
    assert brief_targets("a 30-minute-long product film")["subject"] == "product"
    assert brief_targets("a red sneaker product shot")["subject"] == "red sneaker"


def _discussion(brief: str, direction: list[str]) -> list[str]:
    """Three rounds of Luna, Frame and Saga on `brief` (pinned as the graph's intake pins it)
    with `direction` said since; their lines, in order."""
    state: StudioState = {
        "messages": [HumanMessage(brief)],
        "brief": brief,
        "directions": [
            *said(brief, source="brief"),
            *(d for t in direction for d in said(t, source="interjection")),
        ],
    }
    planned = studio(brief)["plan"]
    state["plan"] = planned
    model, messages, lines = OfflineChatModel(), list(state["messages"]), []
    for round_no in (1, 2, 3):
        for role in ("style", "composition", "story"):
            state["messages"] = messages
            prompt = (
                prompts.ideate(role, state)
                if round_no == 1
                else prompts.refine(role, state, round_no)
            )
            text = say(model, prompt)
            messages = [*messages, AIMessage(text, name=role)]
            lines.append(text)
    return lines


def test_with_x_in_the_brief_now_only_for_what_the_direction_added() -> None:
    brief = "two hero banners for a lighthouse café at dawn, warm palette"
    # the brief names dawn (and its lighthouse implies ocean): nothing was added to it (F2)
    unchanged = " ".join(_discussion(brief, []))
    assert "in the brief now" not in unchanged, unchanged
    assert "the story shifts" not in unchanged, unchanged
    # a direction that adds night is taken up, by name
    directed = " ".join(_discussion(brief, ["make it night"]))
    assert "With night in the brief now" in directed, directed
    assert "With night now, the story shifts: they " in directed, directed
    assert "With dawn" not in directed and "With ocean" not in directed, directed


def test_saga_says_they_have_not_they_has() -> None:
    from adapters.offline.hooks import MOMENTS, for_they

    assert for_they("has finished a long journey") == "have finished a long journey"
    assert for_they("is running to meet someone") == "are running to meet someone"
    for moments in MOMENTS.values():
        for event, _ in moments:
            verb = for_they(event).split()[0]
            assert not verb.endswith("s"), f"they {for_they(event)}"  # has, is, stands …
