"""The deployment files as compose and Docker read them: services, healthchecks, env wiring."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from pydantic import AliasChoices

from engine.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]
STUDIO: dict[str, Any] = SERVICES["studio"]
# ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}; `$$` is a literal `$`.
INTERPOLATION = re.compile(
    r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}"
)


def setting_names() -> set[str]:
    """The environment variables `Settings` reads: its aliases, else prefix + field name."""
    prefix = str(Settings.model_config.get("env_prefix", ""))
    names: set[str] = set()
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, str):
            names.add(alias)
        elif isinstance(alias, AliasChoices):
            names.update(choice for choice in alias.choices if isinstance(choice, str))
        else:
            names.add(f"{prefix}{name}".upper())
    return names


def env_example() -> dict[str, bool]:
    """Each variable `.env.example` lists, with whether it is set (not commented out)."""
    listed: dict[str, bool] = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if match := re.match(r"^(#\s*)?([A-Z][A-Z0-9_]*)=", line.strip()):
            listed[match.group(2)] = match.group(1) is None
    return listed


def strings(node: Any) -> list[str]:
    """Every string value (and mapping key) in a parsed YAML document."""
    if isinstance(node, dict):
        return [s for k, v in node.items() for s in (*strings(k), *strings(v))]
    if isinstance(node, list):
        return [s for item in node for s in strings(item)]
    return [node] if isinstance(node, str) else []


def compose_variables() -> dict[str, str | None]:
    """Each variable compose.yaml interpolates, with its operator (`:-`, `:?`, ... or None)."""
    found: dict[str, str | None] = {}
    for text in strings(COMPOSE):
        for match in INTERPOLATION.finditer(text.replace("$$", "")):
            found[match["name"]] = match["op"]
    return found


def interpolate(text: str, env: dict[str, str]) -> str:
    """What compose makes of `text` with `env` (the subset of its rules compose.yaml uses)."""

    def one(match: re.Match[str]) -> str:
        value, op, arg = env.get(match["name"]), match["op"], match["arg"]
        if (op in (":-", ":?") and not value) or (op in ("-", "?") and value is None):
            if op.endswith("?"):
                raise ValueError(f"{match['name']}: {arg}")
            return arg
        return value or ""

    return "$".join(INTERPOLATION.sub(one, part) for part in text.split("$$"))


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def test_compose_runs_the_stack_with_a_healthcheck_per_long_running_service() -> None:
    assert set(SERVICES) == {"postgres", "ollama", "ollama-pull", "comfyui", "studio"}
    for name, service in SERVICES.items():
        if service.get("restart") == "no":  # a one-shot job: done is its health
            continue
        test = service.get("healthcheck", {}).get("test")
        assert test and test != ["NONE"], f"{name} has no healthcheck"
    assert SERVICES["postgres"]["image"] == "postgres:16"
    assert "pg_isready" in " ".join(SERVICES["postgres"]["healthcheck"]["test"])
    assert SERVICES["ollama"]["healthcheck"]["test"] == ["CMD", "ollama", "list"]
    assert "127.0.0.1:8188/system_stats" in " ".join(SERVICES["comfyui"]["healthcheck"]["test"])
    assert "127.0.0.1:8000/ok" in " ".join(STUDIO["healthcheck"]["test"])
    assert STUDIO["build"] == "." and STUDIO["ports"] == ["${HTTP_PORT:-8000}:8000"]
    volumes = {v.split(":")[1] for v in SERVICES["comfyui"]["volumes"]}
    assert "/root/ComfyUI/models" in volumes  # the models volume
    assert SERVICES["comfyui"]["image"].startswith("${COMFYUI_IMAGE:-")  # configurable


def test_services_wait_for_what_they_need_to_be_healthy() -> None:
    assert STUDIO["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "ollama": {"condition": "service_healthy"},
        "ollama-pull": {"condition": "service_completed_successfully"},
        "comfyui": {"condition": "service_healthy"},
    }
    assert SERVICES["ollama-pull"]["depends_on"] == {"ollama": {"condition": "service_healthy"}}
    for name, service in SERVICES.items():
        for dependency, rule in service.get("depends_on", {}).items():
            if rule["condition"] == "service_healthy":
                assert "healthcheck" in SERVICES[dependency], f"{name} waits on {dependency}"


def test_studio_environment_wires_real_settings_to_the_services() -> None:
    env = environment(STUDIO)
    assert set(env) <= setting_names(), set(env) - setting_names()
    password = "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD in .env}"
    postgres = environment(SERVICES["postgres"])
    assert postgres["POSTGRES_PASSWORD"] == password
    database = urlsplit(env["DATABASE_URL"].replace(password, "PASSWORD"))
    assert (database.scheme, database.hostname, database.port) == ("postgresql", "postgres", 5432)
    assert (database.username, database.password) == (postgres["POSTGRES_USER"], "PASSWORD")
    assert database.path == f"/{postgres['POSTGRES_DB']}"
    assert env["OLLAMA_URL"] == "http://ollama:11434"
    assert env["COMFYUI_URL"] == "http://comfyui:8188"
    assert env["STUDIO_HOME"] in {v.split(":")[1] for v in STUDIO["volumes"]}
    # Every other setting reaches the studio from .env; the wiring above wins over it.
    assert STUDIO["env_file"] == [{"path": ".env", "required": False}]


def test_env_example_lists_every_setting_and_compose_variable() -> None:
    listed, settings, variables = env_example(), setting_names(), compose_variables()
    assert settings <= set(listed), f"missing from .env.example: {settings - set(listed)}"
    assert set(variables) <= set(listed), (
        f"missing from .env.example: {set(variables) - set(listed)}"
    )
    assert set(listed) <= settings | set(variables), "stale: " + str(
        set(listed) - settings - set(variables)
    )
    required = {name for name, op in variables.items() if op in (":?", "?")}
    assert required == {"POSTGRES_PASSWORD"}
    assert all(listed[name] for name in required)  # `cp .env.example .env` is enough to start
    # Only the required lines are set: every other setting keeps the code's default.
    assert {name for name, is_set in listed.items() if is_set} == required


def test_env_example_starts_the_stack_as_is() -> None:
    env = {"POSTGRES_PASSWORD": "change-me"}
    for text in strings(COMPOSE):
        interpolate(text, env)  # raises on a required variable left unset
    with pytest.raises(ValueError, match="set POSTGRES_PASSWORD in .env"):
        interpolate(environment(STUDIO)["DATABASE_URL"], {})


@pytest.mark.skipif(shutil.which("sh") is None, reason="needs a POSIX shell")
def test_ollama_pull_fetches_the_default_role_models_it_lacks(tmp_path: Path) -> None:
    service = SERVICES["ollama-pull"]
    assert service["entrypoint"] == ["/bin/sh", "-c"] and service["restart"] == "no"
    script = interpolate(service["command"][0], {})
    fake = tmp_path / "ollama"  # `ollama show` knows gemma3 only; `ollama pull` logs its model
    fake.write_text(
        '#!/bin/sh\nif [ "$1" = show ]; then [ "$2" = gemma3 ]; exit; fi\n'
        f'echo "$2" >> {tmp_path / "pulled"}\n'
    )
    fake.chmod(0o755)

    def pulled(studio_default_models: str | None) -> set[str]:
        values = {"STUDIO_DEFAULT_MODELS": studio_default_models} if studio_default_models else {}
        env = {key: interpolate(value, values) for key, value in environment(service).items()}
        (tmp_path / "pulled").write_text("")
        subprocess.run(
            ["sh", "-c", script],
            env={**env, "PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}"},
            check=True,
            capture_output=True,
        )
        return set((tmp_path / "pulled").read_text().split())

    field = Settings.model_fields["default_models"]
    assert field.default_factory is not None
    defaults: dict[str, str] = field.default_factory()
    assert pulled(None) == set(defaults.values()) - {"gemma3"}
    custom = {**defaults, "style": "qwen3:8b", "critic": "gemma3"}
    expected = (set(custom.values()) | set(defaults.values())) - {"gemma3"}
    assert pulled(json.dumps(custom)) == expected


def test_gpu_override_reserves_nvidia_gpus_for_existing_services() -> None:
    override = yaml.safe_load((ROOT / "compose.gpu.yaml").read_text())["services"]
    assert set(override) == {"ollama", "comfyui"}
    for service in override.values():
        (device,) = service["deploy"]["resources"]["reservations"]["devices"]
        assert device["driver"] == "nvidia" and device["capabilities"] == ["gpu"]


def dockerfile() -> dict[str, list[str]]:
    """Each instruction's arguments, continuation lines joined, keyed by instruction."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            instruction, _, rest = line.strip().partition(" ")
            found.setdefault(instruction.upper(), []).append(rest.strip())
    return found


