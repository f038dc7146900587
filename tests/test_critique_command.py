"""Lens on any image: `studio critique` and `POST /critique` score what a person brings."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw, ImageFont

from adapters.renderer import Renderer
from adapters.specs import GenerationSpec
from tests.api_helpers import serve

BRIEF = 'a dark bottle of sea salt soap at dawn, with the name "SEA SALT"'


def png(img: Image.Image, fmt: str = "PNG") -> bytes:
    out = io.BytesIO()
    img.save(out, format=fmt)
    return out.getvalue()


def poster(words: str = "", colour: str = "#f3e1dd") -> Image.Image:
    img = Image.new("RGB", (480, 270), colour)
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, 170, 480, 270), fill="#5d6d7e")
    draw.rectangle((150, 90, 185, 190), fill="#2b2d42")
    if words:
        font = ImageFont.load_default(size=30)
        draw.text((210, 30), words, font=font, fill="#faf8f0", stroke_width=2, stroke_fill="#111")
    return img


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    made = {
        "plain.png": png(poster()),
        "named.jpg": png(poster("SEA SALT"), "JPEG"),
        "odd.png": png(poster(colour="#ff2bd1")),
        "notes.txt": b"not a picture",
        "cut.png": png(poster())[:300],
    }
    spec = GenerationSpec(deliverable="hero-a", prompt="a bottle", subject_x=0.33, seed=1)
    [sketch] = asyncio.run(Renderer().generate(spec, job_id="j", on_progress=lambda *_: None))
    made["sketch.png"] = sketch.png
    for name, data in made.items():
        (tmp_path / name).write_bytes(data)
    return {name: tmp_path / name for name in made}


def studio(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "api", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> dict[str, str]:
    home = str(tmp_path / "home")
    return {**os.environ, "DATABASE_URL": database_url, "STUDIO_HOME": home, "COLUMNS": "120"}


def test_cli_scores_images_against_a_brief(env: dict[str, str], files: dict[str, Path]) -> None:
    paths = [str(files[n]) for n in ("plain.png", "named.jpg", "odd.png", "sketch.png")]
    done = studio(env, "critique", *paths, "--brief", BRIEF, "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)  # exactly one object
    assert set(result) == {"brief", "images", "drift"}
    plain, named, _, sketch = result["images"]
    assert [i["name"] for i in result["images"]] == [
        "plain.png",
        "named.jpg",
        "odd.png",
        "sketch.png",
    ]
    assert plain["missing"] == ["legible text"] and named["missing"] == []
    assert named["score"] > plain["score"]
    assert plain["measurements"]["brightness"]["target"] is not None
    assert plain["measurements"]["text"]["target"] == 4.0  # the longest quoted word: SALT
    assert any("wording" in u for u in plain["unchecked"])
    assert sketch["sketch"] is True and plain["sketch"] is False
    assert sketch["measurements"]["subject_x"]["target"] == 0.33  # from the PNG's own spec
    assert result["drift"]["drifts"] == "odd.png"
    shown = studio(env, "critique", *paths[:2], "--brief", BRIEF)
    assert shown.returncode == 0, shown.stderr
    assert f"plain.png: {plain['score']}/10" in shown.stdout
    assert "missing: legible text" in shown.stdout and "could not check: " in shown.stdout
    assert "brightness" in shown.stdout and "target" in shown.stdout
    assert "set drift" in shown.stdout


def test_cli_refuses_what_is_not_an_image(env: dict[str, str], files: dict[str, Path]) -> None:
    for name, message in (
        ("notes.txt", "error: notes.txt: not an image Lens can read (PNG, JPEG, WebP ...)"),
        ("cut.png", "error: cut.png: the image is damaged and cannot be read"),
    ):
        done = studio(env, "critique", str(files["plain.png"]), str(files[name]), "--brief", "x")
        assert done.returncode == 1 and "Traceback" not in done.stderr
        assert (
            done.stderr.strip().startswith(message) and len(done.stderr.strip().splitlines()) == 1
        )
    gone = studio(env, "critique", str(files["plain.png"].parent / "nope.png"), "--brief", "x")
    assert gone.returncode == 1 and gone.stderr.startswith("error: cannot read ")
    assert studio(env, "critique", str(files["plain.png"])).returncode == 2  # --brief is needed
    assert "Usage" in studio(env, "critique", "--help").stdout


def encoded(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


@pytest.mark.anyio
async def test_http_critique_answers_like_the_cli(database: Any, tmp_path: Path, files) -> None:
    async with serve(database, tmp_path, api_key="sekret") as served:
        body = {
            "brief": BRIEF,
            "images": [
                {"name": "plain.png", "data": encoded(files["plain.png"])},
                {
                    "name": "named.jpg",
                    "data": "data:image/jpeg;base64," + encoded(files["named.jpg"]),
                },
            ],
        }
        async with served.http() as client:
            assert (await client.post("/critique", json=body)).status_code == 401
        async with served.http(**{"X-Api-Key": "sekret"}) as client:  # the key is no account
            assert (await client.post("/critique", json=body)).status_code == 401
        async with served.http(served.admin_token, **{"X-Api-Key": "sekret"}) as client:
            answer = await client.post("/critique", json=body)
            assert answer.status_code == 200, answer.text
            result = answer.json()
            assert set(result) == {"brief", "images", "drift"}
            assert [i["missing"] for i in result["images"]] == [["legible text"], []]
            bad = {
                "brief": BRIEF,
                "images": [{"name": "notes.txt", "data": encoded(files["notes.txt"])}],
            }
            refused = await client.post("/critique", json=bad)
            assert refused.status_code == 422
            assert refused.json()["error"]["message"].startswith("notes.txt: not an image")
            for wrong in (
                {"brief": BRIEF, "images": []},
                {"brief": "", "images": body["images"]},
                {"brief": BRIEF, "images": [{"name": "a", "data": "%%%"}]},
                {"brief": BRIEF, "images": body["images"] * 5},  # over 8 images
            ):
                assert (await client.post("/critique", json=wrong)).status_code == 422, wrong
            huge = {"brief": BRIEF, "images": [{"name": "a", "data": "A" * 2_000_000}]}
            assert (await client.post("/critique", json=huge)).status_code == 413
