"""Human gates: each is one node that calls `interrupt()` first and acts on the answer after.

Every gate resumes with one shape (an `action` plus what it needs); the resume value is
validated by the gate's `response_schema`, so an action the gate does not accept is refused
(nothing is saved and the gate can be answered again) instead of guessed.
"""

from __future__ import annotations

import functools
import uuid
from typing import Any, Literal

from langchain_core.messages import AIMessage, HumanMessage
from langgraph.config import get_config
from langgraph.runtime import Runtime
from langgraph.types import Command, interrupt
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, model_validator

from graph import directions, variants
from graph.budgets import ThreadLimits, exhausted, limits
from graph.context import StudioContext, thread_of
from graph.emit import emit, phase
from graph.fanout import generation_sends
from graph.state import GATE_ACTIONS, GateRecord, Generation, StudioState, human_texts

MIN_PREFIX = 8
"""An asset id may be given by any unique prefix of at least this many characters."""


class GateAnswer(BaseModel):
    """Each gate's resume schema: `{action, feedback?, deliverable?, asset_id?, answer?}`."""

    model_config = ConfigDict(extra="forbid")
    gate: str = Field("", exclude=True, description="set by the gate, not by the person")
    action: str
    feedback: str = ""
    deliverable: str | None = None
    asset_id: str | None = None
    answer: str = ""

    def allowed(self) -> dict[str, Any]:
        return {}

    @model_validator(mode="after")
    def _accepted(self) -> GateAnswer:
        actions = GATE_ACTIONS[self.gate]
        if self.action not in actions:
            raise ValueError(
                f"the {self.gate} gate accepts {', '.join(actions)}; got {self.action!r}"
            )
        choices = self.allowed()
        if self.asset_id:
            self.asset_id = _full_id(self.asset_id.strip(), choices.get("asset_id", []))
        if self.action == "answer" and not self.answer.strip():
            raise ValueError("action 'answer' needs a non-empty 'answer'")
        if self.action == "revise" and not self.feedback.strip():
            raise ValueError("action 'revise' needs 'feedback' saying what to change")
        if (self.action == "pick" or self.asset_id) and self.asset_id not in choices.get(
            "asset_id", []
        ):
            raise ValueError(
                f"action {self.action!r} needs an 'asset_id' of this thread's outputs: "
                f"{', '.join(choices.get('asset_id', [])) or 'none yet'}"
            )
        owner = choices.get("owner", {}).get(self.asset_id or "")
        if self.asset_id and self.deliverable and owner and owner != self.deliverable:
            raise ValueError(
                f"asset {self.asset_id} is an output of {owner}, not {self.deliverable}"
            )
        if self.deliverable and self.deliverable not in choices.get("deliverable", []):
            raise ValueError(
                f"unknown deliverable {self.deliverable!r}; expected one of "
                f"{', '.join(choices.get('deliverable', []))}"
            )
        return self


def _full_id(given: str, ids: list[str]) -> str:
    """The asset id a prefix names (at least `MIN_PREFIX` characters and unique)."""
    if given in ids or len(given) < MIN_PREFIX:
        return given
    matches = [i for i in ids if i.startswith(given)]
    if len(matches) > 1:
        raise ValueError(f"asset id {given!r} matches {len(matches)} outputs; give more of it")
    return matches[0] if matches else given


def choices(deliverables: list[str], assets: dict[str, str] | None = None) -> dict[str, Any]:
    """What a gate's answer may name, carried in the interrupt itself."""
    return {"deliverables": list(deliverables), "assets": dict(assets or {})}


def schema_for(payload: dict[str, Any]) -> type[GateAnswer]:
    """The answer schema of a gate, built from the choices its interrupt carries."""
    offered = payload.get("choices") or {}
    return answer_schema(
        str(payload.get("gate")),
        deliverables=list(offered.get("deliverables") or []),
        assets=dict(offered.get("assets") or {}),
    )


def readable(error: ValidationError) -> str:
    """A validation error in one line, as the person reads it."""
    parts = []
    for item in error.errors():
        message = str(item.get("msg", "")).removeprefix("Value error, ")
        where = ".".join(str(p) for p in item.get("loc", ()))
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


def answer_schema(
    gate: str, *, deliverables: list[str] | None = None, assets: dict[str, str] | None = None
) -> type[GateAnswer]:
    """The resume schema of one gate instance: its actions, deliverables, and asset ids (each
    with the deliverable it is an output of). Built once per distinct gate instance."""
    return _answer_schema(gate, tuple(deliverables or ()), tuple((assets or {}).items()))


