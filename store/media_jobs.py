"""Media Lab jobs and their artifacts in Postgres.

A job is a run of the `media` graph on a thread of its own (thread id = job id). Its status is
decided here, in one SQL expression, from the job's row and its run: SUCCEEDED is written with
the artifact (exactly once per job); QUEUED and RUNNING are the run's `pending` and `running`;
a run that ended `interrupted` is CANCELLED, any other end without an artifact is FAILED, with
the code and message of the run's `error` event.
"""

from __future__ import annotations

import base64
import contextlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import psycopg
from psycopg.types.json import Jsonb

from adapters.errors import Conflict, InvalidInput
from store.database import Connection, Pool

STATUSES = ("QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED")
KINDS = ("upscale", "interpolate", "generate", "blend")
_STATUS = """
    CASE
        WHEN j.status = 'SUCCEEDED' THEN 'SUCCEEDED'
        WHEN r.status IS NULL OR r.status = 'pending' THEN 'QUEUED'
        WHEN r.status = 'running' THEN 'RUNNING'
        WHEN r.status IN ('interrupted', 'rolled_back') THEN 'CANCELLED'
        ELSE 'FAILED'
    END
"""
_ERROR = """
    (SELECT e.data::jsonb FROM events e
     WHERE e.thread_id = j.job_id AND e.run_id = j.run_id AND e.event = 'error'
       AND e.data::jsonb ? 'code'
     ORDER BY e.seq DESC LIMIT 1)
"""
_ARTIFACT_COLUMNS = (
    "id, job_id, kind, sha256, path, mime, width, height, fps, frames, duration_s, has_audio,"
    " bytes, backend, backend_detail, label, lineage, created_at"
)
_SELECT = f"""
    SELECT j.job_id, j.owner, j.kind, j.inputs, j.preset_id, j.preset_version, j.params,
           j.request, j.run_id, j.retry_of, j.source_thread, j.source_asset, j.progress,
           j.stage, j.started_at, j.finished_at, j.created_at,
           {_STATUS} AS status,
           CASE WHEN {_STATUS} = 'FAILED' THEN {_ERROR} END AS error,
           (SELECT to_jsonb(a) FROM (SELECT {_ARTIFACT_COLUMNS} FROM media_artifacts
                                      WHERE job_id = j.job_id) a) AS artifact,
           (SELECT array_agg(k.job_id ORDER BY k.created_at) FROM media_jobs k
             WHERE k.retry_of = j.job_id) AS retried_by
    FROM media_jobs j LEFT JOIN runs r ON r.run_id = j.run_id
"""
_INSERT_ARTIFACT = """
    INSERT INTO media_artifacts (job_id, kind, sha256, path, mime, width, height, fps, frames,
                                 duration_s, has_audio, bytes, backend, backend_detail, label,
                                 lineage)
    VALUES (%(job_id)s, %(kind)s, %(sha256)s, %(path)s, %(mime)s, %(width)s, %(height)s,
            %(fps)s, %(frames)s, %(duration_s)s, %(has_audio)s, %(bytes)s, %(backend)s,
            %(backend_detail)s, %(label)s, %(lineage)s)
    ON CONFLICT (job_id) DO NOTHING
"""


JOB_THREAD_METADATA = {"graph_id": "media", "media_job": True}
"""A job's thread: its owner's, listed by thread searches only when asked for (`graph_id`)."""
_JOB_THREAD = """
    INSERT INTO threads (thread_id, title, status, phase, metadata, owner_id)
    VALUES (%s, %s, 'idle', 'created', %s, (SELECT user_id FROM users WHERE user_id = %s))
    ON CONFLICT (thread_id) DO NOTHING
"""


@dataclass(frozen=True)
class NewJob:
    """What a job is asked to do, checked and resolved (preset version, upload hashes)."""

    job_id: str
    owner: str
    kind: str
    inputs: list[dict[str, Any]]
    """`[{upload_id, sha256, kind, mime}]` in the order given."""
    preset_id: str
    preset_version: int
    params: dict[str, Any]
    request: dict[str, Any]
    retry_of: str | None = None
    source_thread: str | None = None
    source_asset: str | None = None


