"""The `runs` table: create, find, list and move runs through their statuses."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from adapters.errors import Conflict, InvalidInput
from engine.cluster import CLAIM_SPACE
from store.database import Connection, Pool

Then = Callable[[Connection, dict[str, Any], bool], Awaitable[None]]
"""Called in a run's submit transaction once it is queued: the run, and whether its thread had
runs pending or running before it."""

SUBMIT_SPACE = 0x5355
"""First key of the transaction-level advisory lock that serialises submits on a thread."""
_COLUMNS = (
    "run_id, thread_id, assistant_id, status, kwargs, metadata, multitask_strategy,"
    " attempt, created_at, updated_at"
)
_UNFINISHED = f"""
    SELECT {_COLUMNS} FROM runs
    WHERE status IN ('pending', 'running') AND (%s::text IS NULL OR thread_id = %s)
    ORDER BY created_at, run_id
"""
_INSERT = f"""
    INSERT INTO runs (run_id, thread_id, assistant_id, status, kwargs, metadata,
                      multitask_strategy, idempotency_key, idempotency_hash, user_id)
    SELECT %s, %s, %s, 'pending', %s, %s, %s, %s, %s,
           (SELECT owner_id FROM threads WHERE thread_id = %s)
    ON CONFLICT (thread_id, idempotency_key) DO NOTHING
    RETURNING {_COLUMNS}
"""
_BY_KEY = f"""
    SELECT {_COLUMNS}, idempotency_hash FROM runs WHERE thread_id = %s AND idempotency_key = %s
"""
_EXPIRE_KEY = """
    UPDATE runs SET idempotency_key = NULL
    WHERE thread_id = %s AND idempotency_key = %s AND created_at < now() - %s * interval '1 s'
"""
"""A key older than the expiry names no run any more: a request with it creates one."""
KEY_TTL_S = 24 * 3600
"""How long an `Idempotency-Key` is remembered (runs and other requests alike)."""
_INTERRUPT_PENDING = f"""
    UPDATE runs SET status = 'interrupted', updated_at = now()
    WHERE thread_id = %s AND status = 'pending' AND run_id <> %s
    RETURNING {_COLUMNS}
"""
_DELETE_PENDING = f"""
    DELETE FROM runs WHERE thread_id = %s AND status = 'pending' AND run_id <> %s
    RETURNING {_COLUMNS}
"""
_CLAIM_NEXT = """
    WITH next AS (
        SELECT run_id, attempt FROM runs
        WHERE thread_id = %s AND status IN ('pending', 'running')
        ORDER BY status = 'running' DESC, created_at, run_id
        LIMIT 1 FOR UPDATE
    ), claimed AS (
        UPDATE runs r SET status = 'running', attempt = r.attempt + 1, updated_at = now()
        FROM next WHERE r.run_id = next.run_id
        RETURNING r.run_id, r.thread_id, r.assistant_id, r.status, r.kwargs, r.metadata,
                  r.multitask_strategy, next.attempt, r.created_at, r.updated_at,
                  r.user_id  -- whom the run is charged to: its log lines and spans name them
    ), busy AS (
        INSERT INTO threads AS t (thread_id, status) SELECT thread_id, 'busy' FROM claimed
        ON CONFLICT (thread_id) DO UPDATE SET status = 'busy', updated_at = now()
    )
    SELECT * FROM claimed