def test_dockerfile_serves_the_studio_as_a_non_root_user() -> None:
    found = dockerfile()
    assert found["FROM"][-1] == "python:3.11-slim"  # the image that runs
    assert found["USER"][-1] not in ("root", "0")
    assert json.loads(found["CMD"][-1]) == [
        "studio",
        "serve",
        "--host",
        "0.0.0.0",
        "--port",
        "8000",
    ]
    (healthcheck,) = found["HEALTHCHECK"]
    assert "CMD" in healthcheck and "127.0.0.1:8000/ok" in healthcheck
    assert found["EXPOSE"] == ["8000"]
    # Every package the wheel ships (and the migrations) is copied into the image.
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    copied = {args.split()[0] for args in found["COPY"] if not args.startswith("--from")}
    assert set(packages) | {"migrations", "pyproject.toml"} <= copied
    assert json.loads(found["CMD"][-1])[0] in pyproject["project"]["scripts"]


def test_dockerfile_command_is_the_studio_cli_serve_command() -> None:
    from typer.testing import CliRunner

    from api.cli.main import app

    _, command, *options = json.loads(dockerfile()["CMD"][-1])
    result = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert {option for option in options if option.startswith("--")} <= set(
        re.findall(r"--[a-z-]+", result.output)
    )


def test_dockerignore_keeps_secrets_and_local_state_out() -> None:
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert {".env", ".venv", ".git", ".langgraph_api"} <= set(ignored)
