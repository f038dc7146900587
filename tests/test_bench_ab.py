"""`bench.ab`'s servers: its client signs in as the home's admin, so a session runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import ab
from bench.harness import ROOT

pytestmark = [pytest.mark.anyio, pytest.mark.slow]  # a server process of its own


async def test_a_trivial_session_runs_on_an_ab_server(database_url: str, tmp_path: Path) -> None:
    async with ab.server(ROOT, "trivial", database_url, tmp_path / "home") as client:
        await ab.trivial(client)  # creating its thread needs a signed-in creator or admin
        threads = await client.threads.search()
    assert len(threads) == 1
