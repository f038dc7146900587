"""A thread's reference image in headless Chromium against a real server: "Attach reference"
by the composer uploads the picked image, adds it to the thread's `settings.references` and
shows it as a thumbnail chip; removing the chip takes it out of the settings again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import expect

from people.home_token import home_token
from tests.media_helpers import png_bytes
from tests.ui_harness import Server, shot, start_session


def references(server: Server, thread_id: str) -> list[str]:
    headers = {"Authorization": f"Bearer {home_token(server.home)}"}
    answer = httpx.get(f"{server.url}/threads/{thread_id}/settings", headers=headers, timeout=30)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["settings"].get("references") or [])


def test_attach_reference_adds_a_removable_chip(page: Any, server: Server, tmp_path: Path) -> None:
    red = tmp_path / "red.png"
    red.write_bytes(png_bytes((160, 100), (200, 30, 30)))
    thread_id = start_session(page, server, "Red harbour", "a harbour at dusk")
    expect(page.get_by_role("button", name="Attach reference")).to_be_enabled()
    page.locator("#reference-file").set_input_files(str(red))
    chip = page.locator("#references .reference-chip")
    expect(chip).to_have_count(1)
    expect(chip.locator("img")).to_have_js_property("naturalWidth", 160)
    [upload_id] = references(server, thread_id)
    expect(chip).to_have_attribute("data-upload", upload_id)
    shot(page, "thread-reference-chip")
    chip.get_by_role("button", name="Remove reference 1").click()
    expect(chip).to_have_count(0)
    assert references(server, thread_id) == []
