"""The studio graph's state: plain, checkpoint-safe data (no images, asset ids only)."""

from __future__ import annotations

import operator
from typing import Annotated, Any, Literal, NotRequired, get_args

from langchain_core.messages import AnyMessage, HumanMessage
from langgraph.graph.message import add_messages
from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
    with_config,
)
from typing_extensions import TypedDict

from adapters.deliverables import parse_deliverables
from graph.launch_settings import Format, LaunchSettings
from graph.video_settings import CheckedVideoSettings

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
    "researching",
    "scripting",
    "awaiting_script",
    "designing",
    "awaiting_selection",
    "experimenting",
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
        ("awaiting_script", "scripting"),  # launch: the person revises the scripts
        ("awaiting_selection", "designing"),  # launch: the person asks for new thumbnails
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
    "script": ("approve", "revise", "stop"),  # launch: approve one script (`deliverable`)
    "selection": ("approve", "regenerate", "stop"),  # launch: `answer` lists the variants
    "experiment": ("observe", "declare", "stop"),  # launch: the A/B test (graph/launch_gates.py)
    "stage": ("accept", "regenerate", "stop"),  # video: after each stage (graph/video_gates.py)
}


_STRICT = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)
"""Settings are checked as sent: no unknown keys, no `"3"` for 3, no NaN or infinity."""


def _known_role(role: str) -> str:
    if role not in ROLES:
        raise ValueError(f"unknown role {role}; roles: {', '.join(ROLES)}")
    return role


RoleId = Annotated[
    str, AfterValidator(_known_role), WithJsonSchema({"type": "string", "enum": list(ROLES)})
]


def _whole(value: Any) -> Any:
    """JSON's integers include `3.0`; a bool or a string stays what it is (and is refused)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        return int(value)
    return value


WHOLE = BeforeValidator(_whole)
"""After an `int` field's `Field(strict=True, ...)`: an integer as JSON Schema means it, `3`
or `3.0`, never `true` or `"3"` (before the constraints, they would leave the schema)."""
Whole = Annotated[int, Field(strict=True), WHOLE]
ModelName = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")]
DeliverableEntry = Annotated[
    str, Field(min_length=1, max_length=60, pattern=r"^[^\x00-\x1f\x7f]+$")
]


def _parsed_deliverables(entries: list[str]) -> list[str]:
    """Entries the planner can honour exactly (known ratios, names, at most 8 images)."""
    parse_deliverables(entries)  # raises ValueError naming the entry
    return entries


@with_config(_STRICT)
class Budgets(TypedDict, total=False):
    """Per-thread limits; when one runs out the session ends and says why."""

    max_iterations: Annotated[int, Field(strict=True, ge=0, le=50), WHOLE]
    max_generations: Annotated[int, Field(strict=True, ge=1, le=1000), WHOLE]
    max_seconds: Annotated[float, Field(gt=0, le=7 * 24 * 3600)]
    max_tokens: Annotated[int, Field(strict=True, ge=1, le=100_000_000), WHOLE]


@with_config(_STRICT)
class ThreadSettings(TypedDict, total=False):
    """Options a thread's input may carry alongside the brief. The one schema of settings:
    the HTTP API and the CLI refuse what it refuses (naming the field), and the graph keeps
    only what it accepts (`valid_settings`), so stored settings can never stop a thread."""

    deliverables: Annotated[
        list[DeliverableEntry], Field(max_length=8), AfterValidator(_parsed_deliverables)
    ]
    """Exactly these deliverables, each `NAME [ASPECT]` (`"hero 16:9"`, `"thumbnail 1:1"`)."""
    auto_approve: bool
    budgets: Budgets
    models: dict[RoleId, ModelName]
    """Model name per role id (used when Ollama is configured)."""
    max_rounds: Annotated[int, Field(strict=True, ge=1, le=10), WHOLE]
    score_threshold: Annotated[float, Field(ge=0, le=10)]
    drift_threshold: Annotated[float, Field(ge=0, le=1)]
    seed: Annotated[int, Field(strict=True, ge=0, lt=2**32), WHOLE]
    format: Format
    """`images` (default) or `launch` (graph/launch.py)."""
    launch: LaunchSettings
    video: CheckedVideoSettings
    """The video format's options: type, seconds, fps, size, voice, captions."""
    review_every_stage: bool
    """Video: pause at a gate after every stage (default on; off with auto-approve)."""
    references: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=64)]], Field(max_length=4)
    ]
    """Upload ids (`POST /media/uploads`) of reference images: Pixel's specs use the `img2img`
    template with the first as the init image; the built-in renderer takes their palette and
    layout. The API checks each exists and is the caller's (`settings.references[i]`)."""


THREAD_SETTINGS: TypeAdapter[ThreadSettings] = TypeAdapter(ThreadSettings)