"""
"""The next run marked `running` and its thread `busy` (`adapters/threads.py`'s table), in
one statement."""
_CLAIMED = """
    EXISTS (
        SELECT 1 FROM pg_locks l
        WHERE l.locktype = 'advisory' AND l.objsubid = 2
          AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND l.classid = %s::oid AND l.objid = hashtext(r.thread_id)::oid
    )
"""
"""Someone holds the claim of `r`'s thread (`engine/cluster.py`); the parameter is its space."""
_END_ORPHAN = f"""
    UPDATE runs r SET status = 'interrupted', updated_at = now()
    WHERE r.run_id = %s AND r.status = 'running' AND NOT {_CLAIMED}
    RETURNING r.run_id
"""
_UNCLAIMED = f"""
    SELECT DISTINCT r.thread_id FROM runs r
    WHERE r.status IN ('pending', 'running') AND NOT {_CLAIMED}
"""


@dataclass(frozen=True)
class Submitted:
    """What `RunStore.submit` did."""

    run: dict[str, Any]
    created: bool
    """False: the idempotency key was known, `run` is the first request's run."""
    dropped: list[dict[str, Any]] = field(default_factory=list)
    """Pending runs ended by `interrupt` / `rollback`; their followers still need an end."""
    running: dict[str, Any] | None = None
    """The run executing on the thread, which `interrupt` / `rollback` must stop."""


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

    async def submit(
        self,
        thread_id: str,
        *,
        assistant_id: str,
        kwargs: dict[str, Any],
        metadata: dict[str, Any],
        strategy: str,
        idempotency_key: str | None,
        request_hash: str | None = None,
        gate: Callable[[Connection], Awaitable[None]] | None = None,
        then: Then | None = None,
    ) -> Submitted:
        """Queue a run, applying `strategy` if the thread is busy, in one transaction that is
        serialised per thread across processes: `reject` raises `Conflict`; `interrupt` and
        `rollback` end the pending runs before it (no process can start them afterwards) and
        name the running one, which the caller stops. A known idempotency key returns that
        run, unchanged. `gate` runs first in the same transaction (the per-user run limit,
        `people.limits`): what it raises refuses the run. `then` runs last in it, once the
        run is queued (not for a known key), with the run and whether the thread had runs
        pending or running before it (the audit entry: no round trip of its own)."""
        params = [
            str(uuid.uuid4()),
            thread_id,
            assistant_id,
            Jsonb(kwargs),
            Jsonb(metadata),
            strategy,
            idempotency_key,
            request_hash if idempotency_key else None,
            thread_id,
        ]
        # pipelined: BEGIN, the lock, the queue and the insert go in one round trip
        async with self.pool.connection() as conn, conn.pipeline(), conn.transaction():
            lock = "SELECT pg_advisory_xact_lock(%s::int, hashtext(%s))"
            await conn.execute(lock, [SUBMIT_SPACE, thread_id])
            if gate is not None:
                await gate(conn)
            if idempotency_key:
                await conn.execute(_EXPIRE_KEY, [thread_id, idempotency_key, KEY_TTL_S])
            queue = await conn.execute(_UNFINISHED, [thread_id, thread_id])
            inserted = await conn.execute(_INSERT, params)
            waiting = await queue.fetchall()
            run = await inserted.fetchone()
            if run is None:
                existing = await (
                    await conn.execute(_BY_KEY, [thread_id, idempotency_key])
                ).fetchone()
                assert existing is not None
                first_hash = existing.pop("idempotency_hash")
                if first_hash is not None and first_hash != request_hash:
                    raise InvalidInput(
                        "Idempotency-Key: already used with another request body; "
                        "send a new key for a new request"
                    )
                return Submitted(existing, created=False)
            if waiting and strategy == "reject":
                raise Conflict("Thread is already running a task. Wait for it or interject.")
            if then is not None:
                await then(conn, run, bool(waiting))
            if not waiting or strategy not in ("interrupt", "rollback"):
                return Submitted(run, created=True)
            drop = _DELETE_PENDING if strategy == "rollback" else _INTERRUPT_PENDING
            dropped = await (await conn.execute(drop, [thread_id, run["run_id"]])).fetchall()
        running = next((r for r in waiting if r["status"] == "running"), None)
        return Submitted(run, created=True, dropped=dropped, running=running)

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

    async def claim_next(self, thread_id: str) -> dict[str, Any] | None:
        """Mark the run to execute next `running`, and its thread `busy`, and return it (with
        the attempt it had): one a dead process left running, else the oldest pending. The
        caller holds the thread's claim; the row lock only orders this against a concurrent
        drop."""
        return await self._one(_CLAIM_NEXT, [thread_id])

    async def unclaimed_threads(self) -> list[str]:
        """Threads with unfinished runs that no process has claimed (their process died)."""
        rows = await self._all(_UNCLAIMED, [CLAIM_SPACE])
        return [str(row["thread_id"]) for row in rows]

    async def end_orphan(self, run_id: str) -> bool:
        """Mark a `running` run that no process executes (its process died, and none has
        claimed the thread since) interrupted; False when a process holds its thread."""
        return await self._one(_END_ORPHAN, [run_id, CLAIM_SPACE]) is not None

    async def drop_pending(self, run_id: str, *, rollback: bool) -> bool:
        """End a run that has not started (interrupted, or deleted for a rollback); False when
        a process claimed it meanwhile."""
        if rollback:
            query = "DELETE FROM runs WHERE run_id = %s AND status = 'pending' RETURNING run_id"
        else:
            query = """UPDATE runs SET status = 'interrupted', updated_at = now()
                       WHERE run_id = %s AND status = 'pending' RETURNING run_id"""
        return await self._one(query, [run_id]) is not None

    async def unfinished(self, thread_id: str | None = None) -> list[dict[str, Any]]:
        """Pending and running runs (of one thread, or all), oldest first."""
        return await self._all(_UNFINISHED, [thread_id, thread_id])

    async def any_unfinished(self, thread_id: str) -> bool:
        """Whether the thread has a pending or running run."""
        query = "SELECT 1 FROM runs WHERE thread_id = %s AND status IN ('pending', 'running')"
        return await self._one(query + " LIMIT 1", [thread_id]) is not None

    async def set_status(self, run_id: str, status: str, conn: Connection | None = None) -> None:
        """Record the run's status (on `conn`, in its transaction, when given)."""
        query = "UPDATE runs SET status = %s, updated_at = now() WHERE run_id = %s"
        if conn is not None:
            await conn.execute(query, [status, run_id])
            return
        async with self.pool.connection() as own:
            await own.execute(query, [status, run_id])

    async def delete(self, run_id: str) -> None:
        async with self.pool.connection() as conn:
            await conn.execute("DELETE FROM runs WHERE run_id = %s", [run_id])

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
