"""Media Lab presets: immutable, numbered versions per preset id, in Postgres.

The built-in presets come from the code (`adapters.media_lab.params.BUILTIN_PRESETS`) and are
merged in at startup; a preset saved later (from a LangGraph Studio run's input) is the next
version of its id. A version is never changed once written (migration 0021 refuses UPDATE and
DELETE), so a job that names (id, version) can always be re-run with the same parameters.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb

from adapters.errors import Conflict, NotFound
from store.database import Pool

_COLUMNS = "kind, preset_id, version, params, source, created_by, description, created_at"
_MERGE = """
    INSERT INTO media_presets (kind, preset_id, version, params, source, description)
    VALUES (%s, %s, %s, %s, 'builtin', %s)
    ON CONFLICT (preset_id, version) DO NOTHING
"""
_SAVE = f"""
    INSERT INTO media_presets (kind, preset_id, version, params, source, created_by, description)
    SELECT %(kind)s, %(preset_id)s, COALESCE(MAX(version), 0) + 1, %(params)s, 'saved',
           %(created_by)s, %(description)s
    FROM media_presets WHERE preset_id = %(preset_id)s
    RETURNING {_COLUMNS}
"""
_LOCK = "SELECT pg_advisory_xact_lock(hashtext('media_presets:' || %s))"
"""Two saves of one id at once get consecutive versions, not a key conflict."""


@dataclass(frozen=True)
class StoredPreset:
    """One version of a preset."""

    kind: str
    preset_id: str
    version: int
    params: dict[str, Any]
    source: str
    """`builtin` (from the code) or `saved` (POST /media/presets)."""
    created_by: str | None
    description: str
    created_at: datetime

    def json(self) -> dict[str, Any]:
        return {
            "id": self.preset_id,
            "version": self.version,
            "kind": self.kind,
            "params": self.params,
            "source": self.source,
            "created_by": self.created_by,
            "description": self.description,
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True)
class PresetVersion:
    """A preset version to store: (id, version, kind, JSON params, description)."""

    preset_id: str
    version: int
    kind: str
    params: dict[str, Any]
    description: str = ""


class PresetStore:
    """Finds, lists and adds preset versions."""

    def __init__(self, pool: Pool) -> None:
        self.pool = pool

    async def merge_builtins(self, builtins: Iterable[PresetVersion]) -> None:
        """Add the code's presets the database does not have yet (idempotent, any number of
        processes at once); a stored version is never replaced."""
        async with self.pool.connection() as conn:
            for p in builtins:
                values = [p.kind, p.preset_id, p.version, Jsonb(p.params), p.description]
                await conn.execute(_MERGE, values)

    async def list(
        self, kind: str | None = None, *, all_versions: bool = False
    ) -> list[StoredPreset]:
        """Presets by kind and id; only each id's latest version unless `all_versions`."""
        latest = "" if all_versions else "DISTINCT ON (kind, preset_id)"
        query = f"""
            SELECT {latest} {_COLUMNS} FROM media_presets
            WHERE %(kind)s::text IS NULL OR kind = %(kind)s
            ORDER BY kind, preset_id, version DESC
        """
        async with self.pool.connection() as conn:
            rows = await (await conn.execute(query, {"kind": kind})).fetchall()
        return [StoredPreset(**row) for row in rows]

    async def get(self, kind: str, preset_id: str, version: int | None = None) -> StoredPreset:
        """That version of the preset (its latest when `version` is None) for `kind`, else
        `NotFound` naming what is missing."""
        query = f"""
            SELECT {_COLUMNS} FROM media_presets
            WHERE kind = %s AND preset_id = %s AND (%s::int IS NULL OR version = %s)
            ORDER BY version DESC LIMIT 1
        """
        async with self.pool.connection() as conn:
            row = await (await conn.execute(query, [kind, preset_id, version, version])).fetchone()
        if row is None:
            what = f"{preset_id!r}" if version is None else f"{preset_id!r} version {version}"
            raise NotFound(f"preset: {kind} has no preset {what}")
        return StoredPreset(**row)

    async def save(
        self,
        kind: str,
        preset_id: str,
        params: dict[str, Any],
        *,
        created_by: str,
        description: str = "",
    ) -> StoredPreset:
        """Add `params` as the next version of `preset_id` (1 for a new id). An id belongs to
        one kind: saving it for another is a `Conflict`."""
        values = {
            "kind": kind,
            "preset_id": preset_id,
            "params": Jsonb(params),
            "created_by": created_by,
            "description": description,
        }
        async with self.pool.connection() as conn, conn.transaction():
            await conn.execute(_LOCK, [preset_id])
            cur = await conn.execute(
                "SELECT kind FROM media_presets WHERE preset_id = %s LIMIT 1", [preset_id]
            )
            existing = await cur.fetchone()
            if existing is not None and existing["kind"] != kind:
                raise Conflict(f"id: preset {preset_id!r} is a {existing['kind']} preset")
            row = await (await conn.execute(_SAVE, values)).fetchone()
        assert row is not None
        return StoredPreset(**row)


def builtin_versions() -> list[PresetVersion]:
    """The code's built-in presets (`adapters.media_lab.params`), as stored versions."""
    from adapters.media_lab.params import BUILTIN_PRESETS

    return [
        PresetVersion(p.id, p.version, p.kind, p.params.model_dump(mode="json"), p.description)
        for p in BUILTIN_PRESETS
    ]
