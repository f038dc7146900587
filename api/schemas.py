"""Request bodies of the HTTP API (the LangGraph Server subset plus the studio's additions)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

StreamModeName = Literal["values", "updates", "custom", "messages-tuple", "messages"]
MultitaskStrategy = Literal["reject", "interrupt", "rollback", "enqueue"]


class Body(BaseModel):
    """Bodies ignore fields they do not know: newer SDKs send more than we use."""

    model_config = ConfigDict(extra="ignore")


class ThreadCreate(Body):
    thread_id: str | None = Field(None, min_length=1, max_length=200)
    metadata: dict[str, Any] = Field(default_factory=dict)
    if_exists: Literal["raise", "do_nothing"] = "raise"


class ThreadPatch(Body):
    metadata: dict[str, Any] = Field(default_factory=dict)


class ThreadSearch(Body):
    metadata: dict[str, Any] | None = None
    status: Literal["idle", "busy", "interrupted", "error"] | None = None
    limit: int = Field(10, ge=1, le=1000)
    offset: int = Field(0, ge=0)


class HistoryQuery(Body):
    limit: int = Field(10, ge=1, le=1000)
    before: dict[str, Any] | str | None = None
    metadata: dict[str, Any] | None = None


class RunCommand(Body):
    resume: Any = None
    update: dict[str, Any] | None = None
    goto: Any = None


class RunCreate(Body):
    """What the SDK's `runs.create/stream/wait` send (unused fields are accepted and ignored)."""

    assistant_id: str = "studio"
    input: dict[str, Any] | None = None
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

    def modes(self, default: list[str]) -> list[str]:
        if self.stream_mode is None:
            return list(default)
        chosen = [self.stream_mode] if isinstance(self.stream_mode, str) else self.stream_mode
        return list(dict.fromkeys(chosen)) or list(default)


class SettingsPatch(Body):
    """Per-thread model and role settings; applied from the thread's next run on."""

    models: dict[str, str] | None = None
    auto_approve: bool | None = None
    budgets: dict[str, float] | None = None
    max_rounds: int | None = Field(None, ge=1, le=10)
    score_threshold: float | None = Field(None, ge=0, le=10)
    drift_threshold: float | None = Field(None, ge=0, le=1)
    seed: int | None = None
