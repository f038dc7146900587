"""F32: a session stopped (the UI's Stop: `stop_requested` input) and then spoken to goes on
where it stood: the discussion and the plan gate come before any image."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import HumanMessage

from tests.api_helpers import serve
from tests.studio_helpers import NEON, pending_gate, resume, run, start

pytestmark = pytest.mark.anyio


def said(text: str) -> dict[str, Any]:
    return {"messages": [HumanMessage(text)]}


@pytest.mark.parametrize("stop_before", ["composition", "approve_plan"])
async def test_a_message_after_stop_continues_to_the_plan_gate(
    graph: Any, context: Any, tid: str, stop_before: str
) -> None:
    await run(graph, start(NEON), tid, context, interrupt_before=[stop_before])
    stopped = await run(graph, {"messages": [], "stop_requested": True}, tid, context)
    assert stopped["phase"] == "interrupted" and not stopped.get("generations")
    state = await run(graph, said("carry on please, more rain"), tid, context)
    assert not state.get("generations"), "nothing is generated before the plan gate"
    assert (await pending_gate(graph, tid) or {}).get("gate") == "plan"
    assert state["phase"] == "awaiting_plan_approval"
    roles = {c["role"] for c in state["contributions"]}
    if stop_before == "composition":  # stopped mid-discussion: Frame and Saga still speak
        assert {"composition", "story"} <= roles
    state = await resume(graph, {"action": "approve"}, tid, context)
    assert state.get("generations") and (await pending_gate(graph, tid) or {}).get("gate") == (
        "output"
    )


async def test_over_http_stop_then_a_message_waits_at_the_plan_gate(
    database: Any, tmp_path: Path
) -> None:
    async with serve(database, tmp_path) as served:
        tid, _ = await served.new_thread(metadata={"graph_id": "studio"})
        client = served.sdk(served.admin_token)
        try:
            brief = {"messages": [{"role": "user", "content": NEON}]}
            await client.runs.wait(tid, "studio", input=brief)
            stop = {"messages": [], "stop_requested": True}  # the UI's Stop button
            await client.runs.wait(tid, "studio", input=stop, multitask_strategy="interrupt")
            assert (await client.threads.get_state(tid))["values"]["phase"] == "interrupted"
            more = {"messages": [{"role": "user", "content": "carry on please, more rain"}]}
            await client.runs.wait(tid, "studio", input=more, multitask_strategy="interrupt")
            state = await client.threads.get_state(tid)
            assert [i["value"]["gate"] for i in state["interrupts"]] == ["plan"]
            assert not state["values"].get("generations")
        finally:
            await client.aclose()
