"""The Media Lab over HTTP on the embedded backend: uploads checked by content, each job kind
end to end (outputs probed with PyAV and Pillow), presets, SSE progress, cancel and retry,
every validation a 422 (or 413) naming its limit, and who may do what."""

from __future__ import annotations

import asyncio
import io
import os
import struct
import zlib
from pathlib import Path
from typing import Any

import av
import httpx
import pytest
from PIL import Image

from people import accounts
from people.home_token import home_token
from store.database import Database
from tests.api_helpers import Served, read_sse, serve
from tests.media_helpers import mp4_bytes, png_bytes

pytestmark = pytest.mark.anyio


async def person(served: Served, name: str, role: str) -> str:
    pool = served.studio.threads.pool
    row = await accounts.add_user(pool, name, role)
    _, token = await accounts.create_token(pool, row["user_id"], "tests")
    return token


def admin(served: Served, home: Path) -> httpx.AsyncClient:
    return served.http(home_token(home))


async def upload(client: httpx.AsyncClient, data: bytes, name: str) -> httpx.Response:
    return await client.post("/media/uploads", files={"file": (name, data)})


async def uploaded(client: httpx.AsyncClient, data: bytes, name: str) -> dict[str, Any]:
    answer = await upload(client, data, name)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


async def finished(client: httpx.AsyncClient, job: dict[str, Any]) -> dict[str, Any]:
    """Follow the job's SSE stream to its `done` event, then read it."""
    events = await read_sse(client, "GET", f"/media/jobs/{job['id']}/stream", until="done")
    assert events[-1].event == "done"
    progress = [e.data["fraction"] for e in events if e.event == "progress"]
    assert progress == sorted(progress)
    answer = await client.get(f"/media/jobs/{job['id']}")
    assert answer.status_code == 200
    return dict(answer.json())


async def artifact(client: httpx.AsyncClient, job: dict[str, Any]) -> httpx.Response:
    answer = await client.get(f"/media/jobs/{job['id']}/artifact")
    assert answer.status_code == 200, answer.text
    return answer


