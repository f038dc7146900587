"""F33: an answer names the gate it answers; a stale one (its gate was answered by another
client) is refused with 409 and approves nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api_helpers import NEON, Served, serve

pytestmark = pytest.mark.anyio


@pytest.fixture
async def served(database: Any, tmp_path: Path) -> AsyncIterator[Served]:
    async with serve(database, tmp_path) as srv:
        yield srv


async def test_a_stale_plan_answer_cannot_approve_the_outputs(served: Served) -> None:
    tid, _ = await served.new_thread(metadata={"graph_id": "studio"})
    cli, browser = served.sdk(served.admin_token), served.sdk(served.admin_token)
    try:
        start = {"messages": [{"role": "user", "content": NEON}]}
        await cli.runs.wait(tid, "studio", input=start)
        plan = (await cli.threads.get_state(tid))["interrupts"][0]
        assert plan["value"]["gate"] == "plan"
        # the browser approves the plan: the run generates and waits at the outputs gate
        await browser.runs.wait(
            tid, "studio", command={"resume": {plan["id"]: {"action": "approve"}}}
        )
        state = await browser.threads.get_state(tid)
        (outputs,) = state["interrupts"]
        assert outputs["value"]["gate"] == "output" and outputs["id"] != plan["id"]
        runs_before = len(await cli.runs.list(tid))
        # the terminal still shows the plan prompt; its "approve" names the plan gate
        with pytest.raises(httpx.HTTPStatusError) as stale:
            await cli.runs.wait(
                tid, "studio", command={"resume": {plan["id"]: {"action": "approve"}}}
            )
        assert stale.value.response.status_code == 409
        message = stale.value.response.json()["error"]["message"]
        assert "the outputs gate waits now" in message and outputs["id"] in message
        after = await cli.threads.get_state(tid)
        assert after["interrupts"][0]["id"] == outputs["id"]  # still waiting there
        assert after["values"]["phase"] != "approved"
        assert not [g for g in after["values"].get("gates", []) if g["gate"] == "output"]
        assert len(await cli.runs.list(tid)) == runs_before  # the refusal made no run
        # the outputs gate, answered by its own id, is answered
        await cli.runs.wait(
            tid, "studio", command={"resume": {outputs["id"]: {"action": "approve"}}}
        )
        assert (await cli.threads.get_state(tid))["values"]["phase"] == "approved"
    finally:
        await cli.aclose()
        await browser.aclose()
