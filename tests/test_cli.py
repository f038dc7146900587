"""The `studio` CLI as a person uses it: real processes on a real Postgres."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest

from adapters.renderer import read_recipe

STUDIO = [sys.executable, "-m", "api"]
NEON = "cyberpunk street scene at night, neon signs"


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "STUDIO_HOME": str(tmp_path / "home"),
        "COLUMNS": "120",
    }


def studio(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*STUDIO, *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def test_run_auto_approve_json_prints_one_object(env: dict[str, str]) -> None:
    done = studio(env, "run", NEON, "--auto-approve", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)  # stdout carries exactly one JSON object
    assert set(result) == {"thread_id", "status", "phase", "iterations", "stop_reason", "assets"}
    assert result["phase"] == "approved" and result["status"] == "idle"
    assert len(result["assets"]) == 3
    for asset in result["assets"]:
        recipe: dict[str, Any] = read_recipe(Path(asset["path"]).read_bytes())
        assert recipe["spec"]["deliverable"] == asset["deliverable"]
        assert 0 <= asset["score"] <= 10
    assert "Luna" in done.stderr and "Frame" in done.stderr  # the live view went to stderr
    listed = json.loads(studio(env, "threads", "--json").stdout)
    assert [t["thread_id"] for t in listed] == [result["thread_id"]]
    assert set(listed[0]) == {"thread_id", "status", "phase", "updated_at"}


def test_gates_answered_from_the_command_line(env: dict[str, str]) -> None:
    first = json.loads(studio(env, "run", NEON, "--json").stdout)
    assert first["status"] == "interrupted" and first["phase"] == "awaiting_plan_approval"
    tid = first["thread_id"]
    bad = studio(env, "resume", tid, "--action", "pick", "--json")
    assert bad.returncode == 2
    assert bad.stderr.strip() == (
        "error: the plan gate accepts approve, revise, stop; got 'pick' "
        "(still waiting at the plan gate)"
    )
    still = json.loads(studio(env, "resume", tid, "--json").stdout)
    assert still["status"] == "interrupted" and still["phase"] == "awaiting_plan_approval"
    at_output = json.loads(studio(env, "resume", tid, "--action", "approve", "--json").stdout)
    assert at_output["status"] == "interrupted" and at_output["phase"] == "awaiting_approval"
    steered = studio(env, "say", tid, "more fog please", "--auto-approve", "--json")
    assert steered.returncode == 0, steered.stderr
    final = json.loads(steered.stdout)
    # the interjection made iteration 2; the manager may iterate on while Lens scores it low
    assert final["phase"] == "approved" and final["iterations"] >= 2


def test_interactive_prompt_answers_each_gate(env: dict[str, str]) -> None:
    done = studio(env, "run", NEON, stdin="approve\napprove\n")
    assert done.returncode == 0, done.stderr
    assert "Waiting for you at the plan gate" in done.stdout
    assert "phase approved" in done.stdout
    # the summary names each asset on a line of its own, its path whole (not wrapped at 120)
    assets = [line for line in done.stdout.splitlines() if "(score " in line]
    assert len(assets) == 3
    for line in assets:
        path = line.split(": ", 1)[1].rsplit(" (score ", 1)[0]
        assert Path(path).is_file(), line
    thread_id = done.stdout.split("Thread ", 1)[1].split()[0]
    listed = [line for line in studio(env, "threads").stdout.splitlines() if line.strip()]
    assert len(listed) == 1 and listed[0].startswith(thread_id) and NEON[:40] in listed[0]


def test_errors_are_one_clear_line(env: dict[str, str]) -> None:
    missing = studio(env, "resume", "no-such-thread")
    assert missing.returncode == 1
    assert missing.stderr.strip() == (
        "error: no thread 'no-such-thread' here; `studio threads` lists them"
    )
    bad_model = studio(env, "run", NEON, "--model", "painter=llava")
    assert bad_model.returncode == 2 and "Traceback" not in bad_model.stderr  # a usage error
    assert "--model: expects ROLE=NAME" in bad_model.stderr
    nowhere = {**env, "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}
    for command in (["threads"], ["serve"], ["serve", "--workers", "2"]):
        down = studio(nowhere, *command)
        assert down.returncode == 1 and "Traceback" not in down.stderr, command
        assert "DATABASE_URL" in down.stderr and len(down.stderr.strip().splitlines()) == 1


def test_help_explains_every_command(env: dict[str, str]) -> None:
    for command in ("run", "resume", "say", "threads", "check", "serve"):
        shown = studio(env, command, "--help")
        assert shown.returncode == 0 and "Usage" in shown.stdout
    # a description's paragraphs reflow to the terminal, not to the docstring's line breaks
    wide = studio({**env, "COLUMNS": "200"}, "check", "--help")
    assert "the image generator (ComfyUI version, devices, which templates" in wide.stdout


def _kill_when(proc: subprocess.Popen[str], marker: str, out: list[str]) -> None:
    """Read the live view until `marker` appears, then SIGKILL the process."""
    assert proc.stderr is not None
    for line in proc.stderr:
        out.append(line)
        if marker in line:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            return
    raise AssertionError("marker never appeared:\n" + "".join(out[-30:]))


def _count(url: str, query: str, *args: Any) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(query, args).fetchone()
        return int(row[0]) if row else 0


def test_sigkill_in_discussion_and_in_generation_then_resume_finishes(
    env: dict[str, str], database_url: str
) -> None:
    slow = {**env, "STUDIO_OFFLINE_TOKEN_DELAY_S": "0.002", "STUDIO_RENDER_STAGE_DELAY_S": "0.4"}
    tid = "kill-test"
    out: list[str] = []
    pipes: dict[str, Any] = {
        "env": slow,
        "stderr": subprocess.PIPE,
        "stdout": subprocess.DEVNULL,
        "text": True,
    }
    with subprocess.Popen(
        [*STUDIO, "run", NEON, "--auto-approve", "--json", "--thread-id", tid], **pipes
    ) as proc:
        _kill_when(proc, "Frame (composition)", out)  # mid-discussion, Frame is speaking
    assert proc.returncode == -signal.SIGKILL
    with subprocess.Popen([*STUDIO, "resume", tid, "--auto-approve", "--json"], **pipes) as proc:
        _kill_when(proc, "saved ", out)  # mid-generation: one image saved, others drawing
    assert proc.returncode == -signal.SIGKILL
    done = subprocess.run(
        [*STUDIO, "resume", tid, "--auto-approve", "--json"],
        env=slow,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["phase"] == "approved"
    assets = _count(database_url, "SELECT count(*) FROM assets WHERE thread_id = %s", tid)
    jobs = _count(
        database_url, "SELECT count(DISTINCT job_id) FROM assets WHERE thread_id = %s", tid
    )
    assert assets == jobs  # no asset duplicated
    files = list((Path(env["STUDIO_HOME"]) / "assets").rglob("*.png"))
    assert len(files) == assets


def test_say_without_auto_approve_waits_at_the_gate_to_show_the_new_outputs(
    env: dict[str, str],
) -> None:
    first = json.loads(studio(env, "run", NEON, "--auto-approve", "--json").stdout)
    assert first["phase"] == "approved"
    steered = studio(env, "say", first["thread_id"], "make it rainier", "--json")
    assert steered.returncode == 0, steered.stderr
    shown = json.loads(steered.stdout)
    assert shown["status"] == "interrupted" and shown["phase"] == "awaiting_approval"
