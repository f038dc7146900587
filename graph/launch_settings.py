"""A thread's format and the launch kit's settings: the part of `ThreadSettings` they add."""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import ConfigDict, Field, with_config
from typing_extensions import TypedDict

Format = Literal["images", "launch", "video"]
"""What a session makes: a set of images (the default) or a video's launch kit. A new format
is one more name here and a branch in `graph.launch.entry_for`."""
FORMATS: tuple[str, ...] = get_args(Format)

Provider = Literal["simulated", "manual"]
"""Where the A/B test's observations come from: the seeded simulator, or figures the person
posts (`POST /threads/{id}/experiment/observations`, JSON or CSV)."""

_Text = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")]
_STRICT = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


@with_config(_STRICT)
class TrendFigure(TypedDict, total=False):
    """One row of search/view figures the person supplies for the trend step."""

    keyword: _Text
    searches: Annotated[int, Field(ge=0)]
    views: Annotated[int, Field(ge=0)]


@with_config(_STRICT)
class LaunchSettings(TypedDict, total=False):
    """The launch kit's options (`settings.launch`); every one has a default."""

    topic: _Text
    """What the video is about; default: the brief after "launch a video about"."""
    niche: _Text
    """The channel's niche ("home coffee", "budget travel")."""
    audience: _Text
    """Who watches ("beginners on a budget")."""
    keywords: Annotated[list[_Text], Field(max_length=20)]
    """Keywords the person knows are searched (no figures: the trend step names them)."""
    figures: Annotated[list[TrendFigure], Field(max_length=50)]
    """Search/view figures per keyword the person supplies; the only numbers trends show."""
    provider: Provider
    timeout_hours: Annotated[float, Field(gt=0, le=24 * 90)]
    """The A/B test stops at this age (default 72)."""
    poll_seconds: Annotated[float, Field(ge=1, le=24 * 3600)]
    """How often the simulator reports (default 5)."""
