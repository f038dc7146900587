"""The library query on a real Postgres: who sees which outputs, filters, pages, names."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image, PngImagePlugin

from adapters.assets import AssetStore
from adapters.errors import InvalidInput
from adapters.renderer import RECIPE_KEY, read_recipe
from people.identity import Caller
from people.ownership import visible_threads_sql
from store.database import Pool
from store.library import (
    LibraryQuery,
    download_name,
    find_in_library,
    list_library,
)
from store.library_files import with_recipe, write_zip

pytestmark = pytest.mark.anyio


def visible_to(*, user_id: str = "", everything: bool = False, thread_id: str | None = None):
    """What `people.ownership` says a caller of that kind sees."""
    role = "admin" if everything else "creator"
    if thread_id is not None:
        caller = Caller(
            user_id="grant:g",
            name="link",
            role="viewer",
            via="grant",
            thread_id=thread_id,
            access="view",
        )
    else:
        caller = Caller(user_id=user_id or "nobody", name=user_id, role=role, via="session")
    return visible_threads_sql(caller)


async def _user(pool: Pool, user_id: str, role: str = "creator") -> None:
    async with pool.connection() as conn:
        await conn.execute(
            "INSERT INTO users (user_id, name, role) VALUES (%s, %s, %s)", [user_id, user_id, role]
        )


async def _thread(pool: Pool, thread_id: str, owner: str, title: str) -> None:
    async with pool.connection() as conn:
        await conn.execute(
            "INSERT INTO threads (thread_id, title, owner_id) VALUES (%s, %s, %s)",
            [thread_id, title, owner],
        )


async def _grant(pool: Pool, thread_id: str, user_id: str, **extra: object) -> None:
    cols = ", ".join(["grant_id", "thread_id", "token_hash", "role", "user_id", *extra])
    marks = ", ".join(["%s"] * (5 + len(extra)))
    async with pool.connection() as conn:
        await conn.execute(
            f"INSERT INTO thread_grants ({cols}) VALUES ({marks})",
            [f"g-{thread_id}-{user_id}", thread_id, f"h-{thread_id}-{user_id}", "view", user_id]
            + list(extra.values()),
        )


async def _asset(store: AssetStore, thread_id: str, deliverable: str, n: int) -> str:
    record = await store.put_media(
        f"{thread_id}-{deliverable}-{n}".encode(),
        content_type="image/png",
        width=8,
        height=8,
        generator="renderer",
        recipe={"n": n},
        thread_id=thread_id,
        job_id=f"{thread_id}/{deliverable}/{n}",
        deliverable=deliverable,
        iteration=n,
    )
    return record.id


@pytest.fixture
async def studio(pool: Pool, tmp_path: Path) -> dict[str, object]:
    """ann owns `a` (2 outputs) and its branch `a2` (references one of them, and made one);
    bob owns `b` (1 output) and may view ann's `a` by a grant; cy has nothing."""
    for user in ("ann", "bob", "cy"):
        await _user(pool, user)
    await _thread(pool, "a", "ann", "Neon street at night")
    await _thread(pool, "a2", "ann", "Neon street, branch")
    await _thread(pool, "b", "bob", "Forest")
    store = AssetStore(pool, tmp_path)
    ids = {
        "a-hero-1": await _asset(store, "a", "hero", 1),
        "a-thumb-1": await _asset(store, "a", "thumb", 1),
        "b-hero-1": await _asset(store, "b", "hero", 1),
        "a2-hero-2": await _asset(store, "a2", "hero", 2),
    }
    await store.share("a", "a2", asset_ids=[ids["a-hero-1"]], until=None)
    await store.record_verdict("a", [ids["a-hero-1"]], "approved")
    await store.record_verdict("a2", [ids["a-hero-1"]], "superseded")
    await _grant(pool, "a", "bob")
    return {"ids": ids, "root": tmp_path}


async def _listed(pool: Pool, studio: dict, scope: tuple, **filters: object) -> list[tuple]:
    page = await list_library(pool, studio["root"], scope, LibraryQuery(**filters), limit=100)
    return [(i.record.thread_id, i.record.deliverable, i.record.iteration) for i in page.items]


async def test_each_caller_sees_their_own_and_shared_threads_outputs_once(
    pool: Pool, studio: dict
) -> None:
    ann = await _listed(pool, studio, visible_to(user_id="ann"))
    # the branch's inherited hero is listed once, under the thread that made it
    assert sorted(ann) == [("a", "hero", 1), ("a", "thumb", 1), ("a2", "hero", 2)]
    bob = await _listed(pool, studio, visible_to(user_id="bob"))
    assert sorted(bob) == [("a", "hero", 1), ("a", "thumb", 1), ("b", "hero", 1)]
    assert await _listed(pool, studio, visible_to(user_id="cy")) == []
    assert len(await _listed(pool, studio, visible_to(everything=True))) == 4
    assert sorted(await _listed(pool, studio, visible_to(thread_id="b"))) == [("b", "hero", 1)]
    assert await _listed(pool, studio, visible_to(user_id="zed")) == [], "no one: nothing"


async def test_a_revoked_or_expired_grant_shows_nothing(pool: Pool, studio: dict) -> None:
    async with pool.connection() as conn:
        await conn.execute("UPDATE thread_grants SET revoked_at = now()")
    assert sorted(await _listed(pool, studio, visible_to(user_id="bob"))) == [("b", "hero", 1)]
    past = datetime.now(UTC) - timedelta(minutes=1)
    await _grant(pool, "a2", "bob", expires_at=past)
    assert sorted(await _listed(pool, studio, visible_to(user_id="bob"))) == [("b", "hero", 1)]


