"""The asset store on real Postgres and a real directory: exactly-once, dedup, lineage."""

from __future__ import annotations

import asyncio
import hashlib
import io
import uuid
from pathlib import Path

import pytest
from PIL import Image

from adapters.assets import AssetRecord, AssetStore
from adapters.images import GeneratedImage
from store.database import Pool

pytestmark = pytest.mark.anyio


@pytest.fixture
def store(pool: Pool, tmp_path: Path) -> AssetStore:
    return AssetStore(pool, tmp_path / "assets")


def image(
    color: tuple[int, int, int] = (200, 40, 90), size: tuple[int, int] = (8, 6)
) -> GeneratedImage:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return GeneratedImage(
        png=buffer.getvalue(),
        width=size[0],
        height=size[1],
        generator="renderer",
        recipe={"template": "txt2img", "seed": 7},
    )


async def put(
    store: AssetStore,
    picture: GeneratedImage,
    job_id: str,
    *,
    thread_id: str = "t1",
    deliverable: str = "hero",
    iteration: int = 1,
    attempt: int = 1,
) -> AssetRecord:
    return await store.put(
        picture,
        thread_id=thread_id,
        job_id=job_id,
        deliverable=deliverable,
        iteration=iteration,
        attempt=attempt,
        seed=7,
        spec={"prompt": "neon street", "steps": 20},
    )


def files(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if path.is_file())


async def count_rows(pool: Pool) -> int:
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT count(*) AS n FROM assets")
        row = await cur.fetchone()
    assert row is not None
    return int(row["n"])


async def test_put_stores_a_content_addressed_file_with_lineage(store: AssetStore) -> None:
    picture = image()
    record = await put(store, picture, "t1/hero/1/1")

    sha = hashlib.sha256(picture.png).hexdigest()
    assert record.sha256 == sha
    assert record.path == store.root / sha[:2] / f"{sha}.png"
    assert files(store.root) == [record.path]  # no temporary files left behind
    assert await store.read_bytes(record) == picture.png
    assert (record.width, record.height, record.bytes) == (8, 6, len(picture.png))
    assert (record.content_type, record.generator, record.seed) == ("image/png", "renderer", 7)
    assert record.spec == {"prompt": "neon street", "steps": 20}
    assert record.recipe == {"template": "txt2img", "seed": 7}
    assert record.scores == {} and record.verdict is None
    assert await store.get(record.id) == record
    assert await store.by_job("t1/hero/1/1") == record


async def test_put_is_idempotent_by_job_id(store: AssetStore, pool: Pool) -> None:
    first = await put(store, image(color=(1, 2, 3)), "t1/hero/1/1")
    # A re-run after a crash may render different bytes: the stored result still wins.
    again = await put(store, image(color=(4, 5, 6)), "t1/hero/1/1")

    assert again == first
    assert await count_rows(pool) == 1
    assert files(store.root) == [first.path]


async def test_concurrent_puts_of_one_job_store_it_once(store: AssetStore, pool: Pool) -> None:
    picture = image()
    records = await asyncio.gather(*(put(store, picture, "t1/hero/1/1") for _ in range(5)))

    assert len({record.id for record in records}) == 1
    assert await count_rows(pool) == 1
    assert len(files(store.root)) == 1


async def test_identical_images_share_one_file_across_jobs(store: AssetStore, pool: Pool) -> None:
    picture = image()
    a = await put(store, picture, "t1/hero/1/1")
    b = await put(store, picture, "t1/hero/1/2", attempt=2)

    assert a.id != b.id and a.path == b.path
    assert await count_rows(pool) == 2
    assert files(store.root) == [a.path]