def valid_settings(raw: object) -> ThreadSettings:
    """`raw` as `ThreadSettings`, without the fields the schema refuses (their defaults apply):
    what the graph reads, whatever was stored."""
    data: dict[str, Any] = dict(raw) if isinstance(raw, dict) else {}
    for _ in range(32):  # each pass drops at least one field
        try:
            return THREAD_SETTINGS.validate_python(data)
        except ValidationError as exc:
            for error in exc.errors():
                key, *rest = error["loc"] or ("",)
                inner = data.get(str(key))
                if key == "budgets" and rest and isinstance(inner, dict):
                    data["budgets"] = {k: v for k, v in inner.items() if k != rest[0]}
                else:
                    data.pop(str(key), None)
    return {}


def merge_settings(left: ThreadSettings | None, right: ThreadSettings | None) -> ThreadSettings:
    """Reducer: `merge_dict`, then only what the schema accepts."""
    return valid_settings(merge_dict(left, right))  # type: ignore[arg-type]


class Deliverable(TypedDict):
    id: str
    title: str
    purpose: str
    aspect: str
    """`16:9`, `1:1`, `4:5`, ..."""


DirectionSource = Literal[
    "brief", "interjection", "plan_feedback", "output_feedback", "clarify", "consensus"
]


class Direction(TypedDict):
    """One thing the person asked for, pinned until they change it."""

    text: str
    """The words that reach the prompt (or, when `negative`, the negative prompt)."""
    scope: str
    """`*` for the whole set, else one deliverable id."""
    source: str
    """A `DirectionSource`: where the person said it."""
    negative: bool
    """True for something to keep out ("avoid faces" -> `faces`)."""
    at: str
    """When it was said (ISO 8601, UTC)."""


class Plan(TypedDict):
    """The plan the session works to: the planner's answer (`agents.schemas.PlanOut`) as
    `agents.planner.clean_plan` keeps it."""

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
    requested: NotRequired[bool]
    """Made because the person asked (regenerate, interjection, re-run): it becomes current."""


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
    targets: NotRequired[dict[str, float]]
    """What each checked measurement was checked against (`brightness`, `subject_x`, ...)."""
    unchecked: NotRequired[list[str]]
    """What the brief asks that nobody could check (no vision model): "a stray cat", ..."""
    missing: NotRequired[list[str]]
    """Asked-for elements not found in the image ("legible text"); each costs points."""
    undrawn: NotRequired[list[str]]
    """What the renderer could not draw of what was asked ("desert"): the score is capped, and
    iterating cannot fix it."""
    uncapped: NotRequired[float]
    """The score before that cap."""
    moved: NotRequired[list[str]]
    """For each measurable thing the person asked since the previous current variant, whether
    this image moved that way: "warmer: yes (warmth 0.02 -> 0.09)"."""
    sketch: NotRequired[bool]
    """The image is a layout sketch (its recipe says `sketch`: no generative model)."""
    directions_seen: NotRequired[int]
    """How many directions the thread held when this was scored (later ones are new asks)."""


class DriftReport(TypedDict):
    drift: float
    pairs: list[dict[str, Any]]
    flags: list[str]


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
    settings: NotRequired[Annotated[ThreadSettings, merge_settings]]
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
    directions: NotRequired[Annotated[list[Direction], operator.add]]
    """Everything the person directed (brief specifics, interjections, answers, gate feedback),
    oldest first, each with its scope and source; carried into every spec in scope."""
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
    current: NotRequired[Annotated[dict[str, str], merge_dict]]
    """The current variant (asset id) per deliverable: what the output gate shows and what
    `approve` finalises. A requested regeneration or a `pick` makes a variant current; the
    manager's own iteration only when it scores higher."""
    requested: NotRequired[list[str]]
    """Deliverables the person asked to be made again: their next outputs become current."""
    settled: NotRequired[Annotated[dict[str, str], merge_dict]]
    """Deliverables the manager stopped iterating (an iteration did not improve), with why."""
    gates: NotRequired[Annotated[list[GateRecord], operator.add]]
    usage: NotRequired[Annotated[Usage, add_usage]]
    outcome: NotRequired[str]
    """How the session ends: approved, completed (a budget ran out), interrupted, failed."""
    stop_reason: NotRequired[str]
    """Why it ended: approved, stopped_by_person, max_iterations, max_generations, ..."""
    launch: NotRequired[Annotated[dict[str, Any], merge_dict]]
    """The launch format's work: trends, scripts, thumbnails, the A/B test (graph/launch.py)."""
    video: NotRequired[Annotated[dict[str, Any], merge_dict]]
    """The video format's work: its stages, each with every version (graph/video.py)."""


def human_texts(state: StudioState) -> list[str]:
    """Every message the person has sent, oldest first."""
    return [
        m.content if isinstance(m.content, str) else str(m.content)
        for m in state.get("messages", [])
        if isinstance(m, HumanMessage)
    ]
