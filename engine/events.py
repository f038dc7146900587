"""The one mapping from LangGraph stream parts to the studio's event vocabulary.

`token` (a specialist is speaking), `message` (a finished message), `phase`, `progress`,
`asset`, `gate`, `notice`, plus `error` and `done`, which the runner adds around a run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langgraph.types import StreamMode

STREAM_MODES: list[StreamMode] = ["messages", "custom", "updates"]


@dataclass(frozen=True)
class Event:
    """One thing a person should see."""

    kind: str
    data: dict[str, Any] = field(default_factory=dict)


def _text(message: BaseMessage) -> str:
    return message.content if isinstance(message.content, str) else str(message.content)


def to_events(part: Any) -> list[Event]:
    """Map one `astream(..., version="v2")` part to zero or more events. Streamed with
    `subgraphs=True`, a part from inside a subgraph carries its namespace (`ns`): its tokens,
    progress and assets are shown as they come; its node updates are not, since the subgraph's
    node in the parent graph reports the same messages when it returns."""
    kind, data = part.get("type"), part.get("data")
    if kind == "updates" and part.get("ns"):
        return []
    if kind == "messages" and isinstance(data, tuple):
        chunk, meta = data
        # finished messages a node returns (no LLM stream) carry their author as `name`
        role = getattr(chunk, "name", None) or meta.get("persona") or meta.get("langgraph_node", "")
        if isinstance(chunk, HumanMessage):  # the person's words a gate node returned
            role = "person"
        text = _text(chunk)
        return [Event("token", {"role": role, "text": text, "id": chunk.id})] if text else []
    if kind == "custom" and isinstance(data, dict) and "event" in data:
        return [Event(str(data["event"]), {k: v for k, v in data.items() if k != "event"})]
    if kind == "updates" and isinstance(data, dict):
        events = []
        for node, update in data.items():
            if node == "__interrupt__" or not isinstance(update, dict):
                continue
            for message in update.get("messages", []) or []:
                if isinstance(message, AIMessage | HumanMessage):  # human: typed at a gate
                    role = "person" if isinstance(message, HumanMessage) else message.name
                    events.append(
                        Event(
                            "message",
                            {"role": role or node, "text": _text(message), "id": message.id},
                        )
                    )
        return events
    return []
