"""The process's Postgres: a real one from DATABASE_URL, or an embedded one (pgserver)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import os
import re
import subprocess
import time
import warnings
import weakref
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType, TracebackType
from typing import Literal, Self

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool

from adapters.errors import ServiceUnavailable
from store.checkpointer import StudioSaver
from store.migrate import apply_migrations, migration_lock

Connection = psycopg.AsyncConnection[DictRow]
Pool = AsyncConnectionPool[Connection]
"""The shared pool: autocommit, `dict_row`, `prepare_threshold=0` (what the saver needs)."""

CONNECT_TIMEOUT_S = 10
ZOMBIE_WAIT_S = 15.0
"""How long to wait for a killed server's process to be reaped before starting a new one."""
IDLE_CHECK_S = 5.0
"""A pooled connection idle longer than this is checked (one round trip) before it is handed
out; busier ones are not: a check on every checkout cost 17% of the server's CPU in
`bench.api`. A connection that breaks anyway is discarded when it comes back."""


class Database:
    """Owns the process's Postgres: connection pool, app migrations and the checkpointer.

    `url=None` starts (or attaches to) an embedded Postgres under `home / "pg"` that outlives the
    process, so other processes can share it and a restart finds its data again: the first
    studio command on a home starts it, and it runs until `studio db stop` (or the machine
    stops). Nothing stops it when the last studio process exits.
    """

    def __init__(self, url: str | None, home: Path, *, pool_max: int = 10) -> None:
        self.home = home
        self.pool_max = pool_max
        self.embedded = url is None
        embedded_label = f"embedded Postgres (pgserver) at {self.pgdata}"
        self.label = embedded_label if url is None else describe_url(url)
        """Which Postgres this is, for startup logs and /health (never shows a password)."""
        self._url = url
        self._pool: Pool | None = None
        self._saver: StudioSaver | None = None

    @property
    def pgdata(self) -> Path:
        """The embedded server's data directory (unused with a real Postgres)."""
        return self.home / "pg"

    @property
    def url(self) -> str:
        """The connection string in use (the embedded one is known once started)."""
        if self._url is None:
            raise RuntimeError("the embedded Postgres has not been started yet")
        return self._url

    @property
    def pool(self) -> Pool:
        """The shared connection pool."""
        if self._pool is None:
            raise RuntimeError("Database is not open: use `async with Database(...)`")
        return self._pool

    @property
    def saver(self) -> StudioSaver:
        """The LangGraph checkpointer on `pool`, set up (messages stored as deltas)."""
        if self._saver is None:
            raise RuntimeError("Database is not open: use `async with Database(...)`")
        return self._saver

    async def __aenter__(self) -> Self:
        if self.embedded:  # every time: a stopped server starts again, a running one is reused
            self._url = await asyncio.to_thread(self._start_embedded)
        assert self._url is not None
        try:
            await self._migrate(self._url)
        except psycopg.OperationalError as exc:
            raise self._unavailable(exc) from exc
        pool: Pool = AsyncConnectionPool(
            self._url,
            connection_class=Connection,
            min_size=1,
            max_size=self.pool_max,
            open=False,
            kwargs={
                "autocommit": True,
                "prepare_threshold": 0,
                "row_factory": dict_row,
                # who is connected: `studio db status` and `pg_stat_activity` show it
                "application_name": f"studio pid={os.getpid()}",
            },
            check=_check_if_idle,
        )
        try:
            await pool.open(wait=True, timeout=CONNECT_TIMEOUT_S)
            saver = StudioSaver(pool)
        except BaseException as exc:
            await pool.close()
            if isinstance(exc, psycopg.OperationalError):  # PoolTimeout is one too
                raise self._unavailable(exc) from exc
            raise
        self._pool, self._saver = pool, saver
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        pool, self._pool, self._saver = self._pool, None, None
        if pool is not None:
            await pool.close()

    async def stop_embedded(self) -> None:
        """Stop the embedded server (a no-op with a real Postgres). Other users lose it too."""
        if self.embedded:
            await asyncio.to_thread(stop_embedded_postgres, self.pgdata)

    async def _migrate(self, url: str) -> None:
        # A plain connection first: it gives the real reason when the server is unreachable,
        # where a pool would only time out.
        try:
            conn = await psycopg.AsyncConnection.connect(
                url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S, row_factory=dict_row
            )
        except psycopg.Error as exc:  # refused, bad password, unknown database, malformed URL
            raise self._unavailable(exc) from exc
        async with conn, migration_lock(conn):
            await apply_migrations(conn)
            # LangGraph's own tables, under the same lock: its setup() is not safe to run
            # from two processes at once on a new database
            await StudioSaver(conn).setup()

    def _start_embedded(self) -> str:
        try:
            return start_embedded_postgres(self.pgdata)
        except (OSError, RuntimeError, AssertionError, subprocess.SubprocessError) as exc:
            raise ServiceUnavailable(
                f"Cannot start the embedded Postgres in {self.pgdata}: {exc}. "
                f"Its log is {self.pgdata / 'log'}; set DATABASE_URL to use another Postgres."
            ) from exc

    def _unavailable(self, exc: BaseException) -> ServiceUnavailable:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        if self.embedded:
            advice = f"check its log at {self.pgdata / 'log'}"
        else:
            advice = "check DATABASE_URL and that Postgres is running and reachable"
        return ServiceUnavailable(f"Cannot connect to {self.label}: {reason}. Please {advice}.")


