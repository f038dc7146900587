"""A run killed after its step's tasks wrote, before the step's checkpoint, is not finished."""

from __future__ import annotations

from typing import Any

import pytest
from langgraph.graph import END, START, StateGraph
from typing_extensions import TypedDict

from engine.studio import work_left
from store.checkpointer import StudioSaver
from store.database import Pool

pytestmark = pytest.mark.anyio


class State(TypedDict, total=False):
    log: list[str]


class Killed(Exception):
    """Stands in for SIGKILL: the checkpoint is never written."""


class DiesBeforeCheckpoint(StudioSaver):
    """Saves task writes, then dies on the checkpoint that would follow `step`."""

    def __init__(self, pool: Pool, step: int) -> None:
        super().__init__(pool)
        self.step = step
        self.armed = True

    async def aput(self, config: Any, checkpoint: Any, metadata: Any, new_versions: Any) -> Any:
        if self.armed and metadata.get("step") == self.step:
            raise Killed
        return await super().aput(config, checkpoint, metadata, new_versions)


def graph(saver: StudioSaver) -> Any:
    builder = StateGraph(State)
    builder.add_node("a", lambda s: {"log": [*s.get("log", []), "a"]})
    builder.add_node("b", lambda s: {"log": [*s.get("log", []), "b"]})
    builder.add_edge(START, "a")
    builder.add_edge("a", "b")
    builder.add_edge("b", END)
    return builder.compile(checkpointer=saver)


async def test_a_step_whose_writes_are_saved_still_has_work_left(pool: Pool) -> None:
    saver = DiesBeforeCheckpoint(pool, step=1)  # step 1 is the checkpoint after `a` ran
    studio = graph(saver)
    config: Any = {"configurable": {"thread_id": "killed"}}
    with pytest.raises(Killed):
        await studio.ainvoke({"log": []}, config, durability="sync")
    snapshot = await studio.aget_state(config)
    assert snapshot.next == (), "LangGraph leaves out a task whose writes are saved"
    assert work_left(snapshot) == ("a",), "but the run is not over"
    saver.armed = False
    final = await studio.ainvoke(None, config, durability="sync")
    assert final["log"] == ["a", "b"], "resuming applies a's writes and runs b"
    assert work_left(await studio.aget_state(config)) == ()
