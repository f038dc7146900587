"""Lens reviews each stage from measurements: timing, pixels, motion, loudness, the cut itself.

Every finding names what was measured and the target (`key: words (measured x, target y)`),
so nothing here is invented; what cannot be measured is not claimed.
"""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
from langchain_core.messages import AIMessage
from langgraph.runtime import Runtime

from adapters import pixels
from adapters.media.captions import overlay
from adapters.media.cut import decode, decode_audio, probe
from adapters.media.levels import levels
from adapters.media.speech import WORDS_PER_SECOND, read_wav
from adapters.render_vocab import cannot_draw_line
from agents.lens import undrawn_names
from graph import directions
from graph.context import StudioContext
from graph.video_stages import NAMES, latest, output, with_review

MAX_WORDS_PER_SECOND = 3.2
MAX_GAP_S = 2.5
LOUDNESS_DB = (-30.0, -6.0)
DRIFT_LIMIT = 0.5
MIN_CAPTION_CONTRAST = 0.5


def _frames(data: bytes) -> list[Any]:
    return list(decode(data))


def finding(key: str, words: str, measured: float, target: float) -> str:
    return f"{key}: {words} (measured {measured:.2f}, target {target:.2f})"


def _scenes(out: dict[str, Any], video: dict[str, Any]) -> tuple[dict[str, float], list[str]]:
    total = sum(float(s["seconds"]) for s in out["scenes"])
    target = float(video["seconds"])
    found = []
    if abs(total - target) > 0.5:
        found.append(finding("timing", "scenes do not add up to the target", total, target))
    return {"seconds": total, "scenes": len(out["scenes"])}, found


def _script(out: dict[str, Any], video: dict[str, Any]) -> tuple[dict[str, float], list[str]]:
    found = [
        finding(
            f"pace {line['scene']}",
            "too many words for the slot",
            line["words_per_second"],
            MAX_WORDS_PER_SECOND,
        )  # fmt: skip
        for line in out["lines"]
        if line["words_per_second"] > MAX_WORDS_PER_SECOND
    ]
    for line in out["lines"]:  # the voice speaks about WORDS_PER_SECOND: the rest is silence
        silent = float(line["end"]) - float(line["start"]) - line["words"] / WORDS_PER_SECOND
        if silent > MAX_GAP_S:
            words = f"too few words: the voice goes silent for about {silent:.1f} s of the slot"
            found.append(finding(f"silence {line['scene']}", words, silent, MAX_GAP_S))
    end = max((float(line["end"]) for line in out["lines"]), default=0.0)
    if end > float(video["seconds"]) + 0.01:
        found.append(finding("timing", "the script runs past the video", end, video["seconds"]))
    fastest = max((line["words_per_second"] for line in out["lines"]), default=0.0)
    return {"lines": len(out["lines"]), "fastest_words_per_second": fastest, "ends_at": end}, found


async def undrawn_by_scene(
    context: StudioContext, state: Any, keyframes: dict[str, Any]
) -> dict[str, list[str]]:
    """Per scene, what the keyframe's renderer says it could not draw of what the person asked
    for that scene (the brief and the directions in its scope): its recipe's `cannot_draw`,
    as Lens reads it for the image format (`agents.lens.undrawn_names`)."""
    found: dict[str, list[str]] = {}
    for scene, key in sorted(keyframes.items()):
        record = await context.assets.get(key["asset_id"])
        if record is not None:
            names = undrawn_names(record.recipe, directions.brief_text(state, scene))
            if names:
                found[scene] = names
    return found


def undrawn_findings(undrawn: dict[str, list[str]]) -> list[str]:
    """Lens's findings for `not_drawn`: each scene and what it does not show."""
    return [
        f"not drawn {scene}: {', '.join(names)} (this renderer cannot draw "
        f"{'it' if len(names) == 1 else 'them'})"
        for scene, names in undrawn.items()
    ]


