"""The launch kit in headless Chromium against a real server: the start form's format, both
gates, the A/B dashboard updating live over the event stream, and a declared winner."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.ui_harness import Server, shot

SCRIPT_GATE = "#gate[data-gate='script']:not([hidden])"
SELECTION_GATE = "#gate[data-gate='selection']:not([hidden])"
EXPERIMENT_GATE = "#gate[data-gate='experiment']:not([hidden])"

POLL_UNTIL_DECLARABLE = """async (tid) => {
  const { tokenFor } = await import('/ui/api.js');
  const headers = { Authorization: `Bearer ${tokenFor(tid)}`, 'Content-Type': 'application/json' };
  for (let i = 0; i < 60; i++) {
    const body = JSON.stringify({ command: { resume: { action: 'observe' } } });
    await fetch(`/threads/${tid}/runs/wait`, { method: 'POST', headers, body });
    const state = await (await fetch(`/threads/${tid}/state`, { headers })).json();
    const gate = (state.interrupts || [])[0];
    if (!gate || gate.value.experiment.can_declare) return gate ? 'declarable' : 'ended';
  }
  return 'still running';
}"""


def test_launch_kit_through_both_gates_to_a_declared_winner(page: Any, server: Server) -> None:
    page.goto(server.url + "/")
    page.get_by_label("Title").fill("Home espresso for beginners")
    page.get_by_label("Format").select_option("launch")
    page.get_by_role("button", name="Start session").click()
    page.wait_for_url("**/t/*")
    tid = page.url.rsplit("/t/", 1)[1]

    expect(page.locator(SCRIPT_GATE)).to_be_visible(timeout=90_000)
    scripts = page.locator("#gate .script")
    assert scripts.count() >= 2
    expect(scripts.first.locator(".hook")).not_to_be_empty()
    shot(page, "launch-1-script-gate")
    page.locator("#gate .script").nth(1).locator("input").check()
    page.get_by_role("button", name="Use this script").click()

    expect(page.locator(SELECTION_GATE)).to_be_visible(timeout=90_000)
    thumbs = page.locator("#gate figure.output")
    expect(thumbs).to_have_count(3)
    expect(thumbs.first.locator("img")).to_have_js_property("complete", True)
    expect(thumbs.first.locator(".score")).to_contain_text("168x94")
    shot(page, "launch-2-selection-gate")
    page.get_by_role("button", name="Start the A/B test").click()

    expect(page.locator(EXPERIMENT_GATE)).to_be_visible(timeout=60_000)
    board = page.locator("#gate .dashboard")
    expect(board.locator(".badge.data")).to_have_text("simulated")
    expect(board.locator(".variant-row")).to_have_count(3)
    expect(board.locator(".meter .mark.m95")).to_be_visible()
    expect(page.locator("#gate button.declare")).to_be_disabled()  # no data: below 90%

    outcome = page.evaluate(POLL_UNTIL_DECLARABLE, tid)
    assert outcome in ("declarable", "ended"), outcome
    # the dashboard followed the polls over the event stream (no reload)
    expect(board.locator(".badge.leading")).to_have_count(1)
    expect(board.locator(".test-status")).not_to_contain_text(" 0 impressions")
    shot(page, "launch-3-dashboard")
    if outcome == "declarable":
        expect(page.locator("#gate button.declare")).to_be_enabled()
        page.locator("#gate button.declare").click()
    result = page.locator("#gate[data-gate='results']:not([hidden])")
    expect(result).to_be_visible(timeout=30_000)
    expect(result.locator(".badge.winner")).to_have_count(1)
    expect(result.locator(".test-status")).to_contain_text("winner:")
    shot(page, "launch-4-winner")
