"""Protocol views of threads and checkpoints (`Thread`, `ThreadState`) as JSON."""

from __future__ import annotations

from typing import Any

from langgraph.types import StateSnapshot

from api.http.deps import Services
from engine.serde import interrupt_json, jsonable


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
            "interrupts": [interrupt_json(i) for i in task.interrupts],
            "checkpoint": None,
            "state": None,
            "result": jsonable(task.result),
        }
        for task in snapshot.tasks
    ]
    return {
        "values": jsonable(snapshot.values or {}),
        "next": list(snapshot.next),
        "tasks": tasks,
        "metadata": jsonable(snapshot.metadata or {}),
        "created_at": snapshot.created_at,
        "checkpoint": checkpoint,
        "parent_checkpoint": parent,
        "interrupts": [interrupt_json(i) for i in snapshot.interrupts],
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
        task.id: [interrupt_json(i) for i in task.interrupts]
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
        "values": jsonable(snapshot.values) if snapshot.values else None,
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
