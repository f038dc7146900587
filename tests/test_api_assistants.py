"""LangGraph Studio / langgraph-sdk attach to our server: the `studio` assistant and its graph."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.http.routes.assistants import ASSISTANT_ID
from tests.api_helpers import serve

pytestmark = pytest.mark.anyio


async def test_sdk_finds_the_studio_assistant_by_graph_id_and_uuid(database, tmp_path) -> None:
    async with serve(database, tmp_path, api_key="secret") as served:
        # no token and no API key: an assistant is the graph's public shape
        client = served.sdk()
        try:
            found = await client.assistants.search()
            assert [a["graph_id"] for a in found] == ["studio", "media"]
            assert found[0]["assistant_id"] == ASSISTANT_ID and found[0]["name"] == "studio"
            assert await client.assistants.search(graph_id="studio") == found[:1]
            assert await client.assistants.search(graph_id="media") == found[1:]
            assert await client.assistants.search(graph_id="other") == []
            assert await client.assistants.search(metadata={"created_by": "system"}) == found
            assert await client.assistants.search(limit=1, offset=1) == found[1:]
            assert await client.assistants.get(ASSISTANT_ID) == found[0]
            assert await client.assistants.get("studio") == found[0]
            media = found[1]
            assert await client.assistants.get(media["assistant_id"]) == media
            assert await client.assistants.get("media") == media
        finally:
            await client.aclose()
        async with served.http() as http:
            missing = await http.get("/assistants/agent")
            assert missing.status_code == 404
            assert missing.json()["error"]["code"] == "not_found"


async def test_graph_and_schemas_describe_the_studio_graph(database, tmp_path: Path) -> None:
    async with serve(database, tmp_path) as served:
        client = served.sdk()
        try:
            drawn = await client.assistants.get_graph(ASSISTANT_ID)
            xray = await client.assistants.get_graph("studio", xray=True)
            schemas = await client.assistants.get_schemas("studio")
        finally:
            await client.aclose()
    expected = served.studio.graph.get_graph().to_json()
    assert [n["id"] for n in drawn["nodes"]] == [n["id"] for n in expected["nodes"]]
    assert drawn["edges"] == expected["edges"]
    assert {"__start__", "intake", "approve_plan", "generate", "__end__"} <= {
        n["id"] for n in drawn["nodes"]
    }
    assert all("id" not in (n.get("data") or {}) for n in drawn["nodes"])
    assert xray["nodes"]

    assert schemas["graph_id"] == "studio"
    assert "messages" in schemas["input_schema"]["properties"]
    assert {"messages", "phase", "specs", "generations"} <= set(
        schemas["state_schema"]["properties"]
    )
    assert schemas["output_schema"]["properties"]
    assert schemas["config_schema"] == {} and schemas["context_schema"] is None


async def test_the_media_graph_is_the_second_assistant(database, tmp_path: Path) -> None:
    async with serve(database, tmp_path) as served:
        client = served.sdk()
        try:
            drawn = await client.assistants.get_graph("media")
            schemas = await client.assistants.get_schemas("media")
        finally:
            await client.aclose()
    nodes = {n["id"] for n in drawn["nodes"]}
    assert {"prepare", "upscale", "interpolate", "generate", "blend", "record"} <= nodes
    assert schemas["graph_id"] == "media"
    assert {"kind", "inputs", "preset", "params"} <= set(schemas["input_schema"]["properties"])
    assert {"chunks_done", "chunk_outputs", "artifact"} <= set(
        schemas["state_schema"]["properties"]
    )


async def test_a_run_may_name_the_assistant_by_its_uuid(database, tmp_path: Path) -> None:
    async with serve(database, tmp_path) as served:
        thread_id, token = await served.new_thread()
        client = served.sdk(token)
        try:
            brief = {"messages": [{"role": "user", "content": "a lighthouse at dawn"}]}
            values = await client.runs.wait(
                thread_id, ASSISTANT_ID, input={**brief, "settings": {"auto_approve": True}}
            )
            assert values["phase"] == "approved"
            with pytest.raises(Exception, match="404"):
                await client.runs.wait(thread_id, "agent", input=brief)
        finally:
            await client.aclose()