def job_json(row: dict[str, Any]) -> dict[str, Any]:
    """A job as the API and `studio media show --json` show it."""
    artifact = row.get("artifact")
    error = row.get("error")
    return {
        "id": row["job_id"],
        "kind": row["kind"],
        "status": row["status"],
        "progress": 1.0 if row["status"] == "SUCCEEDED" else round(float(row["progress"]), 4),
        "stage": row["stage"],
        "owner": row["owner"],
        "inputs": row["inputs"],
        "preset": {"id": row["preset_id"], "version": row["preset_version"]},
        "params": row["params"],
        "made": made_text(row),
        "request": row["request"],
        "error": (
            {"code": error.get("code"), "message": error.get("message")}
            if isinstance(error, dict)
            else None
        ),
        "retry_of": row["retry_of"],
        "retried_by": list(row.get("retried_by") or []),
        "source_thread": row["source_thread"],
        "source_asset": str(row["source_asset"]) if row["source_asset"] else None,
        "run_id": row["run_id"],
        "artifact": artifact_json(artifact, readable_stem(row)) if artifact else None,
        "created_at": row["created_at"].isoformat(),
        "started_at": row["started_at"].isoformat() if row["started_at"] else None,
        "finished_at": row["finished_at"].isoformat() if row["finished_at"] else None,
    }


def _weights(row: dict[str, Any]) -> list[int]:
    """A blend's weights as whole percentages (3:1 -> [75, 25]); [] when they are equal."""
    raw = (row.get("request") or {}).get("weights") or []
    count = len(row.get("inputs") or [])
    if not raw or count < 2 or len(set(raw)) == 1:
        return []
    total = float(sum(raw))
    return [round(100 * float(w) / total) for w in raw] if total > 0 else []


def _fps(value: Any) -> str:
    return f"{float(value):g}"


def made_parts(row: dict[str, Any]) -> list[str]:
    """What the job's parameters made, each part a few words: the upscale factor, the target
    frame rate, the blend mode and unequal weights, a generation's strength (D15: the preset's
    name alone said `smooth-120` of a 240 fps result, `crisp` of 2x and 4x alike)."""
    params = row.get("params") or {}
    kind = row["kind"]
    if kind == "upscale" and params.get("factor"):
        return [f"{params['factor']}x"]
    if kind == "interpolate" and params.get("target_fps"):
        return [f"{_fps(params['target_fps'])} fps"]
    if kind == "blend":
        weights = _weights(row)
        mode = str(params.get("mode") or "average")
        return [mode, ":".join(map(str, weights))] if weights else [mode]
    if kind == "generate" and params.get("strength") is not None:
        return [f"strength {float(params['strength']):g}"]
    return []


def made_text(row: dict[str, Any]) -> str:
    """The job's result in words for its card: `4x · preset crisp v1`,
    `240 fps · preset smooth-120 v1`, `screen 75:25 · preset moodboard v1`."""
    preset = f"preset {row['preset_id']} v{row['preset_version']}"
    return " · ".join([*made_parts(row), preset])


def readable_stem(row: dict[str, Any]) -> str:
    """A download name without suffix that says what was made: the first input's name, the
    kind, the real parameters, and the preset's version; the preset's name where it is the
    recipe (upscale, generate), not where the parameters say it all (interpolate, blend):
    `hero-upscale-4x-crisp-v1`, `clip60-interpolate-240fps-v1`, `img-blend-screen-75-25-v1`.
    Results that differ in these parameters never share a name (two interpolations or blends
    that differ only in a preset's other settings still do)."""
    first = (row.get("inputs") or [{}])[0]
    stem = Path(str(first.get("filename") or "")).stem or str(row["job_id"])[-8:]
    safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in stem)[:60]
    kind = row["kind"]
    parts = [p.replace(" fps", "fps").replace(" ", "").replace(":", "-") for p in made_parts(row)]
    if kind in ("upscale", "generate") or not parts:
        parts.append(str(row["preset_id"]))
    return "-".join([safe, kind, *parts, f"v{row['preset_version']}"])


