"""The studio graph's state: plain, checkpoint-safe data (no images, asset ids only)."""

from __future__ import annotations

import operator
from typing import Annotated, Any, Literal, NotRequired, get_args

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages
from typing_extensions import TypedDict

Role = Literal[
    "planner", "style", "composition", "story", "director", "critic", "consistency", "manager"
]
ROLES: tuple[Role, ...] = get_args(Role)
PERSONAS: dict[str, str] = {
    "planner": "Planner",
    "style": "Luna",
    "composition": "Frame",
    "story": "Saga",
    "director": "Pixel",
    "critic": "Lens",
    "consistency": "Consistency",
    "manager": "Manager",
}
"""Display name per role id; messages carry the role id as `name`."""

Phase = Literal[
    "created",
    "planning",
    "ideation",
    "refinement",
    "synthesis",
    "review",
    "awaiting_plan_approval",
    "generating",
    "reviewing",
    "iterating",
    "awaiting_approval",
    "approved",
    "completed",
    "failed",
    "interrupted",
]
TERMINAL_PHASES: frozenset[str] = frozenset({"approved", "completed", "failed", "interrupted"})
PHASE_ORDER: tuple[str, ...] = tuple(p for p in get_args(Phase) if p not in TERMINAL_PHASES)
"""Working phases in the order a session moves through them."""
LOOP_BACKS: frozenset[tuple[str, str]] = frozenset(
    {
        ("review", "synthesis"),  # Lens sends the plan back once
        ("awaiting_plan_approval", "synthesis"),  # the person revises the plan
        ("iterating", "generating"),  # the iterate loop
        ("awaiting_approval", "iterating"),  # the person asks for a regeneration
        ("awaiting_approval", "generating"),
    }
)
"""The only backward moves; everything else moves forward or to a terminal phase."""

GateName = Literal["clarify", "consensus", "plan", "output"]
GateAction = Literal["approve", "revise", "regenerate", "pick", "stop", "answer"]
GATE_ACTIONS: dict[str, tuple[str, ...]] = {
    "clarify": ("answer", "stop"),
    "consensus": ("answer", "stop"),
    "plan": ("approve", "revise", "stop"),
    "output": ("approve", "regenerate", "pick", "stop"),
}


class Budgets(TypedDict, total=False):
    """Per-thread limits; when one runs out the session ends and says why."""

    max_iterations: int
    max_generations: int
    max_seconds: float
    max_tokens: int


class ThreadSettings(TypedDict, total=False):
    """Options a thread's input may carry alongside the brief."""

    auto_approve: bool
    budgets: Budgets
    models: dict[str, str]
    """Model name per role id (used when Ollama is configured)."""
    max_rounds: int
    score_threshold: float
    drift_threshold: float
    seed: int


class Deliverable(TypedDict):
    id: str
    title: str
    purpose: str
    aspect: str
    """`16:9`, `1:1`, `4:5`, ..."""


class Plan(TypedDict):
    deliverables: list[Deliverable]
    style_guards: list[str]
    scope: str


class Contribution(TypedDict):
    role: str
    round: int
    text: str


class Generation(TypedDict):
    """One generated image, referenced by asset id (never bytes)."""

    asset_id: str
    deliverable: str
    iteration: int
    attempt: int
    seed: int
    generator: str
    path: str


class Failure(TypedDict):
    """A deliverable the image server could not make (invalid workflow, failed run, OOM)."""

    deliverable: str
    iteration: int
    code: str
    message: str


class Critique(TypedDict):
    asset_id: str
    deliverable: str
    iteration: int
    score: float
    reasons: list[str]
    measurements: dict[str, float]


class DriftReport(TypedDict):
    drift: float
    pairs: list[dict[str, Any]]
    flags: list[str]


class GateDecision(TypedDict, total=False):
    """The one shape every gate resumes with."""

    action: GateAction
    feedback: str
    deliverable: str
    asset_id: str
    answer: str


class GateRecord(TypedDict):
    gate: str
    action: str
    feedback: str
    deliverable: str
    asset_id: str
    auto: bool


