"""Request bodies of the HTTP API (the LangGraph Server subset plus the studio's additions)."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

import orjson
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from adapters.errors import InvalidInput, friendly_validation
from graph.state import THREAD_SETTINGS, WHOLE, ThreadSettings

MAX_OFFSET = 2**31 - 1
"""The largest `offset` (and `iteration`) a query takes: Postgres integers, never an overflow."""
THREAD_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$"
"""Thread ids a client may choose: letters, digits, `.`, `_`, `-` (a UUID fits); they go
into URLs and headers as they are."""
StreamModeName = Literal["values", "updates", "custom", "messages-tuple", "messages"]
MultitaskStrategy = Literal["reject", "interrupt", "rollback", "enqueue"]


class Body(BaseModel):
    """Bodies ignore fields they do not know: newer SDKs send more than we use."""

    model_config = ConfigDict(extra="ignore")


MAX_METADATA_BYTES = 65_536
"""A thread's metadata, as JSON, is at most this long (after a PATCH merges it too)."""


def small_metadata(metadata: dict[str, Any]) -> dict[str, Any]:
    try:
        size = len(orjson.dumps(metadata))
    except TypeError:  # an integer beyond 64 bits, which orjson does not write
        size = len(json.dumps(metadata))
    if size > MAX_METADATA_BYTES:
        raise ValueError(f"at most {MAX_METADATA_BYTES} bytes as JSON; got {size}")
    return metadata


Metadata = Annotated[dict[str, Any], AfterValidator(small_metadata)]


def _not_reserved(thread_id: str) -> str:
    if thread_id == "search":
        raise ValueError("`search` is a path of the API, not a thread id")
    return thread_id


class ThreadCreate(Body):
    thread_id: (
        Annotated[str, Field(pattern=THREAD_ID_PATTERN), AfterValidator(_not_reserved)] | None
    ) = None
    metadata: Metadata = Field(default_factory=dict)
    if_exists: Literal["raise", "do_nothing"] = "raise"


class ThreadCopy(Body):
    """`POST /threads/{id}/copy`: LangGraph Server's copy sends no body; the studio's branch
    says where (a checkpoint, or the message to branch after)."""

    checkpoint_id: Annotated[str, Field(max_length=100)] | None = None
    message_id: Annotated[str, Field(max_length=200)] | None = None
    metadata: Metadata = Field(default_factory=dict)


class ThreadPatch(Body):
    metadata: Metadata = Field(default_factory=dict)


class ThreadSearch(Body):
    metadata: dict[str, Any] | None = None
    status: Literal["idle", "busy", "interrupted", "error"] | None = None
    limit: Annotated[int, Field(strict=True, ge=1, le=1000), WHOLE] = 10
    offset: Annotated[int, Field(strict=True, ge=0, le=MAX_OFFSET), WHOLE] = 0


class HistoryQuery(Body):
    limit: Annotated[int, Field(strict=True, ge=1, le=1000), WHOLE] = 10
    before: dict[str, Any] | str | None = None
    metadata: dict[str, Any] | None = None


MAX_MESSAGE_CHARS = 10_000
"""The longest message (a brief, an interjection, an answer) a run accepts, in characters."""
MAX_MESSAGES = 20
"""The most messages one run's input may carry."""
MessageText = Annotated[str, Field(max_length=MAX_MESSAGE_CHARS)]
_MESSAGE_TEXT: TypeAdapter[str] = TypeAdapter(MessageText)


def checked_text(text: str, field: str) -> str:
    """`text` if a run would accept it as a message (the CLI's check, worded as the API's)."""
    try:
        return _MESSAGE_TEXT.validate_python(text)
    except ValidationError as exc:
        raise InvalidInput(f"{field}: {friendly_validation(exc)}") from None


def video_brief_problem(text: str, settings: ThreadSettings | None) -> str | None:
    """Why a video brief cannot be made as asked ("a 3 hour MOA video", "a 0-second ad"), for
    a first message that starts a video (`settings.format` video, or no format and a brief that
    asks for one); None when it fits, names no duration or `settings.video.seconds` wins."""
    from graph.launch import LAUNCH_BRIEF
    from graph.video_brief import duration_problem, is_video_brief

    fmt, video = (settings or {}).get("format"), (settings or {}).get("video") or {}
    if video.get("seconds") is not None or fmt not in (None, "video"):
        return None
    if fmt is None and (LAUNCH_BRIEF.match(text) or not is_video_brief(text)):
        return None
    budget = video.get("max_video_seconds")
    return duration_problem(text, float(budget)) if budget else duration_problem(text)


def checked_settings(settings: object) -> ThreadSettings:
    """`settings` if the graph's schema accepts them, else `InvalidInput` naming the field."""
    try:
        return THREAD_SETTINGS.validate_python(settings)
    except ValidationError as exc:
        raise InvalidInput(f"settings: {friendly_validation(exc)}") from None


class InputMessage(BaseModel):
    """A message as LangChain reads it from a dict: `role` (or `type`) and text `content`."""

    model_config = ConfigDict(extra="forbid")
    role: Literal["user", "human", "assistant", "ai", "system"] | None = None
    type: Literal["human", "ai", "system"] | None = None
    content: MessageText
    id: Annotated[str, Field(max_length=200)] | None = None
    name: Annotated[str, Field(max_length=200)] | None = None

    @model_validator(mode="after")
    def _has_role(self) -> InputMessage:
        if self.role is None and self.type is None:
            raise ValueError("a message needs `role` (user, assistant, system) or `type`")
        return self