def artifact_json(artifact: dict[str, Any], stem: str) -> dict[str, Any]:
    """An artifact without its server path; `name` is the readable download name."""
    shown = {k: v for k, v in artifact.items() if k != "path"}
    shown["id"] = str(shown["id"])
    if isinstance(shown.get("created_at"), datetime):
        shown["created_at"] = shown["created_at"].isoformat()
    shown["name"] = stem + Path(str(artifact["path"])).suffix
    return shown


def encode_cursor(created_at: str, job_id: str) -> str:
    raw = orjson.dumps([created_at, job_id])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, str]:
    """The (created_at, job_id) a page ends at; `InvalidInput` naming `cursor` otherwise."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created_at, job_id = orjson.loads(raw)
        datetime.fromisoformat(created_at)
        if not isinstance(job_id, str):
            raise ValueError(job_id)
    except (ValueError, TypeError, orjson.JSONDecodeError) as exc:
        raise InvalidInput("cursor: not a cursor this server gave") from exc
    return created_at, job_id


class MediaJobStore:
    """Creates jobs, follows their progress, stores their artifact exactly once."""

    def __init__(self, pool: Pool, root: Path) -> None:
        self.pool = pool
        self.root = root
        """The asset store's root: artifacts live under `root/media/artifacts/`."""

    async def create(
        self, job: NewJob, *, conn: Connection | None = None, if_missing: bool = False
    ) -> None:
        """Record a job (`if_missing`: unless it is recorded already, as a run started from
        LangGraph Studio finds it)."""
        query = """
            INSERT INTO media_jobs (job_id, owner, kind, inputs, preset_id, preset_version,
                                    params, request, retry_of, source_thread, source_asset)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
        """
        if if_missing:
            query += " ON CONFLICT (job_id) DO NOTHING"
        title = f"Media Lab: {job.kind}"
        thread = [job.job_id, title, Jsonb(JOB_THREAD_METADATA), job.owner]
        values = [
            job.job_id,
            job.owner,
            job.kind,
            Jsonb(job.inputs),
            job.preset_id,
            job.preset_version,
            Jsonb(job.params),
            Jsonb(job.request),
            job.retry_of,
            job.source_thread,
            job.source_asset,
        ]
        if conn is not None:
            await conn.execute(query, values)
            await conn.execute(_JOB_THREAD, thread)
            return
        try:
            async with self.pool.connection() as own, own.transaction():
                await own.execute(query, values)
                await own.execute(_JOB_THREAD, thread)
        except psycopg.errors.UniqueViolation as exc:
            if exc.diag.table_name != "media_jobs":
                raise  # not the job's id: a real fault, not "it exists"
            raise Conflict(f"media job {job.job_id} exists already") from None

    async def set_run(self, job_id: str, run_id: str) -> None:
        async with self.pool.connection() as conn:
            await conn.execute(
                "UPDATE media_jobs SET run_id = %s WHERE job_id = %s", [run_id, job_id]
            )

    async def started(self, job_id: str, stage: str) -> None:
        """The job's graph began (again, after a restart: the first start time stays)."""
        query = """
            UPDATE media_jobs SET started_at = COALESCE(started_at, now()), stage = %s
            WHERE job_id = %s
        """
        async with self.pool.connection() as conn:
            await conn.execute(query, [stage, job_id])

    async def progress(self, job_id: str, fraction: float, stage: str) -> None:
        """The job's progress, which never goes back (a resumed run may report a chunk's
        start after an earlier report from inside it)."""
        query = (
            "UPDATE media_jobs SET progress = GREATEST(progress, %s), stage = %s WHERE job_id = %s"
        )
        async with self.pool.connection() as conn:
            await conn.execute(query, [max(0.0, min(1.0, fraction)), stage, job_id])

    def keep_file(self, src: Path, sha256: str) -> Path:
        """Move a finished file to its content address under the store (relative path);
        identical bytes already there are kept as they are, never overwritten."""
        relative = Path("media") / "artifacts" / sha256[:2] / f"{sha256}{src.suffix.lower()}"
        final = self.root / relative
        final.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            os.link(src, final)
        return relative

    def work_dir(self, job_id: str) -> Path:
        """A job's scratch folder (chunks, partial files); kept across restarts."""
        path = self.root / "media" / "work" / job_id
        path.mkdir(parents=True, exist_ok=True)
        return path

    def drop_work(self, job_id: str) -> None:
        """Remove a finished job's scratch folder (its result is kept content-addressed)."""
        shutil.rmtree(self.root / "media" / "work" / job_id, ignore_errors=True)

    def scratch(self, job_id: str, suffix: str) -> Path:
        fd, name = tempfile.mkstemp(dir=self.work_dir(job_id), suffix=suffix)
        os.close(fd)
        return Path(name)

    async def succeed(self, artifact: dict[str, Any]) -> None:
        """Index the job's artifact and mark it SUCCEEDED, in one transaction; a second call
        for the same job (a resumed run) changes nothing."""
        params = {
            **artifact,
            "backend_detail": Jsonb(artifact.get("backend_detail") or {}),
            "lineage": Jsonb(artifact["lineage"]),
        }
        async with self.pool.connection() as conn, conn.transaction():
            await conn.execute(_INSERT_ARTIFACT, params)
            await conn.execute(
                """UPDATE media_jobs SET status = 'SUCCEEDED', progress = 1, stage = 'done',
                   finished_at = COALESCE(finished_at, now()) WHERE job_id = %s""",
                [artifact["job_id"]],
            )

    async def get(self, job_id: str) -> dict[str, Any] | None:
        """The job's row with its status, error and artifact, or None."""
        async with self.pool.connection() as conn:
            cur = await conn.execute(f"{_SELECT} WHERE j.job_id = %s", [job_id])
            return await cur.fetchone()

    async def list(
        self,
        *,
        owner: str | None,
        status: str | None = None,
        kind: str | None = None,
        cursor: str | None = None,
        limit: int = 20,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Jobs newest first (`owner` None: everyone's), one page and the next page's cursor."""
        where: list[str] = ["TRUE"]
        params: dict[str, Any] = {"limit": limit + 1}
        if owner is not None:
            where.append("j.owner = %(owner)s")
            params["owner"] = owner
        if kind is not None:
            where.append("j.kind = %(kind)s")
            params["kind"] = kind
        if status is not None:
            where.append(f"({_STATUS}) = %(status)s")
            params["status"] = status
        if cursor is not None:
            created_at, job_id = decode_cursor(cursor)
            where.append("(j.created_at, j.job_id) < (%(at)s::timestamptz, %(jid)s)")
            params.update(at=created_at, jid=job_id)
        query = (
            f"{_SELECT} WHERE {' AND '.join(where)}"
            " ORDER BY j.created_at DESC, j.job_id DESC LIMIT %(limit)s"
        )
        async with self.pool.connection() as conn:
            rows = await (await conn.execute(query, params)).fetchall()
        page, more = rows[:limit], len(rows) > limit
        last = page[-1] if page else None
        following = (
            encode_cursor(last["created_at"].isoformat(), last["job_id"]) if more and last else None
        )
        return page, following

    async def finished_at(self, job_id: str) -> None:
        """Record when a job that did not succeed ended (cancelled or failed)."""
        query = "UPDATE media_jobs SET finished_at = COALESCE(finished_at, now()) WHERE job_id = %s"
        async with self.pool.connection() as conn:
            await conn.execute(query, [job_id])

    def artifact_path(self, artifact: dict[str, Any]) -> Path:
        return self.root / str(artifact["path"])
