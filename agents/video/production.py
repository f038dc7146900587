"""The moving parts: Frame's clips, the voice track with its captions, the final cut."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from typing import Any

import numpy as np
from langchain_core.messages import AIMessage
from langgraph.runtime import Runtime

from adapters.errors import GenerationCancelled, GenerationFailed
from adapters.media.captions import Cue, webvtt
from adapters.media.cut import ENCODER, Shot, cut, probe
from adapters.media.motion import asked_move, asked_speed
from adapters.media.speech import read_wav, wav_bytes
from adapters.specs import GenerationSpec
from agents.generate import job_id as image_job_id
from agents.video.work import asset_ref, job_id, keep
from graph.context import StudioContext, thread_of
from graph.emit import emit
from graph.video_settings import DEFAULT_MAX_VIDEO_SECONDS
from graph.video_stages import add_version, next_version, output, request

MAX_SPEED = 1.8
"""The fastest a line is spoken to fit its slot; past it Lens reports the overrun."""


async def _bytes(context: StudioContext, asset_id: str) -> bytes:
    record = await context.assets.get(asset_id)
    if record is None:
        raise GenerationFailed(f"asset {asset_id} is missing from the asset store")
    return await context.assets.read_bytes(record)


def directed(
    scenes: list[dict[str, Any]], before: dict[str, Any], scope: str, feedback: str
) -> tuple[list[dict[str, Any]], list[str]]:
    """The scenes with the camera move and speed the person asked for: feedback naming a move
    ("pan instead of push in") or a speed ("slower") changes the scenes it names (`s2`, "scene 2",
    or the gate's scene), else every scene; a scene directed before keeps its directed move.
    Also which scenes this feedback changed."""
    move, speed = asked_move(feedback), asked_speed(feedback)
    named = {f"s{n}" for n in re.findall(r"\b(?:s|scene\s+)(\d{1,2})\b", feedback.lower())}
    ids = {s["id"] for s in scenes}
    targets = {scope} if scope in ids else (named & ids) or ids
    out, changed = [], []
    for scene in scenes:
        old = before.get(scene["id"]) or {}
        if old.get("directed"):  # an earlier direction holds until another replaces it
            scene = {**scene, "move": old["move"], "speed": float(old.get("speed", 1.0))}
            scene["directed"] = True
        if scene["id"] in targets and (move or speed):
            scene = {**scene, "directed": True}
            scene["move"] = move or scene["move"]
            scene["speed"] = speed or float(scene.get("speed", 1.0))
            changed.append(scene["id"])
        out.append(scene)
    return out, changed


async def animate_scenes(state: Any, runtime: Runtime[StudioContext]) -> dict[str, Any]:
    """A clip per scene: the shot's camera move over its keyframe, for the scene's seconds.
    A scene whose keyframe, move, speed and length did not change keeps its clip; feedback that
    names a camera move or a speed changes the clips it names (`directed`)."""
    started = time.monotonic()
    context, video, thread = runtime.context, state["video"], thread_of(runtime)
    keyframes = output(video, "visuals")["keyframes"]
    before = output(video, "animation").get("clips") or {}
    scope, feedback = request(video, "animation")
    scenes, changed = directed(output(video, "scenes")["scenes"], before, scope, feedback)
    version = next_version(video, "animation")
    fps, width, height = int(video["fps"]), int(video["width"]), int(video["height"])
    clips, animator = {}, context.media.animator_for(context.images)
    spent = float((video.get("spent") or {}).get("video_seconds", 0.0))
    budget = float(video.get("max_video_seconds") or DEFAULT_MAX_VIDEO_SECONDS)
    animated = sum(  # the seconds this version animates: every clip it does not keep
        float(s["seconds"])
        for s in scenes
        if not _kept(before.get(s["id"]), keyframes[s["id"]], s, fps, width, height)
    )
    if spent + animated > budget:
        raise GenerationFailed(
            f"the seconds-of-video budget is used ({spent:g} of {budget:g} seconds animated; "
            f"these clips need {animated:g} s); raise settings.video.max_video_seconds"
        )
    for scene in scenes:
        key = keyframes[scene["id"]]
        wanted = _wanted(key, scene, fps, width, height)
        old = before.get(scene["id"])
        if old and _kept(old, key, scene, fps, width, height):
            clips[scene["id"]] = old
            continue
        part = scene["id"]
        record = await context.assets.by_job(job_id(thread, "animation", part, version))
        if record is None:  # not made before a crash: make it now (the rest are kept)
            job = image_job_id(thread, f"video-clip-{part}", version, 0)
            progress = {"job_id": job, "deliverable": f"clip {part}", "stage": "animation"}
            emit("progress", **progress, fraction=0.0)
            try:
                clip = await animator.animate(
                    await _bytes(context, key["asset_id"]),
                    GenerationSpec.model_validate(key["spec"]),
                    move=scene["move"],
                    seconds=float(scene["seconds"]),
                    fps=fps,
                    width=width,
                    height=height,
                    layered=key["made_by"] == "renderer",
                    job_id=job,
                    speed=float(scene.get("speed", 1.0)),
                )
            except (asyncio.CancelledError, GenerationCancelled):
                await asyncio.shield(context.images.cancel(job))  # leave no orphan job behind
                raise
            record = await keep(
                context,
                clip.mp4,
                thread_id=thread,
                name="animation",
                part=part,
                version=version,
                content_type="video/mp4",
                made_by=clip.engine,
                size=(width, height),
                recipe={**wanted, "frames": clip.frames},
            )
            emit("progress", **progress, fraction=1.0)
        clips[scene["id"]] = asset_ref(record, **wanted)
    engines = clips_made_by([s["id"] for s in scenes], clips)
    text = f"Frame: {len(clips)} clips, one camera move per scene ({'; '.join(engines)})."
    if changed:
        moves = ", ".join(f"{i} {_move_words(clips[i])}" for i in changed)
        text += f" As asked: {moves}."
    elif feedback.strip():
        text += (
            " The feedback names no camera move (push in, pull out, pan, tilt, parallax, hold) "
            "or speed (slower, faster), so the moves are as they were."
        )
    made = add_version(video, "animation", {"clips": clips}, made_by=engines, started=started)
    made["spent"] = {**(video.get("spent") or {}), "video_seconds": spent + animated}
    return {"video": made, "messages": [AIMessage(text, name="composition")]}


def _wanted(
    key: dict[str, Any], scene: dict[str, Any], fps: int, width: int, height: int
) -> dict[str, Any]:
    """What a scene's clip is made from: its keyframe, move and speed, length, rate and size."""
    return {
        "keyframe": key["asset_id"],
        "move": scene["move"],
        "speed": float(scene.get("speed", 1.0)),
        "directed": bool(scene.get("directed")),
        "seconds": float(scene["seconds"]),
        "fps": fps,
        "size": [width, height],
    }


def clips_made_by(order: list[str], clips: dict[str, Any]) -> list[str]:
    """Who made the clips, per scene in scene order: each scene's move, grouped by the engine
    that made it ("s1 push in, s2 hold: built-in camera move (parallax over renderer depth
    layers)"), then the encoder once."""
    groups: dict[str, list[str]] = {}
    encoders: list[str] = []
    for scene in order:
        clip = clips[scene]
        label = str(clip["made_by"])
        if f"; {ENCODER}" in label:
            label = label.replace(f"; {ENCODER}", "")
            encoders = [ENCODER]
        raw = re.escape(str(clip["move"]).replace("_", " "))
        label = re.sub(rf"\({raw}(?:, (?:slower|faster))?, ", "(", label)  # said per scene
        groups.setdefault(label, []).append(f"{scene} {_move_words(clip)}")
    return [f"{', '.join(moves)}: {label}" for label, moves in groups.items()] + encoders


def _move_words(clip: dict[str, Any]) -> str:
    speed = float(clip.get("speed", 1.0))
    pace = "" if speed == 1.0 else (" (slower)" if speed < 1.0 else " (faster)")
    return f"{str(clip['move']).replace('_', ' ')}{pace}"


def _kept(
    old: dict[str, Any] | None,
    key: dict[str, Any],
    scene: dict[str, Any],
    fps: int,
    width: int,
    height: int,
) -> bool:
    """Whether the last version's clip of a scene is kept (nothing it was made from changed)."""
    wanted = _wanted(key, scene, fps, width, height)
    was = {"speed": 1.0, "directed": False, **(old or {})}  # clips made before speeds existed
    return bool(old) and all(was.get(k) == v for k, v in wanted.items())


async def speak_lines(state: Any, runtime: Runtime[StudioContext]) -> dict[str, Any]:
    """The voice track: each line spoken (faster when it must fit its slot) and placed at
    its start; the captions as a WebVTT track with the same timing."""
    started = time.monotonic()
    context, video, thread = runtime.context, state["video"], thread_of(runtime)
    lines = output(video, "script")["lines"]
    total = float(video["seconds"])
    version = next_version(video, "voice")
    speech, voice = context.media.speech, str(video.get("voice") or "")
    spent = int((video.get("spent") or {}).get("tts_chars", 0))
    budget = int(video.get("max_tts_chars") or 4000)
    chars = sum(len(line["text"]) for line in lines)
    if spent + chars > budget:
        raise GenerationFailed(
            f"the voice budget is used ({spent} of {budget} characters spoken); raise "
            "settings.video.max_tts_chars to speak this script"
        )
    placed, rate, track, engine = [], 0, np.zeros(0, np.int16), ""
    for line in lines:
        slot = float(line["end"]) - float(line["start"])
        spoken = await speech.say(line["text"], voice=voice)
        speed = 1.0
        if spoken.seconds > slot:
            speed = min(MAX_SPEED, spoken.seconds / slot * 1.05)
            spoken = await speech.say(line["text"], voice=voice, speed=speed)
            chars += len(line["text"])
        if rate == 0:
            rate, engine = spoken.sample_rate, spoken.engine
            track = np.zeros(int(total * rate), np.int16)
        start = int(float(line["start"]) * rate)
        piece = spoken.samples[: max(0, len(track) - start)]
        track[start : start + len(piece)] = piece
        placed.append({**line, "spoken": round(spoken.seconds, 3), "speed": round(speed, 2)})
    cues = [Cue(float(p["start"]), float(p["end"]), p["text"]) for p in placed]
    audio = await keep(
        context,
        wav_bytes(track, rate or 22050),
        thread_id=thread,
        name="voice",
        part="track",
        version=version,
        content_type="audio/wav",
        made_by=engine or speech.name,
    )
    captions = await keep(
        context,
        webvtt(cues).encode(),
        thread_id=thread,
        name="voice",
        part="captions",
        version=version,
        content_type="text/vtt",
        made_by="studio captions (WebVTT)",
    )
    out = {
        "track": asset_ref(audio, seconds=total, sample_rate=rate),
        "captions": asset_ref(captions),
        "lines": placed,
        "tts_chars": chars,
    }
    text = f"Saga: the voice track, {len(placed)} lines spoken by {engine or speech.name}."
    return {
        "video": {
            **add_version(video, "voice", out, made_by=[engine or speech.name], started=started),
            "spent": {**(video.get("spent") or {}), "tts_chars": spent + chars},
        },
        "messages": [AIMessage(text, name="story")],
    }


async def render_cut(state: Any, runtime: Runtime[StudioContext]) -> dict[str, Any]:
    """The final cut: every clip at its scene's length, captions (burned in unless a track
    was asked for), the voice mixed under it; H.264 + AAC in an MP4, probed by decoding."""
    started = time.monotonic()
    context, video, thread = runtime.context, state["video"], thread_of(runtime)
    scenes = output(video, "scenes")["scenes"]
    clips = output(video, "animation")["clips"]
    voiced = output(video, "voice")
    fps, width, height = int(video["fps"]), int(video["width"]), int(video["height"])
    version = next_version(video, "render")
    record = await context.assets.by_job(job_id(thread, "render", "cut", version))
    if record is None:
        shots = [
            Shot(await _bytes(context, clips[s["id"]]["asset_id"]), float(s["seconds"]))
            for s in scenes
        ]
        samples, rate = read_wav(await _bytes(context, voiced["track"]["asset_id"]))
        burned = video.get("captions", "burned") == "burned"
        cues = [Cue(float(x["start"]), float(x["end"]), x["text"]) for x in voiced["lines"]]
        stop = threading.Event()
        try:
            mp4 = await asyncio.to_thread(
                cut,
                shots,
                fps=fps,
                width=width,
                height=height,
                voice=(samples, rate),
                captions=cues if burned else [],
                stop=stop,
            )
        except asyncio.CancelledError:
            stop.set()  # the encoder's thread ends at the next scene boundary
            raise
        record = await keep(
            context,
            mp4,
            thread_id=thread,
            name="render",
            part="cut",
            version=version,
            content_type="video/mp4",
            made_by=ENCODER,
            size=(width, height),
            recipe={"captions": "burned" if burned else "track", "fps": fps},
        )
    found = await asyncio.to_thread(probe, await context.assets.read_bytes(record))
    out = {
        "cut": asset_ref(record, captions=video.get("captions", "burned")),
        "captions": voiced["captions"],
        "probe": {
            "seconds": round(found.seconds, 3),
            "fps": found.fps,
            "width": found.width,
            "height": found.height,
            "frames": found.frames,
            "video_codec": found.video_codec,
            "audio_codec": found.audio_codec,
            "sample_rate": found.sample_rate,
        },
    }
    text = (
        f"Pixel: the final cut, {found.seconds:.1f} s at {found.fps:g} fps, "
        f"{found.width}x{found.height}, {found.video_codec} + {found.audio_codec}."
    )
    return {
        "video": add_version(video, "render", out, made_by=[record.generator], started=started),
        "messages": [AIMessage(text, name="director")],
    }
