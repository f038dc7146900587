"""A studio thread's reference images (`settings.references`, issue #22 point 6): Pixel's specs
use the img2img template and list the references; the built-in renderer takes their palette;
an unknown reference is a 422 naming the field."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw

from adapters.comfyui import ComfyUIImageGenerator
from adapters.media_lab.probe import probe
from adapters.pixels import measure
from adapters.renderer import read_recipe
from people import accounts
from people.home_token import home_token
from store.uploads import UploadRecord, UploadStore
from tests.api_helpers import serve
from tests.comfyui_server import LoopbackComfyUI
from tests.media_helpers import mp4_bytes
from tests.studio_helpers import NEON, fresh_graph, make_context, run, start

pytestmark = pytest.mark.anyio


def red_png() -> bytes:
    """A strongly red reference: crimson sky over a darker red ground, a pale red figure."""
    image = Image.new("RGB", (320, 240), (200, 20, 25))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 150, 320, 240), fill=(120, 10, 15))
    draw.ellipse((200, 90, 240, 170), fill=(240, 90, 90))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


async def put(uploads: UploadStore, data: bytes, owner: str) -> UploadRecord:
    async def body() -> Any:
        yield data

    staged = await uploads.stage(body(), max_bytes=1 << 24)
    return await uploads.put(staged, probe(staged.path), owner=owner, filename="red.png")


def reddish(colour: str) -> bool:
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return r > 90 and r > 1.6 * g and r > 1.6 * b


async def test_a_threads_reference_drives_pixels_specs_and_the_render(graph, context, tid) -> None:
    uploads = UploadStore(context.assets.pool, context.assets.root)
    reference = await put(uploads, red_png(), owner="u1")
    state = await run(
        graph, start(NEON, auto_approve=True, references=[reference.id]), tid, context
    )
    listed = [{"upload_id": reference.id, "sha256": reference.sha256}]
    assert state["specs"]
    for spec in state["specs"].values():
        assert spec["template"] == "img2img" and spec["references"] == listed
        assert reddish(spec["palette"][0]), spec["palette"]
    said = [m.content for m in state["messages"] if m.name == "director"]
    assert any("reference image" in str(text) and "palette" in str(text) for text in said)
    for asset_id in state["current"].values():
        record = await context.assets.get(asset_id)
        assert record is not None
        data = Path(record.path).read_bytes()
        assert read_recipe(data)["spec"]["references"] == listed
        heaviest, weight = measure(data).dominant[0]
        assert reddish(heaviest) and weight > 0.2, measure(data).dominant


async def test_without_references_the_specs_are_as_before(graph, context, tid) -> None:
    state = await run(graph, start(NEON, auto_approve=True), tid, context)
    for spec in state["specs"].values():
        assert spec["template"] != "img2img" and "references" not in spec


async def test_an_unknown_reference_is_a_422_naming_it(database, tmp_path) -> None:
    async with serve(database, tmp_path) as served, served.http(home_token(tmp_path)) as root:
        thread = (await root.post("/threads", json={})).json()["thread_id"]
        path = f"/threads/{thread}/settings"
        missing = "00000000-0000-4000-8000-000000000000"
        answer = await root.patch(path, json={"references": [missing]})
        assert answer.status_code == 422, answer.text
        assert "settings.references[0]" in answer.json()["error"]["message"]
        answer = await root.patch(path, json={"references": ["a"] * 5})
        assert answer.status_code == 422 and "references" in answer.text
        made = await root.post("/media/uploads", files={"file": ("red.png", red_png())})
        assert made.status_code == 201, made.text
        ok = await root.patch(path, json={"references": [made.json()["id"]]})
        assert ok.status_code == 200, ok.text
        assert ok.json()["settings"]["references"] == [made.json()["id"]]
        run_input = {"messages": [{"role": "user", "content": NEON}]}
        body = {
            "assistant_id": "studio",
            "input": {**run_input, "settings": {"references": [missing, missing]}},
        }
        answer = await root.post(f"/threads/{thread}/runs", json=body)
        assert answer.status_code == 422 and "settings.references[0]" in answer.text


async def test_a_creator_uploads_references_for_their_own_threads_only(database, tmp_path) -> None:
    async with serve(database, tmp_path) as served:
        pool = served.studio.threads.pool
        tokens = []
        for name in ("ada", "bob"):
            row = await accounts.add_user(pool, name, "creator")
            tokens.append((await accounts.create_token(pool, row["user_id"], "tests"))[1])
        async with served.http(tokens[0]) as ada, served.http(tokens[1]) as bob:
            mine = (await ada.post("/threads", json={})).json()["thread_id"]
            theirs = (await bob.post("/threads", json={})).json()["thread_id"]
            file = {"file": ("red.png", red_png())}
            closed = await ada.post("/media/uploads", files=file)
            assert closed.status_code == 403, closed.text
            other = await ada.post("/media/uploads", params={"thread_id": theirs}, files=file)
            assert other.status_code == 404 and "thread_id" in other.text
            video = {"file": ("v.mp4", mp4_bytes(tmp_path / "v.mp4", frames=6))}
            wrong = await ada.post("/media/uploads", params={"thread_id": mine}, files=video)
            assert wrong.status_code == 422 and "reference must be an image" in wrong.text
            made = await ada.post("/media/uploads", params={"thread_id": mine}, files=file)
            assert made.status_code == 201, made.text
            upload_id = made.json()["id"]
            ok = await ada.patch(f"/threads/{mine}/settings", json={"references": [upload_id]})
            assert ok.status_code == 200, ok.text
            assert (await ada.get(f"/media/uploads/{upload_id}/file")).content == red_png()
            assert (await bob.get(f"/media/uploads/{upload_id}/file")).status_code == 403
        thread_id, thread_token = await served.new_thread()
        async with served.http(thread_token) as scoped:
            made = await scoped.post("/media/uploads", params={"thread_id": thread_id}, files=file)
            assert made.status_code == 201, made.text
            upload_id = made.json()["id"]
            ok = await scoped.patch(
                f"/threads/{thread_id}/settings", json={"references": [upload_id]}
            )
            assert ok.status_code == 200, ok.text
            assert (await scoped.get(f"/media/uploads/{upload_id}/file")).status_code == 200
            assert (await scoped.post("/media/uploads", files=file)).status_code == 403
            elsewhere = await scoped.post("/media/uploads", params={"thread_id": mine}, files=file)
            assert elsewhere.status_code == 404
        async with served.http(tokens[1]) as bob:
            stolen = await bob.patch(
                f"/threads/{theirs}/settings", json={"references": [upload_id]}
            )
            assert stolen.status_code == 422 and "settings.references[0]" in stolen.text


async def test_on_comfyui_a_threads_reference_is_the_img2img_init_image(
    database: Any, tmp_path: Path
) -> None:
    async with (
        LoopbackComfyUI() as server,
        ComfyUIImageGenerator(server.base_url, poll_interval_s=0.05) as images,
    ):
        context = make_context(database.pool, tmp_path / "assets", renderer=images)
        uploads = UploadStore(context.assets.pool, context.assets.root)
        reference = await put(uploads, red_png(), owner="u1")
        payload = start(NEON, auto_approve=True, references=[reference.id])
        state = await run(fresh_graph(database.saver), payload, "refs-comfy", context)
        assert state["phase"] == "approved"
        said = [str(m.content) for m in state["messages"] if m.name == "director"]
        assert any("the first as the init image" in text for text in said), said
        for asset_id in state["current"].values():
            record = await context.assets.get(asset_id)
            assert record is not None and record.generator == "comfyui"
            assert record.recipe["template"] == "img2img"
            png = Image.open(io.BytesIO((tmp_path / "assets" / record.path).read_bytes()))
            workflow = json.loads(png.text["prompt"])  # type: ignore[attr-defined]
            loads = [n for n in workflow.values() if n["class_type"] == "LoadImage"]
            assert loads and loads[0]["inputs"]["image"].startswith("studio_")
            denoise = [
                n["inputs"]["denoise"] for n in workflow.values() if "denoise" in n["inputs"]
            ]
            assert denoise == [0.6]


async def test_one_who_only_views_a_thread_is_told_so_not_that_it_is_missing(
    database: Any, tmp_path: Path
) -> None:
    """D16: vic, who reads bob's thread through a view grant, tried "Attach reference" and got
    404 "thread not found"; a viewer acting is a 403 saying why."""
    async with serve(database, tmp_path) as served:
        bob, vic = await served.person("bob"), await served.person("vic", "viewer")
        async with served.http(bob) as owner:
            tid = (await owner.post("/threads", json={})).json()["thread_id"]
            await owner.post(f"/threads/{tid}/grants", json={"role": "view", "user": "vic"})
            link = (await owner.post(f"/threads/{tid}/grants", json={"role": "view"})).json()
        file = {"file": ("red.png", red_png())}
        for token in (vic, link["token"]):
            async with served.http(token) as viewer:
                assert (await viewer.get(f"/threads/{tid}")).status_code == 200
                tried = await viewer.post("/media/uploads", params={"thread_id": tid}, files=file)
                assert tried.status_code == 403, tried.text
                message = tried.json()["error"]["message"]
                assert "thread_id" in message and "only view" in message, message
        async with served.studio.threads.pool.connection() as conn:
            kept = await (await conn.execute("SELECT count(*) AS n FROM media_uploads")).fetchone()
        assert kept is not None and kept["n"] == 0, "nothing was stored"
