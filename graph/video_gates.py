"""The video's stage gate: after each stage, accept it, regenerate it (the whole stage or one
scene, with feedback), or stop.

`steer_video` is the one node of the studio graph between the video subgraph's legs: it takes
in the brief, pins what the person says as directions (`graph/directions.py`), asks at the
stage gate (`ask`, with the gate's `choices`, as in `graph/gates.py`) and sends the next leg.
A regenerated stage gets a new version (every version stays in the state, viewable) and marks
the stages after it stale; they are redone from it before the video is done.
"""

from __future__ import annotations

import re
from typing import Any

from langchain_core.messages import AIMessage
from langgraph.graph import END
from langgraph.runtime import Runtime
from langgraph.types import Command

from adapters.media.motion import asked_move, asked_speed
from graph import directions
from graph.budgets import exhausted, limits
from graph.context import StudioContext
from graph.emit import emit, phase
from graph.gates import GateAnswer, _resuming, ask, choices, heard, record
from graph.state import GATE_ACTIONS, StudioState, human_texts, valid_settings
from graph.video_brief import read_brief
from graph.video_settings import DEFAULT_MAX_VIDEO_SECONDS
from graph.video_stages import NAMES, ORDER, latest, mark_stale, next_stage, output, stage

ASPECTS = {"16:9": (16, 9), "9:16": (9, 16), "1:1": (1, 1), "4:5": (4, 5)}


def frame_size(aspect: str, height: int) -> tuple[int, int]:
    """Width and height (even, as H.264 needs) for an aspect at a frame height."""
    w, h = ASPECTS.get(aspect, (16, 9))
    width = int(round(height * w / h))
    return width - width % 2, height - height % 2


async def steer_video(state: StudioState, runtime: Runtime[StudioContext]) -> Command[Any]:
    """Start the video, hear the person, ask at the stage gate, or send the next leg."""
    video = state.get("video") or {}
    if not video.get("stage"):
        return begin(state)
    new = human_texts(state)[state.get("humans_seen", 0) :]
    if any(t.strip() for t in new):
        return hear(state, "\n".join(new))
    due = video.get("due")
    if due == "done":
        return Command(goto=END)
    if due == "gate":
        return stage_gate(state)
    lim = limits(state, runtime.context.defaults)
    if spent := exhausted(state, lim):
        return finish(state, "completed", spent[0], f"Stopping the video: {spent[1]}.")
    return Command(goto="video", update=phase("generating", f"making the {NAMES[video['stage']]}"))


def begin(state: StudioState) -> Command[Any]:
    """Take in the brief: video type, target duration, subject; the frame and voice."""
    texts = human_texts(state)
    brief = " ".join(t.strip() for t in texts if t.strip())
    options = valid_settings(state.get("settings")).get("video") or {}
    read = read_brief(brief, kind=options.get("type"), seconds=options.get("seconds"))
    budget = float(options.get("max_video_seconds") or DEFAULT_MAX_VIDEO_SECONDS)
    aspect = options.get("aspect") or ("9:16" if read.type == "social_media" else "16:9")
    height = int(options.get("height") or (640 if aspect == "9:16" else 360))
    width, height = frame_size(aspect, height)
    scenes = int(options.get("scenes") or max(2, min(6, round(read.seconds / 5))))
    video = {
        "type": read.type,
        "seconds": read.seconds,
        "subject": read.subject,
        "name": read.name,
        "fps": int(options.get("fps") or 24),
        "width": width,
        "height": height,
        "aspect": aspect,
        "scenes": scenes,
        "voice": options.get("voice") or "",  # the engine's own default voice
        "captions": options.get("captions") or "burned",
        "max_tts_chars": int(options.get("max_tts_chars") or 4000),
        "max_video_seconds": budget,
        "stage": "scenes",
        "due": "work",
        "stages": {},
        "request": None,
        "spent": {"tts_chars": 0, "video_seconds": 0.0},
    }
    if read.seconds > budget:  # a duration from the brief (the settings' own is checked)
        text = (
            f"A {read.seconds:g}-second video is over the seconds-of-video budget ({budget:g} s);"
            " ask for a shorter one or raise settings.video.max_video_seconds."
        )
        update = {"brief": brief, "humans_seen": len(texts), "video": video}
        return finish(state, "completed", "max_video_seconds", text, update)
    rest = ". ".join(directions.clauses(brief)[1:])
    kind = read.type.replace("_", " ")
    text = (
        f"A {read.seconds:g}-second {kind} video about {read.subject}: {scenes} scenes at "
        f"{width}x{height}, {video['fps']} fps. Stages: scenes, script, keyframes, animation, "
        "voice, final cut"
        + (", with a gate after each." if reviewing(state) else "; no pauses (auto-approve).")
    )
    return Command(
        goto="video",
        update={
            "brief": brief,
            "humans_seen": len(texts),
            "directions": directions.said(rest, source="brief") if rest else [],
            "video": video,
            "messages": [AIMessage(text, name="manager")],
            **phase("ideation", "the team talks the video over"),
        },
    )


