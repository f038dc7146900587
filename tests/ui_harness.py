"""Browser tests' harness: a real `studio serve` process and headless Chromium (Playwright).

Chromium is Debian's `chromium` package (`.ci/run` installs it); Playwright only drives it,
so `playwright install` is never needed. Without chromium the UI tests skip and say why.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.wire import free_port

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SLOW = {"STUDIO_OFFLINE_TOKEN_DELAY_S": "0.003", "STUDIO_RENDER_STAGE_DELAY_S": "0.15"}
"""The embedded defaults, slowed so that mid-run states can be seen (and photographed)."""
NETWORK_NOISE = (
    "net::ERR_CONNECTION_REFUSED",
    "net::ERR_EMPTY_RESPONSE",
    "ERR_INCOMPLETE_CHUNKED",
    "the server responded with a status of 404",  # a thread deleted on purpose
    "the server responded with a status of 401",  # ... and its own token, no credential since
)


def chromium_path() -> str | None:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


@dataclass
class Server:
    """`studio serve` on an ephemeral port; `restart()` stops it and starts a new process on
    the same port, database and home (what a deploy or a crash-and-restart does)."""

    database_url: str
    home: Path
    env_extra: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "STUDIO_HOME": str(self.home),
            **self.env_extra,
        }
        with (self.home / "server.log").open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "api", "serve", "--port", str(self.port)],
                cwd=self.home,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"studio serve exited: {self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/ok", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"studio serve did not start: {self.log_tail()}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(sig)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def restart(self, sig: int = signal.SIGTERM) -> None:
        self.stop(sig)
        self.start()

    def log_tail(self) -> str:
        path = self.home / "server.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[Server]:
    home = tmp_path / "home"
    home.mkdir()
    srv = Server(database_url, home, dict(SLOW))
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium for one test module. Not for the session: while `sync_playwright` is open its
    event loop counts as running in this thread, and async tests after it could not start."""
    executable = chromium_path()
    if executable is None:
        why = "chromium is not installed (apt-get install -y chromium); .ci/run installs it"
        if os.environ.get("STUDIO_REQUIRE_BROWSER"):
            pytest.fail(why)  # CI: the browser tests must run, never skip
        pytest.skip(why)
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (dev)")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


class ConsoleErrors(list[str]):
    """Console errors and uncaught page errors; `allow_network_noise` is for the moments a
    test takes the server away on purpose (the browser then logs refused connections)."""

    allow_network_noise = False

    def add(self, text: str) -> None:
        if self.allow_network_noise and any(noise in text for noise in NETWORK_NOISE):
            return
        self.append(text)


@pytest.fixture
def page(browser: Any, server: Server) -> Iterator[Any]:
    """A fresh browser context (its own localStorage) on the test's server, closed before the
    server stops; fails the test on any console error."""
    context = browser.new_context(viewport={"width": 1360, "height": 860})
    tab = context.new_page()
    tab.set_default_timeout(30_000)
    errors = ConsoleErrors()
    tab.on("console", lambda m: errors.add(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
    tab.console_errors = errors
    try:
        yield tab
    finally:
        context.close()
    assert not errors, f"browser console errors: {errors}"


def shot(page: Any, name: str) -> Path:
    """Save a screenshot under `test-artifacts/` (gitignored) and return its path."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def start_session(page: Any, server: Server, title: str, description: str = "") -> str:
    """Fill the brief form and return the new thread's id (from the URL it moves to)."""
    page.goto(server.url + "/")
    page.get_by_label("Title").fill(title)
    if description:
        page.get_by_label("Description").fill(description)
    page.get_by_role("button", name="Start session").click()
    page.wait_for_url("**/t/*")
    return str(page.url.rsplit("/t/", 1)[1])
