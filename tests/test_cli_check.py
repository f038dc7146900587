"""`studio check`: one report of what each configured service can do, as a real CLI process."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from tests.comfyui_server import LoopbackComfyUI
from tests.ollama_server import LoopbackOllama

pytestmark = pytest.mark.anyio


async def studio(env: dict[str, str], *args: str) -> Any:
    with anyio.fail_after(120):
        return await anyio.run_process([sys.executable, "-m", "api", *args], env=env, check=False)


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("OLLAMA_URL", "COMFYUI_URL")}
    return {**clean, "DATABASE_URL": database_url, "STUDIO_HOME": str(tmp_path / "home")}


@pytest.fixture
async def comfyui() -> AsyncIterator[LoopbackComfyUI]:
    async with LoopbackComfyUI() as server:
        yield server


async def test_embedded_defaults_check_out(env: dict[str, str]) -> None:
    done = await studio(env, "check", "--json")
    assert done.returncode == 0, done.stderr.decode()
    report = json.loads(done.stdout)
    assert report["models"]["ok"] and report["images"]["ok"]
    assert report["images"]["generator"] == "renderer"
    assert report["images"]["detail"] == "built-in Pillow renderer (no model, no GPU)"
    assert report["images"]["templates"]["txt2img"]["runnable"]


async def test_check_names_what_is_missing_and_what_to_do(
    env: dict[str, str], comfyui: LoopbackComfyUI
) -> None:
    comfyui.upscale_models = ()
    async with LoopbackOllama({"llama3.2:latest": ["completion"]}) as ollama:
        env = {
            **env,
            "OLLAMA_URL": ollama.base_url,
            "COMFYUI_URL": comfyui.base_url,
            "STUDIO_DEFAULT_MODELS": json.dumps({"planner": "llama3.2", "critic": "gemma3"}),
        }
        done = await studio(env, "check", "--json")
        text = await studio(env, "check")
    assert done.returncode == 1
    report = json.loads(done.stdout)
    assert "run `ollama pull gemma3`" in report["models"]["error"]
    assert report["images"]["ok"] and report["images"]["version"] == "0.3.64"
    templates = report["images"]["templates"]
    assert templates["txt2img"]["runnable"] and not templates["upscale_model"]["runnable"]
    assert any("RealESRGAN" in line for line in templates["upscale_model"]["missing"])
    out = text.stdout.decode()
    assert text.returncode == 1 and "ollama pull gemma3" in out and "cannot run" in out


async def test_an_unreachable_image_server_is_reported_not_raised(
    env: dict[str, str], comfyui: LoopbackComfyUI
) -> None:
    url = comfyui.base_url
    await comfyui.__aexit__(None, None, None)  # nothing listens there any more
    done = await studio({**env, "COMFYUI_URL": url}, "check", "--json")
    assert done.returncode == 1, done.stderr.decode()
    report = json.loads(done.stdout)
    assert not report["images"]["ok"] and "Cannot reach ComfyUI" in report["images"]["error"]