class Usage(TypedDict, total=False):
    tokens: int
    """LLM tokens used (prompt + completion)."""
    generations: int
    """Images generated."""
    seconds: float
    """Seconds of work (time spent inside nodes; waiting at a gate does not count)."""


def merge_dict(left: dict[str, Any] | None, right: dict[str, Any] | None) -> dict[str, Any]:
    """Reducer: shallow-merge `right` into `left` (keys set to None are removed)."""
    merged = dict(left or {})
    for key, value in (right or {}).items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def add_usage(left: Usage | None, right: Usage | None) -> Usage:
    """Reducer: every counter adds up."""
    out: dict[str, float] = dict(left or {})  # type: ignore[arg-type]
    for key, value in (right or {}).items():
        out[key] = out.get(key, 0) + value  # type: ignore[operator]
    return out  # type: ignore[return-value]


def advance_phase(left: str | None, right: str | None) -> str:
    """Reducer: phases move forward only, except the loops in `LOOP_BACKS`; any phase may end."""
    if right is None:
        return left or "created"
    if not left or right in TERMINAL_PHASES or left == right:
        return right
    if left in TERMINAL_PHASES:
        return right  # a finished thread re-entered by a new message starts moving again
    if (left, right) in LOOP_BACKS or PHASE_ORDER.index(right) > PHASE_ORDER.index(left):
        return right
    raise ValueError(f"phase cannot move back from {left!r} to {right!r}")


class StudioInput(TypedDict):
    """What a run's input may carry: the person's message(s), thread settings, a stop request."""

    messages: Annotated[list[AnyMessage], add_messages]
    settings: NotRequired[Annotated[ThreadSettings, merge_dict]]
    stop_requested: NotRequired[bool]
    """Set by a run's input to end the session now (phase `interrupted`)."""


class StudioState(StudioInput):
    """Everything the session knows, checkpointed after every step."""

    brief: NotRequired[str]
    """The person's brief, from the first message (plus clarifying answers)."""
    phase: NotRequired[Annotated[str, advance_phase]]
    humans_seen: NotRequired[int]
    """How many human messages the graph has already taken in (the rest are interjections)."""
    question: NotRequired[str]
    """The open question for the clarify / consensus gate."""
    round: NotRequired[int]
    """Discussion round: 1 is ideation, later rounds are refinement."""
    contributions: NotRequired[Annotated[list[Contribution], operator.add]]
    """What each specialist said in which round (the moderator compares rounds)."""
    plan: NotRequired[Plan]
    direction: NotRequired[Annotated[list[str], operator.add]]
    """Pinned direction from the person (interjections, answers, gate feedback), oldest first."""
    focus: NotRequired[Annotated[dict[str, str], merge_dict]]
    """Direction the person gave for one deliverable only (it never reaches the others)."""
    specs: NotRequired[Annotated[dict[str, dict[str, Any]], merge_dict]]
    """Current `GenerationSpec` (as a dict) per deliverable id."""
    spec_notes: NotRequired[list[str]]
    """What clamping changed in the latest specs."""
    plan_review: NotRequired[dict[str, Any]]
    feedback: NotRequired[Annotated[dict[str, str], merge_dict]]
    """Feedback for the technical director per deliverable id (`*` for all); cleared when used."""
    pending: NotRequired[list[str]]
    """Deliverable ids to (re)generate in the next generate step."""
    iteration: NotRequired[int]
    generations: NotRequired[Annotated[list[Generation], operator.add]]
    critiques: NotRequired[Annotated[list[Critique], operator.add]]
    failures: NotRequired[Annotated[list[Failure], operator.add]]
    """Generations that failed for good (a retry would fail the same way)."""
    drift: NotRequired[DriftReport]
    selected: NotRequired[Annotated[dict[str, str], merge_dict]]
    """Chosen asset id per deliverable (the person's pick, else the best score)."""
    gates: NotRequired[Annotated[list[GateRecord], operator.add]]
    usage: NotRequired[Annotated[Usage, add_usage]]
    outcome: NotRequired[str]
    """How the session ends: approved, completed (a budget ran out), interrupted, failed."""
    stop_reason: NotRequired[str]
    """Why it ended: approved, stopped_by_person, max_iterations, max_generations, ..."""
