"""The chat UI keeps up with reality: a reload mid-run and a server restart mid-run resume
exactly where the thread stands, missing nothing and showing nothing twice."""

from __future__ import annotations

from typing import Any

import httpx
from playwright.sync_api import expect

from tests.ui_harness import Server, shot, start_session

PLAN_GATE = "#gate[data-gate='plan']:not([hidden])"
OUTPUT_GATE = "#gate[data-gate='output']:not([hidden])"


def shown_messages(page: Any) -> list[tuple[str, str]]:
    """(role, text) of every finished bubble, in page order."""
    found: list[tuple[str, str]] = page.eval_on_selector_all(
        "li.msg:not(.streaming)",
        "els => els.map(e => [e.dataset.role, e.querySelector('.text').textContent])",
    )
    return [(role, text) for role, text in found]


def saved_messages(server: Server, page: Any, thread_id: str) -> list[tuple[str, str]]:
    """(role, text) of the thread's messages as the API has them."""
    token = page.evaluate(f"localStorage.getItem('studio.token.{thread_id}')")
    state = httpx.get(
        f"{server.url}/threads/{thread_id}/state",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    ).json()
    return [
        ("you" if m["type"] == "human" else m["name"], m["content"])
        for m in state["values"]["messages"]
    ]


def test_reload_mid_run_resumes_where_it_stands(page: Any, server: Server) -> None:
    thread_id = start_session(page, server, "Harbour at dawn", "fishing boats, mist, gulls")
    page.wait_for_function(  # mid-run: some messages said, one being said
        "document.querySelectorAll('li.msg.theirs:not(.streaming)').length >= 3"
        " && document.querySelector('li.msg.theirs.streaming')",
        polling="raf",
    )
    before = shown_messages(page)
    page.reload()
    # everything said so far is back at once, then the stream carries on from there
    expect(page.locator("#phase")).not_to_have_text("no session")
    after = shown_messages(page)
    assert after[: len(before)] == before
    expect(page.locator("#connection")).to_have_text("live")
    shot(page, "reload-1-after-reload")
    expect(page.locator(PLAN_GATE)).to_be_visible(timeout=60_000)
    ids = page.eval_on_selector_all("li.msg", "els => els.map(e => e.dataset.id)")
    assert len(ids) == len(set(ids)), "a message is shown twice"
    assert shown_messages(page) == saved_messages(server, page, thread_id)

    # another device: the share link carries a grant for this thread only (a view grant by
    # default, not the owner's token) in its fragment (never sent to the server)
    page.get_by_role("button", name="Share link").click()
    expect(page.locator("#thread-url")).to_contain_text("#token=sg_")
    link = page.locator("#thread-url").inner_text()
    assert f"/t/{thread_id}#token=sg_" in link
    other = page.context.browser.new_context(viewport={"width": 1000, "height": 800})
    try:
        tab = other.new_page()
        tab.goto(link)
        expect(tab.locator(PLAN_GATE)).to_be_visible()
        assert "#token" not in tab.url
        assert shown_messages(tab) == shown_messages(page)
    finally:
        other.close()


def test_server_restart_mid_run_reconnects_and_misses_nothing(page: Any, server: Server) -> None:
    thread_id = start_session(page, server, "Mountain village", "snowy village, warm windows")
    expect(page.locator(PLAN_GATE)).to_be_visible(timeout=60_000)
    page.get_by_role("button", name="Approve plan").click()
    # mid-generation: previews are coming in
    expect(page.locator(".job img.preview:not([hidden])").first).to_be_visible(timeout=30_000)
    box = page.get_by_label("Message the team")
    page.console_errors.allow_network_noise = True  # the browser logs the refused reconnects
    server.stop()
    expect(page.locator("#connection")).to_have_text("reconnecting…")
    server.start()
    expect(page.locator("#connection")).to_have_text("live", timeout=30_000)
    page.console_errors.allow_network_noise = False
    shot(page, "restart-1-reconnected")
    # the resumed run finishes the set; the page shows it without being touched
    expect(page.locator(OUTPUT_GATE)).to_be_visible(timeout=90_000)
    tiles = page.locator("#gallery .tile")
    expect(tiles).to_have_count(page.locator("#gate .output").count())
    # and it still takes direction: an interjection at the gate starts iteration 2
    page.set_viewport_size({"width": 1360, "height": 1000})  # room for the README's screenshot
    box.fill("warmer light in the windows")
    box.press("Enter")
    expect(page.locator("li.msg.mine.pending")).to_have_count(0, timeout=30_000)
    expect(page.locator("#gate")).to_be_hidden()
    expect(page.locator(".job img.preview:not([hidden])").first).to_be_visible(timeout=30_000)
    shot(page, "readme-mid-run")
    expect(page.locator(OUTPUT_GATE)).to_be_visible(timeout=90_000)
    expect(page.locator("#gallery .tile", has_text="iteration 2").first).to_be_visible()
    ids = page.eval_on_selector_all("li.msg", "els => els.map(e => e.dataset.id)")
    assert len(ids) == len(set(ids)), "a message is shown twice"
    assert shown_messages(page) == saved_messages(server, page, thread_id)
    shot(page, "restart-2-output-gate")


