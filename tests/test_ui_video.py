"""The video format in headless Chromium against a real server: the start form's format, every
stage gate with its media (scene cards, timed script, keyframe strip, clips, voice, the cut),
a regeneration with feedback and its version history, and the cut playing in the gallery,
each piece named as a person says it ("Scene s1 · clip") with Lens's review."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.ui_harness import Server, shot

ORDER = ["scenes", "script", "visuals", "animation", "voice", "render"]


def at_stage(page: Any, stage: str, version: int = 1) -> Any:
    card = "#gate[data-gate='stage']:not([hidden])"
    now = page.locator(f"{card} > .stage-progress > .now").first
    expect(now).to_have_attribute("data-stage", stage, timeout=120_000)
    expect(now).to_contain_text(f"v{version}", timeout=120_000)
    gate = page.locator(f"{card} > .stage-output[data-stage='{stage}']")
    expect(gate).to_be_visible()
    return gate


def test_a_video_session_walks_through_every_stage_gate(page: Any, server: Server) -> None:
    page.goto(server.url + "/")
    page.get_by_label("Title").fill("Aurora kettle ad")
    page.locator("textarea[name=description]").fill(
        "a 4-second product ad for Aurora, a quiet electric kettle"
    )
    page.get_by_label("Format").select_option("video")
    page.get_by_role("button", name="Start session").click()
    page.wait_for_url("**/t/*")

    scenes = at_stage(page, "scenes")
    expect(scenes.locator(".scene-card")).to_have_count(2)
    expect(page.locator("#phase")).to_have_text("Scenes v1 waiting for you")
    shot(page, "video-1-scenes")
    page.get_by_role("button", name="Accept").click()

    script = at_stage(page, "script")
    expect(script.locator("tr[data-scene]")).to_have_count(2)
    page.get_by_label("what to regenerate").select_option("s2")
    page.get_by_label("feedback").fill("say it boils in ninety seconds")
    page.get_by_role("button", name="Regenerate").click()
    script = at_stage(page, "script", 2)
    expect(script.locator("tr[data-scene='s2']")).to_contain_text("ninety seconds")
    expect(page.locator("#phase")).to_have_text("Script v2 waiting for you")
    expect(page.locator("#gate .versions details")).to_have_count(2)
    shot(page, "video-2-script-v2")
    page.get_by_role("button", name="Accept").click()

    visuals = at_stage(page, "visuals")
    expect(visuals.locator("img")).to_have_count(2)
    expect(visuals.locator("img").first).to_have_js_property("complete", True)
    shot(page, "video-3-keyframes")
    page.get_by_role("button", name="Accept").click()

    clips = at_stage(page, "animation")
    expect(clips.locator("video")).to_have_count(2)
    page.get_by_role("button", name="Accept").click()

    voice = at_stage(page, "voice")
    expect(voice.locator("audio")).to_have_count(1)
    page.get_by_role("button", name="Accept").click()

    cut = at_stage(page, "render")
    video = cut.locator("video.final-cut")
    expect(video).to_be_visible()
    page.wait_for_function(
        "() => document.querySelector('video.final-cut')?.readyState >= 1", timeout=30_000
    )
    duration = page.evaluate("() => document.querySelector('video.final-cut').duration")
    assert abs(duration - 4.0) < 0.2
    served = page.evaluate(
        """async () => {
          const src = document.querySelector('video.final-cut').src;
          const r = await fetch(src, { headers: { Range: 'bytes=0-99' } });
          return [r.status, r.headers.get('content-type'), (await r.arrayBuffer()).byteLength];
        }"""
    )
    assert served == [206, "video/mp4", 100]
    shot(page, "video-4-final-cut")
    page.get_by_role("button", name="Accept").click()
    expect(page.locator("#gate")).to_be_hidden(timeout=30_000)
    expect(page.locator(".tile video").first).to_be_attached(timeout=30_000)
    clip = page.locator(".tile[data-deliverable='video:animation:s1'] .tile-head")
    expect(clip).to_contain_text("Scene s1 · clip")  # a person's name, not the stored key
    expect(clip.locator(".iter")).to_have_text("version 1")
    expect(clip.locator(".score")).to_contain_text("Lens:")  # Lens reviewed the clips
    key = page.locator(".tile[data-deliverable='video:visuals:s2'] .tile-head strong")
    expect(key).to_have_text("Scene s2 · keyframe")
    cut = page.locator(".tile[data-deliverable='video:render:cut'] .tile-head strong")
    expect(cut).to_have_text("Final cut")
    gallery = page.locator("#gallery")
    expect(gallery).not_to_contain_text("video:")
    expect(gallery).not_to_contain_text("not scored yet")
    shot(page, "video-5-done")
