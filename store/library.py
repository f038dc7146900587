"""Your library: every output a person may see, across all the threads they reach, newest first.

Which threads a caller reaches is people's rule (`people.ownership.visible_threads_sql`: a WHERE
clause on `threads t`); this module only applies it. An output is listed once: under the thread
that made it when that thread is visible, else under a visible thread that holds it (a branch's
inherited image), with that thread's verdict.
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, get_args

from psycopg import sql
from psycopg.rows import dict_row

from adapters.assets import SUFFIXES, AssetRecord
from adapters.errors import InvalidInput
from store.database import Pool
from store.export import export_name, file_stem

Verdict = Literal[
    "approved", "current", "superseded", "completed", "interrupted", "failed", "rejected", "none"
]
"""Verdicts an output carries (`none`: not ruled on yet)."""
VERDICTS: tuple[str, ...] = get_args(Verdict)


Visible = tuple[str, dict[str, Any]]
"""A WHERE clause on `threads t` naming the threads the caller reaches, and its parameters."""


@dataclass(frozen=True)
class LibraryQuery:
    thread: str | None = None
    deliverable: str | None = None
    verdict: Verdict | None = None
    since: datetime | None = None
    """Made at or after this time."""
    until: datetime | None = None
    """Made before this time."""
    asset_id: str | None = None
    """One output (a download checks it is visible this way)."""


@dataclass(frozen=True)
class LibraryItem:
    """An output as the library lists it: the asset, the thread it is listed under (with
    that thread's verdict and scores on `record`) and the thread's title."""

    record: AssetRecord
    thread_title: str


@dataclass(frozen=True)
class LibraryPage:
    items: list[LibraryItem]
    next_cursor: str | None


_ASSET_COLUMNS = (
    "id, job_id, sha256, path, content_type, width, height, bytes, deliverable, iteration,"
    " attempt, seed, generator, spec, recipe, created_at"
)
_LIST = """
    WITH visible AS (
        SELECT t.thread_id, COALESCE(NULLIF(t.title, ''), t.metadata ->> 'title') AS title
        FROM threads t WHERE {scope}
    ), held AS (
        SELECT a.id, a.thread_id AS holder, a.verdict, a.scores, 0 AS rank
        FROM assets a JOIN visible v ON v.thread_id = a.thread_id
        UNION ALL
        SELECT r.asset_id, r.thread_id, r.verdict, r.scores, 1
        FROM asset_refs r JOIN visible v ON v.thread_id = r.thread_id
    ), once AS (
        SELECT DISTINCT ON (id) id, holder, verdict, scores FROM held ORDER BY id, rank, holder
    )
    SELECT {columns}, once.holder AS thread_id, once.verdict, once.scores, v.title AS title
    FROM once JOIN assets a ON a.id = once.id JOIN visible v ON v.thread_id = once.holder
    {where}
    ORDER BY a.created_at DESC, a.id DESC
    LIMIT %(limit)s
"""


async def list_library(
    pool: Pool,
    root: Path,
    visible: Visible,
    filters: LibraryQuery,
    *,
    cursor: str | None = None,
    limit: int = 50,
) -> LibraryPage:
    """The outputs of the `visible` threads matching `filters`, newest first (ties by id, so
    pages neither repeat nor skip); `root` is the asset store's (files are relative to it)."""
    clause, given = visible
    params: dict[str, Any] = {**given, "limit": limit + 1}
    scope_sql: sql.Composable = sql.SQL("({})").format(sql.SQL(clause))
    if filters.thread is not None:
        params["thread"] = filters.thread
        scope_sql = sql.SQL("{} AND t.thread_id = %(thread)s").format(scope_sql)
    where: list[sql.Composable] = []
    if filters.deliverable is not None:
        where.append(sql.SQL("a.deliverable = %(deliverable)s"))
        params["deliverable"] = filters.deliverable
    if filters.verdict == "none":
        where.append(sql.SQL("once.verdict IS NULL"))
    elif filters.verdict is not None:
        where.append(sql.SQL("once.verdict = %(verdict)s"))
        params["verdict"] = filters.verdict
    if filters.since is not None:
        where.append(sql.SQL("a.created_at >= %(since)s"))
        params["since"] = filters.since
    if filters.until is not None:
        where.append(sql.SQL("a.created_at < %(until)s"))
        params["until"] = filters.until
    if filters.asset_id is not None:
        where.append(sql.SQL("a.id::text = %(asset_id)s"))
        params["asset_id"] = filters.asset_id.lower()
    if cursor is not None:
        created, asset_id = decode_cursor(cursor)
        where.append(sql.SQL("(a.created_at, a.id) < (%(c_at)s::timestamptz, %(c_id)s::uuid)"))
        params.update(c_at=created, c_id=asset_id)
    columns = sql.SQL(", ").join(sql.SQL(f"a.{c}") for c in _ASSET_COLUMNS.split(", "))
    statement = sql.SQL(_LIST).format(
        scope=scope_sql,
        columns=columns,
        where=sql.SQL("WHERE ") + sql.SQL(" AND ").join(where) if where else sql.SQL(""),
    )
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(statement, params)
        rows = await cur.fetchall()
    items = [_item(row, root) for row in rows[:limit]]
    more = len(rows) > limit
    return LibraryPage(items, encode_cursor(items[-1].record) if more else None)


async def find_in_library(
    pool: Pool, root: Path, visible: Visible, asset_id: str
) -> LibraryItem | None:
    """One output, if a `visible` thread holds it."""
    page = await list_library(pool, root, visible, LibraryQuery(asset_id=asset_id), limit=1)
    return page.items[0] if page.items else None


def _item(row: dict[str, Any], root: Path) -> LibraryItem:
    title = str(row.pop("title") or "untitled")
    record = AssetRecord(**{**row, "id": str(row["id"]), "path": root / row["path"]})
    return LibraryItem(record, title)


def encode_cursor(record: AssetRecord) -> str:
    key = json.dumps(["library", record.created_at.isoformat(), record.id])
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, str]:
    """`(created_at, asset id)` of the last item of the previous page; `InvalidInput` naming
    `cursor` for anything this module did not hand out."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        tag, created, asset_id = json.loads(raw)
        datetime.fromisoformat(created)
        if tag == "library" and isinstance(asset_id, str):
            return created, str(uuid.UUID(asset_id))
    except (ValueError, TypeError, UnicodeDecodeError):
        pass
    raise InvalidInput("cursor: not a cursor this API returned")


def download_name(item: LibraryItem) -> str:
    """A file name a person can read: `<title>-<deliverable>-i<iteration>-<id>.<ext>`
    (`neon-street-at-night-hero-a-i2-3f9c1a2b.png`), ASCII only, never a path."""
    r = item.record
    title = export_name(item.thread_title, "").removeprefix("creative-studio").strip("-")
    parts = [title or "untitled", file_stem(r.deliverable), f"i{r.iteration}", r.id[:8]]
    return "-".join(parts) + SUFFIXES.get(r.content_type, ".bin")