@functools.lru_cache(maxsize=256)
def _answer_schema(
    gate: str, deliverables: tuple[str, ...], assets: tuple[tuple[str, str], ...]
) -> type[GateAnswer]:
    choices: dict[str, Any] = {
        "deliverable": list(deliverables),
        "asset_id": [asset for asset, _ in assets],
        "owner": dict(assets),
    }

    def allowed(self: GateAnswer) -> dict[str, Any]:
        return choices

    model = create_model(
        f"{gate.title()}GateAnswer",
        __base__=GateAnswer,
        gate=(str, Field(gate, exclude=True)),
        action=(str, Field(json_schema_extra={"enum": list(GATE_ACTIONS[gate])})),
    )
    model.allowed = allowed  # type: ignore[method-assign]
    return model


def _resuming() -> bool:
    """True when this gate run carries the person's answer. Peeks at LangGraph's scratchpad
    (the same check `interrupt()` makes) so the announcement is not repeated on resume."""
    scratchpad = get_config()["configurable"].get("__pregel_scratchpad")
    return bool(scratchpad and (scratchpad.resume or scratchpad.get_null_resume(False)))


def ask(payload: dict[str, Any]) -> GateAnswer:
    """Announce the gate (once), pause, and return the validated answer. An answer the gate
    does not accept (one that slipped past the edge's check) asks again with the reason, so
    the thread stays at the gate instead of failing."""
    if not _resuming():
        emit("gate", **{k: payload[k] for k in ("gate", "actions", "message")})
    schema = schema_for(payload)
    shown = payload
    while True:
        try:  # `interrupt` validates the answer with the schema; a refused one is not saved
            answer = interrupt(shown, response_schema=schema)
        except ValidationError as exc:
            shown = {**payload, "error": readable(exc)}  # ask again, saying why
            continue
        return answer if isinstance(answer, GateAnswer) else schema.model_validate(answer)


def ask_question(gate: str, question: str) -> GateAnswer:
    """A question gate: the person answers in their own words (or stops)."""
    payload = {
        "gate": gate,
        "actions": list(GATE_ACTIONS[gate]),
        "message": question,
        "question": question,
        "choices": choices([]),
    }
    return ask(payload)


def record(gate: str, answer: GateAnswer | None, *, auto: bool = False) -> dict[str, Any]:
    """The state update that logs a gate decision."""
    entry = GateRecord(
        gate=gate,
        action=answer.action if answer else "approve",
        auto=auto,
        feedback=answer.feedback if answer else "",
        deliverable=answer.deliverable or "" if answer else "",
        asset_id=answer.asset_id or "" if answer else "",
    )
    return {"gates": [entry]}


def heard(
    state: StudioState, words: str, source: str, deliverable: str | None = None
) -> dict[str, Any]:
    """The state update for words the person typed at a gate: their message in the chat, and
    each clause pinned as a direction (for `deliverable` alone when they chose one)."""
    plan = state["plan"]["deliverables"] if state.get("plan") else []
    return {
        "messages": [HumanMessage(words, id=str(uuid.uuid4()))],  # an id the chat keys on
        "humans_seen": len(human_texts(state)) + 1,
        "directions": directions.said(
            words, source=source, scope=deliverable or "*", deliverables=plan
        ),
    }


def stopped(gate: str, answer: GateAnswer) -> Command[Any]:
    return Command(
        goto="finalize",
        update={
            **record(gate, answer),
            "outcome": "interrupted",
            "stop_reason": "stopped_by_person",
        },
    )


async def ask_clarification(state: StudioState) -> Command[Literal["intake", "finalize"]]:
    """Ask the person the clarifying question; their answer joins the brief."""
    answer = ask_question("clarify", state.get("question") or "What should the images show?")
    if answer.action == "stop":
        return stopped("clarify", answer)
    return Command(
        goto="intake",
        update={
            **record("clarify", answer),
            "messages": [HumanMessage(answer.answer)],
        },
    )


async def ask_consensus(state: StudioState) -> Command[Literal["direct", "finalize"]]:
    """The team could not agree: the person picks the direction (Pixel decides when auto)."""
    question = state.get("question") or "Which direction should the team take?"
    if (state.get("settings") or {}).get("auto_approve"):
        text = "Auto-approve is on: Pixel settles the disagreement from the strongest proposal."
        return Command(
            goto="direct",
            update={
                **record("consensus", None, auto=True),
                "messages": [AIMessage(text, name="manager")],
                **phase("synthesis", "auto"),
            },
        )
    answer = ask_question("consensus", question)
    if answer.action == "stop":
        return stopped("consensus", answer)
    return Command(
        goto="direct",
        update={
            **record("consensus", answer),
            **heard(state, answer.answer, "consensus"),
            **phase("synthesis", "the person settled the direction"),
        },
    )


