"""A video thread's export (`GET /threads/{id}/export`, and the folder `studio export` writes):
the final MP4, the script with its timings, the captions and each stage's current version,
the keyframes named by scene."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from adapters.media.captions import parse_webvtt
from adapters.media.cut import probe
from store.export import collect, write_folder
from tests.api_helpers import read_sse, serve

BRIEF = "a 4-second product ad for Aurora, a quiet electric kettle"
VIDEO = {"fps": 4, "height": 180, "scenes": 2}


@pytest.mark.anyio
async def test_a_video_threads_export_holds_the_cut_script_captions_and_stages(
    database: Any, tmp_path: Path
) -> None:
    async with serve(database, tmp_path) as served:
        tid, token = await served.new_thread(metadata={"title": "Aurora ad"})
        async with served.http(token) as client:
            settings = {"format": "video", "auto_approve": True, "video": VIDEO}
            body = {"input": {"messages": [{"role": "user", "content": BRIEF}],
                              "settings": settings}}  # fmt: skip
            await client.post(f"/threads/{tid}/runs/wait", json=body, timeout=300)
            values = (await client.get(f"/threads/{tid}/state")).json()["values"]
            assert values["phase"] == "approved", values.get("phase")
            events = await read_sse(client, "GET", f"/threads/{tid}/stream", until="done")
            response = await client.get(f"/threads/{tid}/export")
            assert response.status_code == 200, response.text
        package = await collect(served.studio, tid)
    # the subgraph's progress reaches the live view; its messages arrive once each
    progress = {(e.data["stage"], e.data["deliverable"]) for e in events if e.event == "progress"}
    assert ("animation", "clip s2") in progress and ("visuals", "keyframe s1") in progress
    said = [e.data["id"] for e in events if e.event == "message"]
    assert said and len(said) == len(set(said))
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    found = probe(files["video/final.mp4"])
    assert (found.video_codec, found.audio_codec) == ("h264", "aac")
    assert abs(found.seconds - 4.0) < 0.3
    script = json.loads(files["video/script.json"])["lines"]
    assert [line["scene"] for line in script] == ["s1", "s2"]
    assert all(0 <= line["start"] < line["end"] <= 4 for line in script)
    assert (
        "| s1 " in files["video/script.md"].decode() and " s |" in files["video/script.md"].decode()
    )
    cues = parse_webvtt(files["video/captions.vtt"].decode())
    assert [c.text for c in cues] == [line["text"] for line in script]
    stages = sorted(n for n in files if n.startswith("video/stages/") and n.endswith(".json"))
    assert stages == [
        "video/stages/1-scenes/v1.json", "video/stages/2-script/v1.json",
        "video/stages/3-visuals/v1.json", "video/stages/4-animation/v1.json",
        "video/stages/5-voice/v1.json", "video/stages/6-render/v1.json",
    ]  # fmt: skip
    keyframes = sorted(n for n in files if n.startswith("video/stages/3-visuals/") and ".png" in n)
    assert keyframes == ["video/stages/3-visuals/s1-the-hook.png",
                         "video/stages/3-visuals/s2-call-to-action.png"]  # fmt: skip
    assert Image.open(io.BytesIO(files[keyframes[0]])).size[1] >= 180
    assert "video/stages/4-animation/s1-the-hook.mp4" in files
    assert "video/stages/5-voice/track.wav" in files
    assert "`video/`" in files["README.md"].decode()
    assert package is not None
    written = write_folder(package, tmp_path / "out")
    assert (tmp_path / "out" / "video" / "final.mp4") in written
