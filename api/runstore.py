"""The `runs` table: create, find, list and move runs through their statuses."""

from __future__ import annotations

import uuid
from typing import Any

from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from api.database import Pool

UNFINISHED = ("pending", "running")
_COLUMNS = (
    "run_id, thread_id, assistant_id, status, kwargs, metadata, multitask_strategy,"
    " attempt, created_at, updated_at"
)


def run_json(row: dict[str, Any]) -> dict[str, Any]:
    """The protocol's Run object."""
    return {
        "run_id": row["run_id"],
        "thread_id": row["thread_id"],
        "assistant_id": row["assistant_id"],
        "created_at": row["created_at"].isoformat(),
        "updated_at": row["updated_at"].isoformat(),
        "status": row["status"],
        "metadata": row["metadata"],
        "kwargs": row["kwargs"],
        "multitask_strategy": row["multitask_strategy"],
    }


class RunStore:
    """Runs by thread, oldest first; pending rows are the queue."""

    def __init__(self, pool: Pool) -> None:
        self.pool = pool

    async def create(
        self,
        thread_id: str,
        *,
        assistant_id: str,
        kwargs: dict[str, Any],
        metadata: dict[str, Any],
        multitask_strategy: str,
        idempotency_key: str | None,
    ) -> tuple[dict[str, Any], bool]:
        """Insert a pending run; with a known idempotency key, return that run (and False)."""
        query = f"""
            INSERT INTO runs (run_id, thread_id, assistant_id, status, kwargs, metadata,
                              multitask_strategy, idempotency_key)
            VALUES (%s, %s, %s, 'pending', %s, %s, %s, %s)
            ON CONFLICT (thread_id, idempotency_key) DO NOTHING
            RETURNING {_COLUMNS}
        """
        params = [
            str(uuid.uuid4()),
            thread_id,
            assistant_id,
            Jsonb(kwargs),
            Jsonb(metadata),
            multitask_strategy,
            idempotency_key,
        ]
        row = await self._one(query, params)
        if row is not None:
            return row, True
        existing = await self._one(
            f"SELECT {_COLUMNS} FROM runs WHERE thread_id = %s AND idempotency_key = %s",
            [thread_id, idempotency_key],
        )
        assert existing is not None
        return existing, False

    async def get(self, thread_id: str, run_id: str) -> dict[str, Any] | None:
        return await self._one(
            f"SELECT {_COLUMNS} FROM runs WHERE thread_id = %s AND run_id = %s",
            [thread_id, run_id],
        )

    async def list_runs(
        self, thread_id: str, *, limit: int = 10, offset: int = 0, status: str | None = None
    ) -> list[dict[str, Any]]:
        query = f"""
            SELECT {_COLUMNS} FROM runs
            WHERE thread_id = %s AND (%s::text IS NULL OR status = %s)
            ORDER BY created_at DESC, run_id LIMIT %s OFFSET %s
        """
        return await self._all(query, [thread_id, status, status, limit, offset])

    async def next_pending(self, thread_id: str) -> dict[str, Any] | None:
        """The run to execute next: one a dead process left running, else the oldest pending."""
        return await self._one(
            f"""SELECT {_COLUMNS} FROM runs
                WHERE thread_id = %s AND status IN ('pending', 'running')
                ORDER BY status = 'running' DESC, created_at, run_id LIMIT 1""",
            [thread_id],
        )

    async def unfinished(self, thread_id: str | None = None) -> list[dict[str, Any]]:
        """Pending and running runs (of one thread, or all), oldest first."""
        query = f"""
            SELECT {_COLUMNS} FROM runs
            WHERE status IN ('pending', 'running') AND (%s::text IS NULL OR thread_id = %s)
            ORDER BY created_at, run_id
        """
        return await self._all(query, [thread_id, thread_id])

    async def set_status(self, run_id: str, status: str, *, started: bool = False) -> None:
        bump = ", attempt = attempt + 1" if started else ""
        async with self.pool.connection() as conn:
            await conn.execute(
                f"UPDATE runs SET status = %s, updated_at = now(){bump} WHERE run_id = %s",
                [status, run_id],
            )

    async def delete(self, run_id: str) -> None:
        async with self.pool.connection() as conn:
            await conn.execute("DELETE FROM runs WHERE run_id = %s", [run_id])

    async def delete_thread(self, thread_id: str) -> None:
        async with self.pool.connection() as conn:
            await conn.execute("DELETE FROM runs WHERE thread_id = %s", [thread_id])

    async def rollback_checkpoints(self, thread_id: str, run_id: str) -> None:
        """Remove the checkpoints a run wrote (the saver has no `adelete_for_runs`)."""
        async with self.pool.connection() as conn, conn.transaction():
            await conn.execute(
                """DELETE FROM checkpoint_writes w USING checkpoints c
                   WHERE c.thread_id = %s AND c.metadata->>'run_id' = %s
                     AND w.thread_id = c.thread_id AND w.checkpoint_ns = c.checkpoint_ns
                     AND w.checkpoint_id = c.checkpoint_id""",
                [thread_id, run_id],
            )
            await conn.execute(
                "DELETE FROM checkpoints WHERE thread_id = %s AND metadata->>'run_id' = %s",
                [thread_id, run_id],
            )

    async def _one(self, query: str, params: Any) -> dict[str, Any] | None:
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(query, params)
            return await cur.fetchone()

    async def _all(self, query: str, params: Any) -> list[dict[str, Any]]:
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(query, params)
            return await cur.fetchall()
