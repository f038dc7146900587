"""The video format's settings: the part of `ThreadSettings` it adds (`settings.video`)."""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import AfterValidator, ConfigDict, Field, with_config
from typing_extensions import TypedDict

VideoType = Literal["product_ad", "moa", "doctor_ad", "social_media", "compliance_video"]
"""What kind of video: a product ad, a mechanism-of-action explainer, an ad a doctor fronts,
a social media short, a compliance video."""
VIDEO_TYPES: tuple[str, ...] = get_args(VideoType)
Captions = Literal["burned", "track"]
"""Captions burned into the picture, or only a WebVTT track beside the MP4."""
Aspect = Literal["16:9", "9:16", "1:1", "4:5"]

_STRICT = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)
_Name = Annotated[str, Field(min_length=1, max_length=60, pattern=r"^[\w .:/+-]+$")]


@with_config(_STRICT)
class VideoSettings(TypedDict, total=False):
    """The video's options (`settings.video`); every one has a default (from the brief first)."""

    type: VideoType
    seconds: Annotated[float, Field(ge=2, le=180)]
    """Target duration (default: from the brief, else by type: 15-45 s)."""
    fps: Annotated[int, Field(ge=2, le=60)]
    """Frames per second of the clips and the cut (default 24)."""
    height: Annotated[int, Field(ge=144, le=1080)]
    """Frame height in pixels (default 360); the width follows the aspect."""
    aspect: Aspect
    """Frame shape (default 16:9; 9:16 for social media)."""
    scenes: Annotated[int, Field(ge=1, le=12)]
    """How many scenes (default: about one per 5 seconds, 2 to 6)."""
    voice: _Name
    """Voice name for the TTS engine (eSpeak NG: `en`, `en-us`, ...)."""
    captions: Captions
    max_tts_chars: Annotated[int, Field(ge=1, le=100_000)]
    """Budget: characters spoken per thread, every version counted (default 4000)."""
    max_video_seconds: Annotated[float, Field(ge=2, le=3600)]
    """Budget: seconds of video animated per thread, every clip of every version counted
    (default 600); a target duration (`seconds`) over it is refused."""


DEFAULT_MAX_VIDEO_SECONDS = 600.0


def _fits_budget(video: VideoSettings) -> VideoSettings:
    """Refuse a target duration the seconds-of-video budget cannot pay for even once."""
    seconds, budget = video.get("seconds"), video.get("max_video_seconds")
    if seconds is not None and budget is not None and seconds > budget:
        raise ValueError(
            f"seconds ({seconds:g}) is over max_video_seconds ({budget:g}): the target "
            "duration must fit the seconds-of-video budget"
        )
    return video


CheckedVideoSettings = Annotated[VideoSettings, AfterValidator(_fits_budget)]
"""`settings.video` as the thread settings check it: its fields, and the duration in budget."""