async def test_each_kind_runs_end_to_end_on_the_embedded_backend(database, tmp_path) -> None:
    async with serve(database, tmp_path) as served, admin(served, tmp_path) as root:
        red = await uploaded(root, png_bytes((96, 64), (200, 40, 40)), "hero.png")
        blue = await uploaded(root, png_bytes((96, 64), (40, 40, 200)), "sky.png")
        video = await uploaded(root, mp4_bytes(tmp_path / "in.mp4", fps=60, frames=24), "clip.mp4")
        assert (video["kind"], video["fps"], video["frames"], video["has_audio"]) == (
            "video",
            60.0,
            24,
            True,
        )
        jobs = {
            "upscale": {"kind": "upscale", "inputs": [red["id"]], "factor": 2, "preset": "crisp"},
            "interpolate": {
                "kind": "interpolate",
                "inputs": [video["id"]],
                "target_fps": 120,
                "params": {"chunk_frames": 8},
            },
            "generate": {
                "kind": "generate",
                "inputs": [red["id"], blue["id"]],
                "prompt": "a lighthouse on a cliff at dusk",
                "strength": 0.4,
            },
            "blend": {
                "kind": "blend",
                "inputs": [red["id"], blue["id"]],
                "weights": [3, 1],
                "mode": "average",
            },
        }
        done = {}
        for kind, body in jobs.items():
            queued = await root.post("/media/jobs", json=body)
            assert queued.status_code == 202, queued.text
            assert queued.json()["status"] in ("QUEUED", "RUNNING")
            done[kind] = await finished(root, queued.json())
            assert done[kind]["status"] == "SUCCEEDED", done[kind]

        up = done["upscale"]
        assert up["preset"] == {"id": "crisp", "version": 1}
        lineage = up["artifact"]["lineage"]
        assert lineage["inputs"] == [{"upload_id": red["id"], "sha256": red["sha256"]}]
        assert lineage["backend"] == "embedded" and lineage["params"]["factor"] == 2
        assert lineage["timings"]["finished_at"] and lineage["job"] == up["id"]
        got = await artifact(root, up)
        assert 'filename="hero-upscale-2x-crisp-v1.png"' in got.headers["content-disposition"]
        with Image.open(io.BytesIO(got.content)) as image:
            assert image.size == (192, 128)

        clip = done["interpolate"]["artifact"]
        assert (clip["fps"], clip["frames"], clip["has_audio"]) == (120.0, 48, True)
        with av.open(io.BytesIO((await artifact(root, done["interpolate"])).content)) as out:
            assert float(out.streams.video[0].average_rate or 0) == 120
            assert sum(1 for _ in out.decode(video=0)) == 48
            assert out.streams.audio

        made = done["generate"]["artifact"]
        assert made["mime"] == "image/png" and made["lineage"]["prompt"].startswith("a lighthouse")
        assert [i["upload_id"] for i in made["lineage"]["inputs"]] == [red["id"], blue["id"]]
        assert done["generate"]["params"]["strength"] == 0.4

        mixed = done["blend"]["artifact"]
        assert mixed["lineage"]["weights"] == [0.75, 0.25]
        assert mixed["lineage"]["params"]["mode"] == "average"
        with Image.open(io.BytesIO((await artifact(root, done["blend"])).content)) as image:
            r, _, b = image.convert("RGB").getpixel((1, 1))
            assert r > b

        listed = (await root.get("/media/jobs", params={"limit": 3})).json()
        assert len(listed["jobs"]) == 3 and listed["next_cursor"]
        rest = (await root.get("/media/jobs", params={"cursor": listed["next_cursor"]})).json()
        assert [j["kind"] for j in rest["jobs"]] == ["upscale"] and rest["next_cursor"] is None
        only = (await root.get("/media/jobs", params={"kind": "blend"})).json()["jobs"]
        assert [j["kind"] for j in only] == ["blend"]
        assert (await root.get("/media/jobs", params={"status": "FAILED"})).json()["jobs"] == []
        threads = (await root.post("/threads/search", json={})).json()
        assert not [t for t in threads if t["thread_id"].startswith("media-")]  # not sessions
        jobs = await root.post("/threads/search", json={"metadata": {"graph_id": "media"}})
        assert {t["thread_id"] for t in jobs.json()} == {j["id"] for j in done.values()}


def noise_png(width: int, height: int) -> bytes:
    """A PNG that does not compress (a big image that is no bomb)."""
    out = io.BytesIO()
    Image.frombytes("RGB", (width, height), os.urandom(width * height * 3)).save(out, "PNG")
    return out.getvalue()


