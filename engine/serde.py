"""JSON for the wire: LangChain messages, interrupts and graph state as langgraph-api sends them."""

from __future__ import annotations

import base64
import dataclasses
import json
import numbers
import uuid
from collections.abc import Mapping
from datetime import date, datetime
from enum import Enum
from typing import Any

import orjson
from langgraph.types import Interrupt, Send
from pydantic import BaseModel


def interrupt_json(item: Interrupt) -> dict[str, Any]:
    """`{value, id}` plus the gate's `response_schema` (a JSON Schema) when it has one."""
    out: dict[str, Any] = {"value": jsonable(item.value), "id": item.id}
    schema = getattr(item, "response_schema", None)
    if isinstance(schema, dict):
        out["response_schema"] = schema
    return out


def _wire(obj: Any) -> Any:
    """One step towards JSON for what the encoder cannot write itself (its `default`)."""
    if isinstance(obj, Interrupt):
        out: dict[str, Any] = {"value": obj.value, "id": obj.id}
        schema = getattr(obj, "response_schema", None)
        if isinstance(schema, dict):
            out["response_schema"] = schema
        return out
    if isinstance(obj, Send):
        return {"node": obj.node, "arg": obj.arg}
    if isinstance(obj, BaseModel):
        return obj.model_dump(mode="json")
    if isinstance(obj, numbers.Integral):  # numpy's, which orjson leaves to us
        return int(obj)
    if isinstance(obj, numbers.Real):
        return float(obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    if isinstance(obj, datetime | date):
        return obj.isoformat()
    if isinstance(obj, uuid.UUID | Enum):
        return str(obj.value if isinstance(obj, Enum) else obj)
    if isinstance(obj, bytes):
        return base64.b64encode(obj).decode("ascii")
    if isinstance(obj, Mapping):
        return dict(obj)
    if isinstance(obj, set | frozenset):
        return list(obj)
    return str(obj)


_OPTIONS = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME
"""orjson walks dicts, lists and scalars itself (in C, about 2.5x the stdlib encoder on a
session's stream) and calls `_wire` for everything else: dataclasses (an `Interrupt` carries
its gate's `response_schema` outside its fields) and datetimes included, so the text is the
same as `json.dumps(jsonable(obj))`."""


def dumps(obj: Any) -> str:
    """Compact JSON of `obj`, the same text as `json.dumps(jsonable(obj))`."""
    try:
        return orjson.dumps(obj, default=_wire, option=_OPTIONS).decode()
    except TypeError:  # e.g. a key that is not a string, an int past 64 bits: the slow path
        return json.dumps(_jsonable(obj), separators=(",", ":"), ensure_ascii=False)


def jsonable(obj: Any) -> Any:
    """A JSON-ready copy of `obj`: messages become `model_dump()` dicts (with `type`)."""
    if obj is None or isinstance(obj, str | int | float | bool):
        return obj
    try:
        return orjson.loads(orjson.dumps(obj, default=_wire, option=_OPTIONS))
    except TypeError:
        return _jsonable(obj)


def _jsonable(obj: Any) -> Any:
    """`jsonable` one value at a time (keys of any type become strings)."""
    if obj is None or isinstance(obj, str | int | float | bool):
        return obj
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        return [_jsonable(v) for v in obj]
    converted = _wire(obj)
    return converted if isinstance(converted, str) else _jsonable(converted)
