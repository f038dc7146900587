"""Check a resume before it becomes a run: known interrupt ids, and an answer the gate accepts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from langgraph.types import Interrupt
from pydantic import ValidationError

from adapters.errors import Conflict, InvalidGateAction, InvalidInput, friendly_validation
from adapters.interrupts import is_id_map
from engine.studio import Studio
from graph import variants
from graph.gates import GateAnswer, answer_schema, schema_for
from graph.state import GATE_ACTIONS
from store.checkpointer import StudioSaver


def _schema(gate_value: dict[str, Any]) -> type[GateAnswer]:
    """The gate's answer schema, from the choices its interrupt carries (a gate saved before
    interrupts carried them: from its variants or specs)."""
    if "choices" in gate_value:
        return schema_for(gate_value)
    variants = gate_value.get("variants") or {}
    if gate_value["gate"] == "output":
        assets = {asset: d for d, ids in variants.items() for asset in ids}
        return answer_schema("output", deliverables=list(variants), assets=assets)
    deliverables = [s.get("deliverable") for s in gate_value.get("specs", [])]
    return answer_schema(str(gate_value["gate"]), deliverables=deliverables)


def gate_name(value: Any) -> str:
    """The gate an interrupt's value names, as people read it ("output" is the outputs gate)."""
    gate = str(value.get("gate")) if isinstance(value, dict) else "unknown"
    return "outputs" if gate == "output" else gate


def check_answer(gate_value: Any, answer: Any, *, field: str | None = "command.resume") -> None:
    """Validate `answer` with the pending gate's own schema (422 naming what it accepts)."""
    if not isinstance(gate_value, dict) or gate_value.get("gate") not in GATE_ACTIONS:
        return  # not one of the studio's gates: nothing to check against
    try:
        _schema(gate_value).model_validate(answer)
    except ValidationError as exc:
        reason = friendly_validation(exc)
        raise InvalidGateAction(f"{field}: {reason}" if field else reason) from None


async def pending_interrupts(studio: Studio, thread_id: str) -> Sequence[Interrupt]:
    """The interrupts waiting at the thread's latest checkpoint: from the saver's pending
    writes (`StudioSaver.apending_interrupts`, one query) rather than `aget_state`, which
    rebuilds the whole snapshot (its values, lists and next tasks) only to list them; any
    other checkpointer through `aget_state`."""
    saver = studio.graph.checkpointer
    if isinstance(saver, StudioSaver):
        return await saver.apending_interrupts(thread_id)
    snapshot = await studio.graph.aget_state(studio.config(thread_id))
    return snapshot.interrupts


async def offered(studio: Studio, thread_id: str, value: Any) -> Any:
    """An output gate's value with the Media Lab results that joined the thread since it was
    asked (an upscale said in the chat ends after the gate asked again): they may be picked,
    as the gate itself accepts them when it reads the answer."""
    if not isinstance(value, dict) or value.get("gate") != "output" or "choices" not in value:
        return value
    offer = dict(value["choices"])
    known = set(offer.get("assets") or {})
    deliverables = set(offer.get("deliverables") or [])
    lab = await variants.lab_results(studio.context.assets, thread_id, known, deliverables)
    if not lab:
        return value
    offer["assets"] = {
        **(offer.get("assets") or {}),
        **{g["asset_id"]: g["deliverable"] for g in lab},
    }
    shown = [*value.get("candidates", []), *({**g, "current": False} for g in lab)]
    return {**value, "choices": offer, "candidates": shown}


async def _check(studio: Studio, thread_id: str, value: Any, answer: Any) -> None:
    """`check_answer`; an asset the gate did not offer is looked for among the Media Lab
    results that joined the thread since (one more query, only then)."""
    try:
        check_answer(value, answer)
    except InvalidGateAction:
        named = isinstance(answer, dict) and answer.get("asset_id")
        if not named or (newer := await offered(studio, thread_id, value)) is value:
            raise
        check_answer(newer, answer)


async def check_resume(
    studio: Studio, thread_id: str, resume: Any, *, busy: Callable[[], Awaitable[bool]]
) -> None:
    """Refuse a resume that would silently re-interrupt (unknown id) or fail the run. `busy`:
    whether the thread has runs queued or running, asked only when no gate waits (a queued
    resume may answer a gate that does not exist yet): at a gate, one statement."""
    pending = {i.id: i for i in await pending_interrupts(studio, thread_id)}
    if not pending:
        if await busy():
            return  # a queued resume: the gate it answers may not exist yet
        raise Conflict("The thread is not waiting at a gate; send `input` instead of a resume.")
    if is_id_map(resume):
        unknown = [key for key in resume if key not in pending]
        if unknown:  # a stale answer (its gate was answered elsewhere) must not answer another
            waiting = ", ".join(f"the {gate_name(i.value)} gate" for i in pending.values())
            raise Conflict(
                f"command.resume: the gate of interrupt {', '.join(unknown)} is not waiting "
                f"(it was already answered, or never was this thread's); {waiting} waits now "
                f"(interrupt {', '.join(pending)})"
            )
        for key, answer in resume.items():
            await _check(studio, thread_id, pending[key].value, answer)
        return
    if len(pending) > 1:
        raise InvalidInput(
            "command.resume: several gates are waiting; key the resume by interrupt id"
        )
    await _check(studio, thread_id, next(iter(pending.values())).value, resume)
