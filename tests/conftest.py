"""Shared fixtures: the anyio backend, real Postgres (one server, a fresh database per test),
and the studio graph with its embedded context on that database."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from store.database import Database, Pool, start_embedded_postgres, stop_embedded_postgres
from tests.studio_helpers import fresh_graph, make_context

pytest_plugins = ("tests.ui_harness",)
"""The browser tests' fixtures: `server` (a real `studio serve`), `browser`, `page`."""


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """Admin URL of the session's Postgres: TEST_DATABASE_URL, else one embedded server."""
    if url := os.environ.get("TEST_DATABASE_URL"):
        yield url
        return
    # A short path of our own: pytest's tmp paths can exceed the unix-socket path limit.
    home = Path(tempfile.mkdtemp(prefix="studio-pg-"))
    try:
        url = start_embedded_postgres(home / "pg")
        _tune_for_tests(url)
        yield url
    finally:
        stop_embedded_postgres(home / "pg")
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def database_url(postgres_url: str) -> Iterator[str]:
    """A fresh, empty `test_<hex>` database, dropped after the test."""
    name = f"test_{uuid.uuid4().hex}"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield with_dbname(postgres_url, name)
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            # FORCE terminates the sessions a failed test may have left open.
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture
async def database(database_url: str, tmp_path: Path) -> AsyncIterator[Database]:
    """An open `Database` on a fresh database: migrated, pool open, checkpointer set up."""
    async with Database(database_url, tmp_path) as db:
        yield db


@pytest.fixture
def pool(database: Database) -> Pool:
    """The open pool of the `database` fixture."""
    return database.pool


@pytest.fixture
def tid() -> str:
    """A new thread id."""
    return str(uuid.uuid4())


@pytest.fixture
def context(database: Database, tmp_path: Path) -> Any:
    """The studio's embedded defaults on the `database` fixture, assets under `tmp_path`."""
    return make_context(database.pool, tmp_path / "assets")


@pytest.fixture
def graph(database: Database) -> Any:
    """The studio graph on the `database` fixture's checkpointer."""
    return fresh_graph(database.saver)


def with_dbname(url: str, dbname: str) -> str:
    """`url` pointing at another database on the same server (URL or key=value form)."""
    parts = urlsplit(url)
    if parts.scheme in ("postgres", "postgresql"):
        return urlunsplit(parts._replace(path=f"/{dbname}"))
    return make_conninfo(url, dbname=dbname)


def _tune_for_tests(url: str) -> None:
    # Durability is worthless for a throwaway server; without fsync CREATE DATABASE is faster.
    with psycopg.connect(url, autocommit=True) as conn:
        for setting in ("fsync", "synchronous_commit", "full_page_writes"):
            conn.execute(sql.SQL("ALTER SYSTEM SET {} = off").format(sql.Identifier(setting)))
        conn.execute("SELECT pg_reload_conf()")


SLOW_MODULES = frozenset(
    {
        "test_api_restart",
        "test_api_scaleout",
        "test_api_schemathesis",
        "test_langgraph_dev",
        "test_resume_after_kill",
        "test_video_kill",
    }
)
"""Modules that start whole server processes, kill them or fuzz the API for a while."""
SLOW_FIXTURES = frozenset({"page", "env", "server"})
"""A browser page, a CLI subprocess's environment, a studio server process."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the browser, CLI-subprocess and multi-process tests `slow`; `make test-fast` runs
    the rest (`-m "not slow"`), `make test` everything."""
    for item in items:
        module = item.path.stem
        fixtures = set(getattr(item, "fixturenames", ()))
        if module in SLOW_MODULES or module.startswith("test_ui_") or fixtures & SLOW_FIXTURES:
            item.add_marker(pytest.mark.slow)
