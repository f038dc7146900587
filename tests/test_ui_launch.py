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


def test_launch_fields_and_a_csv_of_real_figures_from_the_dashboard(
    page: Any, server: Server
) -> None:
    def csv(name: str, text: str) -> dict[str, Any]:
        return {"name": name, "mimeType": "text/csv", "buffer": text.encode()}

    page.goto(server.url + "/")
    expect(page.locator(".launch-fields")).to_be_hidden()
    page.get_by_label("Title").fill("Home espresso")
    page.get_by_label("Format").select_option("launch")
    expect(page.locator(".launch-fields")).to_be_visible()
    page.get_by_label("Channel niche").fill("home coffee")
    page.get_by_label("Audience").fill("students on a budget")
    page.get_by_label("A/B test data").select_option("manual")
    trends = "keyword,searches,views\nespresso grinder,12000,\nlatte art,many,\n"
    page.get_by_label("Trend figures").set_input_files(csv("trends.csv", trends))
    page.get_by_role("button", name="Start session").click()
    expect(page.locator("#start-status")).to_contain_text("row 2 (line 3)")  # refused, named
    expect(page.locator("#start")).to_be_visible()
    page.get_by_label("Trend figures").set_input_files(
        csv("trends.csv", trends.replace("many", "52000"))
    )
    page.get_by_role("button", name="Start session").click()
    page.wait_for_url("**/t/*")

    expect(page.locator(SCRIPT_GATE)).to_be_visible(timeout=90_000)
    expect(page.locator("#messages")).to_contain_text("searches 12,000")  # the person's figure
    page.get_by_role("button", name="Use this script").click()
    expect(page.locator(SELECTION_GATE)).to_be_visible(timeout=90_000)
    page.get_by_role("button", name="Start the A/B test").click()

    expect(page.locator(EXPERIMENT_GATE)).to_be_visible(timeout=60_000)
    board = page.locator("#gate .dashboard")
    expect(board.locator(".badge.data")).to_have_text("observed")
    upload = page.locator("#gate form.upload")
    bad = "variant,impressions,clicks\nface-focused,1000,80\nbold-text,10,50\n"
    upload.get_by_label("CSV of impressions and clicks").set_input_files(csv("ab.csv", bad))
    upload.get_by_role("button", name="Add figures").click()
    expect(upload.locator(".upload-status.error")).to_have_text(
        "ab.csv was not added: row 2 (line 3): clicks (50) exceed impressions (10)"
    )
    shot(page, "launch-5-upload-refused")
    good = bad.replace("10,50", "1000,130")
    page.locator("#gate form.upload input[type=file]").set_input_files(csv("ab.csv", good))
    page.locator("#gate form.upload button").click()
    expect(page.locator("#gate .dashboard .test-status")).to_contain_text(
        "2,000 impressions, 210 clicks", timeout=30_000
    )
    expect(page.locator("#gate .dashboard .badge.leading")).to_have_count(1)
    expect(page.locator("#gate .variant-row.leading")).to_have_attribute(
        "data-variant", "bold-text"
    )
    shot(page, "launch-6-uploaded")
    # the browser logs the two refusals the page then explained; nothing else may fail
    refused = [e for e in page.console_errors if "status of 422" in e]
    assert len(refused) == 2, page.console_errors
    for entry in refused:
        page.console_errors.remove(entry)
