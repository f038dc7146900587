"""The thread registry: which creative sessions exist, their title, status and phase."""

from __future__ import annotations

import builtins
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

_UPSERT = """
    INSERT INTO threads AS t (thread_id, title, status, phase, metadata)
    VALUES (%(thread_id)s, %(title)s, %(status)s, %(phase)s, COALESCE(%(metadata)s::jsonb, '{}'))
    ON CONFLICT (thread_id) DO UPDATE SET
        title = COALESCE(EXCLUDED.title, t.title),
        status = COALESCE(EXCLUDED.status, t.status),
        phase = COALESCE(EXCLUDED.phase, t.phase),
        metadata = t.metadata || EXCLUDED.metadata,
        updated_at = now()
    RETURNING *
"""


class ThreadRegistry:
    """Threads by id, newest activity first; the checkpoints themselves live with LangGraph."""

    def __init__(self, pool: AsyncConnectionPool[AsyncConnection[Any]]) -> None:
        self.pool = pool

    async def upsert(
        self,
        thread_id: str,
        *,
        title: str | None = None,
        status: str | None = None,
        phase: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Create the thread or update it; only the fields given change (`metadata` is merged)."""
        params = {
            "thread_id": thread_id,
            "title": title,
            "status": status,
            "phase": phase,
            "metadata": None if metadata is None else Jsonb(metadata),
        }
        row = await self._fetch_one(_UPSERT, params)
        assert row is not None, "INSERT ... RETURNING always returns the row"
        return row

    async def mark(
        self, thread_id: str, *, status: str, phase: str, conn: AsyncConnection[Any]
    ) -> None:
        """`upsert(thread_id, status=..., phase=...)` on `conn` without reading the row back,
        so that it can go in another statement's pipelined transaction (a run's end)."""
        params = {"thread_id": thread_id, "title": None, "status": status, "phase": phase}
        await conn.execute(_UPSERT, params | {"metadata": None})

    async def get(self, thread_id: str) -> dict[str, Any] | None:
        """The thread's row, or None."""
        return await self._fetch_one("SELECT * FROM threads WHERE thread_id = %s", [thread_id])

    async def delete(self, thread_id: str, *, conn: AsyncConnection[Any] | None = None) -> bool:
        """Forget the thread; True when it existed. Its checkpoints and assets are not touched.
        On `conn`, it goes in that connection's transaction."""
        query = "DELETE FROM threads WHERE thread_id = %s"
        if conn is not None:
            return bool((await conn.execute(query, [thread_id])).rowcount)
        async with self.pool.connection() as own:
            return bool((await own.execute(query, [thread_id])).rowcount)

    # Defined last: inside the class body, the name `list` means this method from here on.
    async def list(
        self, limit: int = 50, offset: int = 0, *, media_jobs: bool = False
    ) -> builtins.list[dict[str, Any]]:
        """Threads, most recently updated first (ties broken by id, so pages are stable).
        Media Lab jobs' threads (metadata `graph_id: media`) only with `media_jobs`: they are
        jobs, listed by `studio media`, not creative sessions."""
        query = """
            SELECT * FROM threads
            WHERE %s OR NOT metadata @> '{"graph_id": "media"}'
            ORDER BY updated_at DESC, thread_id LIMIT %s OFFSET %s
        """
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(query, [media_jobs, limit, offset])
            return await cur.fetchall()

    async def _fetch_one(self, query: str, params: Any) -> dict[str, Any] | None:
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(query, params)
            return await cur.fetchone()
