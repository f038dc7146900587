"""`GET /library` over HTTP: each caller sees exactly the outputs of the threads they reach,
filters and pages, and downloads under readable names with the recipe inside."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from adapters.renderer import read_recipe
from people.home_token import home_token
from tests.api_helpers import Served, serve
from tests.test_api_audit import new_thread_as, person, trail

pytestmark = pytest.mark.anyio


def _png(seed: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (6, 4), (seed % 255, 90, 160)).save(out, format="PNG")
    return out.getvalue()


async def output(served: Served, tid: str, deliverable: str, n: int) -> str:
    record = await served.studio.context.assets.put_media(
        _png(n),
        content_type="image/png",
        width=6,
        height=4,
        generator="comfyui",
        recipe={"template": "txt2img", "n": n},
        thread_id=tid,
        job_id=f"{tid}/{deliverable}/{n}",
        deliverable=deliverable,
        iteration=n,
        seed=1000 + n,
    )
    return record.id


async def listed(served: Served, token: str | None, **params: Any) -> Any:
    async with served.http(token) as client:
        return await client.get("/library", params=params)


@pytest.fixture
async def studio(database, tmp_path: Path) -> Any:
    """cat made `cat's` thread (hero 1, 2; thumb 1) and shared it with the viewer vic; dan
    made his own (hero 1)."""
    async with serve(database, tmp_path) as served:
        tokens = {
            "cat": await person(served, "cat", "creator"),
            "dan": await person(served, "dan", "creator"),
            "vic": await person(served, "vic", "viewer"),
            "admin": home_token(tmp_path),
        }
        cats, _ = await new_thread_as(served, tokens["cat"])
        dans, dan_thread_token = await new_thread_as(served, tokens["dan"])
        ids = {
            "cat-hero-1": await output(served, cats, "hero", 1),
            "cat-hero-2": await output(served, cats, "hero", 2),
            "cat-thumb-1": await output(served, cats, "thumb", 1),
            "dan-hero-1": await output(served, dans, "hero", 1),
        }
        await served.studio.context.assets.record_verdict(cats, [ids["cat-hero-2"]], "approved")
        async with served.http(tokens["cat"]) as client:
            shared = await client.post(f"/threads/{cats}/grants", json={"user": "vic"})
            assert shared.status_code == 201, shared.text
        yield served, tokens, ids, {"cat": cats, "dan": dans, "dan_token": dan_thread_token}


async def test_each_caller_sees_what_they_reach_and_nothing_else(studio) -> None:
    served, tokens, ids, threads = studio
    assert (await listed(served, None)).status_code == 401
    assert (await listed(served, "spat_revoked-or-never")).status_code == 401

    def names(response: Any) -> set[str]:
        assert response.status_code == 200, response.text
        return {i["asset_id"] for i in response.json()["items"]}

    cat = {ids["cat-hero-1"], ids["cat-hero-2"], ids["cat-thumb-1"]}
    assert names(await listed(served, tokens["cat"])) == cat
    assert names(await listed(served, tokens["dan"])) == {ids["dan-hero-1"]}
    assert names(await listed(served, tokens["vic"])) == cat, "shared with the viewer"
    assert names(await listed(served, tokens["admin"])) == set(ids.values())
    assert names(await listed(served, threads["dan_token"])) == {ids["dan-hero-1"]}
    # a thread filter never widens what one sees
    assert names(await listed(served, tokens["dan"], thread=threads["cat"])) == set()


async def test_others_outputs_cannot_be_fetched_or_downloaded(studio) -> None:
    served, tokens, ids, _ = studio
    hero = ids["cat-hero-1"]
    for token, status in ((None, 401), (tokens["dan"], 404), (tokens["vic"], 200)):
        async with served.http(token) as client:
            for path in (f"/library/{hero}", f"/library/{hero}/download"):
                response = await client.get(path)
                assert response.status_code == status, (token, path, response.text)
    async with served.http(tokens["cat"]) as client:
        for guess in ("00000000-0000-0000-0000-000000000000", "../../etc/passwd", "x"):
            assert (await client.get(f"/library/{guess}/download")).status_code == 404


async def test_filters_and_pages(studio) -> None:
    served, tokens, ids, threads = studio
    cat = tokens["cat"]
    page = (await listed(served, cat, deliverable="hero")).json()["items"]
    assert sorted(i["iteration"] for i in page) == [1, 2]
    approved = (await listed(served, cat, verdict="approved")).json()["items"]
    assert [i["asset_id"] for i in approved] == [ids["cat-hero-2"]]
    assert len((await listed(served, cat, verdict="none")).json()["items"]) == 2
    assert (await listed(served, cat, since="2999-01-01")).json()["items"] == []
    assert len((await listed(served, cat, until="2999-01-01")).json()["items"]) == 3
    bad = await listed(served, cat, verdict="great")
    assert bad.status_code == 422 and "verdict" in bad.json()["error"]["message"]
    bad = await listed(served, cat, until="tomorrow")
    assert bad.status_code == 422 and "until" in bad.json()["error"]["message"]
    seen, cursor = [], None
    while True:
        params: dict[str, Any] = {"limit": 1}
        if cursor:
            params["cursor"] = cursor
        body = (await listed(served, tokens["admin"], **params)).json()
        seen += [i["asset_id"] for i in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(ids.values()) and len(seen) == 4


async def test_downloads_are_named_carry_the_recipe_and_are_audited(studio) -> None:
    served, tokens, ids, threads = studio
    hero = ids["cat-hero-2"]
    async with served.http(tokens["vic"]) as client:
        one = await client.get(f"/library/{hero}/download")
        assert one.status_code == 200
        assert f'filename="audit-test-hero-i2-{hero[:8]}.png"' in one.headers["content-disposition"]
        assert read_recipe(one.content)["template"] == "txt2img"
        assert read_recipe(one.content)["seed"] == 1002
        many = await client.get("/library/download", params={"deliverable": "hero"})
        assert many.status_code == 200
        with zipfile.ZipFile(io.BytesIO(many.content)) as archive:
            names = set(archive.namelist())
            manifest = json.loads(archive.read("manifest.json"))
    assert len(manifest["outputs"]) == 2 and len(names) == 5
    assert {o["asset_id"] for o in manifest["outputs"]} == {ids["cat-hero-1"], hero}
    downloads = await trail(served, tokens["admin"], action="export.downloaded")
    assert [(e["actor"]["name"], e["outcome"]) for e in downloads] == [("vic", "ok"), ("vic", "ok")]
    assert downloads[0]["thread_id"] == threads["cat"]
    assert downloads[1]["detail"]["outputs"] == 2
