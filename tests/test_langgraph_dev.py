"""`langgraph dev` (what LangGraph Studio talks to) on our Postgres, offline, through the SDK."""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from langgraph_sdk import get_client

from graph.builder import build_graph
from store.database import Database
from tests.studio_helpers import NEON, config, make_context, start
from tests.wire import free_port

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parent.parent
STARTUP_TIMEOUT_S = 90.0
OFFLINE_ENV = {"LANGGRAPH_CLI_NO_ANALYTICS": "1", "LANGGRAPH_NO_VERSION_CHECK": "true"}
"""Without these the CLI posts analytics and the server asks PyPI for its latest version."""


@dataclass(frozen=True)
class DevServer:
    url: str
    database_url: str
    workdir: Path


def _workdir(tmp_path: Path) -> Path:
    """A working copy: the repo's langgraph.json and `api/` (the paths it names).

    The CLI resolves `langgraph.json` paths against its working directory and writes its own
    records to `.langgraph_api/` there, so it runs here rather than in the repo.
    """
    workdir = tmp_path / "dev"
    workdir.mkdir()
    shutil.copy(ROOT / "langgraph.json", workdir / "langgraph.json")
    (workdir / "api").symlink_to(ROOT / "api", target_is_directory=True)
    return workdir


def _env(database_url: str, home: Path) -> dict[str, str]:
    # The embedded defaults (offline model, built-in renderer), whatever this shell points at.
    inherited = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("STUDIO_", "LANGSMITH_", "LANGCHAIN_"))
        and key not in ("OLLAMA_URL", "COMFYUI_URL", "COMFYUI_TOKEN")
    }
    return {**inherited, **OFFLINE_ENV, "DATABASE_URL": database_url, "STUDIO_HOME": str(home)}


def _wait_ok(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"langgraph dev exited with {process.returncode}:\n{_tail(log)}")
        try:
            if httpx.get(f"{url}/ok", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"langgraph dev did not answer /ok in {STARTUP_TIMEOUT_S:.0f}s:\n{_tail(log)}")


def _tail(log: Path, lines: int = 40) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=15)


@pytest.fixture
def dev_server(database_url: str, tmp_path: Path) -> Iterator[DevServer]:
    """`langgraph dev` on the repo's `langgraph.json`, checkpointing to `database_url`."""
    if importlib.util.find_spec("langgraph_api") is None:
        pytest.skip("langgraph dev needs langgraph-cli[inmem] (the dev extra)")
    cli = shutil.which("langgraph", path=str(Path(sys.executable).parent))
    if cli is None:
        pytest.skip("the langgraph CLI is not installed next to this interpreter")
    workdir = _workdir(tmp_path)
    repo_records = (ROOT / ".langgraph_api").exists()  # a developer's own `langgraph dev`
    port = free_port()
    log = tmp_path / "langgraph-dev.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [cli, "dev", "--no-browser", "--no-reload", "--host", "127.0.0.1", "--port", str(port)],
            cwd=workdir,
            env=_env(database_url, tmp_path / "home"),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped as a whole
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ok(url, process, log)
        assert "Using custom checkpointer: StudioSaver" in log.read_text(errors="replace")
        yield DevServer(url, database_url, workdir)
    finally:
        _stop(process)
    assert (ROOT / ".langgraph_api").exists() == repo_records  # the repo stays untouched


def _count(database_url: str, table: str, thread_id: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            f"SELECT count(*) FROM {table} WHERE thread_id = %s",  # table: a literal of ours
            (thread_id,),
        ).fetchone()
    assert row is not None
    return int(row[0])


async def test_studio_session_through_langgraph_dev_lands_in_our_postgres(
    dev_server: DevServer, tmp_path: Path
) -> None:
    async with get_client(url=dev_server.url) as client:
        # What Studio loads first: the assistant, its schemas and its graph.
        (assistant,) = await client.assistants.search(graph_id="studio")
        schemas = await client.assistants.get_schemas(assistant["assistant_id"])
        graph = await client.assistants.get_graph(assistant["assistant_id"])
        thread = await client.threads.create(graph_id="studio")
        thread_id = thread["thread_id"]
        events: dict[str, int] = {}
        async for part in client.runs.stream(
            thread_id,
            "studio",
            input={**start(NEON), "settings": {"auto_approve": True}},
            stream_mode=["updates", "custom"],
        ):
            assert part.event != "error", part.data
            events[part.event] = events.get(part.event, 0) + 1
        state = await client.threads.get_state(thread_id)

    assert {"messages", "settings"} <= set(schemas["input_schema"]["properties"])
    assert {"approve_plan", "approve_outputs"} <= {node["id"] for node in graph["nodes"]}
    assert events.get("updates", 0) > 5 and events.get("custom", 0) > 0
    assert state["values"]["phase"] == "approved" and not state["next"]
    assert _count(dev_server.database_url, "checkpoints", thread_id) > 0
    assert _count(dev_server.database_url, "assets", thread_id) == len(
        state["values"]["generations"]
    )
    assert (dev_server.workdir / ".langgraph_api").is_dir()  # dev's own records stay there

    # Our studio reads the same thread from the same tables, as after any other run.
    async with Database(dev_server.database_url, tmp_path / "reader") as database:
        snapshot = await build_graph(checkpointer=database.saver).aget_state(config(thread_id))
    assert snapshot.values["phase"] == "approved"


