"""Run-scoped dependencies that reach every node as `Runtime[StudioContext]`."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from adapters.llm import RoleModels
from adapters.media.kit import MediaKit
from adapters.specs import SpecLimits
from graph.budgets import SessionDefaults

if TYPE_CHECKING:
    from adapters.assets import AssetStore
    from adapters.images import ImageGenerator


def utc_now() -> datetime:
    """The wall clock, in UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True, kw_only=True)
class StudioContext:
    """What nodes use to talk to the world; built once per process by `api/`."""

    models: RoleModels
    images: ImageGenerator
    assets: AssetStore
    spec_limits: SpecLimits = field(default_factory=SpecLimits)
    """The bounds every proposed generation spec is clamped into."""
    defaults: SessionDefaults = field(default_factory=SessionDefaults)
    """The limits and thresholds a session has where its thread's settings say nothing."""
    generation_slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(2))
    """Concurrency cap on image generation across every thread of this process."""
    clock: Callable[[], datetime] = utc_now
    """What time it is (UTC): the launch kit's A/B test timers read it; tests move it on."""
    media: MediaKit = field(default_factory=MediaKit)
    """Voice and animator for video (eSpeak NG and camera moves unless configured)."""


_default: StudioContext | None = None


def set_default_context(context: StudioContext | None) -> None:
    """Register the context for runs that bring none: `langgraph dev`'s (its entry,
    `api/langgraph_app.py`, hands it to every run; nodes only ever read `runtime.context`)."""
    global _default
    _default = context


def default_context() -> StudioContext:
    """The registered default, else a clear error."""
    if _default is None:
        raise RuntimeError(
            "no StudioContext: pass context= to the graph or call set_default_context"
        )
    return _default


def thread_of(runtime: Any) -> str:
    """The run's thread id (`local` outside a thread, as the images it makes are filed):
    verdicts and scores are recorded per thread."""
    info = getattr(runtime, "execution_info", None)
    return str(getattr(info, "thread_id", None) or "local")
