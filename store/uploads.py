"""Media Lab uploads: files streamed to disk within a size bound, stored content-addressed
(sha256) under the asset store's root and never overwritten, one row per upload in Postgres."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import uuid
from collections.abc import AsyncIterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from adapters.errors import InvalidInput, NotFound
from adapters.media_lab.probe import UploadInfo
from store.database import Pool

SUFFIXES = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/webp": ".webp",
    "video/mp4": ".mp4",
    "video/webm": ".webm",
    "video/quicktime": ".mov",
}
"""The file name suffix per content type an upload may have (checked by content, not name)."""
_COLUMNS = (
    "id, owner, sha256, path, kind, mime, filename, width, height, fps, frames, duration_s,"
    " has_audio, bytes, created_at"
)
_INSERT = f"""
    INSERT INTO media_uploads (owner, sha256, path, kind, mime, filename, width, height, fps,
                               frames, duration_s, has_audio, bytes)
    VALUES (%(owner)s, %(sha256)s, %(path)s, %(kind)s, %(mime)s, %(filename)s, %(width)s,
            %(height)s, %(fps)s, %(frames)s, %(duration_s)s, %(has_audio)s, %(bytes)s)
    RETURNING {_COLUMNS}
"""


class TooLarge(InvalidInput):
    """A body past its size limit (the HTTP edge answers 413 naming the limit)."""

    code = "too_large"

    def __init__(self, message: str, *, limit: str, max_bytes: int) -> None:
        super().__init__(message)
        self.limit = limit
        self.max_bytes = max_bytes


@dataclass(frozen=True)
class Staged:
    """A received body in a private temporary file, with its digest and size."""

    path: Path
    sha256: str
    bytes: int

    def discard(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


@dataclass(frozen=True)
class UploadRecord:
    """One upload: who sent it, what it is (as probed), where its bytes are."""

    id: str
    owner: str
    sha256: str
    path: Path
    """Absolute path of the content-addressed file (shared by identical uploads)."""
    kind: str
    """`image` or `video`."""
    mime: str
    filename: str
    width: int
    height: int
    fps: float | None
    frames: int | None
    duration_s: float | None
    has_audio: bool
    bytes: int
    created_at: datetime

    def json(self) -> dict[str, Any]:
        """The upload as the API shows it (no server paths)."""
        return {
            "id": self.id,
            "owner": self.owner,
            "sha256": self.sha256,
            "kind": self.kind,
            "mime": self.mime,
            "filename": self.filename,
            "width": self.width,
            "height": self.height,
            "fps": self.fps,
            "frames": self.frames,
            "duration_s": self.duration_s,
            "has_audio": self.has_audio,
            "bytes": self.bytes,
            "created_at": self.created_at.isoformat(),
        }


def safe_filename(name: str | None) -> str:
    """The given file name for display: its last path part, printable, at most 200 chars."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(c for c in base if c.isprintable() and c not in "\"'<>")[:200]


class UploadStore:
    """Receives, stores and finds uploads. Files live under `root/media/uploads/`."""

    def __init__(self, pool: Pool, root: Path) -> None:
        self.pool = pool
        self.root = root

    @property
    def incoming(self) -> Path:
        path = self.root / "media" / "incoming"
        path.mkdir(parents=True, exist_ok=True)
        return path

    async def stage(self, chunks: AsyncIterable[bytes], *, max_bytes: int) -> Staged:
        """Write `chunks` to a temporary file, hashing as they come; past `max_bytes` stop
        reading and raise `TooLarge` (nothing is kept)."""
        fd, name = tempfile.mkstemp(dir=self.incoming, prefix="up-", suffix=".part")
        digest, size = hashlib.sha256(), 0
        try:
            with os.fdopen(fd, "wb") as out:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > max_bytes:
                        raise TooLarge(
                            f"file: larger than the upload limit of {max_bytes} bytes "
                            "(STUDIO_MEDIA_MAX_UPLOAD_BYTES)",
                            limit="STUDIO_MEDIA_MAX_UPLOAD_BYTES",
                            max_bytes=max_bytes,
                        )
                    digest.update(chunk)
                    out.write(chunk)
        except BaseException:
            os.unlink(name)
            raise
        if size == 0:
            os.unlink(name)
            raise InvalidInput("file: the upload is empty")
        return Staged(Path(name), digest.hexdigest(), size)

    def keep(self, staged: Staged, mime: str) -> Path:
        """Move a staged file to its content address (relative path returned). An existing
        file with that address is the same bytes: it is kept as it is, never overwritten."""
        suffix = SUFFIXES.get(mime, ".bin")
        relative = Path("media") / "uploads" / staged.sha256[:2] / f"{staged.sha256}{suffix}"
        final = self.root / relative
        final.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(staged.path, final)  # fails if it exists: never replaces a stored file
        except FileExistsError:
            pass
        finally:
            staged.discard()
        return relative

    async def put(
        self, staged: Staged, probed: UploadInfo, *, owner: str, filename: str | None
    ) -> UploadRecord:
        """Store a staged, probed file for `owner` (a new row even for bytes seen before)."""
        relative = self.keep(staged, probed.mime)
        params = {
            "owner": owner,
            "sha256": staged.sha256,
            "path": str(relative),
            "kind": probed.kind,
            "mime": probed.mime,
            "filename": safe_filename(filename),
            "width": int(probed.width),
            "height": int(probed.height),
            "fps": probed.fps,
            "frames": probed.frames,
            "duration_s": probed.duration_s,
            "has_audio": bool(probed.has_audio),
            "bytes": staged.bytes,
        }
        async with self.pool.connection() as conn:
            row = await (await conn.execute(_INSERT, params)).fetchone()
        assert row is not None
        return self._record(row)

    async def get(self, upload_id: str) -> UploadRecord | None:
        """The upload, or None (also for a malformed id)."""
        try:
            uuid.UUID(upload_id)
        except ValueError:
            return None
        query = f"SELECT {_COLUMNS} FROM media_uploads WHERE id = %s"
        async with self.pool.connection() as conn:
            row = await (await conn.execute(query, [upload_id])).fetchone()
        return self._record(row) if row else None

    async def owned(self, upload_id: str, *, owner: str | None) -> UploadRecord:
        """The upload if `owner` may use it (None: anyone, an admin), else `NotFound`."""
        record = await self.get(upload_id)
        if record is None or (owner is not None and record.owner != owner):
            raise NotFound(f"Upload {upload_id!r} not found")
        return record

    def _record(self, row: dict[str, Any]) -> UploadRecord:
        values = dict(row)
        values["id"] = str(values["id"])
        values["path"] = self.root / values["path"]
        return UploadRecord(**values)