async def test_list_thread_filters_and_keeps_creation_order(store: AssetStore) -> None:
    made = [
        await put(store, image((10, 0, 0)), "t1/hero/1/1"),
        await put(store, image((20, 0, 0)), "t1/hero/1/2", attempt=2),
        await put(store, image((30, 0, 0)), "t1/thumb/1/1", deliverable="thumb"),
        await put(store, image((40, 0, 0)), "t1/hero/2/1", iteration=2),
        await put(store, image((50, 0, 0)), "t2/hero/1/1", thread_id="t2"),
    ]
    ids = [record.id for record in made]

    async def listed(thread: str, deliverable: str | None = None, iteration: int | None = None):
        records = await store.list_thread(thread, deliverable=deliverable, iteration=iteration)
        return [record.id for record in records]

    assert await listed("t1") == ids[:4]
    assert await listed("t1", deliverable="hero") == [ids[0], ids[1], ids[3]]
    assert await listed("t1", iteration=2) == [ids[3]]
    assert await listed("t1", deliverable="hero", iteration=1) == ids[:2]
    assert await listed("t2") == [ids[4]]
    assert await listed("nobody") == []


async def test_scores_merge_and_verdicts_mark_assets(store: AssetStore) -> None:
    a = await put(store, image((1, 1, 1)), "t1/hero/1/1")
    b = await put(store, image((2, 2, 2)), "t1/hero/1/2", attempt=2)

    await store.record_scores("t1", a.id, {"lens": 6.5})
    scored = await store.record_scores("t1", a.id, {"drift": 0.2, "lens": 7.5})
    marked = await store.record_verdict("t1", [a.id, b.id, "not-an-id"], "approved")
    assert await store.record_verdict("t2", [a.id], "rejected") == 0, "not t2's asset"
    assert await store.record_scores("t2", a.id, {"lens": 1.0}) is None

    assert scored is not None and scored.scores == {"lens": 7.5, "drift": 0.2}
    assert marked == 2
    assert [(r.verdict, r.scores) for r in await store.list_thread("t1")] == [
        ("approved", {"lens": 7.5, "drift": 0.2}),
        ("approved", {}),
    ]


async def test_unknown_or_malformed_ids_find_nothing(store: AssetStore) -> None:
    await put(store, image(), "t1/hero/1/1")

    for asset_id in ("not-a-uuid", "", "'; DROP TABLE assets; --", str(uuid.uuid4())):
        assert await store.get(asset_id) is None
        assert await store.record_scores("t1", asset_id, {"lens": 1.0}) is None
    assert await store.record_verdict("t1", ["garbage"], "rejected") == 0
    assert await store.by_job("t9/hero/1/1") is None


async def test_a_branch_references_its_parents_assets_with_verdicts_of_its_own(
    store: AssetStore,
) -> None:
    a = await put(store, image((1, 1, 1)), "p/hero/1/1", thread_id="p")
    b = await put(store, image((2, 2, 2)), "p/hero/1/2", thread_id="p", attempt=2)
    await store.record_verdict("p", [a.id], "approved")
    await store.record_scores("p", a.id, {"lens": 8.0})

    # the branch holds what the state names, or what was made by the checkpoint's time
    assert await store.share("p", "b", asset_ids=[a.id], until=None) == 1
    assert await store.share("b", "c", asset_ids=[], until=b.created_at) == 1  # a branch's branch
    assert [(r.id, r.verdict, r.scores) for r in await store.list_thread("b")] == [
        (a.id, "approved", {"lens": 8.0})
    ]
    assert await store.holders(a.id) == ["p", "b", "c"]

    assert await store.record_verdict("b", [a.id, b.id], "rejected") == 1  # b holds only a
    await store.record_scores("b", a.id, {"lens": 2.0})
    assert [(r.verdict, r.scores) for r in await store.list_thread("p")] == [
        ("approved", {"lens": 8.0}),
        (None, {}),
    ], "the parent's verdicts and scores are its own"
    assert [(r.verdict, r.scores) for r in await store.list_thread("b")] == [
        ("rejected", {"lens": 2.0})
    ]
    assert [r.verdict for r in await store.list_thread("c")] == ["approved"]
