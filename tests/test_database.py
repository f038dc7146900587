"""Migrations, the Database lifecycle (real and embedded Postgres) and the thread registry."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import psutil
import psycopg
import pytest
from langgraph.graph import END, START, StateGraph
from typing_extensions import TypedDict

from adapters.errors import ServiceUnavailable
from adapters.threads import ThreadRegistry
from store.database import Database, describe_url, stop_embedded_postgres
from store.migrate import MIGRATIONS_DIR, apply_migrations, status

pytestmark = pytest.mark.anyio

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
async def conn(database_url: str) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        yield conn


@pytest.fixture
def embedded_home(tmp_path: Path) -> Iterator[Path]:
    """A studio home whose embedded server is stopped after the test, whatever happened."""
    yield tmp_path
    stop_embedded_postgres(tmp_path / "pg")


async def scalar(conn: psycopg.AsyncConnection[Any], query: str) -> Any:
    cur = await conn.execute(query)
    row = await cur.fetchone()
    assert row is not None
    return row[0] if isinstance(row, tuple) else next(iter(row.values()))


async def recorded(conn: psycopg.AsyncConnection[Any]) -> list[str]:
    cur = await conn.execute("SELECT name FROM schema_migrations ORDER BY name")
    return [row[0] for row in await cur.fetchall()]


async def dead(pid: int) -> None:
    with anyio.fail_after(10):
        while True:
            try:
                if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                    return
            except psutil.NoSuchProcess:
                return
            await anyio.sleep(0.01)


def write_migrations(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir(exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(text)
    return directory


# Migrations


async def test_migrations_apply_once_and_are_recorded(conn: psycopg.AsyncConnection[Any]) -> None:
    applied = await apply_migrations(conn)

    assert applied == sorted(path.name for path in MIGRATIONS_DIR.glob("*.sql"))
    assert applied[:3] == [
        "0001_create_threads.sql",
        "0002_create_assets.sql",
        "0003_create_events.sql",
    ]
    assert await recorded(conn) == applied
    for table in ("threads", "assets", "events"):
        assert await scalar(conn, f"SELECT to_regclass('{table}') IS NOT NULL")


async def test_rerunning_migrations_applies_nothing(database_url: str) -> None:
    for expected_new in (True, False):
        async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
            assert bool(await apply_migrations(conn)) is expected_new
            assert len(await recorded(conn)) == len(list(MIGRATIONS_DIR.glob("*.sql")))


async def test_status_lists_pending_then_applied(conn: psycopg.AsyncConnection[Any]) -> None:
    before = await status(conn)
    await apply_migrations(conn)
    after = await status(conn)

    assert [name for name, _ in before] == [name for name, _ in after]
    assert all(at is None for _, at in before)
    assert all(at is not None for _, at in after)


async def test_no_transaction_migration_runs_each_statement_outside_a_transaction(
    conn: psycopg.AsyncConnection[Any], tmp_path: Path
) -> None:
    directory = write_migrations(
        tmp_path / "migrations",
        {
            "0001_table.sql": "-- A table.\nCREATE TABLE t (a int, b int);\n",
            # CREATE INDEX CONCURRENTLY fails inside any transaction block, implicit ones too.
            "0002_indexes.sql": (
                "-- no-transaction\n-- Indexes built without blocking writes.\n"
                "CREATE INDEX CONCURRENTLY t_a_idx ON t (a);\n"
                "CREATE INDEX CONCURRENTLY t_b_idx ON t (b);\n"
            ),
        },
    )

    assert await apply_migrations(conn, directory) == ["0001_table.sql", "0002_indexes.sql"]
    assert await scalar(conn, "SELECT count(*) FROM pg_indexes WHERE tablename = 't'") == 2


async def test_failing_migration_rolls_back_and_is_not_recorded(
    conn: psycopg.AsyncConnection[Any], tmp_path: Path
) -> None:
    directory = write_migrations(
        tmp_path / "migrations",
        {
            "0001_ok.sql": "-- Fine.\nCREATE TABLE ok (a int);\n",
            "0002_bad.sql": "-- Half done, then fails.\nCREATE TABLE half (a int);\nSELECT 1/0;\n",
        },
    )

    with pytest.raises(psycopg.errors.DivisionByZero):
        await apply_migrations(conn, directory)

    assert await recorded(conn) == ["0001_ok.sql"]
    assert await scalar(conn, "SELECT to_regclass('half') IS NULL")
    (directory / "0002_bad.sql").write_text("-- Fixed.\nCREATE TABLE half (a int);\n")
    assert await apply_migrations(conn, directory) == ["0002_bad.sql"]


async def test_concurrent_migrators_apply_each_file_once(database_url: str) -> None:
    async def migrate() -> list[str]:
        async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
            return await apply_migrations(conn)

    results = await asyncio.gather(*(migrate() for _ in range(4)))

    applied = [name for result in results for name in result]
    assert sorted(applied) == sorted(path.name for path in MIGRATIONS_DIR.glob("*.sql"))


async def test_migrations_need_an_autocommit_connection(database_url: str) -> None:
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        with pytest.raises(ValueError, match="autocommit"):
            await apply_migrations(conn)


# Database


class Counter(TypedDict):
    n: int


def counter_graph(database: Database) -> Any:
    builder = StateGraph(Counter)
    builder.add_node("bump", lambda state: {"n": state["n"] + 1})
    builder.add_edge(START, "bump")
    builder.add_edge("bump", END)
    return builder.compile(checkpointer=database.saver)


@pytest.mark.fresh_database
async def test_database_migrates_and_sets_up_the_checkpointer(database: Database) -> None:
    async with database.pool.connection() as conn:
        for table in (
            "schema_migrations",
            "threads",
            "assets",
            "events",
            "checkpoints",
            "checkpoint_blobs",
            "checkpoint_writes",
            "checkpoint_migrations",
        ):
            assert await scalar(conn, f"SELECT to_regclass('{table}') IS NOT NULL"), table
    config = {"configurable": {"thread_id": "t1"}}
    assert (await counter_graph(database).ainvoke({"n": 1}, config)) == {"n": 2}
    assert (await database.saver.aget_tuple(config)) is not None


async def test_database_opens_again_on_the_same_url(database_url: str, tmp_path: Path) -> None:
    config = {"configurable": {"thread_id": "t1"}}
    async with Database(database_url, tmp_path) as first:
        await counter_graph(first).ainvoke({"n": 41}, config)
    async with Database(database_url, tmp_path) as again:
        state = await counter_graph(again).aget_state(config)

    assert state.values == {"n": 42}


async def test_studios_starting_at_once_on_a_new_database_all_open(
    database_url: str, tmp_path: Path
) -> None:
    async def start(n: int) -> bool:
        async with Database(database_url, tmp_path / str(n)) as db:
            return await db.saver.aget_tuple({"configurable": {"thread_id": "none"}}) is None

    assert await asyncio.gather(*(start(n) for n in range(4))) == [True] * 4


async def test_pool_replaces_an_idle_connection_the_server_closed(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with database.pool.connection() as conn:
        pid = conn.info.backend_pid
    async with await psycopg.AsyncConnection.connect(database.url, autocommit=True) as admin:
        await admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    monkeypatch.setattr("store.database.IDLE_CHECK_S", 0.0)  # it has sat idle "long enough"
    async with database.pool.connection() as conn:
        assert conn.info.backend_pid != pid, "the dead connection was checked and replaced"
        assert await scalar(conn, "SELECT 1") == 1


async def test_pool_hands_out_a_busy_connection_without_checking_it(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    checks: list[object] = []

    async def counted(conn: object) -> None:
        checks.append(conn)

    monkeypatch.setattr("psycopg_pool.AsyncConnectionPool.check_connection", counted)
    for _ in range(5):
        async with database.pool.connection() as conn:
            await conn.execute("SELECT 1")
    assert checks == [], "connections returned moments ago are not pinged again"
    monkeypatch.setattr("store.database.IDLE_CHECK_S", 0.0)
    for _ in range(database.pool_max + 1):  # the pool hands them out in turn; one was returned
        async with database.pool.connection() as conn:
            await conn.execute("SELECT 1")
    assert checks, "an idle one is"


async def test_unreachable_database_url_raises_service_unavailable(tmp_path: Path) -> None:
    with pytest.raises(ServiceUnavailable) as caught:
        async with Database("postgresql://studio:s3cret@127.0.0.1:1/studio", tmp_path):
            pass

    assert "DATABASE_URL" in caught.value.message
    assert "127.0.0.1:1/studio" in caught.value.message
    assert "s3cret" not in caught.value.message
    assert caught.value.retryable


def test_label_names_the_server_without_the_password(tmp_path: Path) -> None:
    real = Database("postgresql://studio:s3cret@db.internal:5433/studio", tmp_path)
    embedded = Database(None, tmp_path)

    assert real.label == "Postgres at db.internal:5433/studio"
    assert describe_url("host=db user=studio password=s3cret") == "Postgres at db/studio"
    assert embedded.label == f"embedded Postgres (pgserver) at {tmp_path / 'pg'}"


# Embedded Postgres (pgserver): each test starts its own server under tmp_path.

CHILD = """
import asyncio, sys
from pathlib import Path
from adapters.threads import ThreadRegistry
from store.database import Database

