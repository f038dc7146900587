"""Protocol views of threads and checkpoints (`Thread`, `ThreadState`) as JSON."""

from __future__ import annotations

from typing import Any

import orjson
from langgraph.types import StateSnapshot

from api.http.deps import Services
from engine.serde import dumps, interrupt_json, jsonable

_PATH_KEY = '"path"'
"""A `"path"` key in an event's JSON text, compact (`engine.serde.dumps`) or not (events
converted from jsonb by an old migration read back as `"path": "/…"`)."""


def hide_paths(value: Any) -> Any:
    """`value` (JSON-ready) without the server's file paths: each `"path"` holding an absolute
    path (an output's, a reference's, a video piece's) is left out. The graph keeps them (its
    nodes and the CLI read the files); HTTP clients have `url` and `asset_id` (D21)."""
    if isinstance(value, dict):
        return {
            k: hide_paths(v)
            for k, v in value.items()
            if not (k == "path" and isinstance(v, str) and v.startswith("/"))
        }
    if isinstance(value, list):
        return [hide_paths(v) for v in value]
    return value


def hide_paths_text(data: str) -> str:
    """A logged event's JSON text for a stream, without server file paths (`hide_paths`); the
    text as it is when it holds none (most events: no parse)."""
    if _PATH_KEY not in data:
        return data
    return dumps(hide_paths(orjson.loads(data)))


def _checkpoint(config: Any) -> dict[str, Any] | None:
    if not config:
        return None
    conf = config.get("configurable", {})
    if not conf.get("checkpoint_id"):
        return None
    return {
        "thread_id": conf.get("thread_id"),
        "checkpoint_ns": conf.get("checkpoint_ns", ""),
        "checkpoint_id": conf.get("checkpoint_id"),
    }


def state_json(snapshot: StateSnapshot) -> dict[str, Any]:
    """`ThreadState`: values, next, tasks (with their interrupts), checkpoint ids."""
    checkpoint, parent = _checkpoint(snapshot.config), _checkpoint(snapshot.parent_config)
    tasks = [
        {
            "id": task.id,
            "name": task.name,
            "path": jsonable(task.path),
            "error": str(task.error) if task.error else None,
            "interrupts": hide_paths([interrupt_json(i) for i in task.interrupts]),
            "checkpoint": None,
            "state": None,
            "result": hide_paths(jsonable(task.result)),
        }
        for task in snapshot.tasks
    ]
    return {
        "values": hide_paths(jsonable(snapshot.values or {})),
        "next": list(snapshot.next),
        "tasks": tasks,
        "metadata": jsonable(snapshot.metadata or {}),
        "created_at": snapshot.created_at,
        "checkpoint": checkpoint,
        "parent_checkpoint": parent,
        "interrupts": hide_paths([interrupt_json(i) for i in snapshot.interrupts]),
        "checkpoint_id": checkpoint["checkpoint_id"] if checkpoint else None,
        "parent_checkpoint_id": parent["checkpoint_id"] if parent else None,
    }


async def thread_status(svc: Services, thread_id: str, row: dict[str, Any], snapshot: Any) -> str:
    """The thread's status by the one rule (`RunManager.status`): from runs and checkpoints,
    never from a flag a crash can strand."""
    interrupted = bool(snapshot.interrupts)
    return await svc.manager.status(thread_id, interrupted=interrupted, recorded=row.get("status"))


async def thread_json(svc: Services, row: dict[str, Any]) -> dict[str, Any]:
    """`Thread`: id, timestamps, metadata, status, values and pending interrupts by task."""
    snapshot = await svc.studio.graph.aget_state(svc.studio.config(row["thread_id"]))
    interrupts = {
        task.id: hide_paths([interrupt_json(i) for i in task.interrupts])
        for task in snapshot.tasks
        if task.interrupts
    }
    return {
        "thread_id": row["thread_id"],
        "created_at": row["created_at"].isoformat(),
        "updated_at": row["updated_at"].isoformat(),
        "state_updated_at": snapshot.created_at or row["updated_at"].isoformat(),
        "metadata": row.get("metadata") or {},
        "status": await thread_status(svc, row["thread_id"], row, snapshot),
        "config": {},
        "values": hide_paths(jsonable(snapshot.values)) if snapshot.values else None,
        "interrupts": interrupts,
    }


def new_thread_json(row: dict[str, Any]) -> dict[str, Any]:
    """`Thread` for a thread just created: nothing has run on it yet."""
    return {
        "thread_id": row["thread_id"],
        "created_at": row["created_at"].isoformat(),
        "updated_at": row["updated_at"].isoformat(),
        "state_updated_at": row["updated_at"].isoformat(),
        "metadata": row.get("metadata") or {},
        "status": "idle",
        "config": {},
        "values": None,
        "interrupts": {},
    }
