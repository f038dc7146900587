"""The Media Lab page in headless Chromium against a real server: each tab's job from a dropped
or picked file to its result (a before/after slider for an upscale, the video and its fps for
an interpolation, the sources beside a blend), the live job list, cancel and retry, a phone's
narrow screen, and a creator who does not see the page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import expect

from people.home_token import home_token
from tests.media_helpers import mp4_bytes, png_bytes
from tests.test_ui_accounts import remote
from tests.ui_harness import Server, shot

DONE = 120_000


def job_card(page: Any, kind: str, status: str = "SUCCEEDED") -> Any:
    card = page.locator(f".job[data-kind='{kind}']").first
    expect(card).to_have_attribute("data-status", status, timeout=DONE)
    return card


def open_lab(page: Any, server: Server) -> None:
    page.goto(server.url + "/")
    link = page.get_by_role("link", name="Media Lab")
    expect(link).to_be_visible()
    link.click()
    page.wait_for_url("**/pages/media")


def test_each_tab_runs_its_job_and_shows_its_result(
    page: Any, server: Server, tmp_path: Path
) -> None:
    hero, sky = tmp_path / "hero.png", tmp_path / "sky.png"
    hero.write_bytes(png_bytes((160, 100), (200, 50, 40)))
    sky.write_bytes(png_bytes((160, 100), (40, 90, 200)))
    clip = tmp_path / "clip.mp4"
    mp4_bytes(clip, fps=60, frames=24, size=(128, 96))
    open_lab(page, server)
    expect(page.get_by_role("tab")).to_have_count(5)

    page.get_by_role("tab", name="Enhance").click()
    page.locator("#panel-enhance input[type=file]").set_input_files(str(hero))
    expect(page.locator("#panel-enhance .upload")).to_contain_text("160×100")
    page.locator("#panel-enhance select[name=factor]").select_option("2")
    page.locator("#panel-enhance").get_by_role("button", name="Upscale", exact=True).click()
    expect(page.get_by_role("tab", name="Jobs")).to_have_attribute("aria-selected", "true")
    upscale = job_card(page, "upscale")
    expect(upscale.locator(".before-after img.after")).to_have_js_property("complete", True)
    expect(upscale.locator(".before-after figcaption")).to_contain_text("320×200")
    upscale.locator(".before-after input[type=range]").fill("80")
    expect(upscale.get_by_role("button", name="Retry")).to_have_count(0)  # it succeeded
    # the card and the download say what was made (D15: "crisp v1" for 2x and 4x alike)
    expect(upscale.locator("header .made")).to_contain_text("2x · preset crisp v1")
    expect(
        upscale.get_by_role("button", name="Download hero-upscale-2x-crisp-v1.png")
    ).to_be_visible()
    shot(page, "media-1-upscale-before-after")

    page.get_by_role("tab", name="Interpolate").click()
    page.locator("#panel-interpolate input[type=file]").set_input_files(str(clip))
    expect(page.locator("#panel-interpolate .upload")).to_contain_text("60 fps")
    page.locator("#panel-interpolate select[name=target_fps]").select_option("120")
    page.locator("#panel-interpolate").get_by_role("button", name="Interpolate", exact=True).click()
    video = job_card(page, "interpolate")
    expect(video.locator("video")).to_have_count(1)
    expect(video.locator(".fps")).to_contain_text("120 fps (2× from 60 fps) · 48 frames")
    expect(video.locator("header .made")).to_contain_text("120 fps · preset smooth-120 v1")
    expect(video.locator("video")).to_have_js_property("readyState", 4, timeout=DONE)

    page.get_by_role("tab", name="Blend").click()
    page.locator("#panel-blend input[type=file]").set_input_files([str(hero), str(sky)])
    expect(page.locator("#panel-blend .upload")).to_have_count(2)
    page.locator("#panel-blend .weight").first.fill("3")
    page.locator("#panel-blend select[name=mode]").select_option("screen")
    page.locator("#panel-blend").get_by_role("button", name="Blend", exact=True).click()
    blend = job_card(page, "blend")
    expect(blend.locator(".sources figure")).to_have_count(2)
    expect(blend.locator(".sources figcaption").first).to_have_text("75 %")
    expect(blend.locator("header .made")).to_contain_text("screen · 75:25")
    shot(page, "media-2-blend-sources")

    page.get_by_role("tab", name="Generate").click()
    drop_png(page, "#panel-generate .drop")  # a real drag and drop of a file
    expect(page.locator("#panel-generate .upload")).to_contain_text("dropped.png")
    page.locator("#panel-generate textarea[name=prompt]").fill("a lighthouse at dusk")
    page.locator("#panel-generate").get_by_role("button", name="Generate", exact=True).click()
    made = job_card(page, "generate")
    expect(made.locator(".result img")).to_have_js_property("complete", True)
    expect(page.locator(".job")).to_have_count(4)

    page.set_viewport_size({"width": 390, "height": 844})
    page.get_by_role("tab", name="Jobs").click()
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, overflow
    shot(page, "media-3-phone-jobs")


def drop_png(page: Any, selector: str) -> None:
    """Drop a PNG made in the page onto `selector`, as a person dragging a file does."""
    page.evaluate(
        """async (selector) => {
            const canvas = document.createElement("canvas");
            canvas.width = 80; canvas.height = 60;
            const g = canvas.getContext("2d");
            g.fillStyle = "#2a6"; g.fillRect(0, 0, 80, 60);
            g.fillStyle = "#fd3"; g.fillRect(20, 15, 30, 30);
            const blob = await new Promise((done) => canvas.toBlob(done, "image/png"));
            const data = new DataTransfer();
            data.items.add(new File([blob], "dropped.png", { type: "image/png" }));
            const zone = document.querySelector(selector);
            for (const type of ["dragenter", "dragover", "drop"]) {
                zone.dispatchEvent(new DragEvent(type, { dataTransfer: data, bubbles: true }));
            }
        }""",
        selector,
    )


def test_cancel_and_retry_from_the_job_list(page: Any, server: Server, tmp_path: Path) -> None:
    clip = tmp_path / "long.mp4"
    mp4_bytes(clip, fps=30, frames=240, size=(320, 240))
    open_lab(page, server)
    page.get_by_role("tab", name="Interpolate").click()
    page.locator("#panel-interpolate input[type=file]").set_input_files(str(clip))
    page.locator("#panel-interpolate select[name=target_fps]").select_option("60")
    page.locator("#panel-interpolate").get_by_role("button", name="Interpolate", exact=True).click()
    running = job_card(page, "interpolate", "RUNNING")
    running.get_by_role("button", name="Cancel").click()
    cancelled = job_card(page, "interpolate", "CANCELLED")
    cancelled.get_by_role("button", name="Retry").click()
    expect(page.locator(".job")).to_have_count(2)
    retried = page.locator(".job").first
    expect(retried).to_contain_text("retry of")
    retried.get_by_role("button", name="Cancel").click()
    expect(retried.locator(".status")).to_have_text("CANCELLED", timeout=DONE)
    shot(page, "media-4-cancel-retry")


def test_a_creator_neither_sees_nor_opens_the_media_lab(page: Any, server: Server) -> None:
    admin = {"Authorization": f"Bearer {home_token(server.home)}"}
    made = httpx.post(f"{server.url}/users", json={"name": "cleo"}, headers=admin, timeout=30)
    assert made.status_code == 201, made.text
    link = made.json()["signin_url"]
    tab = remote(page)
    try:
        tab.goto(server.url + link[link.index("/auth/link") :])
        tab.get_by_role("button", name="Later").click()
        expect(tab.locator("#account")).to_contain_text("cleo · creator")
        expect(tab.locator("#media-link")).to_be_hidden()
        tab.goto(server.url + "/pages/media")
        expect(tab.locator("#media-denied")).to_contain_text("The Media Lab is for admins")
        expect(tab.get_by_role("tab")).to_have_count(0)
    finally:
        tab.context.close()


def test_a_reference_joins_a_studio_thread_from_the_generate_tab(
    page: Any, server: Server, tmp_path: Path
) -> None:
    admin = {"Authorization": f"Bearer {home_token(server.home)}"}
    brief = {"messages": [{"role": "user", "content": "a lighthouse at dusk"}]}
    settings = {"auto_approve": True, "deliverables": ["hero 16:9"]}
    with httpx.Client(base_url=server.url, headers=admin, timeout=120) as api:
        tid = api.post("/threads", json={"metadata": {"title": "Lighthouse"}}).json()["thread_id"]
        api.post(f"/threads/{tid}/runs/wait", json={"input": {**brief, "settings": settings}})
        before = len(api.get(f"/threads/{tid}/outputs").json()["items"])
    ref = tmp_path / "ref.png"
    ref.write_bytes(png_bytes((120, 80), (30, 150, 80)))
    open_lab(page, server)
    page.locator("#panel-generate input[type=file]").set_input_files(str(ref))
    expect(page.locator("#panel-generate .upload")).to_contain_text("ref.png")
    page.locator("#panel-generate select[name=thread_id]").select_option(tid)
    page.locator("#panel-generate").get_by_role("button", name="Generate", exact=True).click()
    made = job_card(page, "generate")
    expect(made.locator(".result img")).to_have_js_property("complete", True)
    with httpx.Client(base_url=server.url, headers=admin, timeout=30) as api:
        items = api.get(f"/threads/{tid}/outputs").json()["items"]
    assert len(items) == before + 1
    assert items[-1]["lineage"]["generator"].startswith("media lab generate")


def test_an_upscale_said_at_the_output_gate_can_be_picked_there(page: Any, server: Server) -> None:
    """D20: "upscale hero 2x" typed while the thread waits at its output gate: the job's result
    joins the thread after the gate asked; the gate card offers it ("hero · upscaled 2x") with
    a "make current" button, and picking it makes it current."""
    admin = {"Authorization": f"Bearer {home_token(server.home)}"}
    brief = {"messages": [{"role": "user", "content": "a lighthouse at dusk"}]}
    settings = {"auto_approve": False, "deliverables": ["hero 16:9"]}
    with httpx.Client(base_url=server.url, headers=admin, timeout=120) as api:
        tid = api.post("/threads", json={"metadata": {"title": "Upscale"}}).json()["thread_id"]
        api.post(f"/threads/{tid}/runs/wait", json={"input": {**brief, "settings": settings}})
        approve = {"command": {"resume": {"action": "approve"}}}
        waiting = api.post(f"/threads/{tid}/runs/wait", json=approve).json()
        assert waiting["__interrupt__"][0]["value"]["gate"] == "output", waiting
        [hero] = api.get(f"/threads/{tid}/outputs").json()["items"]
    page.goto(f"{server.url}/t/{tid}")
    gate = page.locator("#gate .output[data-deliverable='hero']")
    expect(gate).to_have_attribute("data-asset-id", hero["asset_id"])
    box = page.get_by_label("Message the team")
    box.fill("upscale hero 2x")
    box.press("Enter")
    offered = gate.locator(".variant", has_text="hero · upscaled 2x")
    expect(offered).to_contain_text("make current", timeout=DONE)
    tile = page.locator("#gallery .tile", has_text="upscaled 2x")
    expect(tile).to_be_visible()
    expect(tile.locator(".badge.superseded")).to_have_count(0)  # nothing superseded it
    shot(page, "media-chat-1-offered")
    offered.click()
    expect(offered).to_have_attribute("aria-pressed", "true", timeout=30_000)
    with httpx.Client(base_url=server.url, headers=admin, timeout=30) as api:
        items = api.get(f"/threads/{tid}/outputs").json()["items"]
    [made] = [i for i in items if i["asset_id"] != hero["asset_id"]]
    assert (made["width"], made["height"]) == (2 * hero["width"], 2 * hero["height"])
    expect(gate).to_have_attribute("data-asset-id", made["asset_id"])
    expect(gate.locator(".iter")).to_have_text("upscaled 2x")
    expect(tile.locator(".badge.current")).to_be_visible()
    shot(page, "media-chat-2-picked")
