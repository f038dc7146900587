"""The CLI on the run engine: one thread, one driver; stop from anywhere; threads for everyone."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest

from people.home_token import home_token
from tests.api_helpers import ServerProcess, read_sse
from tests.test_cli import NEON, STUDIO, studio

SLOW = {"STUDIO_OFFLINE_TOKEN_DELAY_S": "0.01", "STUDIO_RENDER_STAGE_DELAY_S": "0.3"}


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "STUDIO_HOME": str(tmp_path / "home"),
        "COLUMNS": "120",
        **SLOW,
    }


STARTED: list[subprocess.Popen[str]] = []


def start(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [*STUDIO, *args],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    STARTED.append(proc)
    return proc


def wait_for(
    proc: subprocess.Popen[str], marker: str, seen: list[str], *, on_stdout: bool = False
) -> None:
    """Read the process's live view (stderr with --json, else stdout) until `marker` shows."""
    stream = proc.stdout if on_stdout else proc.stderr
    assert stream is not None
    for line in stream:
        seen.append(line)
        if marker in line:
            return
    raise AssertionError("marker never appeared:\n" + "".join(seen[-30:]))


def rows(url: str, query: str, *args: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(query, args).fetchall()


def finish(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    try:
        out, err = proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return proc.returncode, out, err


@pytest.fixture(autouse=True)
def no_leftovers() -> Any:
    """Processes a failed test left running are killed, their pipes closed."""
    yield
    while STARTED:
        proc = STARTED.pop()
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def test_one_thread_has_one_driver_and_any_process_can_stop_it(
    env: dict[str, str], database_url: str
) -> None:
    tid = "busy-thread"
    driver = start(env, "run", NEON, "--auto-approve", "--json", "--thread-id", tid)
    seen: list[str] = []
    wait_for(driver, "Luna (style)", seen)  # the discussion is under way
    follower = start(env, "resume", tid, "--json")  # a second terminal: follows the run

    for command in (
        ["run", "other brief", "--thread-id", tid],
        ["resume", tid, "--action", "approve"],
    ):
        refused = studio(env, *command)
        assert refused.returncode == 1, refused.stderr
        assert f"thread {tid} is busy" in refused.stderr
        assert f"studio say {tid}" in refused.stderr and "--action stop" in refused.stderr

    stop = studio(env, "resume", tid, "--action", "stop", "--json")
    assert stop.returncode == 0, stop.stderr
    stopped = json.loads(stop.stdout)
    assert stopped["status"] == "idle" and stopped["phase"] != "approved"

    code, out, err = finish(driver)
    assert code == 0, err
    assert json.loads(out)["phase"] == stopped["phase"]  # the driver saw its run stop
    code, out, _ = finish(follower)
    assert code == 0 and json.loads(out)["thread_id"] == tid

    assert rows(database_url, "SELECT status FROM runs WHERE thread_id = %s", tid) == [
        ("interrupted",)
    ]
    forked = rows(
        database_url,
        """SELECT metadata->>'step', count(*) FROM checkpoints
           WHERE thread_id = %s AND checkpoint_ns = '' GROUP BY 1 HAVING count(*) > 1""",
        tid,
    )
    assert forked == [], "no step was written twice: one process drove the thread"

    done = studio({**env, **{k: "0" for k in SLOW}}, "resume", tid, "--auto-approve", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["phase"] == "approved"


def test_ctrl_c_stops_the_run_at_the_next_safe_point(
    env: dict[str, str], database_url: str
) -> None:
    driver = start(env, "run", NEON, "--auto-approve", "--thread-id", "ctrl-c")
    wait_for(driver, "Luna (style)", [], on_stdout=True)
    driver.send_signal(signal.SIGINT)
    code, out, err = finish(driver)
    assert code == 130, err
    assert "stopping at the next safe point" in out
    assert "stopped; your work is saved. Run `studio resume ctrl-c` to continue." in err
    assert rows(database_url, "SELECT status FROM runs WHERE thread_id = 'ctrl-c'") == [
        ("interrupted",)
    ]
    status = json.loads(studio(env, "resume", "ctrl-c", "--json").stdout)
    assert status["status"] == "idle"  # nothing runs it any more: it waits to be resumed


def test_say_on_a_busy_thread_interjects(env: dict[str, str]) -> None:
    driver = start(env, "run", NEON, "--json", "--thread-id", "steer")
    wait_for(driver, "Luna (style)", [])
    steered = studio(env, "say", "steer", "make it rain harder", "--json")
    assert steered.returncode == 0, steered.stderr
    assert json.loads(steered.stdout)["status"] == "interrupted"  # at the plan gate
    code, out, err = finish(driver)
    assert code == 0, err
    assert json.loads(out)["status"] == "interrupted"


@pytest.mark.anyio
async def test_a_cli_thread_is_visible_and_steerable_over_http_with_the_home_token(
    env: dict[str, str], database_url: str, tmp_path: Path
) -> None:
    fast = {**env, **{k: "0" for k in SLOW}}
    made = studio(fast, "run", NEON, "--json")
    assert made.returncode == 0, made.stderr
    tid = json.loads(made.stdout)["thread_id"]
    home = Path(env["STUDIO_HOME"])
    assert stat.S_IMODE((home / "owner-token").stat().st_mode) == 0o600

    server = ServerProcess(home, database_url)
    await server.start()
    try:
        async with server.http() as browser:
            bootstrap = await browser.get("/local/owner")
            assert bootstrap.status_code == 200
            assert bootstrap.headers["cache-control"] == "no-store"
            token = bootstrap.json()["token"]
            assert token == home_token(home)
            proxied = await browser.get("/local/owner", headers={"X-Forwarded-For": "203.0.113.9"})
            assert proxied.status_code == 404
            assert (await browser.get(f"/threads/{tid}")).status_code == 401
        async with server.http(token) as client:
            listed = (await client.post("/threads/search", json={})).json()
            assert [t["thread_id"] for t in listed] == [tid]
            thread = (await client.get(f"/threads/{tid}")).json()
            assert thread["status"] == "interrupted"
            # the whole chat, replayed from the event log: what the CLI showed live
            chat = await read_sse(client, "GET", f"/threads/{tid}/stream", until="done")
            spoke = {e.data["role"] for e in chat if e.event == "message"}
            assert {"style", "composition", "story"} <= spoke
            assert chat[-1].data["thread_status"] == "interrupted"
            # steer it from the web: the gate's answer runs in the server
            resume = {"command": {"resume": {"action": "approve"}}}
            answered = await client.post(f"/threads/{tid}/runs/wait", json=resume)
            assert answered.status_code == 200, answered.text
            assert answered.json()["phase"] == "awaiting_approval"
            # a thread the page starts with the home token is the CLI's too (the home's
            # admin's), with a token of its own
            made_here = (await client.post("/threads", json={})).json()
            assert made_here["token"].startswith("st_") and made_here["token"] != token
    finally:
        server.stop()
    listed = json.loads(studio(fast, "threads", "--json").stdout)
    assert {t["thread_id"] for t in listed} == {tid, made_here["thread_id"]}
    followed = json.loads(studio(fast, "resume", tid, "--json").stdout)
    assert followed["phase"] == "awaiting_approval"


def test_db_status_and_stop_manage_the_embedded_postgres() -> None:
    # a short path of our own: the server's socket lives under it
    home = Path(tempfile.mkdtemp(prefix="studio-db-"))
    env = {**os.environ, "STUDIO_HOME": str(home)}
    env.pop("DATABASE_URL", None)
    try:
        before = json.loads(studio(env, "db", "status", "--json").stdout)
        assert before == {"embedded": True, "data": str(home / "pg"), "running": False}
        assert studio(env, "threads").returncode == 0  # any command starts it
        running = json.loads(studio(env, "db", "status", "--json").stdout)
        assert running["running"] and running["studio_processes"] == []  # it outlived them
        text = studio(env, "db", "status").stdout
        assert "stays running after studio commands exit" in text and "studio db stop" in text
        uri = f"postgresql://postgres:@/postgres?host={rows_socket(home)}"
        with psycopg.connect(uri, application_name=f"studio pid={os.getpid()}"):
            refused = studio(env, "db", "stop")
            assert refused.returncode == 1 and f"pid {os.getpid()}" in refused.stderr
        stopped = studio(env, "db", "stop")
        assert stopped.returncode == 0 and "stopped" in stopped.stdout
        deadline = time.monotonic() + 30
        while json.loads(studio(env, "db", "status", "--json").stdout)["running"]:
            assert time.monotonic() < deadline
            time.sleep(0.5)
    finally:
        studio(env, "db", "stop", "--force")
        subprocess.run(["rm", "-rf", str(home)], check=False)


def rows_socket(home: Path) -> str:
    """The embedded server's socket directory, from its `postmaster.pid`."""
    return (home / "pg" / "postmaster.pid").read_text().splitlines()[4]


def test_with_database_url_db_stop_is_not_the_studios(env: dict[str, str]) -> None:
    shown = json.loads(studio(env, "db", "status", "--json").stdout)
    assert shown["embedded"] is False and shown["database"].startswith("Postgres at ")
    refused = studio(env, "db", "stop")
    assert refused.returncode == 1 and "not the studio's to stop" in refused.stderr
