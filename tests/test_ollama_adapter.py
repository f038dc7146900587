"""The Ollama adapter against the loopback server: unmodified `ChatOllama`, real HTTP."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from langchain_ollama import ChatOllama
from ollama import ResponseError

from adapters.errors import ModelNotFound, ServiceUnavailable, StudioError
from adapters.llm import RoleModels, ollama_models
from adapters.ollama import check_assignments, is_transient, tag_of, translate_ollama_error
from agents import prompts
from agents.schemas import PlanOut
from tests.ollama_server import Fault, LoopbackOllama

pytestmark = pytest.mark.anyio

INSTALLED = {
    "llama3.2:latest": ["completion", "tools"],
    "gemma3:latest": ["completion", "vision"],
    "qwen3:8b": ["completion", "thinking"],
}
STATE: Any = {"messages": [], "brief": "a lighthouse in a storm at dusk"}


@pytest.fixture
async def ollama() -> AsyncIterator[LoopbackOllama]:
    async with LoopbackOllama(dict(INSTALLED)) as server:
        yield server


@pytest.fixture
async def models(ollama: LoopbackOllama) -> AsyncIterator[RoleModels]:
    models = ollama_models(
        ollama.base_url,
        {"style": "llama3.2", "critic": "gemma3", "planner": "llama3.2"},
        timeout_s=2.0,
        retry_backoff_s=0.01,
    )
    yield models
    await models.aclose()


async def test_persona_call_streams_ndjson_with_context_window_and_usage(
    ollama: LoopbackOllama, models: RoleModels
) -> None:
    reply = await models.for_role("style").ainvoke(prompts.ideate("style", STATE))
    (chat,) = ollama.chats
    assert chat.body["model"] == "llama3.2" and chat.body["stream"] is True
    assert chat.body["options"] == {"num_ctx": 8192}
    assert "format" not in chat.body and chat.body["tools"] == []
    assert [m["role"] for m in chat.body["messages"]] == ["system", "user"]
    assert "Role: style" in chat.body["messages"][0]["content"]
    assert reply.usage_metadata is not None
    assert reply.usage_metadata["total_tokens"] == chat.usage > 0


async def test_structured_call_sends_the_pydantic_schema_as_format(
    ollama: LoopbackOllama, models: RoleModels
) -> None:
    runnable = models.for_role("planner").with_structured_output(PlanOut, method="json_schema")
    plan = await runnable.ainvoke(prompts.plan(STATE))
    assert isinstance(plan, PlanOut) and plan.deliverables
    assert ollama.chats[0].body["format"] == PlanOut.model_json_schema()


async def test_installed_models_come_from_api_tags(models: RoleModels) -> None:
    assert await models.installed() == sorted(INSTALLED)


async def test_an_assignment_of_a_missing_model_is_rejected_up_front(
    ollama: LoopbackOllama, models: RoleModels
) -> None:
    await models.check({"style": "llama3.2", "story": "qwen3:8b"})  # untagged means :latest
    with pytest.raises(ModelNotFound, match=r"story=qwen3; run `ollama pull qwen3`"):
        await models.check({"story": "qwen3"})  # only qwen3:8b is installed
    with pytest.raises(ModelNotFound, match=r"run `ollama pull nope`"):
        await check_assignments(ollama.base_url, {"critic": "nope"}, timeout_s=2)
    await RoleModels.offline().check({"critic": "anything"})  # the offline model takes any name


async def test_vision_capability_comes_from_api_show_and_is_cached(
    ollama: LoopbackOllama, models: RoleModels
) -> None:
    assert await models.accepts_images("critic")
    assert await models.accepts_images("critic")
    assert not await models.accepts_images("style")
    assert not await models.accepts_images("critic", {"critic": "missing"})
    shown = [body["model"] for method, path, body in ollama.requests if path == "/api/show"]
    assert shown == ["gemma3", "llama3.2", "missing"]
    assert not await RoleModels.offline().accepts_images("critic")


async def test_missing_model_becomes_model_not_found_with_the_pull_command(
    ollama: LoopbackOllama,
) -> None:
    model = ChatOllama(model="no-such-model", base_url=ollama.base_url)
    with pytest.raises(ResponseError) as raised:
        await model.ainvoke("hi")
    await model._async_client._client.aclose()
    model._client._client.close()
    error = translate_ollama_error(raised.value, "no-such-model", ollama.base_url)
    assert isinstance(error, ModelNotFound) and not error.retryable
    assert "run `ollama pull no-such-model`" in error.message
    assert not is_transient(raised.value)


@pytest.mark.parametrize(
    ("fault", "transient", "kind"),
    [
        (Fault("status", status=500), True, ServiceUnavailable),
        (Fault("status", status=400, error="does not support thinking"), False, StudioError),
        (Fault("midstream", after_chunks=2), True, ServiceUnavailable),
        (Fault("slow", delay_s=1.0), False, ServiceUnavailable),
    ],
)
async def test_each_server_failure_translates_to_a_studio_error(
    ollama: LoopbackOllama, fault: Fault, transient: bool, kind: type[StudioError]
) -> None:
    ollama.faults.append(fault)
    models = ollama_models(ollama.base_url, {"style": "llama3.2"}, timeout_s=0.3)
    with pytest.raises(Exception) as raised:
        await models.for_role("style").ainvoke(prompts.ideate("style", STATE))
    await models.aclose()
    assert is_transient(raised.value) is transient
    error = translate_ollama_error(raised.value, "llama3.2", ollama.base_url)
    assert type(error) is kind and error.message


async def test_server_down_is_service_unavailable_in_every_call_shape(
    ollama: LoopbackOllama,
) -> None:
    await ollama.stop()
    model = ChatOllama(model="llama3.2", base_url=ollama.base_url)
    failures: list[BaseException] = []
    for call in (model.ainvoke("hi"), model.ainvoke("hi", stream=False)):
        with pytest.raises((httpx.TransportError, ConnectionError)) as raised:
            await call
        failures.append(raised.value)
    with pytest.raises(ConnectionError) as sync_raised:
        model.invoke("hi", stream=False)
    failures.append(sync_raised.value)
    await model._async_client._client.aclose()
    model._client._client.close()
    for failure in failures:
        assert is_transient(failure)
        error = translate_ollama_error(failure, "llama3.2", ollama.base_url)
        assert isinstance(error, ServiceUnavailable) and error.retryable
        assert f"cannot reach Ollama at {ollama.base_url}" in error.message
    with pytest.raises(ServiceUnavailable, match="cannot reach Ollama"):
        await check_assignments(ollama.base_url, {"style": "llama3.2"}, timeout_s=1)


async def test_clients_are_closed_and_leave_no_socket_behind(ollama: LoopbackOllama) -> None:
    models = ollama_models(ollama.base_url, {"style": "llama3.2"}, timeout_s=2)
    model: Any = models.for_role("style")
    await model.ainvoke(prompts.ideate("style", STATE))
    await models.aclose()
    assert model._async_client._client.is_closed and model._client._client.is_closed
    # without keep-alive nothing stays open even when a caller forgets to close
    forgotten = ollama_models(ollama.base_url, {"style": "llama3.2"}, timeout_s=2)
    await forgotten.for_role("style").ainvoke(prompts.ideate("style", STATE))
    del forgotten
    gc.collect()  # a leaked socket would raise ResourceWarning here (filterwarnings=error)


def test_untagged_names_mean_latest() -> None:
    assert tag_of("llama3.2") == "llama3.2:latest"
    assert tag_of("qwen3:8b") == "qwen3:8b"
    assert tag_of("registry.local:5000/team/model") == "registry.local:5000/team/model:latest"
