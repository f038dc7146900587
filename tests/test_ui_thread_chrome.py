"""What frames a thread in the UI, in headless Chromium against a real server: the Title names
the thread (sidebar, `studio threads`, the export) and never joins the brief; a thread with no
title nor brief says it waits for one; Stop only while something can be stopped; a missing or
deleted thread leaves nothing to click; Media Lab jobs are no sessions; the Audit table fits a
laptop and a phone."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import httpx
import psycopg
from playwright.sync_api import expect

from people.home_token import home_token
from tests.ui_harness import ROOT, Server, shot, start_session

PLAN_GATE = "#gate[data-gate='plan']:not([hidden])"
TITLE = "Harbour bakery"
BRIEF = "a cosy harbour bakery at dawn, fishing boats outside"
NO_BRIEF_YET = "New thread — waiting for your brief"


def studio_threads(server: Server) -> list[str]:
    """`studio threads` on the server's database and home: its lines."""
    env = {**os.environ, "DATABASE_URL": server.database_url, "STUDIO_HOME": str(server.home)}
    done = subprocess.run(
        [sys.executable, "-m", "api", "threads"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return [line for line in done.stdout.splitlines() if line.strip()]


def admin(server: Server) -> dict[str, str]:
    return {"Authorization": f"Bearer {home_token(server.home)}"}


def test_the_title_names_the_thread_and_is_never_the_brief(page: Any, server: Server) -> None:
    thread_id = start_session(page, server, TITLE, BRIEF)
    expect(page.locator(PLAN_GATE)).to_be_visible(timeout=60_000)
    # the brief the team got is the description alone
    expect(page.locator("li.msg.mine .text").first).to_have_text(BRIEF)
    state = httpx.get(
        f"{server.url}/threads/{thread_id}/state", headers=admin(server), timeout=30
    ).json()
    first = next(m for m in state["values"]["messages"] if m["type"] == "human")
    assert first["content"] == BRIEF
    assert TITLE not in str(state["values"].get("brief", ""))
    # the title is the thread's name: the page, the sidebar, the registry and `studio threads`
    expect(page.locator("#thread-title")).to_have_text(TITLE)
    expect(page.locator(f"#thread-list a[data-thread-id='{thread_id}'] .t-title")).to_have_text(
        TITLE
    )
    with psycopg.connect(server.database_url) as conn:
        row = conn.execute("SELECT title FROM threads WHERE thread_id = %s", [thread_id])
        assert row.fetchone() == (TITLE,)
    [line] = [line for line in studio_threads(server) if line.startswith(thread_id)]
    assert line.rstrip().endswith(TITLE)
    # and the export's name
    with page.expect_download() as info:
        page.get_by_role("button", name="Download").click()
    assert info.value.suggested_filename == f"creative-studio-harbour-bakery-{thread_id[:8]}.zip"

    # Stop while the session can still be ended (a gate waits); not once it has ended
    stop = page.locator("#stop")
    expect(stop).to_be_enabled()
    stop.click()
    expect(page.locator("#phase")).to_have_text("stopped", timeout=30_000)
    expect(stop).to_be_disabled()
    shot(page, "chrome-1-stopped")
    page.reload()
    expect(page.locator("#phase")).to_have_text("stopped")
    expect(stop).to_be_disabled()
    expect(page.get_by_role("button", name="Send")).to_be_enabled()  # a message goes on


def test_a_thread_with_no_brief_yet_says_so(page: Any, server: Server) -> None:
    made = httpx.post(f"{server.url}/threads", json={}, headers=admin(server), timeout=30)
    assert made.status_code == 200, made.text
    thread_id = made.json()["thread_id"]
    page.goto(f"{server.url}/t/{thread_id}")
    expect(page.locator("#thread-title")).to_have_text(NO_BRIEF_YET)
    link = page.locator(f"#thread-list a[data-thread-id='{thread_id}'] .t-title")
    expect(link).to_have_text(NO_BRIEF_YET)
    expect(page.locator("#stop")).to_be_disabled()  # nothing runs yet
    shot(page, "chrome-2-no-brief-yet")


def test_a_refused_first_run_leaves_no_empty_thread_listed(page: Any, server: Server) -> None:
    """U1: a client's POST /threads, then a run refused with 422 (bad settings): the thread
    stays (the client may send a corrected run to it) but is not listed as "New thread"."""
    refused_ids = []
    for seconds in (1000, 0, "abc"):
        made = httpx.post(f"{server.url}/threads", json={}, headers=admin(server), timeout=30)
        thread_id = made.json()["thread_id"]
        settings = {"format": "video", "video": {"seconds": seconds}}
        body = {"input": {"messages": ["a kettle ad"], "settings": settings}}
        run = httpx.post(
            f"{server.url}/threads/{thread_id}/runs", json=body, headers=admin(server), timeout=30
        )
        assert run.status_code == 422, run.text
        refused_ids.append(thread_id)
    named = httpx.post(
        f"{server.url}/threads", json={"metadata": {"title": "Named"}}, headers=admin(server)
    ).json()["thread_id"]
    page.goto(server.url + "/")
    expect(page.locator(f"#thread-list a[data-thread-id='{named}']")).to_be_visible()
    expect(page.locator("#thread-list")).not_to_contain_text(NO_BRIEF_YET)
    for thread_id in refused_ids:
        expect(page.locator(f"#thread-list a[data-thread-id='{thread_id}']")).to_have_count(0)
    # opened by its link it is still there, and listed while open
    page.goto(f"{server.url}/t/{refused_ids[0]}")
    expect(page.locator("#thread-title")).to_have_text(NO_BRIEF_YET)
    expect(page.locator(f"#thread-list a[data-thread-id='{refused_ids[0]}']")).to_be_visible()
    expect(page.locator(f"#thread-list a[data-thread-id='{refused_ids[1]}']")).to_have_count(0)


def test_a_missing_or_deleted_thread_leaves_nothing_to_click(page: Any, server: Server) -> None:
    page.console_errors.allow_network_noise = True  # the browser logs the 404s
    page.goto(f"{server.url}/t/nope-123")
    expect(page.locator("#thread-title")).to_have_text("Thread not found")
    expect(page.locator("#error")).to_contain_text("Thread not found")
    for name in ("Download", "Share link", "Send", "Stop"):
        expect(page.get_by_role("button", name=name)).to_have_count(0)  # hidden
    for selector in ("#download", "#share", "#stop", "#composer button[type=submit]"):
        expect(page.locator(selector)).to_be_disabled()
    expect(page.locator("#thread-url")).to_have_text("")
    shot(page, "chrome-3-not-found")

    made = httpx.post(
        f"{server.url}/threads", json={"metadata": {"title": "Short-lived"}}, headers=admin(server)
    )
    thread_id = made.json()["thread_id"]
    page.goto(f"{server.url}/t/{thread_id}")
    expect(page.locator("#thread-title")).to_have_text("Short-lived")
    expect(page.get_by_role("button", name="Download")).to_be_enabled()
    expect(page.locator("#connection")).to_have_text("live", timeout=30_000)
    gone = httpx.delete(f"{server.url}/threads/{thread_id}", headers=admin(server), timeout=30)
    assert gone.status_code == 204
    expect(page.locator("#connection")).to_have_text("deleted", timeout=30_000)
    expect(page.locator("#thread-title")).to_have_text("Thread deleted")
    expect(page.locator("#phase")).to_be_hidden()  # no phase of a thread that is gone
    for name in ("Download", "Share link", "Send", "Stop"):
        expect(page.get_by_role("button", name=name)).to_have_count(0)
    shot(page, "chrome-4-deleted")


def test_media_lab_jobs_are_not_listed_as_threads(page: Any, server: Server) -> None:
    made = httpx.post(
        f"{server.url}/threads", json={"metadata": {"title": "A session"}}, headers=admin(server)
    )
    session_id = made.json()["thread_id"]
    with psycopg.connect(server.database_url) as conn:  # a job's thread, as the Media Lab makes it
        conn.execute(
            "INSERT INTO threads (thread_id, title, status, phase, metadata) VALUES "
            "('media-0001', 'upscale hero', 'idle', 'created', "
            """'{"graph_id": "media", "media_job": true}')"""
        )
    renamed = httpx.patch(
        f"{server.url}/threads/{session_id}",
        json={"metadata": {"title": "A session, renamed"}},
        headers=admin(server),
    )
    assert renamed.status_code == 200, renamed.text
    listed = studio_threads(server)
    [line] = [line for line in listed if line.startswith(session_id)]
    assert line.rstrip().endswith("A session, renamed")  # a PATCHed title is the title too
    assert not any(line.startswith("media-") for line in listed), listed
    page.goto(server.url + "/")
    expect(page.locator(f"#thread-list a[data-thread-id='{session_id}']")).to_be_visible()
    expect(page.locator("#thread-list a[data-thread-id^='media-']")).to_have_count(0)


def test_the_audit_table_fits_a_laptop_and_a_phone(page: Any, server: Server) -> None:
    long_id = "a-rather-long-client-chosen-thread-identifier-that-would-not-fit"
    made = httpx.post(
        f"{server.url}/threads",
        json={"thread_id": long_id, "metadata": {"title": "Long"}},
        headers=admin(server),
        timeout=30,
    )
    assert made.status_code == 200, made.text
    refused = httpx.post(
        f"{server.url}/threads", json={"thread_id": "bad id!"}, headers=admin(server), timeout=30
    )
    assert refused.status_code == 422  # a request.refused entry
    for width, height in ((1280, 800), (1024, 720)):
        page.set_viewport_size({"width": width, "height": height})
        page.goto(server.url + "/pages/audit")
        rows = page.locator("#audit-rows tr")
        expect(rows.first).to_be_visible()
        fit = page.evaluate(
            """() => { const box = document.querySelector('.table-scroll');
              const last = [...document.querySelectorAll('#audit-rows td.request')]
                .map(td => td.getBoundingClientRect().right);
              return { page: document.documentElement.scrollWidth, inner: box.scrollWidth,
                       shown: box.clientWidth, right: box.getBoundingClientRect().right,
                       lastRight: Math.max(...last) }; }"""
        )
        assert fit["page"] <= width, fit
        assert fit["inner"] <= fit["shown"], f"the table scrolls sideways at {width}px: {fit}"
        assert fit["lastRight"] <= fit["right"] + 0.5, fit
        request = rows.first.locator("td.request")
        full = request.get_attribute("title")
        assert full and len(full) > 8
        expect(request).to_have_text(full[:8])  # the whole id is its tooltip
        shot(page, f"audit-fit-{width}")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(server.url + "/pages/audit")
    expect(rows.first).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    box = page.locator(".table-scroll")
    assert box.evaluate("b => b.scrollWidth <= b.clientWidth"), "the table scrolls on a phone"
    label = rows.first.locator("td.request").evaluate(
        "td => getComputedStyle(td, '::before').content"
    )
    assert label == '"Request"'  # each value is labelled where rows stack
    expect(rows.first.locator("td.outcome")).to_be_visible()
    shot(page, "audit-fit-390")


LONG = ("rain on the windows, " * 620)[:13_000]  # 13,000 characters
RLO = "\u202e"  # RIGHT-TO-LEFT OVERRIDE


def branch_of(server: Server, thread: dict[str, Any], run: dict[str, Any]) -> tuple[str, str]:
    """A new thread (`thread`: its create body) after one run, and a branch of it (`/copy`)."""
    made = httpx.post(f"{server.url}/threads", json=thread, headers=admin(server), timeout=30)
    parent = made.json()["thread_id"]
    ran = httpx.post(
        f"{server.url}/threads/{parent}/runs/wait", json=run, headers=admin(server), timeout=120
    )
    assert ran.status_code == 200, ran.text
    copied = httpx.post(
        f"{server.url}/threads/{parent}/copy", json={}, headers=admin(server), timeout=30
    )
    assert copied.status_code == 200, copied.text
    return parent, str(copied.json()["thread_id"])


def test_a_too_long_message_is_said_in_words_and_kept(page: Any, server: Server) -> None:
    """D17: a 13,000-character Description or message was refused with the schema path
    "input.messages.0.content: String should have at most 10000 characters"."""
    assert len(LONG) == 13_000
    page.goto(server.url + "/")
    page.get_by_label("Title").fill("Long one")
    page.get_by_label("Description").fill(LONG)
    page.get_by_role("button", name="Start session").click()
    said = "Your message is 13,000 characters; the limit is 10,000."
    expect(page.locator("#start-status")).to_have_text(said)
    expect(page.get_by_label("Description")).to_have_value(LONG)  # nothing lost
    assert page.url.rstrip("/") == server.url  # no thread was made
    start_session(page, server, TITLE, BRIEF)
    expect(page.locator(PLAN_GATE)).to_be_visible(timeout=60_000)
    mine = page.locator("li.msg.mine").count()
    box = page.get_by_label("Message the team")
    box.fill(LONG)
    box.press("Enter")
    expect(page.locator("#error")).to_contain_text(said)
    expect(page.locator("#error")).not_to_contain_text("input.messages")
    expect(box).to_have_value(LONG)
    expect(page.locator("li.msg.mine")).to_have_count(mine)  # nothing sent
    shot(page, "chrome-5-too-long")


def test_a_right_to_left_override_in_a_title_reorders_nothing_around_it(
    page: Any, server: Server
) -> None:
    """D17: a Title with U+202E reversed the page's own words after it. The person's words are
    isolated: " (branch)" after a branch's title still reads left to right, after the title."""
    stop = {"input": {"messages": [], "stop_requested": True}}  # a checkpoint to branch from
    _, branch = branch_of(server, {"metadata": {"title": f"{RLO}AB"}}, stop)
    page.goto(f"{server.url}/t/{branch}")
    header = page.locator("#thread-title")
    expect(header).to_have_text(f"{RLO}AB (branch)")
    listed = page.locator(f"#thread-list a[data-thread-id='{branch}'] .t-title")
    expect(listed).to_have_text(f"{RLO}AB (branch)")
    for node in (header, listed):
        # where each character is drawn: "(" of "(branch)" must come after (right of) the title
        lefts = node.evaluate(
            """(node) => {
              const at = (ch) => {
                const walker = document.createTreeWalker(node, NodeFilter.SHOW_TEXT);
                for (let t = walker.nextNode(); t; t = walker.nextNode()) {
                  const i = t.data.indexOf(ch);
                  if (i < 0) continue;
                  const range = document.createRange();
                  range.setStart(t, i);
                  range.setEnd(t, i + 1);
                  return range.getBoundingClientRect().left;
                }
                return null;
              };
              return { a: at("A"), b: at("B"), paren: at("("), r: at("r") };
            }"""
        )
        assert lefts["b"] < lefts["a"], lefts  # the title itself reads as typed: reversed
        assert lefts["a"] < lefts["paren"] < lefts["r"], lefts  # the page's words do not
    assert "\u2068" in page.title()  # the tab's title isolates it too
    shot(page, "chrome-6-bidi")


def test_a_branch_of_an_untitled_thread_is_marked_as_one(page: Any, server: Server) -> None:
    """A thread with no title (every `studio run` thread) is named by its brief; its branches
    were named exactly the same, so the list showed several identical entries."""
    brief = {"input": {"messages": [{"role": "user", "content": BRIEF}]}}
    parent, branch = branch_of(server, {}, brief)
    page.goto(f"{server.url}/t/{branch}")
    expect(page.locator("#thread-title")).to_have_text(f"{BRIEF} (branch)")
    listed = page.locator(f"#thread-list a[data-thread-id='{branch}'] .t-title")
    expect(listed).to_have_text(f"{BRIEF} (branch)")
    source = page.locator(f"#thread-list a[data-thread-id='{parent}'] .t-title")
    expect(source).to_have_text(BRIEF)
    # the list cuts a long name short, never the mark: it is drawn inside the entry
    mark = listed.locator(".t-suffix").bounding_box()
    box = listed.bounding_box()
    assert mark is not None and box is not None
    assert mark["width"] > 0 and mark["x"] + mark["width"] <= box["x"] + box["width"] + 0.5
