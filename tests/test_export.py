"""Take the work home: `GET /threads/{id}/export` (a zip) and `studio export` (a folder)
hold the set named by deliverable, each spec and recipe, the brief, directions and discussion."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from PIL import Image

from adapters.assets import AssetRecord
from adapters.renderer import read_recipe
from store.export import build, export_name, file_stem
from tests.api_helpers import NEON, serve

TEXTS = {"README.md", "manifest.json", "brief.md", "discussion.md"}


def start(**settings: Any) -> dict[str, Any]:
    return {"input": {"messages": [{"role": "user", "content": NEON}], "settings": settings}}


def unzip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        return {name: archive.read(name) for name in archive.namelist()}


def speakers(markdown: str) -> list[str]:
    return re.findall(r"^\*\*(.+?):\*\*$", markdown, flags=re.MULTILINE)


@pytest.mark.anyio
async def test_export_of_an_approved_thread_names_files_by_deliverable(
    database: Any, tmp_path: Path
) -> None:
    async with serve(database, tmp_path) as served:
        tid, token = await served.new_thread(metadata={"title": "Neon street, at night!"})
        async with served.http(token) as client:
            await client.post(f"/threads/{tid}/runs/wait", json=start(auto_approve=True))
            state = (await client.get(f"/threads/{tid}/state")).json()["values"]
            assert state["phase"] == "approved"
            outputs = (await client.get(f"/threads/{tid}/outputs?limit=200")).json()["items"]
            timeline = (await client.get(f"/threads/{tid}/timeline?limit=1000")).json()["items"]
            response = await client.get(f"/threads/{tid}/export")
            assert response.status_code == 200, response.text
            assert response.headers["content-type"] == "application/zip"
            expected_name = f"creative-studio-neon-street-at-night-{tid[:8]}.zip"
            disposition = response.headers["content-disposition"]
            assert disposition == f'attachment; filename="{expected_name}"'
            files = unzip(response.content)

            deliverables = [d["id"] for d in state["plan"]["deliverables"]]
            assert len(deliverables) >= 2
            images = {f"{d}.png" for d in deliverables}
            specs = {f"{d}.json" for d in deliverables}
            assert set(files) == TEXTS | images | specs

            approved = {o["asset_id"]: o for o in outputs if o["verdict"] == "approved"}
            manifest = json.loads(files["manifest.json"])
            assert manifest["approved"] is True and manifest["thread_id"] == tid
            assert {i["asset_id"] for i in manifest["images"]} == set(approved)
            assert "Approved set" in files["README.md"].decode()
            for d in deliverables:
                spec = json.loads(files[f"{d}.json"])
                output = approved[spec["asset_id"]]
                assert spec["deliverable"] == output["deliverable"] == d
                assert spec["verdict"] == "approved"
                assert spec["spec"] == output["lineage"]["spec"]
                assert spec["recipe"] == output["lineage"]["recipe"]
                assert spec["seed"] == output["lineage"]["seed"]
                assert spec["score"] == output["scores"]["score"]
                assert spec["sketch"] is True  # the built-in renderer draws layout sketches
                png = files[f"{d}.png"]
                assert png == (await client.get(output["url"])).content  # the bytes, copied
                with Image.open(io.BytesIO(png)) as image:
                    assert image.size == (output["width"], output["height"])
                embedded: dict[str, Any] = read_recipe(png)
                assert embedded == spec["recipe"]  # the recipe rides along in the PNG
                assert embedded["spec"]["deliverable"] == d

            brief = files["brief.md"].decode()
            assert NEON in brief and all(f"`{d}`" in brief for d in deliverables)
            discussion = files["discussion.md"].decode()
            said = [e["persona"] for e in timeline if e["text"].strip()]
            assert speakers(discussion) == said  # everyone, in the order they spoke
            assert said[0] == "You" and {"Luna", "Frame", "Saga", "Pixel"} <= set(said)
            assert discussion.index(NEON) < discussion.index("**Luna:**")


@pytest.mark.anyio
async def test_export_before_approval_holds_the_current_variants_and_says_so(
    database: Any, tmp_path: Path
) -> None:
    async with serve(database, tmp_path) as served:
        tid, token = await served.new_thread()
        async with served.http(token) as client:
            await client.post(f"/threads/{tid}/runs/wait", json=start())
            early = unzip((await client.get(f"/threads/{tid}/export")).content)
            assert set(early) == TEXTS  # at the plan gate: no images yet, and it says so
            assert "No images yet" in early["README.md"].decode()
            resume = {"command": {"resume": {"action": "approve"}}}
            await client.post(f"/threads/{tid}/runs/wait", json=resume)
            state = (await client.get(f"/threads/{tid}/state")).json()
            assert state["interrupts"][0]["value"]["gate"] == "output"
            files = unzip((await client.get(f"/threads/{tid}/export")).content)
        values = state["values"]
        newest: dict[str, dict[str, Any]] = {}
        for g in values["generations"]:
            if (
                g["deliverable"] not in newest
                or g["iteration"] >= newest[g["deliverable"]]["iteration"]
            ):
                newest[g["deliverable"]] = g
        current = values.get("current") or {d: g["asset_id"] for d, g in newest.items()}
        manifest = json.loads(files["manifest.json"])
        assert manifest["approved"] is False
        assert {i["deliverable"]: i["asset_id"] for i in manifest["images"]} == current
        readme = files["README.md"].decode()
        assert "Not finished yet" in readme and "current variants" in readme
        for d in current:
            assert json.loads(files[f"{d}.json"])["verdict"] == "current"


@pytest.mark.anyio
async def test_export_is_for_the_threads_owner_only(database: Any, tmp_path: Path) -> None:
    async with serve(database, tmp_path) as served:
        tid, token = await served.new_thread()
        _, stranger = await served.new_thread()
        async with served.http() as anonymous:
            assert (await anonymous.get(f"/threads/{tid}/export")).status_code == 401
            query = f"/threads/{tid}/export?access_token={token}"
            assert (await anonymous.get(query)).status_code == 401  # never a token in a URL
        async with served.http(stranger) as other:
            refused = await other.get(f"/threads/{tid}/export")
            assert refused.status_code == 404 and refused.json()["error"]["code"] == "not_found"
        async with served.http(token) as owner:
            assert (await owner.get("/threads/no-such-thread/export")).status_code == 404


def record(tmp_path: Path, deliverable: str, **fields: Any) -> AssetRecord:
    path = tmp_path / f"{deliverable}.bin"
    path.write_bytes(b"\x89PNG fake")
    values: dict[str, Any] = {
        "id": f"id-{deliverable}",
        "thread_id": "t",
        "job_id": f"t/{deliverable}/1/0",
        "sha256": "0" * 64,
        "path": path,
        "content_type": "image/png",
        "width": 8,
        "height": 8,
        "bytes": 9,
        "deliverable": deliverable,
        "iteration": 1,
        "attempt": 0,
        "seed": 1,
        "generator": "comfyui",
        "spec": {},
        "recipe": {},
        "scores": {},
        "verdict": None,
        "created_at": datetime.now(UTC),
        **fields,
    }
    return AssetRecord(**values)


def test_package_names_directions_and_sketch_labels(tmp_path: Path) -> None:
    values = {
        "brief": "a lighthouse in a storm",
        "phase": "completed",
        "outcome": "completed",
        "stop_reason": "max_iterations",
        "plan": {"deliverables": [{"id": "Hero A", "aspect": "16:9", "title": "Hero"}]},
        "generations": [
            {"deliverable": "Hero A", "iteration": 1, "asset_id": "id-Hero A"},
            {"deliverable": "../x", "iteration": 1, "asset_id": "id-../x"},
        ],
        "directions": [
            {"text": "more rain", "scope": "*", "source": "interjection", "negative": False},
            {"text": "faces", "scope": "Hero A", "source": "brief", "negative": True},
        ],
        "messages": [
            HumanMessage("a lighthouse in a storm"),
            AIMessage("Storm greys.", name="style"),
            AIMessage("", name="composition"),
            AIMessage("Low horizon.", name="composition"),
        ],
    }
    records = [
        record(tmp_path, "Hero A", recipe={"sketch": True, "template": "compose"}),
        record(tmp_path, "../x"),
    ]
    package = build("t" * 12, {"title": "Lighthouse"}, values, records)
    assert (
        package.name == export_name("Lighthouse", "t" * 12) == "creative-studio-lighthouse-tttttttt"
    )
    files = dict(package.files())
    assert set(files) == TEXTS | {"hero-a.png", "hero-a.json", "x.png", "x.json"}
    assert file_stem("../../etc/passwd") == "etc-passwd"
    assert json.loads(files["hero-a.json"])["sketch"] is True
    assert json.loads(files["x.json"])["sketch"] is False
    assert "sketch" in files["README.md"].decode()
    assert "Not approved (the session ended: max iterations)" in files["README.md"].decode()
    brief = files["brief.md"].decode()
    assert "- more rain (the whole set; interjection)" in brief
    assert "- avoid: faces (Hero A; brief)" in brief
    assert speakers(files["discussion.md"].decode()) == ["You", "Luna", "Frame"]
    legacy = build("t", None, {"direction": ["warmer"], "focus": {"thumb": "closer"}}, [])
    assert "- warmer (the whole set; person)" in legacy.brief_md()
    assert "- closer (thumb; person)" in legacy.brief_md()


def test_cli_export_writes_the_package_and_the_summary_points_at_it(
    database_url: str, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "STUDIO_HOME": str(tmp_path / "home"),
        "COLUMNS": "120",
    }

    def studio(*args: str, cwd: Path = tmp_path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "api", *args],
            env=env,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )

    done = studio("run", NEON, "--auto-approve")
    assert done.returncode == 0, done.stderr
    tid = done.stdout.split("Thread ", 1)[1].split()[0]
    assert "Approved set:" in done.stdout
    assert f"`studio export {tid}`" in done.stdout
    paths = {
        line.split(": ", 1)[0].strip(): line.split(": ", 1)[1].rsplit(" (score ", 1)[0]
        for line in done.stdout.splitlines()
        if "(score " in line
    }
    assert len(paths) == 3 and all(
        "sketch)" in line for line in done.stdout.splitlines() if "(score " in line
    )
    assert "Readable copies (" + ", ".join(f"{d}.png" for d in paths) in done.stdout

    out = tmp_path / "mine"
    exported = studio("export", tid, "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    assert {p.name for p in out.iterdir()} == TEXTS | {
        f"{d}.{x}" for d in paths for x in ("png", "json")
    }
    for d, path in paths.items():
        assert (out / f"{d}.png").read_bytes() == Path(path).read_bytes()
        assert (
            read_recipe((out / f"{d}.png").read_bytes())
            == json.loads((out / f"{d}.json").read_text())["recipe"]
        )
    assert "Approved set" in exported.stdout and "Wrote 10 files" in exported.stdout

    here = tmp_path / "cwd"
    here.mkdir()
    assert studio("export", tid, cwd=here).returncode == 0
    [folder] = here.iterdir()
    assert folder.name == f"creative-studio-cyberpunk-street-scene-at-night-neon-{tid[:8]}"
    assert (folder / "discussion.md").read_text().startswith("# Discussion: ")

    missing = studio("export", "no-such-thread")
    assert missing.returncode == 1
    assert (
        missing.stderr.strip()
        == "error: no thread 'no-such-thread' here; `studio threads` lists them"
    )
