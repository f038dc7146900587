"""Hardening of the HTTP API (issue 19): what an attacker or a careless client can send."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.api_helpers import NEON, serve

pytestmark = pytest.mark.anyio


def start(text: str = NEON, **settings: Any) -> dict[str, Any]:
    return {"input": {"messages": [{"role": "user", "content": text}], "settings": settings}}


async def count(pool: Any, table: str, thread_id: str) -> int:
    async with pool.connection() as conn:
        cursor = await conn.execute(
            f"SELECT count(*) AS n FROM {table} WHERE thread_id = %s", [thread_id]
        )
        row = await cursor.fetchone()
        return int(row["n"])


# -- 1. a deleted thread stays deleted ---------------------------------------------------------


async def test_a_deleted_thread_never_comes_back(database, tmp_path: Path) -> None:
    async with serve(database, tmp_path) as served:
        tid, token = await served.new_thread()
        kept, kept_token = await served.new_thread()
        async with served.http(token) as owner, served.http(kept_token) as neighbour:
            await owner.post(f"/threads/{tid}/runs/wait", json=start(auto_approve=True))
            await neighbour.post(f"/threads/{kept}/runs/wait", json=start(auto_approve=True))
            outputs = (await owner.get(f"/threads/{tid}/outputs")).json()["items"]
            assert outputs
            files = [
                rec.path
                for o in outputs
                if (rec := await served.studio.context.assets.get(o["asset_id"]))
            ]
            assert all(path.is_file() for path in files)
            assert (await owner.delete(f"/threads/{tid}")).status_code == 204

            for table in (
                "threads",
                "runs",
                "events",
                "assets",
                "checkpoints",
                "checkpoint_writes",
            ):
                assert await count(database.pool, table, tid) == 0, table
            for output in outputs:
                assert (await owner.get(output["url"])).status_code == 404
            theirs = (await neighbour.get(f"/threads/{kept}/outputs")).json()["items"]
            assert theirs
            for output in theirs:  # files the other thread shares (same image) are kept
                assert (await neighbour.get(output["url"])).status_code == 200
            neighbour_files = {
                rec.path
                for o in theirs
                if (rec := await served.studio.context.assets.get(o["asset_id"]))
            }
            assert not any(path.is_file() for path in set(files) - neighbour_files)

        async with served.http() as anyone, served.http(token) as owner:
            for client in (anyone, owner):
                for body in ({"thread_id": tid}, {"thread_id": tid, "if_exists": "do_nothing"}):
                    again = await client.post("/threads", json=body)
                    assert again.status_code == 409, again.text
                    assert "deleted" in again.json()["error"]["message"]
            assert (await owner.get(f"/threads/{tid}")).status_code == 404
            assert (await owner.get(f"/threads/{tid}/outputs")).status_code == 404
