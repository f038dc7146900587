"""LangGraph Server stream framing: which SSE `event:` and `data:` one stream part becomes."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import BaseMessage
from langgraph.types import StreamMode
from sse_starlette import ServerSentEvent

from engine.serde import dumps, interrupt_json, jsonable

RUN_MODES: frozenset[str] = frozenset({"values", "updates", "custom", "messages-tuple", "messages"})
_GRAPH_MODE: dict[str, StreamMode] = {
    "values": "values",
    "updates": "updates",
    "custom": "custom",
    "messages-tuple": "messages",
    "messages": "messages",
}


def _breaks(text: str) -> bool:
    return "\n" in text or "\r" in text


def frame(data: str, *, event: str | None = None, id: str | None = None) -> bytes:
    """One SSE event as sse-starlette's `ServerSentEvent(...).encode()` writes it, without
    building one per event: JSON text from `dumps` never holds a line break."""
    if _breaks(data) or (event is not None and _breaks(event)) or (id is not None and _breaks(id)):
        return ServerSentEvent(data, event=event, id=id).encode()
    head = f"id: {id}\r\n" if id is not None else ""
    if event is not None:
        head += f"event: {event}\r\n"
    return f"{head}data: {data}\r\n\r\n".encode()


# A run's stream closes with `event: end` (as LangGraph Server did before 0.16, and as
# langgraph-sdk still expects): without it the SDK cannot tell a finished run from a cut
# connection and asks `GET /threads/{id}/runs/{run_id}` after every stream.
END_FRAME = frame("null", event="end")


def graph_modes(requested: list[str], always: list[StreamMode]) -> list[StreamMode]:
    """The `astream` modes that serve both the run's requested modes and the studio events."""
    chosen: list[StreamMode] = list(always)
    for mode in requested:
        graph_mode = _GRAPH_MODE[mode]
        if graph_mode not in chosen:
            chosen.append(graph_mode)
    return chosen


def values_json(values: Any, interrupts: Any = ()) -> dict[str, Any]:
    """Full state as langgraph-api sends it, with pending interrupts as `__interrupt__`."""
    data = jsonable(values) if isinstance(values, dict) else {}
    if interrupts:
        data["__interrupt__"] = [interrupt_json(i) for i in interrupts]
    return data


def _values_text(values: Any, interrupts: Any) -> str:
    """`dumps(values_json(...))` in one pass: the encoder converts what it meets."""
    data = dict(values) if isinstance(values, dict) else {}
    if interrupts:
        data["__interrupt__"] = list(interrupts)
    return dumps(data)


def _message_metadata(meta: Any) -> dict[str, Any]:
    if not isinstance(meta, dict):
        return {}
    return {k: v for k, v in meta.items() if not k.startswith("__")}


_last_metadata: list[Any] = [None, "{}"]
"""The metadata dict of the last `messages` part and its JSON (`_metadata_text`)."""


def _metadata_text(meta: Any) -> str:
    """`dumps(_message_metadata(meta))`, once per message: LangGraph hands every token of one
    model call the same metadata dict (a dozen keys, kept unchanged), so the last one's JSON
    is reused while the same dict comes back (#20 point 7)."""
    if meta is _last_metadata[0]:
        return str(_last_metadata[1])
    text = dumps(_message_metadata(meta))
    _last_metadata[:] = [meta, text]  # the dict is held, so its identity is not reused
    return text


def run_events(part: dict[str, Any], requested: list[str]) -> list[tuple[str, str]]:
    """`(event, data JSON)` pairs a run's stream carries for one `astream(version="v2")` part."""
    kind, data, ns = part.get("type"), part.get("data"), part.get("ns") or ()
    suffix = "".join(f"|{n}" for n in ns)
    if kind == "values" and "values" in requested:
        return [(f"values{suffix}", _values_text(data, part.get("interrupts")))]
    if kind == "updates" and "updates" in requested:
        return [(f"updates{suffix}", dumps(data))]
    if kind == "custom" and "custom" in requested:
        return [(f"custom{suffix}", dumps(data))]
    if kind == "messages" and ("messages-tuple" in requested or "messages" in requested):
        chunk, meta = data if isinstance(data, tuple) else (data, {})
        body = chunk.model_dump() if isinstance(chunk, BaseMessage) else chunk
        # `dumps([body, metadata])`: compact JSON, so the array is the two texts joined
        return [(f"messages{suffix}", f"[{dumps(body)},{_metadata_text(meta)}]")]
    return []