async def approve_plan(state: StudioState, runtime: Runtime[StudioContext]) -> Command[Any]:
    """Pause until the person approves the specs, revises them with feedback, or stops."""
    every = [d["id"] for d in state["plan"]["deliverables"]]
    if (state.get("settings") or {}).get("auto_approve"):
        answer = None
    else:
        answer = ask(
            {
                "gate": "plan",
                "actions": list(GATE_ACTIONS["plan"]),
                "message": "Approve the plan to start generating, or revise it with feedback.",
                "specs": [state["specs"][d] for d in every if d in state.get("specs", {})],
                "review": state.get("plan_review", {}),
                "notes": state.get("spec_notes", []),
                "choices": choices(every),
            }
        )
    if answer is not None and answer.action == "stop":
        return stopped("plan", answer)
    if answer is not None and answer.action == "revise":
        return Command(
            goto="direct",
            update={
                **record("plan", answer),
                **heard(state, answer.feedback, "plan_feedback", answer.deliverable),
                "feedback": {answer.deliverable or "*": answer.feedback},
                "pending": [answer.deliverable] if answer.deliverable else every,
                **phase("synthesis", "revising the plan"),
            },
        )
    budget = limits(state, runtime.context.defaults).max_generations
    return Command(
        goto=generation_sends(state, every, 1, budget) or "manage",
        update={
            **record("plan", answer, auto=answer is None),
            "iteration": 1,
            "pending": every,
            **phase("generating", "generating the set"),
        },
    )


def outputs(state: StudioState) -> list[dict[str, Any]]:
    """What the output gate shows: each deliverable's current variant with its critique."""
    critiques = {c["asset_id"]: c for c in state.get("critiques", [])}
    generations = variants.by_id(state)
    shown = []
    for _, asset in sorted(variants.current_of(state).items()):
        g, c = generations[asset], critiques.get(asset)
        shown.append(
            {
                **g,
                "current": True,
                "score": c["score"] if c else None,
                "reasons": c["reasons"] if c else [],
            }
        )
    return shown


def candidates(state: StudioState) -> list[dict[str, Any]]:
    """Newer variants that are not current (the manager kept a better one): one click away."""
    current = variants.current_of(state)
    score = variants.scores(state)
    return [
        {**g, "current": False, "score": score.get(g["asset_id"])}
        for g in variants.newest(state.get("generations", [])).values()
        if current.get(g["deliverable"]) != g["asset_id"]
    ]


async def approve_outputs(state: StudioState, runtime: Runtime[StudioContext]) -> Command[Any]:
    """Pause until the person approves, regenerates (one or all), picks a variant, or stops."""
    every = [d["id"] for d in state["plan"]["deliverables"]]
    known = {g["asset_id"] for g in state.get("generations", [])}
    lab = await variants.lab_results(runtime.context.assets, thread_of(runtime), known, set(every))
    assets = {g["asset_id"]: g["deliverable"] for g in [*state.get("generations", []), *lab]}
    missing = set(every) - {g["deliverable"] for g in state.get("generations", [])}
    if (state.get("settings") or {}).get("auto_approve"):
        answer = None
    else:
        listing = variants.variant_listing(state)
        answer = ask(
            {
                "gate": "output",
                "actions": list(GATE_ACTIONS["output"]),
                "message": "Approve the current variants, regenerate with feedback, pick "
                "another variant, or stop.",
                "outputs": outputs(state),
                "candidates": [*candidates(state), *({**g, "current": False} for g in lab)],
                "drift": state.get("drift", {}),
                "variants": {
                    d: [v["asset_id"] for v in listing.get(d, [])]
                    + [g["asset_id"] for g in lab if g["deliverable"] == d]
                    for d in every
                },
                "failures": [f for f in state.get("failures", []) if f["deliverable"] in missing],
                "stop_reason": state.get("stop_reason", ""),
                "choices": choices(every, assets),
            }
        )
    if answer is None or answer.action == "approve":
        auto = answer is None
        return Command(
            goto="finalize",
            update={
                **record("output", answer, auto=auto),
                "current": variants.current_of(state),  # exactly what the gate showed
                "outcome": "approved",
                # the person's approval is the reason; auto-approve keeps why the loop ended
                "stop_reason": state.get("stop_reason") or "approved" if auto else "approved",
            },
        )
    if answer.action == "stop":
        return stopped("output", answer)
    if answer.action == "pick":
        return await pick(state, answer, runtime, lab)
    lim = limits(state, runtime.context.defaults)
    if answer.asset_id:  # regenerate exactly: that output's recipe, as it was
        return await rerun(state, answer, lim, runtime)
    return regenerate(state, answer, every, lim)