async def _visuals(
    context: StudioContext, out: dict[str, Any], look: dict[str, Any], undrawn: dict[str, Any]
) -> Any:
    measured: dict[str, float] = {}
    items, found = [], undrawn_findings(undrawn)
    for scene, key in sorted(out["keyframes"].items()):
        measured[f"{scene}.not_drawn"] = float(len(undrawn.get(scene, [])))
        record = await context.assets.get(key["asset_id"])
        if record is None:
            continue
        m = pixels.measure(await context.assets.read_bytes(record))
        items.append((scene, m))
        measured[f"{scene}.brightness"] = round(m.brightness, 3)
        if look.get("palette"):
            gap = pixels.palette_distance(m.dominant, list(look["palette"]))
            measured[f"{scene}.palette_distance"] = round(gap, 3)
    report = pixels.drift(items) if len(items) > 1 else {"drift": 0.0, "flags": []}
    measured["drift"] = float(report["drift"])  # type: ignore[arg-type]
    if measured["drift"] > DRIFT_LIMIT:
        found.append(finding("drift", "scenes drift apart", measured["drift"], DRIFT_LIMIT))
    found += [f"drift: {flag}" for flag in report["flags"]]  # type: ignore[attr-defined]
    return measured, found


async def _clips(context: StudioContext, out: dict[str, Any]) -> Any:
    measured: dict[str, float] = {}
    found = []
    for scene, clip in sorted(out["clips"].items()):
        record = await context.assets.get(clip["asset_id"])
        if record is None:
            continue
        data = await context.assets.read_bytes(record)
        got = await asyncio.to_thread(probe, data)
        frames = await asyncio.to_thread(_frames, data)
        motion = float(np.abs(frames[0].astype(int) - frames[-1].astype(int)).mean()) / 255
        measured[f"{scene}.seconds"] = round(got.seconds, 3)
        measured[f"{scene}.motion"] = round(motion, 4)
        if abs(got.seconds - float(clip["seconds"])) > 1 / max(1, got.fps):
            found.append(finding(f"length {scene}", "clip length is off", got.seconds,
                                 clip["seconds"]))  # fmt: skip
        if motion < 0.002 and clip["move"] != "hold":
            found.append(finding(f"motion {scene}", "the camera barely moves", motion, 0.002))
    return measured, found


async def _voice(context: StudioContext, out: dict[str, Any]) -> Any:
    record = await context.assets.get(out["track"]["asset_id"])
    assert record is not None, "the voice track was stored by this leg"
    samples, rate = read_wav(await context.assets.read_bytes(record))
    got = levels(samples, rate, min_gap_s=MAX_GAP_S)
    measured = {"loudness_db": got.rms_db, "peak_db": got.peak_db, "longest_gap": got.longest_gap}
    found = []
    low, high = LOUDNESS_DB
    if not low <= got.rms_db <= high:
        found.append(finding("loudness", "voice level out of range", got.rms_db, -16.0))
    found += [finding("silence", f"a silent gap at {a:.1f} s", b - a, MAX_GAP_S)
              for a, b in got.gaps]  # fmt: skip
    for line in out["lines"]:
        slot = float(line["end"]) - float(line["start"])
        if line["spoken"] > slot + 0.05:
            found.append(finding(f"overrun {line['scene']}", "the line is longer than its slot",
                                 line["spoken"], slot))  # fmt: skip
    return measured, found


