"""Wire JSON: what `dumps` writes for the values, messages and interrupts a stream carries."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import numpy as np
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.types import Interrupt
from pydantic import BaseModel

from engine.serde import dumps, jsonable


class Spec(BaseModel):
    width: int
    cfg: float


def test_state_with_messages_interrupts_and_odd_values_is_plain_json() -> None:
    gate = Interrupt(value={"gate": "plan"}, id="abc")
    gate.response_schema = {"type": "object"}  # type: ignore[attr-defined]
    when = datetime(2026, 12, 4, 1, 2, 3, 456789, tzinfo=UTC)
    state = {
        "messages": [HumanMessage("a harbour", id="m1"), AIMessage("ok", name="luna", id="m2")],
        "__interrupt__": [gate],
        "spec": Spec(width=512, cfg=6.5),
        "score": np.float64(0.75),
        "count": np.int64(3),
        "at": when,
        "id": uuid.UUID(int=1),
        "tags": {"neon"},
        "png": b"\x89PNG",
        "text": "näive \u2028 line",
    }
    text = dumps(state)
    data = json.loads(text)
    assert "\n" not in text and "näive" in text  # one SSE data line, UTF-8 as is
    assert data["messages"][0]["type"] == "human" and data["messages"][1]["name"] == "luna"
    assert data["__interrupt__"] == [
        {"value": {"gate": "plan"}, "id": "abc", "response_schema": {"type": "object"}}
    ]
    assert data["spec"] == {"width": 512, "cfg": 6.5}
    assert data["score"] == 0.75 and data["count"] == 3  # numbers, not strings
    assert data["at"] == when.isoformat() and data["id"] == str(uuid.UUID(int=1))
    assert data["tags"] == ["neon"] and data["png"] == "iVBORw=="
    assert jsonable(state) == data


def test_what_json_cannot_key_or_hold_takes_the_general_path() -> None:
    assert json.loads(dumps({1: "a", (2, 3): "b"})) == {"1": "a", "(2, 3)": "b"}
    assert json.loads(dumps({"big": 2**70})) == {"big": 2**70}
    assert jsonable({1: [2**70]}) == {"1": [2**70]}
