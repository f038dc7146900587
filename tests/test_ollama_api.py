"""The API offers Ollama's installed models and refuses an assignment naming a missing one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from adapters.llm import ollama_models
from tests.api_helpers import serve
from tests.ollama_server import LoopbackOllama

pytestmark = pytest.mark.anyio

INSTALLED = {"llama3.2:latest": ["completion"], "gemma3:latest": ["completion", "vision"]}
DEFAULTS = {"planner": "llama3.2", "critic": "gemma3"}


@pytest.fixture
async def ollama() -> AsyncIterator[LoopbackOllama]:
    async with LoopbackOllama(dict(INSTALLED)) as server:
        yield server


async def test_models_lists_installed_and_defaults(
    database: Any, tmp_path: Path, ollama: LoopbackOllama
) -> None:
    models = ollama_models(ollama.base_url, DEFAULTS, timeout_s=5.0)
    async with serve(database, tmp_path, models=models) as served, served.http() as client:
        body = (await client.get("/models")).json()
    assert body["installed"] == ["gemma3:latest", "llama3.2:latest"]
    assert body["defaults"]["critic"] == "gemma3"
    assert body["defaults"]["planner"] == "llama3.2"
    assert ("GET", "/api/tags", None) in ollama.requests


async def test_a_missing_model_is_refused_up_front_and_nothing_changes(
    database: Any, tmp_path: Path, ollama: LoopbackOllama
) -> None:
    models = ollama_models(ollama.base_url, DEFAULTS, timeout_s=5.0)
    async with serve(database, tmp_path, models=models) as served:
        thread_id, token = await served.new_thread()
        async with served.http(token) as client:
            patched = await client.patch(
                f"/threads/{thread_id}/settings", json={"models": {"style": "mistral"}}
            )
            assert patched.status_code == 422
            error = patched.json()["error"]
            assert error["code"] == "model_not_found"
            assert "ollama pull mistral" in error["message"]
            assert "style=mistral" in error["message"]
            settings = (await client.get(f"/threads/{thread_id}/settings")).json()
            assert "style" not in (settings["settings"].get("models") or {})

            brief = {"messages": [{"role": "user", "content": "a lighthouse at dawn"}]}
            run = await client.post(
                f"/threads/{thread_id}/runs",
                json={
                    "assistant_id": "studio",
                    "input": {**brief, "settings": {"models": {"critic": "llava"}}},
                },
            )
            assert run.status_code == 422
            assert "ollama pull llava" in run.json()["error"]["message"]
            runs = (await client.get(f"/threads/{thread_id}/runs")).json()
            assert runs == []
            assert not any(path == "/api/chat" for _, path, _ in ollama.requests)

            ok = await client.patch(
                f"/threads/{thread_id}/settings", json={"models": {"style": "gemma3"}}
            )
            assert ok.status_code == 200
            assert ok.json()["models"]["style"] == "gemma3"