async def main():
    async with Database(None, Path(sys.argv[1])) as db:
        await ThreadRegistry(db.pool).upsert("from-child", title="written before SIGKILL")
        print("ready", flush=True)
        await asyncio.sleep(600)

asyncio.run(main())
"""


async def test_embedded_database_survives_a_killed_process(embedded_home: Path) -> None:
    config = {"configurable": {"thread_id": "t1"}}
    async with Database(None, embedded_home) as first:
        await counter_graph(first).ainvoke({"n": 1}, config)
    # Another process attaches to the same server, then dies without any cleanup.
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        CHILD,
        str(embedded_home),
        cwd=REPO_ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert child.stdout is not None
    with anyio.fail_after(60):
        assert (await child.stdout.readline()).strip() == b"ready"
    child.send_signal(signal.SIGKILL)
    await child.wait()

    async with Database(None, embedded_home) as again:
        state = await counter_graph(again).aget_state(config)
        thread = await ThreadRegistry(again.pool).get("from-child")

    assert state.values == {"n": 2}
    assert thread is not None and thread["title"] == "written before SIGKILL"


async def test_embedded_database_restarts_after_the_server_was_killed(
    embedded_home: Path,
) -> None:
    async with Database(None, embedded_home) as first:
        await ThreadRegistry(first.pool).upsert("t1", title="kept")
    pid = int((embedded_home / "pg" / "postmaster.pid").read_text().split()[0])
    os.kill(pid, signal.SIGKILL)
    await dead(pid)  # a zombie or gone: its old backends may still be exiting

    async with Database(None, embedded_home) as again:
        thread = await ThreadRegistry(again.pool).get("t1")

    assert thread is not None and thread["title"] == "kept"


async def test_embedded_database_starts_over_a_pid_file_naming_another_process(
    embedded_home: Path,
) -> None:
    database = Database(None, embedded_home)
    async with database:
        await ThreadRegistry(database.pool).upsert("t1", title="kept")
    pidfile = embedded_home / "pg" / "postmaster.pid"
    lines = pidfile.read_text().splitlines()
    await database.stop_embedded()
    assert not pidfile.exists()
    # As after a container restart: the old pid now belongs to a live, unrelated process.
    pidfile.write_text("\n".join([str(os.getpid()), *lines[1:]]) + "\n")

    async with database:  # the same object again: it starts the stopped server
        thread = await ThreadRegistry(database.pool).get("t1")

    assert thread is not None and thread["title"] == "kept"


# Thread registry


async def test_thread_upsert_changes_only_the_given_fields(database: Database) -> None:
    threads = ThreadRegistry(database.pool)
    created = await threads.upsert("t1", title="Neon street", metadata={"owner": "ana"})
    updated = await threads.upsert("t1", phase="ideation", metadata={"graph_id": "studio"})

    assert created["status"] is None and created["metadata"] == {"owner": "ana"}
    assert updated["title"] == "Neon street"
    assert updated["phase"] == "ideation"
    assert updated["metadata"] == {"owner": "ana", "graph_id": "studio"}
    assert updated["created_at"] == created["created_at"]
    assert updated["updated_at"] > created["updated_at"]
    assert await threads.get("t1") == updated


async def test_threads_list_most_recently_updated_first(database: Database) -> None:
    threads = ThreadRegistry(database.pool)
    for thread_id in ("a", "b", "c"):
        await threads.upsert(thread_id, status="running")
    await threads.upsert("a", status="completed")

    assert [t["thread_id"] for t in await threads.list()] == ["a", "c", "b"]
    assert [t["thread_id"] for t in await threads.list(limit=2, offset=1)] == ["c", "b"]


async def test_thread_delete_and_get_of_unknown_threads(database: Database) -> None:
    threads = ThreadRegistry(database.pool)
    await threads.upsert("t1")

    assert await threads.delete("t1") is True
    assert await threads.delete("t1") is False
    assert await threads.get("t1") is None


def test_the_embedded_mode_starts_without_a_runtime_dir_warning() -> None:
    """Without XDG_RUNTIME_DIR (containers, CI, root shells) importing pgserver warns; the
    studio imports it quietly, since the fallback directory suits it."""
    env = {k: v for k, v in os.environ.items() if k != "XDG_RUNTIME_DIR"}

    def stderr_of(code: str) -> str:
        done = subprocess.run(
            [sys.executable, "-W", "default", "-c", code],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        return done.stderr

    if "XDG_RUNTIME_DIR" not in stderr_of("import pgserver"):  # what users would see
        pytest.skip("this platformdirs does not warn without XDG_RUNTIME_DIR")
    assert stderr_of("from store.database import _pgserver; _pgserver()") == ""