async def test_thread_our_studio_paused_is_resumed_through_langgraph_dev(
    dev_server: DevServer, tmp_path: Path
) -> None:
    async with Database(dev_server.database_url, tmp_path / "ours") as database:
        graph = build_graph(checkpointer=database.saver)
        context = make_context(database.pool, tmp_path / "assets")
        thread_id = str(uuid.uuid4())  # dev accepts only UUID thread ids (ours are uuid4)
        await graph.ainvoke(start(NEON), config(thread_id), context=context)
        assert (await graph.aget_state(config(thread_id))).next == ("approve_plan",)

    async with get_client(url=dev_server.url) as client:
        # The bridge: dev keeps thread records of its own; registering the id shows our
        # checkpoints, pending gate included.
        await client.threads.create(
            thread_id=thread_id, metadata={"graph_id": "studio"}, if_exists="do_nothing"
        )
        state = await client.threads.get_state(thread_id)
        assert state["next"] == ["approve_plan"]
        gate: Any = state["interrupts"][0]["value"]
        assert gate["gate"] == "plan"

        final: Any = await client.runs.wait(
            thread_id, "studio", command={"resume": {"action": "approve"}}
        )
        state = await client.threads.get_state(thread_id)

    assert "__error__" not in final, final
    assert state["next"] == ["approve_outputs"]  # generated, critiqued, waiting for the person
    assert [i["value"]["gate"] for i in state["interrupts"]] == ["output"]
    assert _count(dev_server.database_url, "assets", thread_id) > 0


async def test_a_media_job_runs_in_langgraph_dev_with_its_intermediates(
    dev_server: DevServer, tmp_path: Path
) -> None:
    """The `media` graph is LangGraph Studio's workbench: a run from its input JSON resolves the
    preset, shows the sources and the produced file in the state, and is indexed as a job."""
    from adapters.media_lab.probe import probe
    from store.uploads import UploadStore
    from tests.media_helpers import png_bytes

    async def body() -> Any:
        yield png_bytes((64, 48))

    async with Database(dev_server.database_url, tmp_path / "reader") as database:
        uploads = UploadStore(database.pool, tmp_path / "home" / "assets")  # dev's STUDIO_HOME
        staged = await uploads.stage(body(), max_bytes=1 << 20)
        upload = await uploads.put(staged, probe(staged.path), owner="dev", filename="a.png")
    job = {"kind": "upscale", "inputs": [{"upload_id": upload.id}], "preset": {"id": "crisp"}}
    async with get_client(url=dev_server.url) as client:
        (assistant,) = await client.assistants.search(graph_id="media")
        drawn = await client.assistants.get_graph(assistant["assistant_id"])
        thread = await client.threads.create(graph_id="media")
        values = await client.runs.wait(thread["thread_id"], "media", input=job)
    assert {"prepare", "upscale", "record"} <= {node["id"] for node in drawn["nodes"]}
    assert values["preset"] == {"id": "crisp", "version": 1} and values["stage"] == "done"
    assert values["sources"][0]["sha256"] == upload.sha256
    assert values["output"]["backend"] == "embedded"
    assert (values["artifact"]["width"], values["artifact"]["height"]) == (128, 96)
    with psycopg.connect(dev_server.database_url) as conn:
        row = conn.execute(
            "SELECT j.owner, j.status, a.lineage->'preset' FROM media_jobs j"
            " JOIN media_artifacts a USING (job_id) WHERE j.job_id = %s",
            (thread["thread_id"],),
        ).fetchone()
    assert row == ("langgraph-studio", "SUCCEEDED", {"id": "crisp", "version": 1})
