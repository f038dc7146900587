"""Helpers shared by the graph and CLI tests: build a studio on the embedded defaults."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.types import Command

from adapters.assets import AssetStore
from adapters.llm import RoleModels
from adapters.renderer import Renderer
from graph.budgets import SessionDefaults
from graph.builder import StudioGraph, build_graph
from graph.context import StudioContext

NEON = "cyberpunk street scene at night, neon signs"


def make_context(
    pool: Any,
    root: Path,
    *,
    seed: int = 7,
    models: RoleModels | None = None,
    renderer: Any = None,
    **defaults: Any,
) -> StudioContext:
    """The embedded defaults: offline model, built-in renderer, assets on disk + Postgres."""
    return StudioContext(
        models=models or RoleModels.offline(seed),
        images=renderer or Renderer(),
        assets=AssetStore(pool, root),
        defaults=SessionDefaults(**defaults),
        generation_slots=asyncio.Semaphore(2),
    )


def config(thread_id: str) -> RunnableConfig:
    return {"configurable": {"thread_id": thread_id}, "recursion_limit": 200}


def start(brief: str, **settings: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {"messages": [{"role": "user", "content": brief}]}
    if settings:
        payload["settings"] = settings
    return payload


async def run(
    graph: StudioGraph, payload: Any, thread_id: str, context: StudioContext, **kwargs: Any
) -> dict[str, Any]:
    """Invoke until the graph stops (finished, gate, or a static interrupt)."""
    return await graph.ainvoke(
        payload, config(thread_id), context=context, durability="sync", **kwargs
    )


async def resume(
    graph: StudioGraph, decision: dict[str, Any], thread_id: str, context: StudioContext
) -> dict[str, Any]:
    return await run(graph, Command(resume=decision), thread_id, context)


async def pending_gate(graph: StudioGraph, thread_id: str) -> dict[str, Any] | None:
    state = await graph.aget_state(config(thread_id))
    return state.interrupts[0].value if state.interrupts else None


def fresh_graph(saver: Any) -> StudioGraph:
    return build_graph(checkpointer=saver)
