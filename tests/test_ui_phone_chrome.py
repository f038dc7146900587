"""The thread page's chrome, found wanting by a new user (F25, F18, F21): one Stop on the page
(the composer's; it answers a waiting gate too), a composer that keeps its width on a phone, a
branch told apart from its source in the sidebar, and a sidebar that says it cannot reach the
studio instead of "No sessions yet."."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.ui_harness import Server, shot, start_session

PLAN_GATE = "#gate[data-gate='plan']:not([hidden])"
TITLE = "Harbour bakery"


def test_one_stop_a_wide_composer_on_a_phone_and_branches_told_apart(
    page: Any, server: Server
) -> None:
    thread_id = start_session(page, server, TITLE, "a cosy harbour bakery at dawn")
    expect(page.locator(PLAN_GATE)).to_be_visible(timeout=60_000)
    stops = page.get_by_role("button", name="Stop")
    expect(stops).to_have_count(1)  # the gate card shows none of its own
    expect(page.locator("#stop")).to_be_visible()
    expect(page.locator("#stop")).to_be_enabled()  # and it stops at the gate

    page.set_viewport_size({"width": 390, "height": 844})
    expect(stops).to_have_count(1)
    box = page.locator("#composer-input").bounding_box()
    assert box is not None and box["width"] >= 300, box  # was ~60 px beside three buttons
    for name in ("Attach reference", "Send", "Stop"):
        button = page.locator("#composer").get_by_role("button", name=name).bounding_box()
        assert button is not None and button["x"] + button["width"] <= 390, (name, button)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "phone-chrome-1-composer")
    page.set_viewport_size({"width": 1360, "height": 860})

    # a branch is not a second entry of the same name
    page.locator("#gate").get_by_role("button", name="Branch from here").click()
    page.wait_for_url(lambda url: thread_id not in url)
    branch_id = page.url.rsplit("/", 1)[-1]
    expect(page.locator("#thread-title")).to_have_text(f"{TITLE} (branch)")
    branch = page.locator(f"#thread-list a[data-thread-id='{branch_id}']")
    expect(branch.locator(".t-title")).to_have_text(f"{TITLE} (branch)")
    # the title's own words isolated (FSI ... PDI): a U+202E in them reorders nothing after
    tooltip = f"\u2068{TITLE}\u2069 (branch) — branched from {thread_id[:8]}"
    expect(branch).to_have_attribute("title", tooltip)
    source = page.locator(f"#thread-list a[data-thread-id='{thread_id}'] .t-title")
    expect(source).to_have_text(TITLE)
    shot(page, "phone-chrome-2-branch")

    # the studio out of reach: the list says so, not that there is nothing
    page.console_errors.allow_network_noise = True  # the refused connections are on purpose
    page.route("**/threads/search", lambda route: route.abort("connectionrefused"))
    page.reload()
    expect(page.locator("#thread-title")).to_have_text(f"{TITLE} (branch)")
    expect(page.locator("#thread-list")).to_have_text(
        "Cannot reach the studio; your sessions are safe."
    )
    shot(page, "phone-chrome-3-unreachable")
