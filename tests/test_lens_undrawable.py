"""Lens is honest when the built-in renderer cannot draw what the brief or feedback asks for:
the recipe's `cannot_draw` lists it, Lens names it and caps the score, the message says so
(video keyframes and the final cut, launch thumbnails); the cut's own silence is measured."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from adapters.media.cut import decode_audio, encode
from adapters.media.levels import levels
from adapters.pixels import MISSING_CAP
from adapters.render_vocab import cannot_draw_line, undrawable
from adapters.render_words import subject_kind
from adapters.renderer import Renderer, read_recipe
from adapters.specs import GenerationSpec
from agents.launch.readability import assess
from agents.video.review import MAX_GAP_S
from tests.launch_helpers import Clock, launch_context, to_gate
from tests.studio_helpers import config, fresh_graph, pending_gate, resume, run, start

pytestmark = pytest.mark.anyio

KETTLE = "a 12-second product ad for Aurora, a quiet electric kettle"
STEAM = "show the kettle on a kitchen counter with steam rising"
CUP = "show an espresso cup and a portafilter instead of a bottle"


def test_the_renderer_names_kettles_cups_and_rooms_it_cannot_draw() -> None:
    assert undrawable(KETTLE) == ["kettle"]  # "Aurora" names the product: not the sky's aurora
    assert undrawable("an aurora over a frozen lake") == ["aurora"]
    assert undrawable(STEAM) == ["kettle", "kitchen counter", "steam"]
    # the one object silhouette is a bottle: an asked-for cup drawn as a bottle is not drawn
    assert undrawable(CUP) == ["espresso cup", "portafilter"]
    assert undrawable("a bottle on a backdrop, a steaming mug") == ["mug"]
    assert undrawable("night, dark blue laboratory") == ["laboratory"]
    assert undrawable('closing shot, product name "Aurora"') == []  # lettered, not drawn
    assert subject_kind("quiet electric kettle") == "placeholder"  # not a person


def test_one_line_says_what_the_built_in_renderer_cannot_draw() -> None:
    assert cannot_draw_line([]) == ""
    assert cannot_draw_line(["giraffe"]).startswith(
        "The built-in renderer cannot draw a giraffe; the prompt carries it for ComfyUI"
    )
    line = cannot_draw_line(["kettle", "kitchen counter", "steam"])
    assert "cannot draw a kettle, a kitchen counter or steam; the prompt carries them" in line
    assert "COMFYUI_URL" in line


async def test_the_recipe_lists_the_kettle_it_could_not_draw() -> None:
    spec = GenerationSpec(
        deliverable="s1",
        prompt=f"{KETTLE}, quiet electric kettle on the left third, {STEAM}",
        subject="quiet electric kettle",
        width=320,
        height=184,
    )
    images = await Renderer().generate(spec, job_id="k", on_progress=lambda f, p: None)
    drawn = read_recipe(images[0].png)["drawn"]
    assert isinstance(drawn, dict)
    assert drawn["cannot_draw"] == ["kettle", "kitchen counter", "steam"]
    assert drawn["subject"] == "placeholder"


def _thumbnail(recipe_cannot: list[str]) -> tuple[bytes, dict[str, Any]]:
    image = Image.new("RGB", (768, 432), (250, 214, 10))
    for y in range(40, 140):  # a dark band where the title is lettered
        for x in range(60, 700, 3):
            image.putpixel((x, y), (10, 10, 10))
    out = io.BytesIO()
    image.save(out, format="PNG")
    drawn = {"text": "HOME ESPRESSO", "text_box": [60, 40, 700, 140], "cannot_draw": recipe_cannot}
    return out.getvalue(), {"drawn": drawn}


def test_a_thumbnail_missing_the_asked_cup_is_capped_and_says_so() -> None:
    png, recipe = _thumbnail([])
    clean = assess(png, recipe, "Home espresso", CUP)
    assert clean["score"] > MISSING_CAP and clean["undrawn"] == []
    png, recipe = _thumbnail(["espresso cup", "portafilter"])
    capped = assess(png, recipe, "Home espresso", CUP)
    assert capped["score"] <= MISSING_CAP < capped["uncapped"]
    assert capped["undrawn"] == ["espresso cup", "portafilter"]
    assert "not drawn: espresso cup (this renderer cannot draw it)" in capped["reasons"]
    # what the team's own style prompt names but nobody asked for does not cap it
    assert assess(png, recipe, "Home espresso", "darker background")["undrawn"] == []


async def test_launch_thumbnail_regenerated_for_a_cup_says_the_renderer_cannot_draw_it(
    database: Any, tmp_path: Path
) -> None:
    graph = fresh_graph(database.saver)
    context = launch_context(database.pool, tmp_path / "assets", Clock())
    tid = "11111111-2222-3333-4444-555555555555"
    await to_gate(graph, context, tid, "selection")
    decision = {"action": "regenerate", "deliverable": "product-demo", "feedback": CUP}
    await resume(graph, decision, tid, context)
    gate = await pending_gate(graph, tid)
    assert gate is not None and gate["gate"] == "selection"
    thumbs = {t["variant"]: t for t in gate["thumbnails"]}
    demo = thumbs["product-demo"]
    record = await context.assets.get(demo["asset_id"])
    assert record is not None
    assert record.recipe["drawn"]["cannot_draw"][:2] == ["espresso cup", "portafilter"]
    assert demo["readability"]["score"] <= MISSING_CAP
    assert demo["readability"]["undrawn"] == ["espresso cup", "portafilter"]
    assert thumbs["bold-text"]["readability"]["score"] > MISSING_CAP  # nothing asked of it
    state = dict((await graph.aget_state(config(tid))).values)
    lens = [m.content for m in state["messages"] if m.type == "ai" and m.name == "critic"][-1]
    assert "not drawn: espresso cup" in lens
    assert "The built-in renderer cannot draw an espresso cup or a portafilter" in lens


async def test_video_lens_names_the_kettle_and_hears_the_cuts_silence(
    graph: Any, context: Any, tid: str
) -> None:
    small = {"fps": 4, "height": 180, "scenes": 2}
    await run(graph, start(KETTLE, format="video", video=small), tid, context)
    await resume(graph, {"action": "accept"}, tid, context)  # the scenes
    # a one-word line the person asked for is kept as asked: its scene goes mostly silent
    short = {"action": "regenerate", "deliverable": "s1", "feedback": "say Aurora"}
    await resume(graph, short, tid, context)
    at = await pending_gate(graph, tid)
    assert at is not None and at["stage"] == "script", at
    assert any(f.startswith("silence s1: too few words") for f in at["review"]["findings"])
    await resume(graph, {"action": "accept"}, tid, context)
    at = await pending_gate(graph, tid)
    assert at is not None and at["stage"] == "visuals"
    findings = at["review"]["findings"]
    assert "not drawn s1: kettle (this renderer cannot draw it)" in findings, findings
    assert at["review"]["measurements"]["s1.not_drawn"] == 1.0
    decision = {"action": "regenerate", "deliverable": "s1", "feedback": STEAM}
    await resume(graph, decision, tid, context)
    at = await pending_gate(graph, tid)
    assert at is not None and at["stage"] == "visuals" and at["version"] == 2
    findings = at["review"]["findings"]
    assert "not drawn s1: kettle, kitchen counter, steam (this renderer cannot draw them)" in (
        findings
    ), findings
    assert "not drawn s2: kettle (this renderer cannot draw it)" in findings  # kept, still none
    state = dict((await graph.aget_state(config(tid))).values)
    lens = [m.content for m in state["messages"] if m.type == "ai" and m.name == "critic"][-1]
    assert "within target" not in lens
    assert "The built-in renderer cannot draw a kettle, a kitchen counter or steam" in lens
    for _ in ("visuals", "animation", "voice"):
        await resume(graph, {"action": "accept"}, tid, context)
    at = await pending_gate(graph, tid)
    assert at is not None and at["stage"] == "render"
    voice = dict((await graph.aget_state(config(tid))).values)["video"]["stages"]["voice"]
    voice_gaps = [f for f in voice["versions"][-1]["review"]["findings"] if "silent" in f]
    cut = Path(at["output"]["cut"]["path"]).read_bytes()
    sound = decode_audio(cut)
    assert sound is not None
    heard = levels(*sound, min_gap_s=MAX_GAP_S).gaps
    findings = at["review"]["findings"]
    said = [f for f in findings if f.startswith("silence")]
    # the cut carries the voice's gaps: the render review says so from the cut's own sound
    assert voice_gaps and said and len(said) == len(heard), (said, voice_gaps)
    assert any(f.startswith("not drawn s1: kettle") for f in findings)
    assert at["review"]["measurements"]["not_drawn"] >= 2


def test_decode_audio_finds_the_silence_in_a_cut() -> None:
    rate, fps, w, h = 16000, 4, 64, 48
    tone = (np.sin(np.arange(rate) / rate * 2 * np.pi * 300) * 12000).astype(np.int16)
    track = np.concatenate([tone, np.zeros(rate * 3, np.int16), tone])  # 1 s, 3 s quiet, 1 s
    mp4 = encode([np.zeros((h, w, 3), np.uint8)] * fps * 5, fps=fps, width=w, height=h,
                 audio=(track, rate))  # fmt: skip
    sound = decode_audio(mp4)
    assert sound is not None and sound[1] == 44100
    gaps = levels(*sound, min_gap_s=MAX_GAP_S).gaps
    assert len(gaps) == 1 and 2.8 < gaps[0][1] - gaps[0][0] < 3.3, gaps
    assert (
        decode_audio(encode([np.zeros((h, w, 3), np.uint8)] * 4, fps=fps, width=w, height=h))
        is None
    )


def _lettering(height: int) -> bytes:
    """A flat thumbnail with a band of letter-like strokes `height` pixels tall (at 768x432)
    and no recipe: what an image model hands back."""
    image = Image.new("RGB", (768, 432), (250, 214, 10))
    top = 200 - height // 2
    for x in range(100, 660, 12):
        for dx in range(5):
            for y in range(top, top + height):
                image.putpixel((x + dx, y), (10, 10, 10))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def test_a_model_drawn_titles_height_is_measured_not_assumed() -> None:
    small, big = (assess(_lettering(h), {}, "Home espresso") for h in (28, 110))
    # 28 px at 768x432 is about 6 px at 168x94: too small to read; 110 px is about 24 px
    assert small["measurements"]["text_px"] < 9 < big["measurements"]["text_px"]
    assert any("too small" in r for r in small["reasons"])
    assert not any("too small" in r for r in big["reasons"])
    assert small["score"] < big["score"]