_handed_out: weakref.WeakKeyDictionary[Connection, float] = weakref.WeakKeyDictionary()
"""When each pooled connection was last handed out (`time.monotonic()`)."""


async def _check_if_idle(conn: Connection) -> None:
    """The pool's `check`: ping only connections not handed out for `IDLE_CHECK_S` (new ones
    were just opened). Counting from the last checkout, not the return, errs towards pinging,
    and needs no `reset` callback: with one, the pool returns every connection through a
    background task instead of at once."""
    now = time.monotonic()
    last, _handed_out[conn] = _handed_out.get(conn), now
    if last is not None and now - last > IDLE_CHECK_S:
        await AsyncConnectionPool.check_connection(conn)


def describe_url(url: str) -> str:
    """`Postgres at host:port/dbname` for logs: the password (and everything else) left out."""
    try:
        info = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "Postgres at <unparseable DATABASE_URL>"
    host = str(info.get("host") or "localhost")
    port = f":{info['port']}" if info.get("port") else ""
    dbname = info.get("dbname") or info.get("user") or ""
    return f"Postgres at {host}{port}/{dbname}"


def start_embedded_postgres(pgdata: Path) -> str:
    """Start the embedded server in `pgdata` (or attach to it if running) and return its URI.

    Blocking. The server keeps running after this process exits (pgserver `cleanup_mode=None`).
    """
    server = _pgserver()
    PostgresServer, get_server = server.PostgresServer, server.get_server
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    pgdata = pgdata.resolve()
    # pgserver's own inter-process lock: no pgserver user can be starting this server meanwhile.
    with PostgresServer._lock:
        _clear_stale_lock_files(pgdata)
        cached = PostgresServer._instances.get(pgdata)
        if cached is not None:
            # get_server() returns a cached handle as is, even if its server was stopped since.
            cached.ensure_postgres_running()
            return str(cached.get_uri())
    return str(get_server(pgdata, cleanup_mode=None).get_uri())


def stop_embedded_postgres(pgdata: Path) -> None:
    """Stop the embedded server in `pgdata` if it runs (fast shutdown). Blocking."""
    PostgresServer = _pgserver().PostgresServer
    from pgserver._commands import POSTGRES_BIN_PATH

    pgdata = pgdata.resolve()
    if not (pgdata / "postmaster.pid").exists():
        return
    with PostgresServer._lock:
        subprocess.run(
            [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(pgdata), "-m", "fast", "-w", "stop"],
            check=False,  # exits 1 when no server runs, which is what we want anyway
            capture_output=True,
            user=_postgres_system_user(),
            timeout=60,
        )


@dataclass(frozen=True)
class EmbeddedServer:
    """A running embedded Postgres, as its `postmaster.pid` describes it."""

    pid: int
    url: str
    started: datetime.datetime


