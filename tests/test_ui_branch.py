"""The page on this machine: the CLI's threads listed and steerable; Branch from here."""

from __future__ import annotations

import json
import os
import re
import subprocess
from typing import Any

from playwright.sync_api import expect

from tests.test_cli import NEON, STUDIO
from tests.test_ui_session import PLAN_GATE
from tests.ui_harness import Server, shot


def test_a_cli_thread_opens_in_the_page_and_branches_from_its_gate_and_a_message(
    page: Any, server: Server
) -> None:
    env = {**os.environ, "DATABASE_URL": server.database_url, "STUDIO_HOME": str(server.home)}
    made = subprocess.run(
        [*STUDIO, "run", NEON, "--json"], env=env, capture_output=True, text=True, timeout=240
    )
    assert made.returncode == 0, made.stderr
    tid = json.loads(made.stdout)["thread_id"]

    page.goto(server.url + "/")  # the page gets the home's owner token: the CLI's thread is here
    link = page.locator(f"#threads a[href='/t/{tid}']")
    expect(link).to_be_visible(timeout=30_000)
    link.click()
    expect(page.locator(PLAN_GATE)).to_be_visible(timeout=30_000)
    expect(page.locator("li.msg.theirs .who strong", has_text="Luna").first).to_be_visible()

    page.locator("#gate button.branch").click()  # a new thread waiting at this gate
    page.wait_for_url(re.compile(r".*/t/(?!" + re.escape(tid) + r")[^/]+$"))
    branch = page.url.rsplit("/t/", 1)[1]
    expect(page.locator(PLAN_GATE)).to_be_visible(timeout=30_000)
    shot(page, "branch-1-at-the-plan-gate")

    said = page.locator("li.msg.theirs").nth(1)
    said_id = said.get_attribute("data-id")
    said.hover()
    said.locator("button.branch").click()  # a new thread that ends at that message
    page.wait_for_url(re.compile(r".*/t/(?!" + re.escape(branch) + r")[^/]+$"))
    expect(page.locator("li.msg").last).to_have_attribute("data-id", said_id or "")
    expect(page.locator(f"#threads a[href='/t/{tid}']")).to_be_visible()
    listed = page.locator("#threads a[href^='/t/']").count()
    assert listed == 3, listed  # the CLI's thread and its two branches
