"""A video thread's part of the export: the final MP4, the timed script, the captions, and every
stage's current version (its JSON and its media), keyframes named by scene."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from adapters.assets import AssetRecord
from graph.video_stages import NAMES, ORDER, latest, output, stage

_EXT = {"image/png": "png", "video/mp4": "mp4", "audio/wav": "wav", "text/vtt": "vtt"}


def _json(data: Any) -> bytes:
    return (json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n").encode()


def _slug(text: str) -> str:
    words = "".join(c if c.isalnum() else "-" for c in text.lower()).split("-")
    return "-".join(w for w in words if w)[:40]


def _read(ref: Any, records: Mapping[str, AssetRecord]) -> bytes | None:
    record = records.get(str(ref.get("asset_id"))) if isinstance(ref, Mapping) else None
    if record is None or not record.path.exists():
        return None
    return record.path.read_bytes()


def _ext(ref: Mapping[str, Any], records: Mapping[str, AssetRecord]) -> str:
    record = records[str(ref["asset_id"])]
    return _EXT.get(record.content_type, record.path.suffix.lstrip(".") or "bin")


def timed_lines(video: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The script's lines with their timing (as spoken, once the voice is made)."""
    voiced = output(video, "voice").get("lines")
    return list(voiced or output(video, "script").get("lines") or [])


def script_md(video: Mapping[str, Any]) -> str:
    titles = {s["id"]: s.get("title", "") for s in output(video, "scenes").get("scenes", [])}
    kind = str(video.get("type", "")).replace("_", " ")
    lines = [
        f"# Script: {video.get('seconds', '?')}-second {kind}",
        "",
        "| scene | start | end | line |",
        "| --- | --- | --- | --- |",
    ]
    for line in timed_lines(video):
        scene = f"{line.get('scene', '')} {titles.get(line.get('scene'), '')}".strip()
        start, end = float(line.get("start", 0)), float(line.get("end", 0))
        lines.append(f"| {scene} | {start:.2f} s | {end:.2f} s | {line.get('text', '')} |")
    return "\n".join([*lines, ""])


def video_files(
    video: Mapping[str, Any], records: Mapping[str, AssetRecord]
) -> Iterator[tuple[str, bytes]]:
    """`video/...` files of the export (none for a thread that is not a video)."""
    if not video:
        return
    scenes = {s["id"]: s for s in output(video, "scenes").get("scenes", [])}
    cut = output(video, "render").get("cut")
    if (data := _read(cut, records)) is not None:
        yield "video/final.mp4", data
    if timed_lines(video):
        yield "video/script.md", script_md(video).encode()
        yield "video/script.json", _json({"lines": timed_lines(video)})
    captions = output(video, "voice").get("captions")
    if (data := _read(captions, records)) is not None:
        yield "video/captions.vtt", data
    for name in ORDER:
        entry = latest(video, name)
        if entry is None:
            continue
        record = stage(video, name)
        folder = f"video/stages/{ORDER.index(name) + 1}-{name}"
        yield (
            f"{folder}/v{entry['version']}.json",
            _json(
                {
                    "stage": name,
                    "what": NAMES[name],
                    "version": entry["version"],
                    "versions": len(record["versions"]),
                    "accepted": record.get("accepted", 0),
                    "stale": bool(record.get("stale")),
                    **entry,
                }
            ),
        )
        out = entry.get("output") or {}
        for key in ("keyframes", "clips"):
            for scene_id, ref in (out.get(key) or {}).items():
                if (data := _read(ref, records)) is None:
                    continue
                title = _slug(str(scenes.get(scene_id, {}).get("title", "")))
                stem = f"{scene_id}-{title}" if title else scene_id
                yield f"{folder}/{stem}.{_ext(ref, records)}", data
        for key in ("track", "captions", "cut"):
            ref = out.get(key)
            if isinstance(ref, Mapping) and (data := _read(ref, records)) is not None:
                yield f"{folder}/{key}.{_ext(ref, records)}", data
