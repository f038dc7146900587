"""What the current request or run is, for every log line, audit entry and span it causes."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from langchain_core.runnables.config import var_child_runnable_config

request_id: ContextVar[str | None] = ContextVar("studio_request_id", default=None)
"""The id of the HTTP request being served (None outside one: a CLI command, a run's task
started by another request keeps the id of the request that started it)."""

_SANE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:\-]{0,127}")
"""An incoming `X-Request-ID` we keep: short, printable, no spaces or quotes (it goes into
logs, headers and the audit trail as it is)."""


def new_request_id() -> str:
    return uuid.uuid4().hex


def accept_request_id(incoming: str | None) -> str:
    """The caller's `X-Request-ID` when it is sane (so a proxy's or client's id follows the
    request through the studio), else a fresh one."""
    if incoming is not None and _SANE.fullmatch(incoming):
        return incoming
    return new_request_id()


thread_id: ContextVar[str | None] = ContextVar("studio_thread_id", default=None)
"""The thread a run works on (set by the run engine for the run's task and what it starts)."""
run_id: ContextVar[str | None] = ContextVar("studio_run_id", default=None)
"""The run being executed."""
user: ContextVar[str | None] = ContextVar("studio_user", default=None)
"""Who the request or run acts for (a user id or name; None before accounts know)."""

node: ContextVar[str | None] = ContextVar("studio_node", default=None)
"""A node named outright; inside a graph node the running task says it (see `current`)."""
iteration: ContextVar[int | None] = ContextVar("studio_iteration", default=None)
"""An iteration named outright; inside a graph node the running task says it."""

FIELDS: dict[str, ContextVar[Any]] = {
    "request_id": request_id,
    "thread_id": thread_id,
    "run_id": run_id,
    "node": node,
    "iteration": iteration,
    "user": user,
}
"""Every context field by the name log lines and span attributes use."""


@dataclass
class Task:
    """A graph node executing now (one LangGraph task), as `telemetry.graph` registered it."""

    node: str
    iteration: int | None = None
    """The session's iteration (state `iteration`) the node started with."""
    span: Any = None
    """Its OpenTelemetry span, the parent of spans opened inside it."""


_tasks: dict[str, Task] = {}
"""Running tasks by their checkpoint namespace (`node:task-id`, `|`-joined in a subgraph)."""


def task_namespace() -> str | None:
    """The namespace of the graph task whose code is running (LangGraph keeps the task's config
    in a context variable while the node runs), or None outside a node."""
    config = var_child_runnable_config.get()
    metadata = (config or {}).get("metadata") or {}
    found = metadata.get("langgraph_checkpoint_ns")
    return found if isinstance(found, str) and found else None


def running_task(namespace: str | None = None) -> Task | None:
    """The registered task for `namespace` (None: the one running; "": none), or the
    nearest enclosing one (a subgraph's node runs inside its parent's)."""
    if namespace is None:
        namespace = task_namespace()
    while namespace:
        if (task := _tasks.get(namespace)) is not None:
            return task
        namespace = namespace.rpartition("|")[0]
    return None


def task_started(namespace: str, task: Task) -> None:
    _tasks[namespace] = task


def task_ended(namespace: str) -> Task | None:
    return _tasks.pop(namespace, None)


def current() -> dict[str, Any]:
    """The fields that are set, by name (what a log line or span carries). Inside a graph
    node, `node` and `iteration` come from the running task."""
    found = {name: var.get() for name, var in FIELDS.items()}
    if found["node"] is None and (task := running_task()) is not None:
        found["node"], found["iteration"] = task.node, task.iteration
    return {name: value for name, value in found.items() if value is not None}


@contextmanager
def bound(**values: Any) -> Iterator[None]:
    """Set some fields for the block (`bound(thread_id=..., run_id=...)`), then restore them.
    Tasks started inside the block keep the values (asyncio copies the context)."""
    tokens = [(FIELDS[name], FIELDS[name].set(value)) for name, value in values.items()]
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)