def test_generation_error_is_shown_in_words_and_retry_continues(page: Any, server: Server) -> None:
    server.env_extra["COMFYUI_URL"] = "http://127.0.0.1:9"  # nothing listens there
    server.restart()
    page.goto(server.url + "/")
    page.get_by_label("Title").fill("Neon street at night")
    page.locator("#brief-form").get_by_label("Auto-approve every gate").check()
    page.get_by_role("button", name="Start session").click()
    error = page.locator("#error")
    expect(error).to_be_visible(timeout=60_000)
    expect(error).to_contain_text("Cannot reach ComfyUI")
    expect(error).to_contain_text("Check that it is running, then retry")
    expect(page.locator("#connection")).to_have_text("live")
    shot(page, "error-1-shown")
    # reopened while the outputs cannot be fetched (as when the server goes away meanwhile):
    # the page still follows the thread, and the failure it reported keeps its Retry
    failed: list[str] = []

    def outputs(url: str) -> bool:
        return "/outputs" in url

    def refuse(route: Any) -> None:
        failed.append(route.request.url)
        route.abort("connectionrefused")

    page.route(outputs, refuse)
    page.console_errors.allow_network_noise = True  # the browser logs the failed fetches
    page.reload()
    expect(error).to_contain_text("Cannot reach ComfyUI")
    for _ in range(100):  # the page's own refresh, then the one after the replayed `done`
        if len(failed) >= 2:
            break
        page.wait_for_timeout(100)
    assert len(failed) >= 2, failed
    page.unroute(outputs)
    page.console_errors.allow_network_noise = False
    expect(error).to_contain_text("Cannot reach ComfyUI")
    expect(error.get_by_role("button", name="Retry")).to_be_visible()
    # do what it says: bring the generator back (here: the built-in renderer), then retry
    page.console_errors.allow_network_noise = True
    del server.env_extra["COMFYUI_URL"]
    server.restart()
    expect(page.locator("#connection")).to_have_text("live", timeout=30_000)
    page.console_errors.allow_network_noise = False
    error.get_by_role("button", name="Retry").click()
    expect(error).to_be_hidden(timeout=30_000)
    expect(page.locator("#phase")).to_have_text("approved", timeout=60_000)
    expect(page.locator("#gallery .tile").first).to_be_visible()


def test_a_thread_deleted_elsewhere_says_so_and_stops_reconnecting(
    page: Any, server: Server
) -> None:
    thread_id = start_session(page, server, "Lighthouse", "stormy sea, one light")
    expect(page.locator(PLAN_GATE)).to_be_visible(timeout=60_000)
    expect(page.locator("#connection")).to_have_text("live")
    listed = page.locator(f"#thread-list a[data-thread-id='{thread_id}']")
    expect(listed).to_be_visible()
    expect(page.locator("#messages li.msg").first).to_be_visible()
    token = page.evaluate(f"localStorage.getItem('studio.token.{thread_id}')")
    page.console_errors.allow_network_noise = True  # the browser logs the stream's 404
    deleted = httpx.delete(
        f"{server.url}/threads/{thread_id}", headers={"Authorization": f"Bearer {token}"}
    )
    assert deleted.status_code == 204
    expect(page.locator("#connection")).to_have_text("deleted", timeout=30_000)
    expect(page.locator("#error")).to_contain_text("This thread was deleted")
    expect(page.locator(PLAN_GATE)).to_be_hidden()
    # deleted means gone (D14): its discussion and images leave the page, and the list
    expect(page.locator("#messages li")).to_have_count(0)
    expect(page.locator("#messages")).not_to_contain_text("stormy sea")
    expect(page.locator("#gallery .tile")).to_have_count(0)
    expect(listed).to_have_count(0)
    shot(page, "deleted-1-told")
