"""How a video leg keeps its work: each media file stored exactly once, how a version points
at it, and who made it (the stage records themselves are graph/video_stages.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.assets import AssetRecord
from adapters.offline.model import OfflineChatModel
from graph.context import StudioContext
from graph.state import PERSONAS


def job_id(thread_id: str, name: str, part: str, version: int) -> str:
    """The exactly-once key of one piece of a stage's work (a scene's clip, the cut)."""
    return f"{thread_id}:video:{name}:{part}:v{version}"


async def keep(
    context: StudioContext,
    data: bytes,
    *,
    thread_id: str,
    name: str,
    part: str,
    version: int,
    content_type: str,
    made_by: str,
    size: tuple[int, int] = (0, 0),
    recipe: dict[str, Any] | None = None,
) -> AssetRecord:
    """Store one media file of a stage exactly once (a rerun after a crash finds it)."""
    return await context.assets.put_media(
        data,
        content_type=content_type,
        width=size[0],
        height=size[1],
        generator=made_by,
        recipe={"stage": name, "part": part, "made_by": made_by, **(recipe or {})},
        thread_id=thread_id,
        job_id=job_id(thread_id, name, part, version),
        deliverable=f"video:{name}:{part}",
        iteration=version,
    )


def asset_ref(record: AssetRecord, **extra: Any) -> dict[str, Any]:
    """How a version points at a stored file (never its bytes)."""
    return {
        "asset_id": record.id,
        "path": str(record.path),
        "content_type": record.content_type,
        "made_by": record.generator,
        **extra,
    }


def who(context: StudioContext, role: str, overrides: Mapping[str, str] | None = None) -> str:
    """The persona and the model that spoke for `role`, as labels say it."""
    model = context.models.for_role(role, overrides)
    kind = (
        "built-in offline model"
        if isinstance(model, OfflineChatModel)
        else f"Ollama {context.models.model_name(role, overrides)}"
    )
    return f"{PERSONAS.get(role, role)} ({kind})"
