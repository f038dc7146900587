"""Deleting a thread for good: its rows everywhere, its image files, and its id (a tombstone)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from api.database import Connection, Pool

logger = logging.getLogger("studio.api")

_TOMBSTONE = "INSERT INTO deleted_threads (thread_id) VALUES (%s) ON CONFLICT DO NOTHING"
_DELETE = (
    "DELETE FROM threads WHERE thread_id = %(t)s",
    "DELETE FROM runs WHERE thread_id = %(t)s",
    "DELETE FROM checkpoints WHERE thread_id = %(t)s",
    "DELETE FROM checkpoint_blobs WHERE thread_id = %(t)s",
    "DELETE FROM checkpoint_writes WHERE thread_id = %(t)s",
    "DELETE FROM checkpoint_lists WHERE thread_id = %(t)s",
    "DELETE FROM checkpoint_list_items WHERE thread_id = %(t)s",
    # replays of requests on the thread (their answers hold its data)
    "DELETE FROM idempotency_keys WHERE starts_with(scope, 'POST /threads/' || %(t)s || '/')",
)
"""Everything keyed by the thread, besides its events (the event log deletes those) and its
assets (`delete_rows` returns their files)."""
_ORPHANS = """
    SELECT p.path FROM unnest(%s::text[]) AS p(path)
    WHERE NOT EXISTS (SELECT 1 FROM assets a WHERE a.path = p.path)
"""
"""Which of these files no other thread's asset uses (files are content-addressed: two
threads that made the same image share it)."""


def is_deleted_sql(param: str) -> str:
    """A SQL condition: the id in `param` was deleted once."""
    return f"EXISTS (SELECT 1 FROM deleted_threads WHERE thread_id = {param})"


async def delete_rows(conn: Connection, thread_id: str) -> list[str]:
    """In `conn`'s transaction: tombstone the id and delete every row of the thread; returns
    the asset files (relative paths) its assets used."""
    await conn.execute(_TOMBSTONE, [thread_id])
    for statement in _DELETE:
        await conn.execute(statement, {"t": thread_id})
    cursor = await conn.execute(
        "DELETE FROM assets WHERE thread_id = %s RETURNING path", [thread_id]
    )
    return sorted({row["path"] for row in await cursor.fetchall()})


async def delete_files(pool: Pool, root: Path, paths: list[str]) -> int:
    """Remove the files no remaining asset uses; returns how many were removed."""
    if not paths:
        return 0
    async with pool.connection() as conn:
        cursor = await conn.execute(_ORPHANS, [paths])
        orphans = [str(row["path"]) for row in await cursor.fetchall()]
    return await asyncio.to_thread(_unlink_under, root, orphans)


def _unlink_under(root: Path, relative: list[str]) -> int:
    removed = 0
    top = root.resolve()
    for name in relative:
        path = (top / name).resolve()
        if not path.is_relative_to(top):
            logger.warning("not deleting %s: outside the asset store", path)
            continue
        try:
            path.unlink()
            removed += 1
        except FileNotFoundError:
            pass
    return removed
