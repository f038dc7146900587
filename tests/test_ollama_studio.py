"""Full studio sessions through the unmodified `ChatOllama` and the loopback Ollama server.

Each test drives the real graph on Postgres with `ollama_models(...)` and asserts what the server
received: the model per role, the `format` schema of structured calls, the `options`.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from adapters.errors import ModelNotFound, ServiceUnavailable, StructuredOutputError
from adapters.llm import RoleModels, ollama_models
from agents.schemas import CritiqueVerdict, PlanOut, PlanReview
from engine.events import STREAM_MODES, Event, to_events
from tests.ollama_server import Fault, LoopbackOllama
from tests.studio_helpers import NEON, config, fresh_graph, make_context, run, start

pytestmark = pytest.mark.anyio

INSTALLED = {
    "llama3.2:latest": ["completion", "tools"],
    "gemma3:latest": ["completion", "vision"],
    "qwen3:latest": ["completion", "thinking"],
}
DEFAULTS = {
    "planner": "llama3.2",
    "style": "llama3.2",
    "composition": "llama3.2",
    "story": "llama3.2",
    "director": "llama3.2",
    "critic": "gemma3",
}
PERSONA_ROLES = ("style", "composition", "story")


@pytest.fixture
async def ollama() -> AsyncIterator[LoopbackOllama]:
    async with LoopbackOllama(dict(INSTALLED)) as server:
        yield server


@pytest.fixture
async def models(ollama: LoopbackOllama) -> AsyncIterator[RoleModels]:
    models = ollama_models(
        ollama.base_url, DEFAULTS, timeout_s=5.0, retry_attempts=3, retry_backoff_s=0.01
    )
    yield models
    await models.aclose()


@pytest.fixture
def studio(database: Any, tmp_path: Path, models: RoleModels) -> tuple[Any, Any]:
    return fresh_graph(database.saver), make_context(database.pool, tmp_path / "a", models=models)


def tid() -> str:
    return str(uuid.uuid4())


async def stream(graph: Any, payload: Any, thread: str, context: Any) -> list[Event]:
    """Run like the API does, collecting the events people would see."""
    events: list[Event] = []
    parts = graph.astream(
        payload,
        config(thread),
        context=context,
        stream_mode=STREAM_MODES,
        version="v2",
        durability="sync",
    )
    async for part in parts:
        events.extend(to_events(part))
    return events


def said_by(state: dict[str, Any], role: str) -> list[str]:
    return [str(m.content) for m in state["messages"] if m.type == "ai" and m.name == role]


async def test_a_session_speaks_through_ollama_with_a_model_per_role(
    ollama: LoopbackOllama, studio: tuple[Any, Any]
) -> None:
    graph, context = studio
    state = await run(graph, start(NEON, auto_approve=True), tid(), context)

    assert state["phase"] == "approved"
    assert {"planner", "director", "critic", *PERSONA_ROLES} <= ollama.roles()
    for chat in ollama.chats:
        assert chat.model == DEFAULTS[chat.role], chat.role
        assert chat.body["options"] == {"num_ctx": 8192} and chat.body["stream"] is True
        assert chat.outcome == "ok"
    titles: dict[str, set[str]] = {c.role: set() for c in ollama.chats}
    for chat in ollama.chats:
        titles[chat.role].add(chat.body.get("format", {}).get("title", "prose"))
    assert titles["planner"] == {"Plan"} and titles["director"] == {"SpecBatch"}
    assert titles["critic"] == {"PlanReview", "CritiqueVerdict"}
    assert all(titles[role] == {"prose"} for role in PERSONA_ROLES)
    plan_chat = ollama.chats_for("planner")[0]
    assert plan_chat.body["format"] == PlanOut.model_json_schema()
    schemas = {c.body["format"]["title"]: c.body["format"] for c in ollama.chats_for("critic")}
    assert schemas == {
        "PlanReview": PlanReview.model_json_schema(),
        "CritiqueVerdict": CritiqueVerdict.model_json_schema(),
    }
    # every persona's words in the chat are what its model said over the wire
    for role in PERSONA_ROLES:
        assert said_by(state, role) and all(said_by(state, role))
    # every token the server reported counts against the thread's budget
    assert state["usage"]["tokens"] == sum(c.usage for c in ollama.chats) > 0


async def test_the_critic_sees_the_image_when_its_model_has_vision(
    ollama: LoopbackOllama, studio: tuple[Any, Any]
) -> None:
    graph, context = studio
    state = await run(graph, start(NEON, auto_approve=True), tid(), context)

    critiques = [
        c for c in ollama.chats_for("critic") if c.body["format"]["title"] == "CritiqueVerdict"
    ]
    assert len(critiques) == len(state["generations"])
    for chat in critiques:
        last = chat.body["messages"][-1]
        assert last["role"] == "user" and len(last["images"]) == 1
        assert last["images"][0].startswith("iVBORw0KGgo")  # a base64 PNG, inline
        assert "## Measurements" in last["content"] and "attached" in last["content"]
    reviews = [c for c in ollama.chats_for("critic") if c.body["format"]["title"] == "PlanReview"]
    assert reviews and all("images" not in m for c in reviews for m in c.body["messages"])
    shown = [body["model"] for _m, path, body in ollama.requests if path == "/api/show"]
    assert shown == ["gemma3"]  # asked once, then cached


async def test_a_thread_assignment_overrides_the_default_per_role(
    ollama: LoopbackOllama, studio: tuple[Any, Any]
) -> None:
    graph, context = studio
    assignment = {"story": "qwen3", "critic": "llama3.2"}
    await context.models.check(assignment)
    state = await run(graph, start(NEON, auto_approve=True, models=assignment), tid(), context)

    assert state["phase"] == "approved"
    assert {c.model for c in ollama.chats_for("story")} == {"qwen3"}
    assert {c.model for c in ollama.chats_for("critic")} == {"llama3.2"}
    assert {c.model for c in ollama.chats_for("style")} == {"llama3.2"}
    # llama3.2 has no vision: the critic is sent text only
    assert all("images" not in m for c in ollama.chats_for("critic") for m in c.body["messages"])
    with pytest.raises(ModelNotFound, match="run `ollama pull mistral`"):
        await context.models.check({"critic": "mistral"})


async def test_persona_tokens_stream_as_generated_tagged_with_the_persona(
    studio: tuple[Any, Any],
) -> None:
    graph, context = studio
    events = await stream(graph, start(NEON, auto_approve=True), tid(), context)

    tokens = [e for e in events if e.kind == "token"]
    for role in PERSONA_ROLES:
        mine = [e for e in tokens if e.data["role"] == role]
        first = next(e for e in events if e.kind == "message" and e.data["role"] == role)
        streamed = [e for e in mine if e.data["id"] == mine[0].data["id"]]
        assert len(streamed) > 5, f"{role} streamed token by token"
        assert "".join(e.data["text"] for e in streamed).strip() == first.data["text"]
        assert events.index(streamed[0]) < events.index(first)
    assert not any(e.data["text"].lstrip().startswith("{") for e in tokens)  # no raw JSON


async def test_an_invalid_structured_answer_is_retried_once_with_the_error(
    ollama: LoopbackOllama, studio: tuple[Any, Any]
) -> None:
    ollama.faults.append(Fault("garbage", role="planner"))
    graph, context = studio
    state = await run(graph, start(NEON, auto_approve=True), tid(), context)

    assert state["phase"] == "approved"
    first, second = ollama.chats_for("planner")
    assert (first.outcome, second.outcome) == ("garbage", "ok")
    assert "Your previous answer was invalid" not in first.text
    retry_note = second.body["messages"][-1]["content"]
    assert retry_note.startswith("Your previous answer was invalid") and "JSON" in retry_note
    assert second.body["format"] == PlanOut.model_json_schema()


async def test_a_hopeless_planner_fails_clearly_and_the_thread_resumes(
    ollama: LoopbackOllama, studio: tuple[Any, Any]
) -> None:
    ollama.faults.append(Fault("garbage", role="planner", times=2))
    graph, context = studio
    thread = tid()
    with pytest.raises(StructuredOutputError, match="Planner could not produce a valid Plan"):
        await run(graph, start(NEON, auto_approve=True), thread, context)
    assert len(ollama.chats_for("planner")) == 2  # one retry, then a clear failure
    assert (await graph.aget_state(config(thread))).next == ("plan",)

    state = await run(graph, None, thread, context)
    assert state["phase"] == "approved"


async def test_a_hopeless_critic_falls_back_to_pixel_measurements(
    ollama: LoopbackOllama, studio: tuple[Any, Any]
) -> None:
    ollama.faults.append(Fault("garbage", role="critic", times=1000))
    graph, context = studio
    events = await stream(graph, start(NEON, auto_approve=True), tid(), context)

    notices = [
        e for e in events if e.kind == "notice" and e.data["code"] == "structured_output_error"
    ]
    assert notices and "Lens could not produce a valid" in notices[0].data["text"]
    messages = [
        e.data["text"] for e in events if e.kind == "message" and e.data["role"] == "critic"
    ]
    assert any("Not reviewed by Lens" in text for text in messages)
    assert any(e.kind == "phase" and e.data["phase"] == "approved" for e in events)


async def test_a_missing_model_leaves_a_gap_and_the_others_carry_on(
    ollama: LoopbackOllama, database: Any, tmp_path: Path
) -> None:
    models = ollama_models(ollama.base_url, {**DEFAULTS, "style": "missing"}, timeout_s=5.0)
    context = make_context(database.pool, tmp_path / "a", models=models)
    try:
        state = await run(
            fresh_graph(database.saver), start(NEON, auto_approve=True), tid(), context
        )
    finally:
        await models.aclose()

    assert state["phase"] == "approved"
    assert {c.outcome for c in ollama.chats_for("style")} == {"404"}
    luna = said_by(state, "style")
    assert luna and all("run `ollama pull missing`" in text for text in luna)
    assert "Luna cannot take part" in luna[0]
    assert all(c["role"] != "style" for c in state["contributions"])  # a gap is no idea
    assert "style started repeating" not in " ".join(said_by(state, "manager"))
    for role in ("composition", "story"):
        assert said_by(state, role)
        for chat in ollama.chats_for(role):
            assert "ollama pull" not in chat.text  # the gap note is not fed to the team


async def test_an_error_mid_stream_restarts_the_message_and_keeps_none_of_it(
    ollama: LoopbackOllama, studio: tuple[Any, Any]
) -> None:
    ollama.faults.append(Fault("midstream", role="composition", after_chunks=4))
    graph, context = studio
    events = await stream(graph, start(NEON, auto_approve=True), tid(), context)

    broken, retried = ollama.chats_for("composition")[:2]
    assert (broken.outcome, retried.outcome) == ("midstream", "ok")
    assert broken.body == retried.body  # the same message, asked again from the start
    retries = [e for e in events if e.kind == "notice" and e.data["code"] == "message_retry"]
    assert len(retries) == 1 and "Frame" in retries[0].data["text"]
    frame = [
        e.data["text"] for e in events if e.kind == "message" and e.data["role"] == "composition"
    ]
    tokens = [e for e in events if e.kind == "token" and e.data["role"] == "composition"]
    final_id = next(
        e.data["id"] for e in events if e.kind == "message" and e.data["role"] == "composition"
    )
    assert frame[0] == "".join(e.data["text"] for e in tokens if e.data["id"] == final_id).strip()
    assert any(e.kind == "phase" and e.data["phase"] == "approved" for e in events)


async def test_a_server_error_before_streaming_is_retried_with_backoff(
    ollama: LoopbackOllama, studio: tuple[Any, Any]
) -> None:
    ollama.faults.append(Fault("status", role="director", status=500, times=2))
    graph, context = studio
    state = await run(graph, start(NEON, auto_approve=True), tid(), context)

    assert state["phase"] == "approved"
    assert [c.outcome for c in ollama.chats_for("director")][:3] == ["500", "500", "ok"]


async def test_a_slow_reply_times_out_and_the_step_is_retried(
    ollama: LoopbackOllama, database: Any, tmp_path: Path
) -> None:
    ollama.faults.append(Fault("slow", role="story", delay_s=2.0))
    models = ollama_models(ollama.base_url, DEFAULTS, timeout_s=0.5)
    context = make_context(database.pool, tmp_path / "a", models=models)
    try:
        state = await run(
            fresh_graph(database.saver), start(NEON, auto_approve=True), tid(), context
        )
    finally:
        await models.aclose()

    assert state["phase"] == "approved"
    assert [c.outcome for c in ollama.chats_for("story")][:2] == ["slow", "ok"]


async def test_a_server_that_goes_down_leaves_the_thread_resumable(
    ollama: LoopbackOllama, studio: tuple[Any, Any]
) -> None:
    graph, context = studio
    thread = tid()
    await run(graph, start(NEON, auto_approve=True), thread, context, interrupt_before=["story"])
    await ollama.stop()
    with pytest.raises(ServiceUnavailable, match=f"cannot reach Ollama at {ollama.base_url}"):
        await run(graph, None, thread, context)
    assert (await graph.aget_state(config(thread))).next == ("story",)

    await ollama.start()  # it comes back on the same port
    state = await run(graph, None, thread, context)
    assert state["phase"] == "approved"
    assert [(c["role"], c["round"]) for c in state["contributions"]].count(("story", 1)) == 1


async def test_a_short_outage_is_ridden_out_by_retries(
    ollama: LoopbackOllama, database: Any, tmp_path: Path
) -> None:
    models = ollama_models(
        ollama.base_url, DEFAULTS, timeout_s=5.0, retry_attempts=8, retry_backoff_s=0.05
    )
    graph = fresh_graph(database.saver)
    context = make_context(database.pool, tmp_path / "a", models=models)
    thread = tid()
    try:
        await run(
            graph, start(NEON, auto_approve=True), thread, context, interrupt_before=["story"]
        )
        await ollama.stop()
        restart = asyncio.get_running_loop().call_later(
            0.3, lambda: asyncio.ensure_future(ollama.start())
        )
        events = await stream(graph, None, thread, context)
        restart.cancel()
    finally:
        await models.aclose()

    retries = [e for e in events if e.kind == "notice" and e.data["code"] == "message_retry"]
    assert retries and "cannot reach Ollama" in retries[0].data["text"]
    assert "Saga" in retries[0].data["text"]
    assert any(e.kind == "phase" and e.data["phase"] == "approved" for e in events)


async def test_ollama_token_usage_spends_the_thread_token_budget(
    ollama: LoopbackOllama, studio: tuple[Any, Any]
) -> None:
    graph, context = studio
    settings = {"auto_approve": True, "budgets": {"max_tokens": 1500}}
    state = await run(graph, start(NEON, **settings), tid(), context)

    assert state["stop_reason"] == "max_tokens" and state["phase"] == "completed"
    assert state["usage"]["tokens"] == sum(c.usage for c in ollama.chats) >= 1500
    assert not state.get("generations")