async def pick(
    state: StudioState,
    answer: GateAnswer,
    runtime: Runtime[StudioContext],
    lab: list[Generation] | None = None,
) -> Command[Any]:
    """Make the picked variant current (the others of its deliverable are superseded) and
    show the gate again. A Media Lab result picked joins the thread's variants."""
    joined = [g for g in lab or [] if g["asset_id"] == answer.asset_id]
    state = {**state, "generations": [*state.get("generations", []), *joined]}
    chosen = variants.by_id(state)[str(answer.asset_id)]
    current = {**variants.current_of(state), chosen["deliverable"]: chosen["asset_id"]}
    for verdict, ids in variants.verdicts(state, current).items():
        await runtime.context.assets.record_verdict(thread_of(runtime), ids, verdict)
    what = f"iteration {chosen['iteration']}"
    generator = str(chosen.get("generator") or "")
    if generator.startswith("media lab "):  # "media lab upscale (embedded)": say what it is
        what = f"the Media Lab {generator.split()[2]} of {what}"
    text = f"{chosen['deliverable']}: {what} ({chosen['asset_id'][:MIN_PREFIX]}) is current now."
    return Command(
        goto="approve_outputs",
        update={
            **record("output", answer),
            "current": {chosen["deliverable"]: chosen["asset_id"]},
            "specs": await variants.specs_of(
                runtime.context.assets, {chosen["deliverable"]: chosen["asset_id"]}
            ),
            "drift": await variants.set_drift(runtime.context.assets, current),  # the new set's
            "generations": joined,
            "messages": [AIMessage(text, name="manager")],
        },
    )


def budget_used(state: StudioState, answer: GateAnswer, lim: ThreadLimits) -> Command[Any] | None:
    """Refuse a regeneration once a budget of the thread's work (generations, seconds,
    tokens) is spent, telling the person why. The iteration budget bounds the manager's own
    loop, not what the person asks for."""
    spent = exhausted(state, lim)
    if spent is None:
        return None
    code, sentence = spent
    text = (
        f"{sentence[0].upper()}{sentence[1:]}: approve, pick or stop, or raise {code} in the "
        "thread settings."
    )
    return Command(
        goto="approve_outputs",
        update={**record("output", answer), "messages": [AIMessage(text, name="manager")]},
    )


async def rerun(
    state: StudioState, answer: GateAnswer, lim: ThreadLimits, runtime: Runtime[StudioContext]
) -> Command[Any]:
    """Generate one output again from its own stored spec and seed, skipping Pixel (who would
    revise it): the recipe is re-run as is, as a new iteration of that deliverable."""
    if refused := budget_used(state, answer, lim):
        return refused
    asset = await runtime.context.assets.get(str(answer.asset_id))
    if asset is None:  # an output in state whose record is gone: nothing to re-run
        raise ValueError(f"asset {answer.asset_id} is no longer in the asset store")
    spec = {**asset.spec, "seed": asset.seed}
    iteration = state.get("iteration", 1) + 1
    replay: StudioState = {
        **state,
        "specs": {asset.deliverable: spec},
        "requested": [asset.deliverable],
    }
    sends = generation_sends(replay, [asset.deliverable], iteration, lim.max_generations)
    if not sends:
        text = "The generation budget is used; approve, pick or stop, or raise max_generations."
        return Command(
            goto="approve_outputs",
            update={**record("output", answer), "messages": [AIMessage(text, name="manager")]},
        )
    text = (
        f"Re-running {asset.deliverable} exactly as iteration {asset.iteration}: the same "
        f"spec and seed {asset.seed}."
    )
    return Command(
        goto=sends,
        update={
            **record("output", answer),
            "specs": {asset.deliverable: spec},
            "iteration": iteration,
            "pending": [asset.deliverable],
            "requested": [asset.deliverable],
            "stop_reason": None,
            "messages": [AIMessage(text, name="director")],
            **phase("iterating", f"re-running {asset.deliverable} exactly"),
        },
    )


def regenerate(
    state: StudioState, answer: GateAnswer, every: list[str], lim: ThreadLimits
) -> Command[Any]:
    """Send the feedback to Pixel for one deliverable or all, if the iteration budget allows;
    the feedback is pinned as direction and the new outputs become current."""
    if refused := budget_used(state, answer, lim):
        return refused
    iteration = state.get("iteration", 1)
    targets = [answer.deliverable] if answer.deliverable else every
    feedback = answer.feedback or "make it better against the brief"
    said = heard(state, answer.feedback, "output_feedback", answer.deliverable)
    return Command(
        goto="direct",
        update={
            **record("output", answer),
            **(said if answer.feedback.strip() else {}),
            "iteration": iteration + 1,
            "pending": targets,
            "requested": targets,
            "settled": {d: None for d in targets},
            "feedback": {d: feedback for d in targets},
            "stop_reason": None,
            **phase("iterating", "regenerating with feedback"),
        },
    )
