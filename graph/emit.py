"""Custom stream events nodes send for people to see (phase, progress, asset, gate, notice)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from langgraph.config import get_stream_writer

if TYPE_CHECKING:
    from adapters.assets import AssetRecord


def emit(event: str, **data: Any) -> None:
    """Write one custom event `{"event": event, ...data}`; a no-op outside a streaming run."""
    try:
        writer = get_stream_writer()
    except RuntimeError:  # called outside a graph run (unit tests of helpers)
        return
    writer({"event": event, **data})


def phase(name: str, detail: str = "") -> dict[str, str]:
    """Announce a phase change and return the state update that records it."""
    emit("phase", phase=name, detail=detail)
    return {"phase": name}


def notice(text: str, *, level: str = "info", code: str = "") -> None:
    """Tell the person something that is not a persona message (budget, retry, fallback)."""
    emit("notice", level=level, text=text, code=code)


def asset_made(record: AssetRecord) -> None:
    """Say a stored image is ready (the `asset` event the chat and the CLI show)."""
    emit(
        "asset",
        asset_id=record.id,
        deliverable=record.deliverable,
        iteration=record.iteration,
        job_id=record.job_id,
        path=str(record.path),
        generator=record.generator,
    )
