"""A share link in another browser (F31): a view-only link shows the thread and offers nothing
that directs it; a message the server refuses leaves no "You" bubble behind."""

from __future__ import annotations

from typing import Any

import httpx
from playwright.sync_api import expect

from people.home_token import home_token
from tests.ui_harness import Server, shot, start_session

PLAN_GATE = "#gate[data-gate='plan']:not([hidden])"
REFUSALS = ("status of 401", "status of 403", "status of 404")
"""What the browser logs for the refusals this test causes (and `/local/owner`'s 404)."""


def elsewhere(page: Any, errors: list[str]) -> Any:
    """A tab in a browser on another machine (`GET /local/owner` answers 404 there)."""
    context = page.context.browser.new_context(viewport={"width": 1200, "height": 860})
    context.route("**/local/owner", lambda route: route.fulfill(status=404, body="{}"))
    tab = context.new_page()
    tab.set_default_timeout(30_000)
    tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
    return tab


def test_a_view_only_link_offers_nothing_that_directs(page: Any, server: Server) -> None:
    thread_id = start_session(page, server, "Harbour bakery", "a cosy harbour bakery at dawn")
    expect(page.locator(PLAN_GATE)).to_be_visible(timeout=60_000)
    owner = {"Authorization": f"Bearer {home_token(server.home)}"}
    grants = f"{server.url}/threads/{thread_id}/grants"
    view = httpx.post(grants, json={"role": "view"}, headers=owner, timeout=30).json()
    direct = httpx.post(grants, json={"role": "direct"}, headers=owner, timeout=30).json()
    errors: list[str] = []

    viewer = elsewhere(page, errors)
    viewer.goto(f"{server.url}/t/{thread_id}#token={view['token']}")
    expect(viewer.locator(PLAN_GATE)).to_be_visible()
    expect(viewer.locator("#messages li.msg").first).to_be_visible()  # it sees the discussion
    gate = viewer.locator("#gate")
    expect(gate).to_contain_text("View only: the thread's owner answers this gate.")
    for name in ("Approve plan", "Revise", "Stop", "Branch from here"):
        expect(gate.get_by_role("button", name=name)).to_have_count(0)
    expect(viewer.locator("#composer-input")).to_be_disabled()
    for selector in ("#composer button[type=submit]", "#attach-reference", "#stop", "#share"):
        expect(viewer.locator(selector)).to_be_hidden()
        expect(viewer.locator(selector)).to_be_disabled()
    expect(viewer.locator("#share-role")).to_be_hidden()
    viewer.locator("#messages li.msg").first.hover()
    expect(viewer.locator("button.branch:visible")).to_have_count(0)
    expect(viewer.locator("#thread-list")).to_contain_text("This link opens one thread only.")
    shot(viewer, "share-1-view-only")
    # the owner's page is unchanged: everything is offered there
    expect(page.locator("#gate").get_by_role("button", name="Approve plan")).to_be_enabled()
    expect(page.locator("#composer-input")).to_be_enabled()

    # a direct link whose grant is revoked while its page is open: the message it then sends
    # is refused, said so, and not left in the chat as if it had been said
    director = elsewhere(page, errors)
    director.goto(f"{server.url}/t/{thread_id}#token={direct['token']}")
    expect(director.locator(PLAN_GATE)).to_be_visible()
    expect(director.locator("#gate").get_by_role("button", name="Approve plan")).to_be_enabled()
    # it directs the thread but cannot share it (only the owner makes links): no Share link
    for selector in ("#share", "#share-role"):
        expect(director.locator(selector)).to_be_hidden()
        expect(director.locator(selector)).to_be_disabled()
    expect(page.locator("#share")).to_be_visible()  # the owner's page offers it
    # nor branch it (POST /copy is the owner's; it was offered, then refused with 403)
    director.locator("#messages li.msg").first.hover()
    expect(director.locator("button.branch:visible")).to_have_count(0)
    page.locator("#messages li.msg").first.hover()
    expect(page.locator("#gate button.branch")).to_be_visible()  # the owner's page offers it
    box = director.locator("#composer-input")
    expect(box).to_be_enabled()
    revoked = httpx.delete(f"{grants}/{direct['grant_id']}", headers=owner, timeout=30)
    assert revoked.status_code == 204
    box.fill("make it sunny")
    box.press("Enter")
    expect(director.locator("#error")).to_be_visible()
    expect(director.locator("li.msg.mine", has_text="make it sunny")).to_have_count(0)
    expect(box).to_have_value("make it sunny")  # back in the box, not lost
    shot(director, "share-2-refused-send")
    director.context.close()
    viewer.context.close()
    assert [e for e in errors if not any(r in e for r in REFUSALS)] == []
