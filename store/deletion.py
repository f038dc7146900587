"""Deleting a thread for good: its rows everywhere, its image files, and its id (a tombstone)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from store.database import Connection, Pool

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
_HAND_DOWN = """
    WITH heir AS (
        SELECT DISTINCT ON (r.asset_id) r.asset_id, r.thread_id, r.verdict, r.scores
        FROM asset_refs r JOIN assets a ON a.id = r.asset_id
        WHERE a.thread_id = %(t)s AND r.thread_id <> %(t)s
        ORDER BY r.asset_id, r.thread_id
    ), moved AS (
        UPDATE assets a SET thread_id = h.thread_id, verdict = h.verdict, scores = h.scores
        FROM heir h WHERE a.id = h.asset_id
        RETURNING a.id, a.thread_id
    )
    DELETE FROM asset_refs r USING moved m WHERE r.asset_id = m.id AND r.thread_id = m.thread_id
"""
"""The thread's assets that other threads (its branches) reference go to one of them, with
that thread's verdict and scores: nothing of the deleted thread's own stays on the row."""
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
    """In `conn`'s transaction: tombstone the id and delete every row of the thread (its
    assets that branches still reference go to a branch, its references go); returns the
    asset files (relative paths) its deleted assets used."""
    await conn.execute(_TOMBSTONE, [thread_id])
    for statement in _DELETE:
        await conn.execute(statement, {"t": thread_id})
    await conn.execute(_HAND_DOWN, {"t": thread_id})
    await conn.execute("DELETE FROM asset_refs WHERE thread_id = %s", [thread_id])
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