def reviewing(state: StudioState) -> bool:
    """Whether the person reviews every stage (`review_every_stage`, off with auto-approve)."""
    settings = valid_settings(state.get("settings"))
    return bool(settings.get("review_every_stage", True)) and not settings.get("auto_approve")


STAGE_WORDS: tuple[tuple[str, str], ...] = (
    (
        "script",
        r"\b(?:say|says|said|saying|mention|line|lines|narrat\w*|voice[\s-]?over|wording)\b",
    ),
    (
        "visuals",
        r"\b(?:bright\w*|dark\w*|dim\w*|colou?r\w*|palette|light(?:ing|er)?|contrast|"
        r"saturat\w*|warmer|cooler|keyframes?|image|picture|draw\w*|show\w*)\b",
    ),
)
"""Words that ask for what an earlier stage makes (the lines, the keyframes' look): typed at a
later gate they send the video back to that stage, as `regenerate` naming it would."""


def typed_target(video: dict[str, Any], words: str) -> tuple[str, str | None]:
    """`(stage, scene)` words typed at the gate of `video["stage"]` regenerate: the scene they
    name ("s3", "scene 3"), and the stage whose work they are about when it was made earlier
    (a camera move or speed is the animation's; "brighter" the keyframes'; else this stage)."""
    name = str(video["stage"])
    ids = [s["id"] for s in output(video, "scenes").get("scenes", [])]
    named = [f"s{n}" for n in re.findall(r"\b(?:s|scene\s+)(\d{1,2})\b", words.lower())]
    scene = next((i for i in named if i in ids), None)
    here = ORDER.index(name)
    if here >= ORDER.index("animation") and (asked_move(words) or asked_speed(words)):
        return "animation", scene
    for target, pattern in STAGE_WORDS:
        if ORDER.index(target) <= here and re.search(pattern, words, re.IGNORECASE):
            return target, scene
    return name, scene


def hear(state: StudioState, words: str) -> Command[Any]:
    """New words from the person: pinned; at a gate the stage they are about is made again with
    them, as a `regenerate` with that feedback would (README: "words typed while a stage waits
    regenerate it the same way": for the scene they name, pinned to it); mid-stage they shape
    the stage being made; once the video is done they are noted."""
    video = state["video"]
    said = {
        "humans_seen": len(human_texts(state)),
        "directions": directions.said(words, source="interjection"),
    }
    if video.get("due") == "done":
        note = "Noted and pinned; the video is finished (start a new thread for another cut)."
        return Command(goto=END, update={**said, "messages": [AIMessage(note, name="manager")]})
    if video.get("due") != "gate":  # mid-stage: the words shape the stage being made
        return Command(goto="video", update=said)
    target, scene = typed_target(video, words)
    said["directions"] = directions.said(words, source="output_feedback", scope=scene or "*")
    return again(state, target, scene, words, said)


def again(
    state: StudioState, name: str, scene: str | None, words: str, update: dict[str, Any]
) -> Command[Any]:
    """Make stage `name` again (for one scene or all) with the person's words; every stage
    after it that was made is stale and will be redone."""
    video = state["video"]
    whom = f" for {scene}" if scene else ""
    note = f"Making the {NAMES[name]} again{whom}; later stages will be redone from it."
    return Command(
        goto="video",
        update={
            **update,
            "video": {
                "stages": mark_stale(video, name),
                "stage": name,
                "due": "work",
                "request": {"stage": name, "scene": scene, "feedback": words or "another take"},
            },
            "messages": [AIMessage(note, name="manager")],
            **phase("generating", f"making the {NAMES[name]} again"),
        },
    )


