"""Structured answers of the launch kit's model calls (the offline model answers them by title)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class TrendAngle(BaseModel):
    """One way into the topic, with the line that opens the video."""

    angle: str = Field(description="the angle in a few words")
    hook: str = Field(description="the first line a viewer hears")
    why: str = Field(description="why this works for the audience")
    keyword: str = Field("", description="the search keyword it answers, if the data names one")


class LaunchTrends(BaseModel):
    """The trend step's answer: angles and hooks (never figures: those come from the person)."""

    angles: list[TrendAngle] = Field(min_length=2, max_length=5)


class ScriptDraft(BaseModel):
    """One script variant."""

    title: str = Field(min_length=1, max_length=60, description="the video's title, short")
    hook: str = Field(description="the opening line")
    outline: list[str] = Field(min_length=3, max_length=8, description="the beats, in order")
    call_to_action: str
    length_seconds: int = Field(ge=15, le=3600)
    angle: str = ""


class ScriptBatch(BaseModel):
    """Saga's answer: two to four script variants."""

    scripts: list[ScriptDraft] = Field(min_length=2, max_length=4)
