"""The asset store: content-addressed image files on disk, indexed (with lineage) in Postgres."""

from __future__ import annotations

import asyncio
import hashlib
import os
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from adapters.images import GeneratedImage

_COLUMNS = (
    "id, thread_id, job_id, sha256, path, content_type, width, height, bytes, deliverable,"
    " iteration, attempt, seed, generator, spec, recipe, scores, verdict, created_at"
)
_INSERT = f"""
    INSERT INTO assets (thread_id, job_id, sha256, path, content_type, width, height, bytes,
                        deliverable, iteration, attempt, seed, generator, spec, recipe)
    VALUES (%(thread_id)s, %(job_id)s, %(sha256)s, %(path)s, %(content_type)s, %(width)s,
            %(height)s, %(bytes)s, %(deliverable)s, %(iteration)s, %(attempt)s, %(seed)s,
            %(generator)s, %(spec)s, %(recipe)s)
    ON CONFLICT (job_id) DO NOTHING
    RETURNING {_COLUMNS}
"""

_BY_JOB = f"SELECT {_COLUMNS} FROM assets WHERE job_id = %s"
_REF_COLUMNS = ", ".join(
    f"r.{c}" if c in ("verdict", "scores") else f"a.{c}" for c in _COLUMNS.split(", ")
)
_HELD = f"""
    SELECT {_COLUMNS} FROM assets WHERE thread_id = %(thread_id)s
    UNION ALL
    SELECT {_REF_COLUMNS}
    FROM asset_refs r JOIN assets a ON a.id = r.asset_id
    WHERE r.thread_id = %(thread_id)s
"""
"""What a thread holds: the assets it made, and those it references (a branch's inherited
images) with its own verdict and scores."""
_SET_VERDICT = (
    "UPDATE assets SET verdict = %(verdict)s WHERE id = ANY(%(ids)s) AND thread_id = %(thread_id)s",
    "UPDATE asset_refs SET verdict = %(verdict)s"
    " WHERE asset_id = ANY(%(ids)s) AND thread_id = %(thread_id)s",
)
_SET_SCORES = (
    "UPDATE assets SET scores = scores || %(scores)s"
    " WHERE id = ANY(%(ids)s) AND thread_id = %(thread_id)s",
    "UPDATE asset_refs SET scores = scores || %(scores)s"
    " WHERE asset_id = ANY(%(ids)s) AND thread_id = %(thread_id)s",
)
SUFFIXES = {
    "image/png": ".png",
    "video/mp4": ".mp4",
    "audio/wav": ".wav",
    "text/vtt": ".vtt",
    "application/json": ".json",
}
"""File name suffix per content type the store keeps (images, and a video's media)."""


@dataclass(frozen=True)
class AssetRecord:
    """One stored image and how it was made."""

    id: str
    thread_id: str
    job_id: str
    """Exactly-once key: thread/deliverable/iteration/attempt."""
    sha256: str
    path: Path
    """Absolute path of the file (content-addressed, shared by identical images)."""
    content_type: str
    width: int
    height: int
    bytes: int
    """File size."""
    deliverable: str
    iteration: int
    attempt: int
    seed: int
    generator: str
    spec: dict[str, Any]
    recipe: dict[str, Any]
    scores: dict[str, Any]
    verdict: str | None
    created_at: datetime


