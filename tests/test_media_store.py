"""Media Lab stores on a real Postgres: uploads (content-addressed, bounded, never
overwritten), presets (immutable versions), jobs (status from their run, cursor pages)."""

from __future__ import annotations

import io
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import psycopg
import pytest
from PIL import Image

from adapters.errors import Conflict, InvalidInput, NotFound
from adapters.media_lab.params import BUILTIN_PRESETS
from adapters.media_lab.probe import probe
from store.media_jobs import MediaJobStore, NewJob, decode_cursor, job_json
from store.media_presets import PresetStore, PresetVersion
from store.uploads import TooLarge, UploadStore

pytestmark = pytest.mark.anyio


def png(color: tuple[int, int, int] = (200, 40, 40), size: tuple[int, int] = (32, 24)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


async def chunks(data: bytes, size: int = 7) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


def builtins() -> list[PresetVersion]:
    return [
        PresetVersion(p.id, p.version, p.kind, p.params.model_dump(mode="json"), p.description)
        for p in BUILTIN_PRESETS
    ]


async def test_upload_is_content_addressed_and_never_overwritten(database, tmp_path: Path) -> None:
    store = UploadStore(database.pool, tmp_path / "assets")
    data = png()
    staged = await store.stage(chunks(data), max_bytes=1 << 20)
    first = await store.put(staged, probe(staged.path), owner="u1", filename="../../etc/hero.png")
    assert first.path.read_bytes() == data and first.sha256 == staged.sha256
    assert first.path.name == f"{first.sha256}.png" and first.filename == "hero.png"
    assert (first.kind, first.mime, first.width, first.height) == ("image", "image/png", 32, 24)
    stamp = first.path.stat().st_mtime_ns
    again = await store.stage(chunks(data), max_bytes=1 << 20)
    second = await store.put(again, probe(again.path), owner="u2", filename="copy.png")
    assert second.id != first.id and second.path == first.path
    assert first.path.stat().st_mtime_ns == stamp  # the stored file was not rewritten
    assert not list(store.incoming.iterdir())  # nothing staged is left behind
    assert (await store.owned(first.id, owner="u1")).id == first.id
    assert (await store.owned(first.id, owner=None)).id == first.id  # an admin
    with pytest.raises(NotFound):
        await store.owned(first.id, owner="u2")
    assert await store.get("not-a-uuid") is None


async def test_a_body_past_the_limit_stops_reading_and_keeps_nothing(database, tmp_path) -> None:
    store = UploadStore(database.pool, tmp_path / "assets")
    read: list[int] = []

    async def endless() -> AsyncIterator[bytes]:
        while True:
            read.append(1)
            yield b"x" * 1000

    with pytest.raises(TooLarge) as refused:
        await store.stage(endless(), max_bytes=10_000)
    assert refused.value.limit == "STUDIO_MEDIA_MAX_UPLOAD_BYTES"
    assert len(read) == 11 and not list(store.incoming.iterdir())
    with pytest.raises(InvalidInput, match="empty"):
        await store.stage(chunks(b""), max_bytes=10)


async def test_presets_are_immutable_versions(database) -> None:
    presets = PresetStore(database.pool)
    await presets.merge_builtins(builtins())
    await presets.merge_builtins(builtins())  # idempotent
    crisp = await presets.get("upscale", "crisp")
    assert (crisp.version, crisp.source, crisp.params["factor"]) == (1, "builtin", 2)
    saved = await presets.save(
        "upscale", "crisp", {**crisp.params, "sharpen_percent": 150}, created_by="u1"
    )
    assert saved.version == 2 and saved.source == "saved"
    assert (await presets.get("upscale", "crisp")).version == 2
    assert (await presets.get("upscale", "crisp", 1)).params == crisp.params
    latest = {p.preset_id: p.version for p in await presets.list("upscale")}
    assert latest["crisp"] == 2 and "smooth-120" not in latest
    assert len(await presets.list("upscale", all_versions=True)) == len(latest) + 1
    with pytest.raises(NotFound, match="'crisp' version 9"):
        await presets.get("upscale", "crisp", 9)
    with pytest.raises(Conflict, match="upscale preset"):
        await presets.save("blend", "crisp", {"mode": "average"}, created_by="u1")
    async with database.pool.connection() as conn:
        with pytest.raises(psycopg.errors.RaiseException, match="immutable"):
            await conn.execute("UPDATE media_presets SET params = '{}' WHERE preset_id = 'crisp'")
    async with database.pool.connection() as conn:
        with pytest.raises(psycopg.errors.RaiseException, match="immutable"):
            await conn.execute("DELETE FROM media_presets WHERE preset_id = 'crisp'")


async def test_job_status_comes_from_its_run_and_pages_by_cursor(database, tmp_path) -> None:
    jobs = MediaJobStore(database.pool, tmp_path / "assets")
    ids = []
    for i in range(5):
        job_id = f"media-{uuid.uuid4()}"
        ids.append(job_id)
        await jobs.create(
            NewJob(
                job_id=job_id,
                owner="u1" if i < 4 else "u2",
                kind="upscale" if i % 2 == 0 else "blend",
                inputs=[{"upload_id": str(uuid.uuid4()), "sha256": "ab" * 32}],
                preset_id="crisp",
                preset_version=1,
                params={"factor": 2},
                request={},
            )
        )
    run_statuses = ["pending", "running", "interrupted", "error"]
    async with database.pool.connection() as conn:
        for job_id, status in zip(ids, run_statuses, strict=False):
            run_id = str(uuid.uuid4())
            await conn.execute(
                "INSERT INTO runs (run_id, thread_id, assistant_id, status)"
                " VALUES (%s, %s, 'media', %s)",
                [run_id, job_id, status],
            )
            await conn.execute(
                "INSERT INTO events (thread_id, seq, run_id, event, data, channel)"
                " VALUES (%s, 1, %s, 'error', %s, 'studio')",
                [job_id, run_id, '{"code": "generation_failed", "message": "it broke"}'],
            )
            await conn.execute(
                "UPDATE media_jobs SET run_id = %s WHERE job_id = %s", [run_id, job_id]
            )
    await jobs.progress(ids[1], 0.75, "chunk 6/8")  # D3: a resumed run reported 0.6667 next
    await jobs.progress(ids[1], 0.6667, "chunk 6/8")
    running = await jobs.get(ids[1])
    assert running is not None and running["progress"] == 0.75
    await jobs.progress(ids[1], 2.0, "chunk 8/8")  # clamped
    running = await jobs.get(ids[1])
    assert running is not None and (running["progress"], running["stage"]) == (1.0, "chunk 8/8")
    await jobs.progress(ids[1], 0.5, "chunk 7/8")
    running = await jobs.get(ids[1])
    assert running is not None and running["progress"] == 1.0  # never back
    shown = [job_json(await jobs.get(j)) for j in ids]  # type: ignore[arg-type]
    assert [j["status"] for j in shown] == ["QUEUED", "RUNNING", "CANCELLED", "FAILED", "QUEUED"]
    assert shown[3]["error"] == {"code": "generation_failed", "message": "it broke"}
    assert all(j["error"] is None for j in shown if j["status"] != "FAILED")

    page, cursor = await jobs.list(owner="u1", limit=3)
    assert [r["job_id"] for r in page] == ids[3::-1][:3] and cursor
    rest, end = await jobs.list(owner="u1", limit=3, cursor=cursor)
    assert [r["job_id"] for r in rest] == [ids[0]] and end is None
    failed, _ = await jobs.list(owner=None, status="FAILED")
    assert [r["job_id"] for r in failed] == [ids[3]]
    blends, _ = await jobs.list(owner=None, kind="blend")
    assert {r["job_id"] for r in blends} == {ids[1], ids[3]}
    with pytest.raises(InvalidInput, match="cursor"):
        decode_cursor("garbage!")
