"""The video's stages and their versions: what each leg reads and how its work is recorded
(the legs in agents/video, the stage gate in graph/video_gates.py and the export read them).

`state["video"]["stages"][name]` holds every version of a stage (`versions`, oldest first),
the version the person accepted (`accepted`) and whether an earlier stage changed under it
(`stale`). Each version keeps its output, its review, what made it and the versions of the
earlier stages it was made from (`based_on`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

ORDER: tuple[str, ...] = ("scenes", "script", "visuals", "animation", "voice", "render")
"""The stages in the order they are made."""
NAMES = {
    "scenes": "scene list",
    "script": "script",
    "visuals": "keyframes",
    "animation": "animated clips",
    "voice": "voice track",
    "render": "final cut",
}


def stage(video: Mapping[str, Any], name: str) -> dict[str, Any]:
    """A stage's record (empty when it was never made)."""
    found = (video.get("stages") or {}).get(name)
    return dict(found) if found else {"versions": [], "accepted": 0, "stale": False}


def latest(video: Mapping[str, Any], name: str) -> dict[str, Any] | None:
    versions = stage(video, name)["versions"]
    return dict(versions[-1]) if versions else None


def output(video: Mapping[str, Any], name: str) -> dict[str, Any]:
    """The latest version's output of a stage (empty when none)."""
    found = latest(video, name)
    return dict(found["output"]) if found else {}


def next_version(video: Mapping[str, Any], name: str) -> int:
    return len(stage(video, name)["versions"]) + 1


def based_on(video: Mapping[str, Any], name: str) -> dict[str, int]:
    """The version of every earlier stage this one is made from."""
    earlier = ORDER[: ORDER.index(name)]
    return {s: len(stage(video, s)["versions"]) for s in earlier if stage(video, s)["versions"]}


def request(video: Mapping[str, Any], name: str) -> tuple[str, str]:
    """`(scope, feedback)` the person asked of this stage: a scene id or `*`."""
    asked = video.get("request") or {}
    if asked.get("stage") != name:
        return "*", ""
    return str(asked.get("scene") or "*"), str(asked.get("feedback") or "")


def add_version(
    video: Mapping[str, Any],
    name: str,
    out: dict[str, Any],
    *,
    made_by: list[str],
    started: float,
) -> dict[str, Any]:
    """The `video` update that records a new version of `name` (clearing `stale`) and sends
    it to Lens."""
    scope, feedback = request(video, name)
    entry = {
        "version": next_version(video, name),
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "feedback": feedback,
        "scope": scope,
        "made_by": made_by,
        "based_on": based_on(video, name),
        "seconds_of_work": round(time.monotonic() - started, 3),
        "output": out,
        "review": {},
    }
    record = stage(video, name)
    record["versions"] = [*record["versions"], entry]
    record["stale"] = False
    return {"stages": {**(video.get("stages") or {}), name: record}, "due": "review"}


def with_review(video: Mapping[str, Any], name: str, review: dict[str, Any]) -> dict[str, Any]:
    """The `video` update that attaches Lens's review to the latest version of `name`."""
    record = stage(video, name)
    versions = list(record["versions"])
    versions[-1] = {**versions[-1], "review": review}
    record["versions"] = versions
    return {"stages": {**(video.get("stages") or {}), name: record}, "due": "gate"}


def mark_stale(video: Mapping[str, Any], after: str) -> dict[str, Any]:
    """Every stage after `after` that was made is stale: it will be redone from the new work."""
    stages = dict(video.get("stages") or {})
    for name in ORDER[ORDER.index(after) + 1 :]:
        if name in stages and stages[name].get("versions"):
            stages[name] = {**stages[name], "stale": True}
    return stages


def next_stage(video: Mapping[str, Any], after: str) -> str | None:
    """The first stage after `after` that is missing or stale (None: the video is done)."""
    for name in ORDER[ORDER.index(after) + 1 :]:
        record = stage(video, name)
        if not record["versions"] or record.get("stale"):
            return name
    return None
