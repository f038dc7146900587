"""Assistants: `studio` and `media` (the Media Lab's jobs), read-only, so LangGraph Studio and
the SDK can attach.

langgraph-api registers a system assistant per graph whose id is `uuid5(NAMESPACE_GRAPH,
graph_id)` and accepts either that UUID or the graph id wherever an assistant id goes; this
server does the same for its two graphs. Reads need no token: an assistant is the graph's
public shape (nodes, edges, schemas), listed by `/info` already, and carries no thread data;
the server's API key guards only the creation of work (threads).
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Annotated, Any
from uuid import UUID, uuid5

from fastapi import APIRouter, HTTPException, Query
from langgraph.pregel import Pregel
from pydantic import BaseModel, ConfigDict, Field, create_model

from adapters.errors import InvalidInput, NotFound
from api.http.deps import ServicesDep
from graph.state import WHOLE

router = APIRouter(prefix="/assistants", tags=["assistants"])

GRAPH_ID = "studio"
NAMESPACE_GRAPH = UUID("6ba7b821-9dad-11d1-80b4-00c04fd430c8")
"""langgraph-api's namespace for system assistant ids (`langgraph_api.graph`)."""
ASSISTANT_ID = str(uuid5(NAMESPACE_GRAPH, GRAPH_ID))
MEDIA_GRAPH_ID = "media"
"""The Media Lab's graph: its runs are media jobs (`POST /media/jobs`)."""
GRAPH_IDS = (GRAPH_ID, MEDIA_GRAPH_ID)
ASSISTANT_IDS = {str(uuid5(NAMESPACE_GRAPH, g)): g for g in GRAPH_IDS}
CREATED = datetime(2026, 1, 1, tzinfo=UTC).isoformat()
"""The system assistant is part of the code, so it has no creation time of its own."""


class AssistantSearch(BaseModel):
    """The SDK's search body; fields this server cannot filter on are accepted and ignored."""

    model_config = ConfigDict(extra="ignore")
    graph_id: str | None = None
    name: str | None = None
    metadata: dict[str, Any] | None = None
    limit: Annotated[int, Field(strict=True, ge=1, le=1000), WHOLE] = 10
    offset: Annotated[int, Field(strict=True, ge=0, le=2**31 - 1), WHOLE] = 0


def assistant_json(graph_id: str = GRAPH_ID) -> dict[str, Any]:
    """The Assistant object, as langgraph-api shows a graph's system assistant."""
    return {
        "assistant_id": str(uuid5(NAMESPACE_GRAPH, graph_id)),
        "graph_id": graph_id,
        "config": {},
        "context": {},
        "created_at": CREATED,
        "updated_at": CREATED,
        "metadata": {"created_by": "system"},
        "version": 1,
        "name": graph_id,
        "description": None,
    }


def known(assistant_id: str) -> str:
    """The graph id for a graph id or an assistant's UUID; anything else is a 404."""
    if assistant_id == "search":  # `/assistants/search` with a method it does not take
        raise HTTPException(405, "Method Not Allowed", headers={"Allow": "POST"})
    if assistant_id in GRAPH_IDS:
        return assistant_id
    if assistant_id in ASSISTANT_IDS:
        return ASSISTANT_IDS[assistant_id]
    raise NotFound(f"Assistant {assistant_id!r} not found; this server runs {GRAPH_ID!r}")


@router.post("/search")
async def search_assistants(body: AssistantSearch) -> list[dict[str, Any]]:
    """The assistants matching the filters: `studio`, `media`, or fewer."""
    matches = [
        found
        for found in map(assistant_json, GRAPH_IDS)
        if body.graph_id in (None, found["graph_id"])
        and (body.name is None or body.name.lower() in found["name"])
        and all(found["metadata"].get(k) == v for k, v in (body.metadata or {}).items())
    ]
    return matches[body.offset : body.offset + body.limit]


@router.get("/{assistant_id}")
async def get_assistant(assistant_id: str) -> dict[str, Any]:
    return assistant_json(known(assistant_id))


@router.get("/{assistant_id}/graph")
async def get_assistant_graph(
    assistant_id: str, svc: ServicesDep, xray: bool | int = Query(False)
) -> dict[str, Any]:
    """The drawable graph (`get_graph().to_json()`), node ids stripped as langgraph-api does."""
    graph = svc.studio.graph_for(known(assistant_id))
    if not isinstance(xray, bool) and xray <= 0:
        raise InvalidInput("xray must be true, false or a positive depth")
    drawn: dict[str, Any] = graph.get_graph(xray=xray).to_json()
    for node in drawn.get("nodes", []):
        if isinstance(data := node.get("data"), dict):
            data.pop("id", None)
    return drawn


@router.get("/{assistant_id}/schemas")
async def get_assistant_schemas(assistant_id: str, svc: ServicesDep) -> dict[str, Any]:
    """Input, output, state and config schemas. `context_schema` is null: the studio's context
    is the server's own dependencies (models, image generator), never sent by a client."""
    graph_id = known(assistant_id)
    return {"graph_id": graph_id, **graph_schemas(svc.studio.graph_for(graph_id))}


@cache
def graph_schemas(graph: Pregel[Any, Any, Any, Any]) -> dict[str, Any]:
    """Computed once per compiled graph: they only change with the code."""
    return {
        "input_schema": graph.get_input_jsonschema(),
        "output_schema": graph.get_output_jsonschema(),
        "state_schema": state_jsonschema(graph),
        "config_schema": {},
        "context_schema": None,
    }


def state_jsonschema(graph: Pregel[Any, Any, Any, Any]) -> dict[str, Any]:
    """Every state channel with the type it accepts, as langgraph-api builds it."""
    fields: dict[str, Any] = {}
    for key in graph.stream_channels_list:
        update_type = getattr(graph.channels[key], "UpdateType", Any)
        try:
            create_model(key, value=(update_type, None)).model_json_schema()
            fields[key] = (update_type, None)
        except Exception:  # a type pydantic cannot describe is shown as "any"
            fields[key] = (Any, None)
    model: type[BaseModel] = create_model(graph.get_name("State"), **fields)
    return model.model_json_schema()