def _media(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """The files a version points at (asset refs anywhere in its output)."""
    found: list[dict[str, Any]] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if "asset_id" in value and "content_type" in value:
                found.append(value)
            else:
                for item in value.values():
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(entry.get("output"))
    return found


def gate_payload(state: StudioState) -> dict[str, Any]:
    """What the stage gate shows: the stage's newest version with Lens's review, every
    version of it, the state of every stage, and what an answer may name."""
    video = state["video"]
    name = str(video["stage"])
    entry = latest(video, name) or {}
    scenes = [s["id"] for s in output(video, "scenes").get("scenes", [])]
    made = [s for s in ORDER[: ORDER.index(name) + 1]]
    findings = (entry.get("review") or {}).get("findings") or []
    note = f" Lens found {len(findings)} issue(s)." if findings else ""
    return {
        "gate": "stage",
        "actions": list(GATE_ACTIONS["stage"]),
        "message": f"The {NAMES[name]}, version {entry.get('version', 1)}, is ready.{note} "
        "Accept it, regenerate it with feedback (the whole stage, an earlier stage, or one "
        "scene), or stop.",
        "stage": name,
        "version": entry.get("version", 1),
        "output": entry.get("output", {}),
        "review": entry.get("review", {}),
        "made_by": entry.get("made_by", []),
        "versions": stage(video, name)["versions"],
        "stages": {
            s: {
                "versions": len(stage(video, s)["versions"]),
                "accepted": stage(video, s).get("accepted", 0),
                "stale": bool(stage(video, s).get("stale")),
            }
            for s in ORDER
        },
        "video": {k: video.get(k) for k in ("type", "seconds", "fps", "width", "height")},
        "choices": choices([*made, *scenes]),
    }


def stage_gate(state: StudioState) -> Command[Any]:
    """Accept the stage (the next one is made), regenerate it, or stop."""
    video = state["video"]
    name = str(video["stage"])
    entry = latest(video, name) or {}
    answer: GateAnswer | None = None
    if reviewing(state):
        payload = gate_payload(state)
        if not _resuming():
            for media in _media(entry):
                emit("asset", asset_id=media["asset_id"], deliverable=f"video:{name}",
                     iteration=entry.get("version", 1), path=media["path"],
                     generator=media["made_by"])  # fmt: skip
        answer = ask(payload)
        while answer.action == "regenerate" and (over := over_budget(video, answer)):
            answer = ask({**payload, "error": over})  # refused: the gate asks again, saying why
    if answer is not None and answer.action == "stop":
        note = f"Stopped at the {NAMES[name]} (version {entry.get('version', 1)}); all saved."
        return finish(state, "interrupted", "stopped_by_person", note, record("stage", answer))
    if answer is not None and answer.action == "regenerate":
        target = answer.deliverable if answer.deliverable in ORDER else name
        scene = answer.deliverable if answer.deliverable and target == name and (
            answer.deliverable not in ORDER) else None  # fmt: skip
        update = record("stage", answer)
        if answer.feedback.strip():
            update |= heard(state, answer.feedback, "output_feedback", scene)
        return again(state, str(target), scene, answer.feedback, update)
    return accept(state, name, entry, answer)


def over_budget(video: dict[str, Any], answer: GateAnswer) -> str | None:
    """Why a regeneration is refused: the clips it would animate again (the scene's seconds
    for one scene, else the whole video's) do not fit in the seconds-of-video budget."""
    name = str(video["stage"])
    target = answer.deliverable if answer.deliverable in ORDER else name
    if ORDER.index(str(target)) > ORDER.index("animation"):
        return None  # voice and the cut animate nothing
    lengths = {s["id"]: float(s["seconds"]) for s in output(video, "scenes").get("scenes", [])}
    scene = answer.deliverable if answer.deliverable in lengths else None
    needed = lengths[scene] if scene else float(video.get("seconds") or sum(lengths.values()))
    spent = float((video.get("spent") or {}).get("video_seconds", 0.0))
    budget = float(video.get("max_video_seconds") or DEFAULT_MAX_VIDEO_SECONDS)
    if spent + needed <= budget:
        return None
    return (
        f"The seconds-of-video budget is used ({spent:g} of {budget:g} seconds animated); "
        f"making the {NAMES[str(target)]} again could animate {needed:g} s more. Accept or "
        "stop, regenerate the voice or the cut, or raise settings.video.max_video_seconds."
    )


def accept(
    state: StudioState, name: str, entry: dict[str, Any], answer: GateAnswer | None
) -> Command[Any]:
    video = state["video"]
    record_ = stage(video, name)
    record_["accepted"] = entry.get("version", 1)
    stages = {**(video.get("stages") or {}), name: record_}
    nxt = next_stage({**video, "stages": stages}, name)
    logged = record("stage", answer, auto=answer is None)
    if nxt is None:
        probe = (entry.get("output") or {}).get("probe") or {}
        # no server path in the chat (it reaches every client): where a person gets the file
        text = (
            f"The video is ready: {probe.get('seconds', 0):g} s, {probe.get('width')}x"
            f"{probe.get('height')} at {probe.get('fps')} fps, H.264 + AAC. Download it from "
            "the gallery, or with the thread's work (`studio export`)."
        )
        update = {**logged, "video": {"stages": stages}}
        return finish(state, "approved", "approved", text, update)
    return Command(
        goto="video",
        update={
            **logged,
            "video": {"stages": stages, "stage": nxt, "due": "work", "request": None},
            **phase("generating", f"making the {NAMES[nxt]}"),
        },
    )


def finish(
    state: StudioState,
    outcome: str,
    reason: str,
    text: str,
    update: dict[str, Any] | None = None,
) -> Command[Any]:
    """End the video session: the outcome, why, and a last word to the person."""
    merged = dict(update or {})
    video = {**merged.pop("video", {}), "due": "done"}
    return Command(
        goto=END,
        update={
            **merged,
            "video": video,
            "outcome": outcome,
            "stop_reason": reason,
            "messages": [AIMessage(text, name="manager")],
            **phase(outcome, re.sub(r"_", " ", reason)),
        },
    )
