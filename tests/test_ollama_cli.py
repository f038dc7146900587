"""`studio run` with `OLLAMA_URL`: a real CLI process talking to the loopback Ollama."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from tests.ollama_server import LoopbackOllama

pytestmark = pytest.mark.anyio

NEON = "cyberpunk street scene at night, neon signs"
DEFAULTS = {
    "planner": "llama3.2",
    "style": "llama3.2",
    "composition": "llama3.2",
    "story": "llama3.2",
    "director": "llama3.2",
    "critic": "gemma3",
}


@pytest.fixture
async def ollama() -> AsyncIterator[LoopbackOllama]:
    installed = {
        "llama3.2:latest": ["completion"],
        "gemma3:latest": ["completion", "vision"],
        "qwen3:latest": ["completion"],
    }
    async with LoopbackOllama(installed) as server:
        yield server


@pytest.fixture
def env(database_url: str, tmp_path: Path, ollama: LoopbackOllama) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "STUDIO_HOME": str(tmp_path / "home"),
        "OLLAMA_URL": ollama.base_url,
        "STUDIO_DEFAULT_MODELS": json.dumps(DEFAULTS),
        "STUDIO_LLM_RETRY_BACKOFF_S": "0.01",
        "COLUMNS": "120",
    }


async def studio(env: dict[str, str], *args: str) -> Any:
    with anyio.fail_after(240):
        return await anyio.run_process([sys.executable, "-m", "api", *args], env=env, check=False)


async def test_run_refuses_a_model_that_is_not_installed(
    env: dict[str, str], ollama: LoopbackOllama
) -> None:
    done = await studio(env, "run", NEON, "--auto-approve", "--model", "critic=nope")
    assert done.returncode == 1
    assert (
        "critic=nope" in done.stderr.decode() and "run `ollama pull nope`" in done.stderr.decode()
    )
    assert not ollama.chats  # refused before anyone spoke
    listed = await studio(env, "threads", "--json")
    assert json.loads(listed.stdout) == []


async def test_run_speaks_through_ollama_with_the_thread_assignment(
    env: dict[str, str], ollama: LoopbackOllama
) -> None:
    done = await studio(env, "run", NEON, "--auto-approve", "--json", "--model", "story=qwen3")
    assert done.returncode == 0, done.stderr.decode()
    assert json.loads(done.stdout)["phase"] == "approved"
    assert f"Ollama at {ollama.base_url}" in done.stderr.decode()
    assert {c.model for c in ollama.chats_for("story")} == {"qwen3"}
    assert {c.model for c in ollama.chats_for("critic")} == {"gemma3"}
    assert {c.model for c in ollama.chats_for("planner")} == {"llama3.2"}
