"""The chat UI in headless Chromium against a real server: a session from brief to approval,
an interjection mid-discussion, a regeneration with feedback, a phone-sized viewport."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.ui_harness import Server, shot, start_session

PLAN_GATE = "#gate[data-gate='plan']:not([hidden])"
OUTPUT_GATE = "#gate[data-gate='output']:not([hidden])"


def persona_colours(page: Any) -> dict[str, str]:
    """Persona name -> the colour their name is shown in."""
    found: dict[str, str] = page.eval_on_selector_all(
        "li.msg.theirs .who strong",
        "els => Object.fromEntries(els.map(e => [e.textContent, getComputedStyle(e).color]))",
    )
    return found


def message_ids(page: Any) -> list[str]:
    ids: list[str] = page.eval_on_selector_all("li.msg", "els => els.map(e => e.dataset.id)")
    return ids


AT_APPROVED = """() => {
  const phase = document.getElementById("phase");
  window.atApproved = null;
  new MutationObserver(() => {
    if (phase.textContent !== "approved" || window.atApproved) return;
    const gate = document.getElementById("gate");
    const enabled = [...gate.querySelectorAll("button")].filter((b) => !b.disabled);
    window.atApproved = { gateHidden: gate.hidden, enabled: enabled.map((b) => b.textContent) };
  }).observe(phase, { childList: true, characterData: true, subtree: true });
}"""


def test_full_session_from_brief_to_approval(page: Any, server: Server) -> None:
    thread_id = start_session(
        page, server, "Neon street at night", "cyberpunk street scene, neon signs, rain"
    )
    assert re.fullmatch(r"[0-9a-f-]{36}", thread_id)
    expect(page.locator("#thread-url")).to_contain_text(f"/t/{thread_id}")
    # the team streams in: the person's brief first, then specialists token by token
    expect(page.locator("li.msg.mine").first).to_contain_text("cyberpunk street scene")
    expect(page.locator("#typing")).to_be_visible()
    expect(page.locator("#typing")).to_contain_text("is typing")
    expect(page.locator("#phase")).not_to_have_text("no session")
    expect(page.locator("li.msg.theirs .who strong", has_text="Saga").first).to_be_visible()
    shot(page, "session-1-discussion")

    expect(page.locator(PLAN_GATE)).to_be_visible(timeout=60_000)
    expect(page.locator("#phase")).to_have_text("plan waiting for you")
    colours = persona_colours(page)
    assert {"Luna", "Frame", "Saga"} <= set(colours)
    assert len({colours["Luna"], colours["Frame"], colours["Saga"]}) == 3
    specs = page.locator("#gate .spec")
    deliverables = specs.count()
    assert deliverables >= 1
    expect(specs.first.locator("dd").nth(2)).to_contain_text("seed")  # the recipe
    # the brief's own clauses are pinned directions, shown on the card with their source
    expect(specs.first.locator("dd").last).to_contain_text("(brief)")
    expect(specs.first.locator(".swatch").first).to_be_visible()
    shot(page, "session-2-plan-gate")

    # approve with the keyboard: the card's primary action has the focus
    expect(page.locator("#gate button.primary")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator(".job progress").first).to_be_visible(timeout=30_000)
    expect(page.locator("#phase")).to_have_text("generating")
    shot(page, "session-3-generating")

    expect(page.locator(OUTPUT_GATE)).to_be_visible(timeout=90_000)
    tiles = page.locator("#gallery .tile")
    expect(tiles.first).to_be_visible()
    expect(tiles).to_have_count(deliverables)
    expect(tiles.first.locator(".score")).to_contain_text("/10")
    expect(page.locator("#gate .output img").first).to_have_js_property("complete", True)
    shot(page, "session-4-output-gate")

    tiles.first.locator("button.tile-open").click()
    lineage = page.locator("#lineage")
    expect(lineage).to_be_visible()
    expect(lineage).to_contain_text("Seed")
    expect(lineage).to_contain_text("Template")
    expect(lineage).to_contain_text("Iteration")
    expect(lineage.get_by_role("button", name="Regenerate exactly")).to_be_enabled()
    shot(page, "session-5-lineage")
    page.keyboard.press("Escape")
    expect(lineage).to_be_hidden()

    # what the page shows the moment the phase says "approved" (D8: the answered gate card,
    # its buttons enabled again, stayed until a reload)
    page.evaluate(AT_APPROVED)
    page.get_by_role("button", name="Approve outputs").click()
    expect(page.locator("#phase")).to_have_text("approved", timeout=30_000)
    assert page.evaluate("window.atApproved") == {"gateHidden": True, "enabled": []}
    expect(page.locator("#gate")).to_be_hidden()
    expect(page.locator(f"#thread-list a[data-thread-id='{thread_id}']")).to_be_visible()
    assert len(message_ids(page)) == len(set(message_ids(page)))
    shot(page, "session-6-approved")


def test_interjection_mid_discussion_keeps_order(page: Any, server: Server) -> None:
    start_session(page, server, "Lighthouse in a storm", "a lighthouse on a cliff, huge waves")
    page.wait_for_function("document.querySelector('li.msg.theirs.streaming')", polling="raf")
    box = page.get_by_label("Message the team")
    for text in ("more rain, heavier", "and make the lighthouse tiny"):
        box.fill(text)
        box.press("Enter")
    mine = page.locator("li.msg.mine")
    # shown at once, in the order typed
    expect(mine.nth(1)).to_contain_text("more rain, heavier")
    expect(mine.nth(2)).to_contain_text("make the lighthouse tiny")
    shot(page, "interject-1-sent")
    # delivered: no longer pending, and a specialist answers after them
    expect(page.locator("li.msg.mine.pending")).to_have_count(0, timeout=30_000)
    answer = page.locator("li.msg.mine").last.locator("xpath=following-sibling::li")
    expect(answer.first).to_be_visible(timeout=30_000)
    expect(page.locator(PLAN_GATE)).to_be_visible(timeout=60_000)
    shot(page, "interject-2-plan")
    # what the server kept is the same order
    page.reload()
    expect(page.locator(PLAN_GATE)).to_be_visible()
    texts = page.locator("li.msg.mine .text").all_inner_texts()
    assert texts[1:3] == ["more rain, heavier", "and make the lighthouse tiny"]
    # stop: the session ends gracefully, nothing is lost
    page.locator("#stop").click()
    expect(page.locator("#phase")).to_have_text("stopped", timeout=30_000)
    expect(page.locator("#gate")).to_be_hidden()


def test_regenerate_with_feedback_for_one_deliverable(page: Any, server: Server) -> None:
    start_session(page, server, "Desert caravan", "a caravan crossing dunes at golden hour")
    expect(page.locator(PLAN_GATE)).to_be_visible(timeout=60_000)
    page.get_by_role("button", name="Approve plan").click()
    expect(page.locator(OUTPUT_GATE)).to_be_visible(timeout=90_000)
    first = page.locator("#gate .output").first.get_attribute("data-deliverable")
    assert first
    page.locator("#gate textarea[name=feedback]").fill("add a second moon low on the horizon")
    page.locator("#gate select[name=deliverable]").select_option(first)
    page.get_by_role("button", name="Regenerate").click()
    expect(page.locator("#gate")).to_be_hidden()
    jobs = page.locator(".job")
    expect(jobs.first).to_be_visible(timeout=30_000)
    shot(page, "regenerate-1-progress")
    assert set(jobs.evaluate_all("js => js.map(j => j.dataset.deliverable)")) == {first}
    expect(page.locator(OUTPUT_GATE)).to_be_visible(timeout=90_000)
    second = page.locator(f"#gallery .tile[data-deliverable='{first}']", has_text="iteration 2")
    expect(second).to_be_visible()
    expect(page.locator("#gallery .tile", has_text="iteration 2")).to_have_count(1)
    variants = page.locator(f"#gate .output[data-deliverable='{first}'] .variant")
    expect(variants).to_have_count(2)
    shot(page, "regenerate-2-output-gate")
    # pick the first variant after all: the gate comes back with it chosen
    variants.first.click()
    expect(variants.first).to_have_attribute("aria-pressed", "true", timeout=30_000)
    chosen = page.locator(f"#gallery .tile[data-deliverable='{first}']", has_text="iteration 1")
    expect(chosen.locator(".badge.current")).to_be_visible()
    # and once more exactly from that image's own recipe, from its lineage panel
    chosen.locator("button.tile-open").click()
    page.locator("#lineage").get_by_role("button", name="Regenerate exactly").click()
    expect(page.locator("#lineage .gate-status")).to_contain_text("this spec and seed")
    page.keyboard.press("Escape")
    third = page.locator(f"#gallery .tile[data-deliverable='{first}']", has_text="iteration 3")
    expect(third).to_be_visible(timeout=60_000)
    expect(page.locator(OUTPUT_GATE)).to_be_visible(timeout=60_000)
    # the re-run drew the very same picture as iteration 1 (same spec, same seed)
    second_tile = page.locator(
        f"#gallery .tile[data-deliverable='{first}']", has_text="iteration 2"
    )
    digests = [pixel_digest(tile) for tile in (chosen, third, second_tile)]
    assert digests[0] == digests[1]
    assert digests[0] != digests[2]  # while the regeneration with feedback differs


def pixel_digest(tile: Any) -> str:
    """FNV-1a over every pixel of the tile's image, as the browser decoded it."""
    return str(
        tile.locator("img").evaluate(
            """img => { const c = document.createElement("canvas");
                c.width = img.naturalWidth; c.height = img.naturalHeight;
                const g = c.getContext("2d"); g.drawImage(img, 0, 0);
                let h = 0x811c9dc5;
                for (const v of g.getImageData(0, 0, c.width, c.height).data) {
                  h = Math.imul(h ^ v, 16777619) >>> 0;
                }
                return `${c.width}x${c.height}:${h}`; }"""
        )
    )


