"""The Library and Audit pages in a real browser: a session's outputs in the library (shown,
filtered, downloaded with their recipe), and the session's actions in the audit trail; a
creator signed in elsewhere sees their own library and no Audit page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import expect

from adapters.renderer import read_recipe
from people.home_token import home_token
from tests.test_ui_accounts import remote
from tests.ui_harness import Server, shot, start_session

PLAN_GATE = "#gate[data-gate='plan']:not([hidden])"
OUTPUT_GATE = "#gate[data-gate='output']:not([hidden])"


def test_a_session_shows_in_the_library_and_the_audit_trail(page: Any, server: Server) -> None:
    thread_id = start_session(page, server, "Harbour at dawn", "fishing boats, mist, first light")
    expect(page.locator(PLAN_GATE)).to_be_visible(timeout=60_000)
    page.get_by_role("button", name="Approve plan").click()
    expect(page.locator(OUTPUT_GATE)).to_be_visible(timeout=90_000)
    made = page.locator("#gallery .tile").count()
    assert made >= 1

    page.get_by_role("link", name="Library").click()
    page.wait_for_url("**/pages/library")
    items = page.locator("#library-grid .library-item")
    expect(items.first).to_be_visible()
    assert items.count() >= made
    expect(items.first.locator("img")).to_have_js_property("complete", True)
    expect(items.first).to_contain_text("Harbour at dawn")
    shot(page, "library-1-all")
    # filter: only what is current, then back to everything
    page.locator("#library-filters select[name=verdict]").select_option("current")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#library-status")).to_contain_text(f"{made} output")
    assert all(v == "current" for v in items.evaluate_all("els => els.map(e => e.dataset.verdict)"))
    with page.expect_download() as download:
        items.first.get_by_role("button", name="Download").click()
    saved = download.value
    assert saved.suggested_filename.startswith("harbour-at-dawn-")
    assert saved.suggested_filename.endswith(".png")
    recipe = read_recipe(Path(saved.path()).read_bytes())
    assert recipe, "the downloaded PNG carries its recipe"
    shot(page, "library-2-current")

    page.get_by_role("link", name="Audit").click()
    page.wait_for_url("**/pages/audit")
    rows = page.locator("#audit-rows tr")
    expect(rows.first).to_be_visible()
    actions = rows.evaluate_all("els => els.map(e => e.dataset.action)")
    for expected in ("thread.created", "run.created", "gate.answered", "export.downloaded"):
        assert expected in actions, (expected, actions)
    page.locator("#audit-filters input[name=thread]").fill(thread_id)
    page.locator("#audit-filters select[name=action]").select_option("gate")
    page.get_by_role("button", name="Show").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text('"action":"approve"')
    expect(rows.first.locator("td.outcome")).to_have_text("ok")
    shot(page, "audit-1-gate")


def test_a_creator_sees_their_library_and_no_audit(page: Any, server: Server) -> None:
    admin = {"Authorization": f"Bearer {home_token(server.home)}"}
    made = httpx.post(f"{server.url}/users", json={"name": "cleo"}, headers=admin, timeout=30)
    assert made.status_code == 201, made.text
    link = made.json()["signin_url"]
    tab = remote(page)
    try:
        tab.goto(server.url + link[link.index("/auth/link") :])
        expect(tab.locator("#set-password")).to_be_visible()
        tab.get_by_role("button", name="Later").click()
        expect(tab.locator("#account")).to_contain_text("cleo · creator")
        expect(tab.locator("#audit-link")).to_be_hidden()
        tab.goto(server.url + "/pages/library")
        expect(tab.locator("#library-status")).to_contain_text("Nothing here yet")
        tab.goto(server.url + "/pages/audit")
        expect(tab.locator("#audit-status")).to_have_text(
            "You are signed in as cleo (creator); only admins can read the audit trail."
        )
        expect(tab.locator("#audit-rows tr")).to_have_count(0)
        expect(tab.locator("#audit-filters")).to_have_count(0)  # no form that cannot work
        shot(tab, "audit-2-not-for-creators")
    finally:
        tab.context.close()


def test_the_audit_trail_pages_in_older_entries(page: Any, server: Server) -> None:
    """The shared cursor-paged loader (`ui/paged.js`): a page of 50, then the older ones."""
    admin = {"Authorization": f"Bearer {home_token(server.home)}"}
    with httpx.Client(base_url=server.url, headers=admin, timeout=30) as client:
        for _ in range(53):
            assert client.post("/threads", json={}).status_code == 200
    page.goto(server.url + "/pages/audit")
    page.locator("#audit-filters select[name=action]").select_option("thread")
    page.get_by_role("button", name="Show").click()
    rows, more = page.locator("#audit-rows tr"), page.locator("#audit-more")
    expect(page.locator("#audit-status")).to_have_text("50 entries so far")
    expect(rows).to_have_count(50)
    more.click()
    expect(page.locator("#audit-status")).to_have_text("53 entries")
    expect(rows).to_have_count(53)
    expect(more).to_be_hidden()
    assert rows.evaluate_all("els => els.map(e => e.dataset.action)") == ["thread.created"] * 53
