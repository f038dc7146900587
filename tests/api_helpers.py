"""Helpers for the API tests: the real app under uvicorn on an ephemeral port, SSE reading."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from langgraph_sdk import get_client

from adapters.llm import RoleModels
from adapters.renderer import Renderer
from adapters.threads import ThreadRegistry
from api.http.app import create_app
from engine.media_lab import media_services
from engine.settings import Settings
from engine.studio import Studio
from graph.builder import build_graph
from people.home_token import home_token
from tests.studio_helpers import NEON, make_context
from tests.wire import free_port, sse_events

__all__ = ["NEON", "Served", "ServerProcess", "read_sse", "serve"]


@dataclass
class Served:
    url: str
    studio: Studio
    app: Any = None
    home: Path | None = None

    @property
    def admin_token(self) -> str:
        """The home's owner token: its admin's credential (what the CLI and the local browser
        use)."""
        assert self.home is not None
        return home_token(self.home)

    def http(self, token: str | None = None, **headers: str) -> httpx.AsyncClient:
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return httpx.AsyncClient(base_url=self.url, headers=headers, timeout=30)

    def sdk(self, token: str | None = None) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else None
        return get_client(url=self.url, headers=headers, timeout=30)

    async def person(self, name: str, role: str = "creator") -> str:
        """A new user's personal access token (made as an admin would)."""
        from people import accounts

        pool = self.studio.threads.pool
        row = await accounts.add_user(pool, name, role)
        return (await accounts.create_token(pool, row["user_id"], "tests"))[1]

    async def new_thread(self, **body: Any) -> tuple[str, str]:
        """A thread made by the home's admin: its id and its own client token."""
        async with self.http(self.admin_token) as client:
            response = await client.post("/threads", json=body)
            response.raise_for_status()
            thread = response.json()
            return thread["thread_id"], thread["token"]


@asynccontextmanager
async def serve(
    database: Any,
    home: Path,
    *,
    token_delay_s: float = 0.0,
    stage_delay_s: float = 0.0,
    renderer: Any = None,
    models: RoleModels | None = None,
    session: dict[str, Any] | None = None,
    media_backend: Any = None,
    **settings: Any,
) -> AsyncIterator[Served]:
    """The app with a studio on the test database (offline model unless `models` is given,
    built-in renderer unless `renderer` is)."""
    context = make_context(
        database.pool,
        home / "assets",
        models=models or RoleModels.offline(7, token_delay_s=token_delay_s),
        renderer=renderer or Renderer(stage_delay_s=stage_delay_s),
        **(session or {}),
    )
    studio = Studio(
        build_graph(checkpointer=database.saver),
        context,
        ThreadRegistry(database.pool),
        {"database": "test", "models": context.models.label, "images": "renderer"},
        media=media_services(context.assets, media_backend) if media_backend else None,
    )
    app = create_app(Settings(home=home, **settings), studio=studio)
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield Served(f"http://127.0.0.1:{port}", studio, app, home)
    finally:
        server.should_exit = True
        await task


@dataclass
class Sse:
    event: str
    data: Any
    id: str | None


async def read_sse(
    client: httpx.AsyncClient,
    method: str,
    path: str,
    *,
    until: str | None = None,
    limit: int | None = None,
    **kwargs: Any,
) -> list[Sse]:
    """Read SSE events until `until` (an event name) or `limit` events or the stream ends."""
    events: list[Sse] = []
    async with client.stream(method, path, **kwargs) as response:
        assert response.status_code == 200, await response.aread()
        async for raw in sse_events(response):
            events.append(Sse(raw.event, raw.json(), raw.id))
            if raw.event == until or (limit is not None and len(events) >= limit):
                break
    return events


class ServerProcess:
    """A real `studio serve` in a subprocess (offline model and renderer, slowed down so that
    runs can be caught mid-way), on `database_url`, logging to `home / f"{name}.log"`."""

    def __init__(
        self, home: Path, database_url: str, *, name: str = "server", args: tuple[str, ...] = ()
    ) -> None:
        self.args = args
        self.home = home
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "STUDIO_HOME": str(home),
            "DATABASE_URL": database_url,
            "STUDIO_OFFLINE_TOKEN_DELAY_S": "0.004",
            "STUDIO_RENDER_STAGE_DELAY_S": "0.15",
        }
        self.log = home / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def admin_token(self) -> str:
        """The home's owner token: the admin `studio serve` made on its first start."""
        return home_token(self.home)

    def http(self, token: str | None = None, timeout: float = 60) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.AsyncClient(base_url=self.url, headers=headers, timeout=timeout)

    def spawn(self) -> subprocess.Popen[bytes]:
        command = [sys.executable, "-c", "from api.cli.main import main; main()", "serve"]
        with open(self.log, "ab") as log:
            return subprocess.Popen(
                [*command, "--port", str(self.port), *self.args],
                env=self.env,
                stdout=log,
                stderr=log,
            )

    async def start(self) -> None:
        """Start it (again, on the same port) and wait until `/ok` answers."""
        self.process = self.spawn()
        async with httpx.AsyncClient(base_url=self.url) as client:
            for _ in range(600):
                try:
                    if (await client.get("/ok")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                assert self.process.poll() is None, self.log.read_text()
                await asyncio.sleep(0.05)
        raise AssertionError(f"server did not start: {self.log.read_text()}")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