class AssetStore:
    """Stores generated images once per job and finds them again by id, job or thread."""

    def __init__(self, pool: AsyncConnectionPool[AsyncConnection[Any]], root: Path) -> None:
        self.pool = pool
        self.root = root

    async def put(
        self,
        image: GeneratedImage,
        *,
        thread_id: str,
        job_id: str,
        deliverable: str,
        iteration: int,
        attempt: int,
        seed: int,
        spec: dict[str, Any],
    ) -> AssetRecord:
        """Store `image` for `job_id`, or return what that job already stored (exactly-once)."""
        return await self.put_media(
            image.png,
            content_type="image/png",
            width=image.width,
            height=image.height,
            generator=image.generator,
            recipe=image.recipe,
            thread_id=thread_id,
            job_id=job_id,
            deliverable=deliverable,
            iteration=iteration,
            attempt=attempt,
            seed=seed,
            spec=spec,
        )

    async def put_media(
        self,
        data: bytes,
        *,
        content_type: str,
        width: int,
        height: int,
        generator: str,
        recipe: dict[str, Any],
        thread_id: str,
        job_id: str,
        deliverable: str,
        iteration: int,
        attempt: int = 0,
        seed: int = 0,
        spec: dict[str, Any] | None = None,
    ) -> AssetRecord:
        """Store any media file (`content_type` among `SUFFIXES`) exactly once per `job_id`."""
        if (existing := await self.by_job(job_id)) is not None:
            return existing
        sha256 = hashlib.sha256(data).hexdigest()
        relative = f"{sha256[:2]}/{sha256}{SUFFIXES.get(content_type, '.bin')}"
        # The file goes first: a row never points at a missing file, and a crash in between
        # leaves only a file that the retried job reuses.
        await asyncio.to_thread(_write_once, self.root / relative, data)
        params = {
            "thread_id": thread_id,
            "job_id": job_id,
            "sha256": sha256,
            "path": relative,
            "content_type": content_type,
            "width": width,
            "height": height,
            "bytes": len(data),
            "deliverable": deliverable,
            "iteration": iteration,
            "attempt": attempt,
            "seed": seed,
            "generator": generator,
            "spec": Jsonb(spec or {}),
            "recipe": Jsonb(recipe),
        }
        row = await self._fetch_one(_INSERT, params)
        if row is None:  # a concurrent put of the same job won the race
            row = await self._fetch_one(
                f"SELECT {_COLUMNS} FROM assets WHERE job_id = %s", [job_id]
            )
        assert row is not None, "the conflicting row cannot vanish: assets are never deleted here"
        return self._record(row)

    async def by_job(self, job_id: str) -> AssetRecord | None:
        """The asset `job_id` stored, if any."""
        row = await self._fetch_one(_BY_JOB, [job_id])
        return None if row is None else self._record(row)

    async def get(self, asset_id: str) -> AssetRecord | None:
        """The asset with this id; None when unknown or not an id at all."""
        if (uid := _uuid(asset_id)) is None:
            return None
        row = await self._fetch_one(f"SELECT {_COLUMNS} FROM assets WHERE id = %s", [uid])
        return None if row is None else self._record(row)

    async def list_thread(
        self, thread_id: str, *, deliverable: str | None = None, iteration: int | None = None
    ) -> list[AssetRecord]:
        """A thread's assets, oldest first, optionally for one deliverable and/or iteration:
        those it made and those it references (a branch's inherited images, with the
        branch's own verdict and scores)."""
        query = f"""
            SELECT * FROM ({_HELD}) AS held
            WHERE (%(deliverable)s::text IS NULL OR deliverable = %(deliverable)s)
              AND (%(iteration)s::integer IS NULL OR iteration = %(iteration)s)
            ORDER BY created_at, id
        """
        params = {"thread_id": thread_id, "deliverable": deliverable, "iteration": iteration}
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(query, params)
            return [self._record(row) for row in await cur.fetchall()]

    async def holders(self, asset_id: str) -> list[str]:
        """The threads that hold the asset: its maker, then those that reference it."""
        if (uid := _uuid(asset_id)) is None:
            return []
        query = """
            SELECT thread_id FROM assets WHERE id = %(id)s
            UNION ALL
            (SELECT thread_id FROM asset_refs WHERE asset_id = %(id)s ORDER BY thread_id)
        """
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(query, {"id": uid})
            return [str(row["thread_id"]) for row in await cur.fetchall()]

    async def share(
        self, source: str, target: str, *, asset_ids: list[str], until: datetime | None
    ) -> int:
        """Let `target` (a branch) reference what `source` holds among `asset_ids`, or made no
        later than `until`, starting from `source`'s verdicts and scores; returns how many."""
        query = f"""
            INSERT INTO asset_refs (thread_id, asset_id, verdict, scores)
            SELECT %(target)s, held.id, held.verdict, held.scores FROM ({_HELD}) AS held
            WHERE held.id = ANY(%(ids)s) OR held.created_at <= %(until)s
            ON CONFLICT DO NOTHING
        """
        params = {
            "thread_id": source,
            "target": target,
            "ids": [uid for uid in map(_uuid, asset_ids) if uid is not None],
            "until": until,
        }
        async with self.pool.connection() as conn:
            cur = await conn.execute(query, params)
            return cur.rowcount

    async def record_scores(
        self, thread_id: str, asset_id: str, scores: dict[str, Any]
    ) -> AssetRecord | None:
        """Merge `scores` into the asset's scores as `thread_id` holds it (the maker's on the
        row, a branch's on its reference); None when the thread holds no such asset."""
        if (uid := _uuid(asset_id)) is None:
            return None
        params = {"thread_id": thread_id, "ids": [uid], "scores": Jsonb(scores)}
        async with self.pool.connection() as conn:
            for statement in _SET_SCORES:
                await conn.execute(statement, params)
        held = [r for r in await self.list_thread(thread_id) if r.id == str(uid)]
        return held[0] if held else None

    async def record_verdict(self, thread_id: str, asset_ids: list[str], verdict: str) -> int:
        """Set the verdict (e.g. `approved`, `rejected`) of these assets as `thread_id` holds
        them (another thread's verdicts are left alone); returns how many."""
        uids = [uid for uid in map(_uuid, asset_ids) if uid is not None]
        if not uids:
            return 0
        params = {"thread_id": thread_id, "ids": uids, "verdict": verdict}
        changed = 0
        async with self.pool.connection() as conn:
            for statement in _SET_VERDICT:
                changed += (await conn.execute(statement, params)).rowcount
        return changed

    async def read_bytes(self, record: AssetRecord) -> bytes:
        """The stored file's bytes."""
        return await asyncio.to_thread(record.path.read_bytes)

    async def _fetch_one(self, query: str, params: Any) -> dict[str, Any] | None:
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(query, params)
            return await cur.fetchone()

    def _record(self, row: dict[str, Any]) -> AssetRecord:
        return AssetRecord(**{**row, "id": str(row["id"]), "path": self.root / row["path"]})


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _write_once(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically unless it exists (same name, same content)."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    if os.name == "posix":
        # The rename itself is durable only once the directory entry is synced.
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
