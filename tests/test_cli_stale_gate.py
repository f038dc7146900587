"""F33 in the terminal: an answer typed at a gate that was answered elsewhere meanwhile is
refused, and the CLI shows the gate that waits now instead of applying it there."""

from __future__ import annotations

from typing import Any

import pytest
from rich.console import Console

from adapters.errors import Conflict
from api.cli import main
from engine.studio import ThreadView

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
