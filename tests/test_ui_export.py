"""The chat UI's Download button: the thread's work as a zip named after it, images named by
deliverable, before approval (the current variants, said so) and after; sketches labelled."""

from __future__ import annotations

import json
import zipfile
from typing import Any

from playwright.sync_api import expect

from tests.ui_harness import Server, shot, start_session

PLAN_GATE = "#gate[data-gate='plan']:not([hidden])"
OUTPUT_GATE = "#gate[data-gate='output']:not([hidden])"
TEXTS = {"README.md", "manifest.json", "brief.md", "discussion.md"}


def download(page: Any) -> tuple[str, dict[str, bytes]]:
    """Click Download; the file's suggested name and its members."""
    with page.expect_download() as info:
        page.get_by_role("button", name="Download").click()
    saved = info.value
    with zipfile.ZipFile(saved.path()) as archive:
        return saved.suggested_filename, {n: archive.read(n) for n in archive.namelist()}


def test_download_button_fetches_the_zip_named_by_deliverable(page: Any, server: Server) -> None:
    thread_id = start_session(page, server, "Harbour at dawn", "fishing boats, calm water")
    expect(page.locator(PLAN_GATE)).to_be_visible(timeout=60_000)
    page.get_by_role("button", name="Approve plan").click()
    expect(page.locator(OUTPUT_GATE)).to_be_visible(timeout=90_000)
    outputs = page.locator("#gate .output")
    shown = dict(
        outputs.evaluate_all("os => os.map(o => [o.dataset.deliverable, o.dataset.assetId])")
    )
    assert len(shown) >= 2
    # the gate and the gallery say which variant is current, and that these are sketches
    expect(outputs.first.locator(".badge.current")).to_be_visible()
    expect(outputs.first.locator(".badge.sketch")).to_be_visible()
    expect(page.locator("#gallery .tile .badge.sketch").first).to_be_visible()
    expect(page.locator("#gallery .tile .badge.current")).to_have_count(len(shown))
    shot(page, "export-1-output-gate")

    name, files = download(page)
    assert name == f"creative-studio-harbour-at-dawn-{thread_id[:8]}.zip"
    expected = TEXTS | {f"{d}.{ext}" for d in shown for ext in ("png", "json")}
    assert set(files) == expected
    assert "Not finished yet" in files["README.md"].decode()
    manifest = json.loads(files["manifest.json"])
    assert {i["deliverable"]: i["asset_id"] for i in manifest["images"]} == shown
    assert files[f"{next(iter(shown))}.png"].startswith(b"\x89PNG")
    expect(page.get_by_role("button", name="Download")).to_be_enabled()

    page.get_by_role("button", name="Approve outputs").click()
    expect(page.locator("#phase")).to_have_text("approved", timeout=30_000)
    expect(page.locator("#gallery .tile .badge.approved")).to_have_count(len(shown))
    _, files = download(page)
    assert set(files) == expected
    assert "Approved set" in files["README.md"].decode()
    manifest = json.loads(files["manifest.json"])
    assert {i["deliverable"]: i["asset_id"] for i in manifest["images"]} == shown
    shot(page, "export-2-approved")
