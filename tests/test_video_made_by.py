"""The animated clips' "made by": each scene's camera move in scene order, grouped by the engine
that made it, so a person can tell which scene got which move (not a de-duplicated list of
engine labels in alphabetical order)."""

from __future__ import annotations

from typing import Any

from adapters.media.cut import ENCODER
from agents.video.production import clips_made_by


def clip(move: str, speed: float = 1.0, engine: str = "") -> dict[str, Any]:
    pace = "" if speed == 1.0 else (", slower" if speed < 1.0 else ", faster")
    words = move.replace("_", " ")
    made = engine or f"built-in camera move ({words}{pace}, parallax over renderer depth layers)"
    return {"move": move, "speed": speed, "made_by": f"{made}; {ENCODER}"}


def test_the_moves_are_said_per_scene_in_scene_order() -> None:
    clips = {"s1": clip("push_in"), "s2": clip("hold"), "s3": clip("pan_right", 0.6)}
    assert clips_made_by(["s1", "s2", "s3"], clips) == [
        "s1 push in, s2 hold, s3 pan right (slower): built-in camera move (parallax over "
        "renderer depth layers)",
        ENCODER,
    ]


def test_scenes_made_by_other_engines_are_grouped_by_engine() -> None:
    comfy = "ComfyUI 0.3.40 image-to-video (svd, a video model: 14 frames at 3 fps)"
    clips = {"s1": clip("push_in", engine=comfy), "s2": clip("hold"), "s3": clip("pull_out")}
    made = clips_made_by(["s1", "s2", "s3"], clips)
    assert made == [
        f"s1 push in: {comfy}",
        "s2 hold, s3 pull out: built-in camera move (parallax over renderer depth layers)",
        ENCODER,
    ]