def test_clarifying_question_is_answered(page: Any, server: Server) -> None:
    start_session(page, server, "Something nice")
    gate = page.locator("#gate[data-gate='clarify']:not([hidden])")
    expect(gate).to_be_visible(timeout=30_000)
    expect(gate).to_contain_text("could go many ways")
    gate.get_by_label("Your answer").fill("a misty forest at dawn, serene")
    gate.get_by_label("Your answer").press("Enter")
    expect(page.locator("li.msg.theirs .who strong", has_text="Luna").first).to_be_visible()
    expect(page.locator(PLAN_GATE)).to_be_visible(timeout=60_000)


def test_phone_viewport_is_usable(page: Any, server: Server) -> None:
    phone = page
    phone.set_viewport_size({"width": 390, "height": 844})
    if True:
        start_session(phone, server, "Tiny robot", "a tiny robot watering plants")
        expect(phone.locator(PLAN_GATE)).to_be_visible(timeout=60_000)
        wide = phone.evaluate("document.documentElement.scrollWidth")
        assert wide <= 390, f"the page scrolls sideways on a phone ({wide}px)"
        expect(phone.get_by_role("button", name="Approve plan")).to_be_visible()
        shot(phone, "phone-plan-gate")
        expect(phone.get_by_role("link", name="Library")).to_be_hidden()  # behind ☰
        phone.get_by_role("button", name="Threads").click()
        expect(phone.locator("#thread-list a").first).to_be_visible()
        expect(phone.get_by_role("link", name="Library")).to_be_visible()
        shot(phone, "phone-drawer")
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390
        # settings: model per role and budgets, kept by the API for this thread
        phone.get_by_role("button", name="Settings").click()
        dialog = phone.locator("#settings")
        dialog.get_by_label("critic").fill("gemma3:12b")
        dialog.get_by_label("Iterations").fill("2")
        dialog.get_by_role("button", name="Save").click()
        expect(dialog).to_be_hidden()
        phone.get_by_role("button", name="Settings").click()
        expect(dialog.get_by_label("critic")).to_have_value("gemma3:12b")
        expect(dialog.get_by_label("Iterations")).to_have_value("2")
        shot(phone, "phone-settings")
        phone.keyboard.press("Escape")