def bomb_png(width: int = 20_000, height: int = 20_000) -> bytes:
    """A tiny PNG whose header claims an enormous image (its data is one row's worth)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    body = zlib.compress(b"\x00" * (width * 3 + 1) * 4)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")
    )


async def test_uploads_are_checked_by_content_and_limits_are_named(database, tmp_path) -> None:
    settings = {"media_max_upload_bytes": 600_000, "media_max_pixels": 100_000}
    async with serve(database, tmp_path, **settings) as served, admin(served, tmp_path) as root:
        cases = {
            "type": b"just some text, named like an image",
            "corrupt": png_bytes()[:60],
            "decompression_bomb": bomb_png(),
            "max_pixels": noise_png(400, 300),
        }
        for limit, data in cases.items():
            answer = await upload(root, data, "picture.png")
            assert answer.status_code == 422, (limit, answer.text)
            assert answer.json()["error"]["message"].startswith(f"{limit}:"), answer.text
        video = mp4_bytes(tmp_path / "v.mp4", frames=12)
        assert (await upload(root, video[: len(video) // 2], "v.mp4")).status_code == 422
        too_big = await upload(root, b"\x89PNG" + b"0" * 700_000, "big.png")
        assert too_big.status_code == 413
        assert "STUDIO_MEDIA_MAX_UPLOAD_BYTES" in too_big.json()["error"]["message"]
        plain = await root.post("/media/uploads", content=png_bytes())
        assert plain.status_code == 422 and "multipart" in plain.json()["error"]["message"]
        wrong_field = await root.post("/media/uploads", files={"image": ("a.png", png_bytes())})
        assert wrong_field.status_code == 422 and "`file`" in wrong_field.json()["error"]["message"]
        incoming = tmp_path / "assets" / "media" / "incoming"
        assert not list(incoming.iterdir())  # nothing refused is kept


async def test_every_job_validation_is_a_422_naming_the_field(database, tmp_path) -> None:
    async with serve(database, tmp_path) as served, admin(served, tmp_path) as root:
        image = (await uploaded(root, png_bytes(), "a.png"))["id"]
        video = (await uploaded(root, mp4_bytes(tmp_path / "v.mp4", frames=12), "v.mp4"))["id"]
        images = [
            (await uploaded(root, png_bytes(color=(i, 9, 9)), f"{i}.png"))["id"] for i in range(9)
        ]
        refused = {
            "target_fps": {"kind": "interpolate", "inputs": [video], "target_fps": 95},
            "inputs": {"kind": "blend", "inputs": [image]},
            "inputs ": {"kind": "blend", "inputs": images},
            "inputs[0]": {"kind": "upscale", "inputs": [video]},
            "preset": {"kind": "upscale", "inputs": [image], "preset": "no-such-preset"},
            "preset ": {
                "kind": "upscale",
                "inputs": [image],
                "preset": "crisp",
                "preset_version": 7,
            },
            "factor": {"kind": "upscale", "inputs": [image], "factor": 3},
            "sharpen_percent": {
                "kind": "upscale",
                "inputs": [image],
                "params": {"sharpen_percent": 9999},
            },
            "surprise": {"kind": "upscale", "inputs": [image], "params": {"surprise": 1}},
            "prompt": {"kind": "generate", "inputs": [image]},
            "weights": {"kind": "blend", "inputs": images[:2], "weights": [1, 2, 3]},
            "kind": {"kind": "sharpen", "inputs": [image]},
            "inputs[0] ": {"kind": "upscale", "inputs": ["0000aaaa-0000-0000-0000-000000000000"]},
        }
        for field, body in refused.items():
            answer = await root.post("/media/jobs", json=body)
            status = 404 if field == "inputs[0] " else 422
            assert answer.status_code == status, (field, answer.text)
            assert field.strip() in answer.json()["error"]["message"], (field, answer.text)
        assert (await root.get("/media/jobs")).json()["jobs"] == []  # nothing was queued
        for query in ({"status": "DONE"}, {"kind": "x"}, {"cursor": "nope"}, {"limit": 0}):
            assert (await root.get("/media/jobs", params=query)).status_code == 422, query


async def test_a_job_that_fails_says_why_with_a_typed_error(database, tmp_path) -> None:
    async with serve(database, tmp_path) as served, admin(served, tmp_path) as root:
        image = await uploaded(root, png_bytes(), "gone.png")
        stored = tmp_path / "assets" / "media" / "uploads" / image["sha256"][:2]
        for path in stored.iterdir():
            path.unlink()  # the disk lost the file after the upload
        job = await root.post("/media/jobs", json={"kind": "upscale", "inputs": [image["id"]]})
        failed = await finished(root, job.json())
        assert failed["status"] == "FAILED" and failed["artifact"] is None
        assert failed["error"] == {
            "code": "invalid_input",
            "message": "inputs[0]: the stored file is missing",
        }
        assert (await root.get("/media/jobs", params={"status": "FAILED"})).json()["jobs"]


async def test_presets_are_versions_and_a_studio_run_input_saves_a_new_one(
    database, tmp_path
) -> None:
    async with serve(database, tmp_path) as served, admin(served, tmp_path) as root:
        listed = (await root.get("/media/presets", params={"kind": "upscale"})).json()["presets"]
        assert {p["id"] for p in listed} >= {"crisp", "soft", "crisp-4x"}
        studio_input = {
            "kind": "upscale",
            "inputs": [{"upload_id": "x"}],
            "params": {"factor": 2, "sharpen_percent": 150},
        }
        first = await root.post("/media/presets", json={"id": "crisp", "input": studio_input})
        assert first.status_code == 201, first.text
        assert (first.json()["version"], first.json()["source"]) == (2, "saved")
        assert first.json()["params"]["sharpen_radius"] == 1.2  # defaulted by the model
        bad = await root.post(
            "/media/presets", json={"id": "mine", "kind": "upscale", "params": {"factor": 8}}
        )
        assert bad.status_code == 422 and "factor" in bad.json()["error"]["message"]
        wrong_kind = await root.post(
            "/media/presets", json={"id": "crisp", "kind": "blend", "params": {}}
        )
        assert wrong_kind.status_code == 409
        image = (await uploaded(root, png_bytes(), "a.png"))["id"]
        job = await root.post(
            "/media/jobs", json={"kind": "upscale", "inputs": [image], "preset": "crisp"}
        )
        assert job.json()["preset"] == {"id": "crisp", "version": 2}
        assert job.json()["params"]["sharpen_percent"] == 150
        pinned = await root.post(
            "/media/jobs",
            json={"kind": "upscale", "inputs": [image], "preset": "crisp", "preset_version": 1},
        )
        assert pinned.json()["params"]["sharpen_percent"] == 120
        every = (await root.get("/media/presets", params={"versions": "all"})).json()["presets"]
        assert [p["version"] for p in every if p["id"] == "crisp"] == [2, 1]


async def test_cancel_stops_a_running_job_and_retry_links_a_new_one(database, tmp_path) -> None:
    async with serve(database, tmp_path) as served, admin(served, tmp_path) as root:
        clip = mp4_bytes(tmp_path / "long.mp4", fps=30, frames=240, size=(160, 120))
        video = await uploaded(root, clip, "long.mp4")
        body = {
            "kind": "interpolate",
            "inputs": [video["id"]],
            "target_fps": 60,
            "params": {"chunk_frames": 8, "flow": "farneback"},
        }
        job = (await root.post("/media/jobs", json=body)).json()
        events = await read_sse(
            root,
            "GET",
            f"/media/jobs/{job['id']}/stream",
            until="progress",
            limit=50,
        )
        assert events and events[-1].event == "progress"
        cancelled = await root.post(f"/media/jobs/{job['id']}/cancel")
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["status"] == "CANCELLED" and cancelled.json()["artifact"] is None
        assert (await root.post(f"/media/jobs/{job['id']}/cancel")).status_code == 409
        assert (await root.get(f"/media/jobs/{job['id']}/artifact")).status_code == 404

        retried = await root.post(f"/media/jobs/{job['id']}/retry")
        assert retried.status_code == 202, retried.text
        again = retried.json()
        assert again["retry_of"] == job["id"] and again["id"] != job["id"]
        assert again["inputs"] == job["inputs"] and again["preset"] == job["preset"]
        assert again["params"] == job["params"]
        old = (await root.get(f"/media/jobs/{job['id']}")).json()
        assert old["retried_by"] == [again["id"]] and old["status"] == "CANCELLED"
        twice = await root.post(f"/media/jobs/{job['id']}/retry")  # D19: a double click
        assert twice.status_code == 409, twice.text
        assert again["id"] in twice.json()["error"]["message"]
        assert (await root.post(f"/media/jobs/{again['id']}/retry")).status_code == 409
        await root.post(f"/media/jobs/{again['id']}/cancel")
        both = await asyncio.gather(
            root.post(f"/media/jobs/{again['id']}/retry"),
            root.post(f"/media/jobs/{again['id']}/retry"),
        )
        assert sorted(b.status_code for b in both) == [202, 409], [b.text for b in both]
        third = next(b.json() for b in both if b.status_code == 202)
        assert (await root.get(f"/media/jobs/{again['id']}")).json()["retried_by"] == [third["id"]]
        old = (await root.get(f"/media/jobs/{job['id']}")).json()
        assert old["retried_by"] == [again["id"]]
        await root.post(f"/media/jobs/{third['id']}/cancel")

        async with served.studio.threads.pool.connection() as conn:
            rows = await (
                await conn.execute(
                    "SELECT action, target, outcome FROM audit_log"
                    " WHERE action LIKE 'media.job.%%' ORDER BY at, id"
                )
            ).fetchall()
        actions = [(r["action"], r["target"], r["outcome"]) for r in rows]
        assert ("media.job.submitted", job["id"], "ok") in actions
        assert ("media.job.cancelled", job["id"], "ok") in actions
        assert ("media.job.cancelled", job["id"], "refused") in actions
        assert ("media.job.retried", job["id"], "ok") in actions


async def test_a_job_that_succeeded_is_not_retried(database: Database, tmp_path: Path) -> None:
    async with serve(database, tmp_path) as served, admin(served, tmp_path) as root:
        image = (await uploaded(root, png_bytes(), "a.png"))["id"]
        job = (await root.post("/media/jobs", json={"kind": "upscale", "inputs": [image]})).json()
        assert (await finished(root, job))["status"] == "SUCCEEDED"
        refused = await root.post(f"/media/jobs/{job['id']}/retry")
        assert refused.status_code == 409, refused.text
        error = refused.json()["error"]
        assert error["code"] == "conflict", error
        assert "succeeded: there is nothing to retry" in error["message"]
        assert "FAILED or CANCELLED" in error["message"]
        again = (await root.get(f"/media/jobs/{job['id']}")).json()
        assert again["retried_by"] == [] and again["status"] == "SUCCEEDED"
        listed = (await root.get("/media/jobs")).json()["jobs"]
        assert [j["id"] for j in listed] == [job["id"]]  # no new job was made


ROUTES = [
    ("POST", "/media/uploads"),
    ("GET", "/media/uploads/{upload}"),
    ("GET", "/media/uploads/{upload}/file"),
    ("GET", "/media/presets"),
    ("POST", "/media/presets"),
    ("POST", "/media/jobs"),
    ("GET", "/media/jobs"),
    ("GET", "/media/jobs/{job}"),
    ("POST", "/media/jobs/{job}/cancel"),
    ("POST", "/media/jobs/{job}/retry"),
    ("GET", "/media/jobs/{job}/stream"),
    ("GET", "/media/jobs/{job}/artifact"),
]


async def test_only_admins_reach_the_media_lab_and_others_jobs_are_unseen(
    database, tmp_path
) -> None:
    async with serve(database, tmp_path) as served, admin(served, tmp_path) as root:
        image = (await uploaded(root, png_bytes(), "a.png"))["id"]
        job = (await root.post("/media/jobs", json={"kind": "upscale", "inputs": [image]})).json()
        await finished(root, job)
        ids = {"upload": image, "job": job["id"]}
        creator = await person(served, "ada", "creator")
        viewer = await person(served, "vic", "viewer")
        thread_id, thread_token = await served.new_thread()
        for token, status in ((None, 401), (creator, 403), (viewer, 403), (thread_token, 403)):
            async with served.http(token) as client:
                for method, path in ROUTES:
                    answer = await client.request(method, path.format(**ids))
                    assert answer.status_code == status, (token, method, path, answer.text)
                    if status == 403:
                        assert "STUDIO_MEDIA_LAB" in answer.json()["error"]["message"]

    async with serve(database, tmp_path, media_lab="creators") as served:
        pool = served.studio.threads.pool
        ada = await accounts.user_by_name(pool, "ada")
        assert ada is not None
        _, creator = await accounts.create_token(pool, ada["user_id"], "again")
        other = await person(served, "bob", "creator")
        async with served.http(creator) as ada_client, served.http(other) as bob_client:
            mine = await uploaded(ada_client, png_bytes(), "mine.png")
            made = await ada_client.post(
                "/media/jobs", json={"kind": "upscale", "inputs": [mine["id"]]}
            )
            assert made.status_code == 202, made.text
            theirs = {"upload": mine["id"], "job": made.json()["id"]}
            for method, path in ROUTES[1:3] + ROUTES[7:]:
                answer = await bob_client.request(method, path.format(**theirs))
                assert answer.status_code == 404, (method, path, answer.text)
            borrowed = await bob_client.post(
                "/media/jobs", json={"kind": "upscale", "inputs": [mine["id"]]}
            )
            assert borrowed.status_code == 404
            assert (await bob_client.get("/media/jobs")).json()["jobs"] == []
            async with served.http(await person(served, "vera", "viewer")) as viewer_client:
                assert (await viewer_client.get("/media/jobs")).status_code == 403
        async with admin(served, tmp_path) as root:
            everyone = (await root.get("/media/jobs")).json()["jobs"]
            assert made.json()["id"] in [j["id"] for j in everyone]  # admins see all
            assert (await root.get("/media/jobs", params={"mine": "true"})).json()["jobs"] != []


async def test_a_job_counts_against_the_users_daily_generations(database, tmp_path) -> None:
    async with serve(database, tmp_path, media_lab="creators") as served:
        pool = served.studio.threads.pool
        row = await accounts.add_user(pool, "quinn", "creator")
        await accounts.set_limits(pool, row["user_id"], {"daily_generations": 1})
        _, token = await accounts.create_token(pool, row["user_id"], "tests")
        async with served.http(token) as client:
            image = (await uploaded(client, png_bytes(), "a.png"))["id"]
            body = {"kind": "upscale", "inputs": [image]}
            first = await client.post("/media/jobs", json=body)
            assert first.status_code == 202, first.text
            await finished(client, first.json())
            second = await client.post("/media/jobs", json=body)
            assert second.status_code == 429, second.text
            assert "Daily generation limit" in second.json()["error"]["message"]
            assert int(second.headers["retry-after"]) > 0
            retried = await client.post(f"/media/jobs/{first.json()['id']}/retry")
            assert retried.status_code == 429


async def test_usage_counts_media_jobs_and_a_deleted_thread_gives_nothing_back(
    database: Database, tmp_path: Path
) -> None:
    """D22: `GET /me` said "1 of 2" while the limit, counting the media job too, refused; and
    deleting a thread gave its images' quota back (generate, delete, generate again)."""
    async with serve(database, tmp_path, media_lab="creators") as served:
        pool = served.studio.threads.pool
        row = await accounts.add_user(pool, "quinn", "creator")
        await accounts.set_limits(pool, row["user_id"], {"daily_generations": 2})
        _, token = await accounts.create_token(pool, row["user_id"], "tests")
        async with served.http(token) as client:
            thread = (await client.post("/threads", json={})).json()["thread_id"]
            async with pool.connection() as conn:  # one image stored by her thread
                await conn.execute(
                    "INSERT INTO assets (thread_id, job_id, sha256, path, content_type,"
                    " width, height, bytes, deliverable, iteration, attempt, seed, generator)"
                    " VALUES (%s, 'job-d22', 'x', 'p', 'image/png', 1, 1, 1, 'd', 1, 1, 1, 'g')",
                    [thread],
                )
            image = (await uploaded(client, png_bytes(), "a.png"))["id"]
            body = {"kind": "upscale", "inputs": [image]}
            job = await client.post("/media/jobs", json=body)
            assert job.status_code == 202, job.text
            await finished(client, job.json())

            def used(me: dict[str, Any]) -> int:
                return int(me["usage"]["daily_generations"]["used"])

            assert used((await client.get("/me")).json()) == 2, "1 image + 1 media job"
            refused = await client.post("/media/jobs", json=body)
            assert refused.status_code == 429, refused.text
            deleted = await client.delete(f"/threads/{thread}")
            assert deleted.status_code == 204, deleted.text
            assert used((await client.get("/me")).json()) == 2, "deleting refunds nothing"
            again = await client.post("/media/jobs", json=body)
            assert again.status_code == 429, again.text
            started = await client.post("/threads", json={})
            run = await client.post(
                f"/threads/{started.json()['thread_id']}/runs",
                json={"input": {"messages": [{"role": "user", "content": "a fox at dusk"}]}},
            )
            assert run.status_code == 429 and "media jobs" in run.json()["error"]["message"]
        async with admin(served, tmp_path) as root:
            users = (await root.get("/users")).json()
            shown = next(u for u in users if u["name"] == "quinn")
            assert shown["usage"]["daily_generations"]["used"] == 2