async def _render(
    context: StudioContext, out: dict[str, Any], video: dict[str, Any], undrawn: dict[str, Any]
) -> Any:
    p = out["probe"]
    measured = {k: float(p[k]) for k in ("seconds", "fps", "width", "height", "frames")}
    found = []
    cut_record = await context.assets.get(out["cut"]["asset_id"])
    assert cut_record is not None, "the cut was stored by this leg"
    cut_data = await context.assets.read_bytes(cut_record)
    sound = await asyncio.to_thread(decode_audio, cut_data)
    if sound is not None:  # the cut's own sound: a silent gap the voice had is still in it
        got = levels(*sound, min_gap_s=MAX_GAP_S)
        measured["longest_gap"] = got.longest_gap
        found += [finding("silence", f"the cut goes silent at {a:.1f} s", b - a, MAX_GAP_S)
                  for a, b in got.gaps]  # fmt: skip
    measured["not_drawn"] = float(sum(len(names) for names in undrawn.values()))
    found += undrawn_findings(undrawn)
    if abs(p["seconds"] - float(video["seconds"])) > 0.1:
        found.append(finding("duration", "the cut's length is off", p["seconds"], video["seconds"]))
    if p["fps"] != int(video["fps"]):
        found.append(finding("fps", "frame rate is off", p["fps"], video["fps"]))
    if (p["width"], p["height"]) != (int(video["width"]), int(video["height"])):
        found.append(finding("size", "resolution is off", p["width"], video["width"]))
    if p["video_codec"] != "h264" or p["audio_codec"] != "aac":
        found.append(f"streams: expected h264 + aac, found {p['video_codec']} + "
                     f"{p['audio_codec']}")  # fmt: skip
    voice = latest(video, "voice")
    lines = (voice or {}).get("output", {}).get("lines") or []
    if out["cut"].get("captions") == "burned" and lines:
        line = lines[0]
        index = int((float(line["start"]) + float(line["end"])) / 2 * int(video["fps"]))
        frames = await asyncio.to_thread(_frames, cut_data)
        frame = frames[min(index, len(frames) - 1)]
        left, top, right, bottom = overlay(line["text"], frame.shape[1], frame.shape[0]).box
        band = frame[max(0, top) : bottom, max(0, left) : right].astype(float) @ [
            0.299,
            0.587,
            0.114,
        ]
        contrast = float((np.percentile(band, 98) - np.percentile(band, 2)) / 255)
        measured["caption_contrast"] = round(contrast, 3)
        if contrast < MIN_CAPTION_CONTRAST:
            found.append(finding("captions", "caption text does not stand out", contrast,
                                 MIN_CAPTION_CONTRAST))  # fmt: skip
    return measured, found


async def review_stage(state: Any, runtime: Runtime[StudioContext]) -> dict[str, Any]:
    """Lens measures the stage's newest version and says what it found."""
    context, video = runtime.context, state["video"]
    name = str(video["stage"])
    entry = latest(video, name) or {"output": {}}
    out = entry["output"]
    keyframes = output(video, "visuals").get("keyframes") or {}
    # what the keyframes could not draw of what was asked: said at the keyframes and the cut
    undrawn = (
        await undrawn_by_scene(context, state, keyframes) if name in ("visuals", "render") else {}
    )
    if name == "scenes":
        measured, found = _scenes(out, video)
    elif name == "script":
        measured, found = _script(out, video)
    elif name == "visuals":
        look = (latest(video, "scenes") or {}).get("output", {}).get("look") or {}
        measured, found = await _visuals(context, out, look, undrawn)
    elif name == "animation":
        measured, found = await _clips(context, out)
    elif name == "voice":
        measured, found = await _voice(context, out)
    else:
        measured, found = await _render(context, out, video, undrawn)
    verdict = "; ".join(found) if found else "everything I measured is within target"
    text = f"Lens on the {NAMES[name]} (version {entry.get('version', 1)}): {verdict}."
    if limits := cannot_draw_line(list(dict.fromkeys(n for v in undrawn.values() for n in v))):
        text += f" {limits}"
    review = {"findings": found, "measurements": measured, "by": "Lens (measured)"}
    return {
        "video": with_review(video, name, review),
        "messages": [AIMessage(text, name="critic")],
        "phase": "awaiting_approval",  # the stage waits at its gate (or is accepted at once)
    }