def _as_message(value: Any) -> Any:
    """A bare string is the person's message, as LangChain reads it."""
    return {"role": "user", "content": value} if isinstance(value, str) else value


class RunInput(BaseModel):
    """A run's `input` (and a command's `update`): the graph's input schema, checked here with
    the graph's own settings schema, so what is stored can always run."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1})
    messages: Annotated[
        list[Annotated[InputMessage, BeforeValidator(_as_message)]],
        Field(max_length=MAX_MESSAGES),
    ] = []
    settings: ThreadSettings = Field(default_factory=lambda: ThreadSettings())
    stop_requested: bool = False

    @model_validator(mode="after")
    def _not_empty(self) -> RunInput:
        if not self.model_fields_set:
            raise ValueError("input needs `messages` (or `settings`, or `stop_requested`)")
        return self

    @model_validator(mode="after")
    def _video_brief_fits(self) -> RunInput:
        """A video brief asking for a duration that cannot be made is refused here, before any
        work (README: Video), as `settings.video.seconds` out of range is."""
        first = self.messages[0] if self.messages else None
        if first is not None and (first.role or first.type) in ("user", "human"):
            settings = self.settings if "settings" in self.model_fields_set else None
            if problem := video_brief_problem(first.content, settings):
                raise ValueError(f"messages.0.content (the brief): {problem}")
        return self

    def graph_input(self) -> dict[str, Any]:
        """What the graph receives: the fields sent (messages keep their own keys)."""
        out: dict[str, Any] = {}
        if "messages" in self.model_fields_set:
            out["messages"] = [m.model_dump(exclude_none=True) for m in self.messages]
        if "settings" in self.model_fields_set:
            out["settings"] = dict(self.settings)
        if "stop_requested" in self.model_fields_set:
            out["stop_requested"] = self.stop_requested
        return out


def _graph_nodes() -> tuple[str, ...]:
    from graph.builder import build_graph

    return tuple(name for name in build_graph().nodes if not name.startswith("__"))


NODES = _graph_nodes()
"""The nodes a command may `goto`."""


def _known_node(name: str) -> str:
    if name not in NODES:
        raise ValueError(f"no node {name!r}; nodes: {', '.join(NODES)}")
    return name


NodeName = Annotated[str, AfterValidator(_known_node)]
_NODE_SCHEMA = {"type": "string", "enum": list(NODES)}
Goto = Annotated[
    list[NodeName],
    BeforeValidator(lambda value: [value] if isinstance(value, str) else value),
    Field(min_length=1),
    WithJsonSchema(
        {"anyOf": [_NODE_SCHEMA, {"type": "array", "items": _NODE_SCHEMA, "minItems": 1}]}
    ),
]
"""A node name, or several."""


class RunCommand(BaseModel):
    """`resume` a gate (checked against the gate's own schema), `update` the input channels
    (as `input` is checked), or `goto` nodes of the graph."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1})
    resume: Annotated[Any, Field(json_schema_extra={"not": {"type": "null"}})] = None
    update: RunInput = Field(default_factory=lambda: RunInput.model_construct())
    goto: Goto = Field(default_factory=list)

    @field_validator("resume")
    @classmethod
    def _short_resume(cls, resume: Any) -> Any:
        """A gate answer's texts are messages too: each within the message limit."""
        stack = [resume]
        while stack:
            item = stack.pop()
            if isinstance(item, str) and len(item) > MAX_MESSAGE_CHARS:
                raise ValueError(f"String should have at most {MAX_MESSAGE_CHARS} characters")
            if isinstance(item, dict):
                stack.extend([*item.keys(), *item.values()])
            elif isinstance(item, list):
                stack.extend(item)
        return resume

    @model_validator(mode="after")
    def _not_empty(self) -> RunCommand:
        if "resume" in self.model_fields_set and self.resume is None:
            raise ValueError("resume: send an answer or leave it out, not null")
        if not self.model_fields_set:
            raise ValueError("a command needs `resume`, `update` or `goto`")
        return self


class RunCreate(Body):
    """What the SDK's `runs.create/stream/wait` send (unused fields are accepted and ignored)."""

    assistant_id: str = "studio"
    input: RunInput | None = None
    command: RunCommand | None = None
    stream_mode: StreamModeName | list[StreamModeName] | None = None
    stream_resumable: bool = False
    multitask_strategy: MultitaskStrategy = "enqueue"
    durability: Literal["sync", "async", "exit"] | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    config: dict[str, Any] | None = None
    context: dict[str, Any] | None = None
    on_disconnect: Literal["cancel", "continue"] = "continue"
    if_not_exists: Literal["reject", "create"] = "reject"
    checkpoint_id: Annotated[str, Field(max_length=100)] | None = None
    """Run from this checkpoint of the thread (time travel); `checkpoint` says it the long way."""
    checkpoint: dict[str, Any] | None = None

    def at(self) -> str | None:
        """The checkpoint the run starts from (`checkpoint_id`, else `checkpoint`'s)."""
        given = self.checkpoint_id or (self.checkpoint or {}).get("checkpoint_id")
        if given is not None and not isinstance(given, str):
            raise InvalidInput("checkpoint.checkpoint_id: a checkpoint id (a string)")
        return given or None

    def modes(self, default: list[str]) -> list[str]:
        if self.stream_mode is None:
            return list(default)
        chosen = [self.stream_mode] if isinstance(self.stream_mode, str) else self.stream_mode
        return list(dict.fromkeys(chosen)) or list(default)


SettingsPatch = ThreadSettings
"""Per-thread settings, applied from the thread's next run on: the graph's own schema."""
