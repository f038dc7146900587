"""`bench.bare`'s server (the floor `bench.api --bare` measures): the SDK's session runs on it,
streamed and waited, to the graph's end."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from bench.api import http_session, sdk_client
from bench.harness import serve

pytestmark = [pytest.mark.anyio, pytest.mark.slow]  # a server process of its own


async def test_the_sdks_session_runs_on_the_bare_shape(database_url: str, tmp_path: Path) -> None:
    db = SimpleNamespace(url=database_url, home=tmp_path)
    async with serve("trivial", db, tmp_path, bare=True) as server:  # type: ignore[arg-type]
        client = sdk_client(server.url, "none")
        try:
            await http_session(client, "stream")  # asserts the last values end with "done"
            await http_session(client, "wait")
            tid = (await client.threads.create())["thread_id"]
            parts = [p async for p in client.runs.stream(tid, "studio", input={"messages": []})]
        finally:
            await client.aclose()
    events = [p.event for p in parts]
    assert events[0] == "metadata" and events[-1] == "end"
    assert "__interrupt__" in parts[-2].data  # the run stopped at the gate, and said so
