"""A crash after a node's writes were saved, before its events were: the chat still gets them."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage
from psycopg.types.json import Jsonb

from graph.builder import build_graph
from store.checkpointer import StudioSaver
from store.database import Database, Pool
from tests.api_helpers import serve
from tests.studio_helpers import NEON, start

pytestmark = pytest.mark.anyio


class Killed(Exception):
    """Stands in for SIGKILL."""


class DiesAfterFirstMessage(StudioSaver):
    """Saves task writes; once some task's writes held an AI message, dies on the next
    checkpoint, the way a process killed right after a persona spoke would leave it: the
    message is only in the saved writes, and no event of it was logged (LangGraph saves a
    node's writes as it ends, before its `updates` reach the runner, and a resumed run does
    not run a node whose writes are saved again)."""

    def __init__(self, pool: Pool) -> None:
        super().__init__(pool)
        self.spoke = False

    async def aput_writes(
        self, config: Any, writes: Any, task_id: str, task_path: str = ""
    ) -> None:
        await super().aput_writes(config, writes, task_id, task_path)
        for channel, value in writes:
            values = value if isinstance(value, list) else [value]
            if channel == "messages" and any(isinstance(m, AIMessage) for m in values):
                self.spoke = True

    async def aput(self, config: Any, checkpoint: Any, metadata: Any, new_versions: Any) -> Any:
        if self.spoke:
            raise Killed
        return await super().aput(config, checkpoint, metadata, new_versions)


async def test_a_node_saved_by_a_crash_before_its_events_still_reaches_the_chat(
    database: Database, tmp_path: Path
) -> None:
    async with serve(database, tmp_path) as served:
        tid, token = await served.new_thread()
        rid = str(uuid.uuid4())
        # the run as the dead process executed it: its events never reached the log
        dying = build_graph(checkpointer=DiesAfterFirstMessage(database.pool))
        config: Any = {
            "configurable": {"thread_id": tid},
            "metadata": {"run_id": rid},
            "recursion_limit": 200,
        }
        with pytest.raises(Killed):
            await dying.ainvoke(
                start(NEON), config, context=served.studio.context, durability="sync"
            )
        before = await served.studio.graph.aget_state(config)
        saved_only = [
            m.id
            for task in before.tasks
            if isinstance(task.result, dict)
            for m in task.result.get("messages") or []
            if isinstance(m, AIMessage)
        ]
        assert saved_only, "the crash left a message only in the saved writes"
        async with database.pool.connection() as conn:  # the run it was executing
            await conn.execute(
                """INSERT INTO runs (run_id, thread_id, assistant_id, status, kwargs, attempt)
                   VALUES (%s, %s, 'studio', 'running', %s, 1)""",
                [rid, tid, Jsonb({"input": start(NEON), "stream_mode": ["values"]})],
            )
        async with served.http(token) as client:
            for _ in range(300):  # the sweep finds the orphaned run and resumes it
                run = (await client.get(f"/threads/{tid}/runs/{rid}")).json()
                if run["status"] not in ("pending", "running"):
                    break
                await asyncio.sleep(0.1)
            assert run["status"] == "success"
            values = (await client.get(f"/threads/{tid}/state")).json()["values"]
        async with database.pool.connection() as conn:
            cur = await conn.execute(
                """SELECT event, data::text FROM events
                   WHERE thread_id = %s AND channel = 'studio' ORDER BY seq""",
                [tid],
            )
            logged = [(row["event"], json.loads(row["data"])) for row in await cur.fetchall()]
    said = [m["id"] for m in values["messages"] if m["type"] == "ai"]
    told = [data["id"] for event, data in logged if event == "message"]
    notice = next(i for i, (_, data) in enumerate(logged) if data.get("code") == "resumed")
    after = [data["id"] for event, data in logged[notice:] if event == "message"]
    assert set(saved_only) <= set(said)
    assert [told.count(m) for m in saved_only] == [1] * len(saved_only), (
        "the resumed run logs the saved node's messages (LangGraph replays its update), once"
    )
    assert sorted(after) == sorted(set(after)), "nothing logged twice"
    assert set(after) == set(said[said.index(saved_only[0]) :]), "and all that followed"
