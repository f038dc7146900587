"""Forward-only SQL migrations: apply `migrations/*.sql` once each, in name order."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import scalar_row, tuple_row

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
"""Repo-root `migrations/`; the wheel force-includes the folder at the same place."""

NO_TRANSACTION = "-- no-transaction"
"""A file whose first line is this runs outside a transaction (e.g. `CREATE INDEX CONCURRENTLY`)."""

# Any constant works; every process that migrates this database must use the same one.
_LOCK_ID = 0x73747564696F  # "studio"
_LOCK_POLL_S = 0.05

_CREATE_TABLE = """
    CREATE TABLE IF NOT EXISTS schema_migrations (
        name        text PRIMARY KEY,
        applied_at  timestamptz NOT NULL DEFAULT now()
    )
"""
_RECORD = "INSERT INTO schema_migrations (name) VALUES (%s)"
# Statements of a no-transaction file end with `;` at the end of a line.
_STATEMENT_END = re.compile(r";[ \t]*$", re.MULTILINE)


@asynccontextmanager
async def migration_lock(conn: psycopg.AsyncConnection[Any]) -> AsyncIterator[None]:
    """Hold the database's migration lock (a session advisory lock; re-entrant), so that
    processes starting at once change the schema one at a time.

    Waiting polls `pg_try_advisory_lock` instead of blocking in `pg_advisory_lock`: a session
    blocked inside a statement holds a snapshot, and `CREATE INDEX CONCURRENTLY` (LangGraph's
    setup runs some) waits for every such snapshot, while the waiter waits for the lock: a
    deadlock Postgres would detect and abort."""
    while True:
        async with conn.cursor(row_factory=scalar_row) as cur:
            await cur.execute("SELECT pg_try_advisory_lock(%s)", (_LOCK_ID,))
            if await cur.fetchone():
                break
        await asyncio.sleep(_LOCK_POLL_S)
    try:
        yield
    finally:
        if not conn.broken:
            await conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_ID,))


async def apply_migrations(
    conn: psycopg.AsyncConnection[Any], directory: Path = MIGRATIONS_DIR
) -> list[str]:
    """Apply the migrations `conn`'s database lacks and return their names, in order.

    Each file runs in its own transaction together with its `schema_migrations` row, so a
    failing file leaves nothing behind and is retried next time. Concurrent callers (several
    processes starting at once) wait on a Postgres advisory lock and then find nothing to do.
    """
    if not conn.autocommit:
        # The advisory lock spans several transactions and no-transaction files need none open.
        raise ValueError("apply_migrations needs a connection in autocommit mode")
    files = await asyncio.to_thread(_read_migrations, directory)
    async with migration_lock(conn):
        await conn.execute(_CREATE_TABLE)
        applied = set(await _applied_names(conn))
        done: list[str] = []
        for name, text in files:
            if name in applied:
                continue
            if _is_no_transaction(text):
                # A multi-statement string would run as one implicit transaction: split it.
                for statement in _statements(text):
                    await conn.execute(statement, prepare=False)
                await conn.execute(_RECORD, (name,))
            else:
                async with conn.transaction():
                    # prepare=False: a multi-statement file cannot be a prepared statement.
                    await conn.execute(text, prepare=False)
                    await conn.execute(_RECORD, (name,))
            done.append(name)
        return done


async def status(
    conn: psycopg.AsyncConnection[Any], directory: Path = MIGRATIONS_DIR
) -> list[tuple[str, datetime | None]]:
    """Each migration file's name with when it was applied (None: pending), in name order."""
    files = await asyncio.to_thread(_read_migrations, directory)
    applied: dict[str, datetime] = {}
    async with conn.cursor(row_factory=tuple_row) as cur:
        await cur.execute("SELECT to_regclass('schema_migrations') IS NOT NULL")
        if (row := await cur.fetchone()) is not None and row[0]:
            await cur.execute("SELECT name, applied_at FROM schema_migrations")
            applied = {name: at for name, at in await cur.fetchall()}
    return [(name, applied.get(name)) for name, _ in files]


async def _applied_names(conn: psycopg.AsyncConnection[Any]) -> list[str]:
    async with conn.cursor(row_factory=scalar_row) as cur:
        await cur.execute("SELECT name FROM schema_migrations")
        return [str(name) for name in await cur.fetchall()]


def _read_migrations(directory: Path) -> list[tuple[str, str]]:
    return [(path.name, path.read_text()) for path in sorted(directory.glob("*.sql"))]


def _is_no_transaction(text: str) -> bool:
    first_line = text.lstrip().partition("\n")[0]
    return first_line.strip().lower() == NO_TRANSACTION


def _statements(text: str) -> list[str]:
    chunks = (chunk.strip() for chunk in _STATEMENT_END.split(text))
    return [chunk for chunk in chunks if chunk and not _only_comments(chunk)]


def _only_comments(chunk: str) -> bool:
    return all(not line.strip() or line.strip().startswith("--") for line in chunk.splitlines())