async def test_result_names_say_what_was_made_and_never_collide(
    database: Database, tmp_path: Path
) -> None:
    """D15: a 4x upscale downloaded as img-upscale-crisp-v1.png (the 2x's name), a 240 fps
    interpolation was labelled smooth-120, and two different blends were both
    img-blend-moodboard-v1.png. Names and labels carry the real parameters."""
    async with serve(database, tmp_path) as served, admin(served, tmp_path) as root:
        img = await uploaded(root, png_bytes((64, 48), (200, 40, 40)), "img.png")
        grad = await uploaded(root, png_bytes((64, 48), (40, 40, 200)), "grad.png")
        clip = await uploaded(root, mp4_bytes(tmp_path / "in.mp4", fps=60, frames=16), "clip60.mp4")
        both = [img["id"], grad["id"]]
        jobs = {
            "img-upscale-2x-crisp-v1.png": (
                {"kind": "upscale", "inputs": [img["id"]], "factor": 2, "preset": "crisp"},
                "2x · preset crisp v1",
            ),
            "img-upscale-4x-crisp-v1.png": (
                {"kind": "upscale", "inputs": [img["id"]], "factor": 4, "preset": "crisp"},
                "4x · preset crisp v1",
            ),
            "clip60-interpolate-240fps-v1.mp4": (
                {
                    "kind": "interpolate",
                    "inputs": [clip["id"]],
                    "target_fps": 240,
                    "params": {"chunk_frames": 8},
                },
                "240 fps · preset smooth-120 v1",
            ),
            "img-blend-screen-75-25-v1.png": (
                {"kind": "blend", "inputs": both, "weights": [3, 1], "mode": "screen"},
                "screen · 75:25 · preset moodboard v1",
            ),
            "img-blend-screen-25-75-v1.png": (
                {"kind": "blend", "inputs": both, "weights": [1, 3], "mode": "screen"},
                "screen · 25:75 · preset moodboard v1",
            ),
            "img-blend-difference-v1.png": (
                {"kind": "blend", "inputs": both, "weights": [1, 1], "mode": "difference"},
                "difference · preset moodboard v1",
            ),
        }
        names = []
        for name, (body, made) in jobs.items():
            queued = await root.post("/media/jobs", json=body)
            assert queued.status_code == 202, queued.text
            assert queued.json()["made"] == made  # the card says it while the job runs
            done = await finished(root, queued.json())
            assert done["status"] == "SUCCEEDED", done
            assert done["artifact"]["name"] == name
            got = await artifact(root, done)
            assert f'filename="{name}"' in got.headers["content-disposition"]
            names.append(name)
        assert len(set(names)) == len(names)