def running_embedded(pgdata: Path) -> EmbeddedServer | None:
    """The embedded server running in `pgdata`, or None (never started, stopped, or a stale
    pid file)."""
    _pgserver()  # the package, imported quietly
    from pgserver.utils import PostmasterInfo

    try:
        info = PostmasterInfo.read_from_pgdata(pgdata.resolve())
    except (OSError, KeyError, ValueError, IndexError):
        return None
    if info is None or _process_state(info.pid) != "postgres":
        return None
    return EmbeddedServer(info.pid, str(info.get_uri()), info.start_time)


_STUDIO_SESSIONS = """
    SELECT application_name AS name, count(*) AS connections FROM pg_stat_activity
    WHERE application_name LIKE 'studio %' AND pid <> pg_backend_pid()
    GROUP BY application_name ORDER BY application_name
"""


def studio_processes(url: str) -> dict[int, int]:
    """Studio processes connected to the server at `url`: pid -> connections (pools name
    their connections `studio pid=N`, the cluster's `studio claims pid=N` / `listener`)."""
    found: dict[int, int] = {}
    with psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT_S, row_factory=dict_row) as conn:
        for row in conn.execute(_STUDIO_SESSIONS).fetchall():
            match = re.search(r"pid=(\d+)", str(row["name"]))
            if match:
                pid = int(match.group(1))
                found[pid] = found.get(pid, 0) + int(row["connections"])
    return found


def _pgserver() -> ModuleType:
    """pgserver's server module, imported here: only the embedded mode needs it. Importing it
    warns when XDG_RUNTIME_DIR is unset (containers, CI, root shells); the fallback,
    /tmp/runtime-<uid>, suits its lock and sockets, so the warning would be noise at every
    start."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
        from pgserver import postgres_server
    return postgres_server


def _postgres_system_user() -> str | None:
    # Postgres refuses to run as root; as root, pgserver runs it as a `pgserver` system user.
    return "pgserver" if hasattr(os, "geteuid") and os.geteuid() == 0 else None


def _clear_stale_lock_files(pgdata: Path) -> None:
    """Make a dead or reused pid in `postmaster.pid` harmless (the caller holds pgserver's lock).

    After a SIGKILL or a container restart, the pid in the file may be a zombie not reaped yet
    (Postgres and pgserver both take it for a live server), or reused by an unrelated process
    (Postgres then refuses to start, and pgserver hands out the URI of a server that is gone).
    A dead pid is left alone: Postgres recovers from that itself, after checking that no old
    backend still holds its shared memory.
    """
    pidfile = pgdata / "postmaster.pid"
    try:
        lines = pidfile.read_text().splitlines()
        pid = int(lines[0])
    except (FileNotFoundError, IndexError, ValueError):
        return
    deadline = time.monotonic() + ZOMBIE_WAIT_S
    while (state := _process_state(pid)) == "zombie" and time.monotonic() < deadline:
        _reap(pid)
        time.sleep(0.1)
    if state == "zombie":
        raise RuntimeError(f"the previous server (pid {pid}) exited but is not reaped yet")
    if state != "unrelated":
        return
    # postmaster.pid lines 4 and 5: port and socket directory; the socket's lock names the pid.
    if len(lines) > 4 and lines[3].strip() and lines[4].strip():
        socket_lock = Path(lines[4].strip()) / f".s.PGSQL.{lines[3].strip()}.lock"
        with contextlib.suppress(OSError, IndexError):
            if socket_lock.read_text().split()[0] == str(pid):
                socket_lock.unlink()
    pidfile.unlink(missing_ok=True)


def _process_state(pid: int) -> Literal["postgres", "zombie", "gone", "unrelated"]:
    import psutil  # type: ignore[import-untyped]  # pgserver's dependency; has no type hints

    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return "zombie"
        # By name only: a server started by hand (PGDATA, another path) must never lose its lock.
        return "postgres" if process.name() in ("postgres", "postmaster") else "unrelated"
    except psutil.ZombieProcess:
        return "zombie"
    except psutil.NoSuchProcess:
        return "gone"
    except psutil.AccessDenied:
        return "postgres"  # cannot tell: leave the decision to Postgres


def _reap(pid: int) -> None:
    # Only works when we are its parent, e.g. when this process runs as pid 1 in a container.
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)
