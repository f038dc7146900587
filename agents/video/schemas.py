"""Structured answers of the video format: Saga's scenes and script, Frame's shots, Luna's look."""

from __future__ import annotations

from pydantic import BaseModel, Field


class SceneIdea(BaseModel):
    title: str
    beat: str
    """What happens and why it matters, in one sentence."""
    seconds: float = 5.0


class VideoScenes(BaseModel):
    """Saga's scene list."""

    scenes: list[SceneIdea] = Field(min_length=1, max_length=12)


class ShotIdea(BaseModel):
    scene: str
    """The scene id (`s1`)."""
    shot: str
    """Framing and camera move in words ("close-up, slow push in on the kettle")."""


class VideoShots(BaseModel):
    """Frame's shot list."""

    shots: list[ShotIdea]


class VideoLook(BaseModel):
    """Luna's look for the whole video."""

    palette: list[str] = Field(default_factory=list)
    """Hex colours, dominant first."""
    lighting: str = "daylight"
    mood: str = "neutral"
    notes: str = ""


class ScriptLine(BaseModel):
    scene: str
    text: str


class VideoScript(BaseModel):
    """Saga's voice-over script: one or more lines per scene, in order."""

    lines: list[ScriptLine] = Field(min_length=1)