async def test_filters_by_thread_deliverable_verdict_and_date(pool: Pool, studio: dict) -> None:
    ann = visible_to(user_id="ann")
    # in its branch the inherited hero is listed under the branch, with the branch's verdict
    branch = await list_library(pool, studio["root"], ann, LibraryQuery(thread="a2"))
    assert {(i.record.iteration, i.record.verdict) for i in branch.items} == {
        (1, "superseded"),
        (2, None),
    }
    assert await _listed(pool, studio, ann, thread="b") == [], "not ann's thread"
    assert sorted(await _listed(pool, studio, ann, deliverable="thumb")) == [("a", "thumb", 1)]
    assert await _listed(pool, studio, ann, verdict="approved") == [("a", "hero", 1)]
    assert sorted(await _listed(pool, studio, ann, verdict="none")) == [
        ("a", "thumb", 1),
        ("a2", "hero", 2),
    ]
    now = datetime.now(UTC)
    assert len(await _listed(pool, studio, ann, since=now - timedelta(hours=1))) == 3
    assert await _listed(pool, studio, ann, since=now + timedelta(hours=1)) == []
    assert await _listed(pool, studio, ann, until=now - timedelta(hours=1)) == []


async def test_pages_are_newest_first_without_repeats_or_gaps(pool: Pool, studio: dict) -> None:
    store = AssetStore(pool, studio["root"])
    for n in range(2, 14):
        await _asset(store, "b", "hero", n)
    everything, cursor, pages = [], None, 0
    while True:
        page = await list_library(
            pool, studio["root"], visible_to(user_id="bob"), LibraryQuery(), cursor=cursor, limit=4
        )
        everything += [i.record for i in page.items]
        pages += 1
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert pages == 4 and len(everything) == 15
    assert len({r.id for r in everything}) == 15
    keys = [(r.created_at, r.id) for r in everything]
    assert keys == sorted(keys, reverse=True)


async def test_a_bad_cursor_is_an_input_error(pool: Pool, studio: dict) -> None:
    import base64

    not_a_uuid = json.dumps(["library", "2026-12-06T05:00:00+00:00", "x" * 36])
    for bad in ("x", base64.urlsafe_b64encode(not_a_uuid.encode()).decode()):
        with pytest.raises(InvalidInput, match="^cursor"):
            await list_library(
                pool, studio["root"], visible_to(everything=True), LibraryQuery(), cursor=bad
            )


async def test_one_output_is_found_only_in_scope_with_a_readable_name(
    pool: Pool, studio: dict
) -> None:
    hero = studio["ids"]["a-hero-1"]
    assert await find_in_library(pool, studio["root"], visible_to(user_id="cy"), hero) is None
    assert (
        await find_in_library(pool, studio["root"], visible_to(user_id="ann"), "not-a-uuid") is None
    )
    item = await find_in_library(pool, studio["root"], visible_to(user_id="ann"), hero)
    assert item is not None and item.record.path.read_bytes() == b"a-hero-1"
    assert download_name(item) == f"neon-street-at-night-hero-i1-{hero[:8]}.png"


def _png(text: dict[str, str]) -> bytes:
    info = PngImagePlugin.PngInfo()
    for key, value in text.items():
        info.add_text(key, value)
    out = io.BytesIO()
    Image.new("RGB", (4, 3), (200, 30, 30)).save(out, format="PNG", pnginfo=info)
    return out.getvalue()


async def test_downloads_carry_the_recipe_and_a_zip_names_and_describes_each(
    pool: Pool, tmp_path: Path
) -> None:
    await _user(pool, "ann")
    await _thread(pool, "a", "ann", "Neon street at night")
    store = AssetStore(pool, tmp_path)
    common = {"content_type": "image/png", "width": 4, "height": 3, "thread_id": "a"}
    comfy = await store.put_media(  # ComfyUI's PNGs carry their workflow, not our recipe
        _png({"workflow": "{}"}),
        generator="comfyui",
        recipe={"template": "txt2img"},
        job_id="a/hero/1",
        deliverable="hero",
        iteration=1,
        seed=42,
        **common,
    )
    ours = await store.put_media(
        _png({RECIPE_KEY: json.dumps({"mine": True})}),
        generator="renderer",
        recipe={"mine": True},
        job_id="a/poster/1",
        deliverable="poster",
        iteration=1,
        **common,
    )
    page = await list_library(pool, tmp_path, visible_to(user_id="ann"), LibraryQuery())
    by_id = {i.record.id: i for i in page.items}
    added = with_recipe(by_id[comfy.id])
    assert read_recipe(added) == {
        "template": "txt2img",
        "spec": {},
        "seed": 42,
        "generator": "comfyui",
    }
    with Image.open(io.BytesIO(added)) as image:
        assert image.text["workflow"] == "{}", "ComfyUI's own chunk is kept"
        assert image.size == (4, 3)
    assert with_recipe(by_id[ours.id]) == by_id[ours.id].record.path.read_bytes(), "kept as is"
    path = write_zip(page.items)
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            hero = f"neon-street-at-night-hero-i1-{comfy.id[:8]}"
            assert f"{hero}.png" in names and f"{hero}.json" in names
            assert read_recipe(archive.read(f"{hero}.png"))["template"] == "txt2img"
            sidecar = json.loads(archive.read(f"{hero}.json"))
            assert (sidecar["thread_title"], sidecar["seed"]) == ("Neon street at night", 42)
            manifest = json.loads(archive.read("manifest.json"))
            assert len(manifest["outputs"]) == 2 and len(names) == 5
    finally:
        path.unlink()
