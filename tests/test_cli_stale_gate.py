"""F33 in the terminal: an answer typed at a gate that was answered elsewhere meanwhile is
refused, and the CLI shows the gate that waits now instead of applying it there."""

from __future__ import annotations

import json
import queue
import subprocess
import threading
from typing import Any

import pytest
from rich.console import Console

from adapters.errors import Conflict
from api.cli import main
from engine.studio import ThreadView
from tests.test_cli import NEON, STUDIO, env, studio

__all__ = ["env"]  # the fixture, shared with test_cli

pytestmark = pytest.mark.anyio

PLAN = {"id": "a" * 32, "value": {"gate": "plan", "actions": ["approve", "revise", "stop"]}}
OUTPUT = {"id": "b" * 32, "value": {"gate": "output", "actions": ["approve", "stop"]}}


class Thread:
    """Waits at the plan gate when first looked at; a browser then approves it."""

    def __init__(self) -> None:
        self.gates = [PLAN, OUTPUT]
        self.answers: list[tuple[str | None, dict[str, Any]]] = []

    async def view(self, thread_id: str) -> ThreadView:
        gate = self.gates.pop(0) if len(self.gates) > 1 else self.gates[0]
        return ThreadView(thread_id, "interrupted", "x", {}, [gate])

    async def answer(self, thread_id: str, interrupt_id: str | None, decision: Any) -> Any:
        self.answers.append((interrupt_id, decision))
        if interrupt_id != OUTPUT["id"]:
            raise Conflict("the outputs gate waits now")
        return None

    async def current_run(self, thread_id: str) -> None:
        return None


async def test_a_stale_prompt_answer_is_not_applied_to_the_next_gate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shown: list[str] = []

    def ask(console: Console, value: dict[str, Any]) -> dict[str, Any] | None:
        shown.append(value["gate"])
        return {"action": "approve"} if len(shown) == 1 else None  # Enter, then leave

    monkeypatch.setattr(main, "ask_gate", ask)
    thread = Thread()
    session = main.Session(thread, auto_approve=False, as_json=False)  # type: ignore[arg-type]
    session.console = Console(record=True, width=200)
    view = await session.drive("t", None)
    assert thread.answers == [(PLAN["id"], {"action": "approve"})]  # keyed by the plan gate
    assert shown == ["plan", "output"]  # refused: the outputs gate is shown, not approved
    assert view.interrupts == [OUTPUT]
    assert "plan gate was already answered elsewhere" in session.console.export_text()


def test_studio_resume_at_a_gate_answered_elsewhere_shows_the_gate_waiting_now(
    env: dict[str, str],
) -> None:
    """`studio resume T` asks at the plan gate; another terminal answers it meanwhile; the
    answer typed here is refused and the gate waiting now is asked, not an error with
    interrupt ids (the drive loop did this; the command's own first prompt did not)."""
    tid = json.loads(studio(env, "run", NEON, "--json").stdout)["thread_id"]
    asking = subprocess.Popen(
        [*STUDIO, "resume", tid],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    out, typed = asking.stdout, asking.stdin
    assert out is not None and typed is not None
    seen = queue.Queue[bytes]()

    def read() -> None:  # the prompt ends with no newline: read what comes, as it comes
        while chunk := out.read1(4096):  # type: ignore[attr-defined]
            seen.put(chunk)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    shown = b""
    while b"Action" not in shown:  # the plan gate's prompt
        shown += seen.get(timeout=120)
    other = studio(env, "resume", tid, "--action", "revise", "--feedback", "more fog")
    assert other.returncode == 0, other.stderr
    typed.write(b"approve\n")
    typed.close()  # then leave at the prompt that follows
    assert asking.wait(timeout=120) == 0
    reader.join(timeout=10)
    out.close()
    while not seen.empty():
        shown += seen.get()
    said = shown.decode()
    assert "The plan gate was already answered elsewhere; your answer was not sent" in said
    assert "is not waiting" not in said and "error:" not in said
    after = json.loads(studio(env, "resume", tid, "--json").stdout)
    assert after["phase"] == "awaiting_plan_approval"  # the stale approve approved nothing
