"""The `langgraph dev` entry (`api/langgraph_app.py`): a run that brings no `StudioContext`
(the server passes a plain dict, or nothing) runs on the registered default; a run that brings
its own uses that one. In process, on the `database` fixture, without the server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langgraph.types import Command

from api.langgraph_app import DevStudioGraph, make_graph
from graph.context import set_default_context
from store.database import Database
from tests.launch_helpers import ESPRESSO
from tests.studio_helpers import NEON, config, make_context, pending_gate, start

pytestmark = pytest.mark.anyio


@pytest.fixture
def dev_graph(database: Database) -> Iterator[Any]:
    """The graph `langgraph.json` names, given our checkpointer as the server gives it one."""
    graph = make_graph().copy(update={"checkpointer": database.saver})
    yield graph
    set_default_context(None)


async def _paths(context: Any, state: dict[str, Any]) -> list[Path]:
    records = [await context.assets.get(asset_id) for asset_id in state["current"].values()]
    return [Path(r.path) for r in records if r is not None]


@pytest.mark.parametrize("given", [None, {"graph_id": "studio", "thread_id": "from-server"}])
async def test_a_run_without_a_context_runs_on_the_registered_default(
    dev_graph, database, tmp_path, tid, given
) -> None:
    assert isinstance(dev_graph, DevStudioGraph)  # the server's copy keeps the entry's class
    default = make_context(database.pool, tmp_path / "default")
    set_default_context(default)
    state = await dev_graph.ainvoke(
        start(NEON, auto_approve=True), config(tid), context=given, durability="sync"
    )
    assert state["outcome"] == "approved" and state["current"]
    paths = await _paths(default, state)
    assert len(paths) == len(state["current"])
    assert all(p.is_relative_to(tmp_path / "default") for p in paths)


async def test_a_run_with_its_own_context_uses_it(dev_graph, database, tmp_path, tid) -> None:
    set_default_context(make_context(database.pool, tmp_path / "default"))
    own = make_context(database.pool, tmp_path / "own")
    state = await dev_graph.ainvoke(
        start(NEON, auto_approve=True), config(tid), context=own, durability="sync"
    )
    paths = await _paths(own, state)
    assert paths and all(p.is_relative_to(tmp_path / "own") for p in paths)
    assert not [f for f in (tmp_path / "default").rglob("*") if f.is_file()]


async def test_without_a_default_a_run_without_a_context_is_refused_plainly(dev_graph, tid) -> None:
    set_default_context(None)
    with pytest.raises(RuntimeError, match="set_default_context"):
        await dev_graph.ainvoke(start(NEON), config(tid), context={"graph_id": "studio"})


async def test_the_format_subgraphs_run_on_the_default_too(
    dev_graph, database, tmp_path, tid
) -> None:
    """The launch kit's legs are nodes of a subgraph: they inherit the run's context."""
    set_default_context(make_context(database.pool, tmp_path / "default"))
    await dev_graph.ainvoke(start(ESPRESSO), config(tid), context=None)
    assert (await pending_gate(dev_graph, tid) or {}).get("gate") == "script"
    await dev_graph.ainvoke(Command(resume={"action": "approve"}), config(tid), context={})
    assert (await pending_gate(dev_graph, tid) or {}).get("gate") == "selection"
    assert [f for f in (tmp_path / "default").rglob("*") if f.is_file()]  # the thumbnails
