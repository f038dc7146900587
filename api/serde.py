"""JSON for the wire: LangChain messages, interrupts and graph state as langgraph-api sends them."""

from __future__ import annotations

import base64
import dataclasses
import json
import uuid
from collections.abc import Mapping
from datetime import date, datetime
from enum import Enum
from typing import Any

from langgraph.types import Interrupt, Send
from pydantic import BaseModel


def interrupt_json(item: Interrupt) -> dict[str, Any]:
    """`{value, id}` plus the gate's `response_schema` (a JSON Schema) when it has one."""
    out: dict[str, Any] = {"value": jsonable(item.value), "id": item.id}
    schema = getattr(item, "response_schema", None)
    if isinstance(schema, dict):
        out["response_schema"] = schema
    return out


def jsonable(obj: Any) -> Any:
    """A JSON-ready copy of `obj`: messages become `model_dump()` dicts (with `type`)."""
    if obj is None or isinstance(obj, str | int | float | bool):
        return obj
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        return [jsonable(v) for v in obj]
    if isinstance(obj, Interrupt):
        return interrupt_json(obj)
    if isinstance(obj, Send):
        return {"node": obj.node, "arg": jsonable(obj.arg)}
    if isinstance(obj, BaseModel):
        return jsonable(obj.model_dump(mode="json"))
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return jsonable(dataclasses.asdict(obj))
    if isinstance(obj, datetime | date):
        return obj.isoformat()
    if isinstance(obj, uuid.UUID | Enum):
        return str(obj.value if isinstance(obj, Enum) else obj)
    if isinstance(obj, bytes):
        return base64.b64encode(obj).decode("ascii")
    return str(obj)


def dumps(obj: Any) -> str:
    """Compact JSON of `jsonable(obj)`."""
    return json.dumps(jsonable(obj), separators=(",", ":"), ensure_ascii=False)
