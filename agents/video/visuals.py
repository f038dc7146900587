"""Pixel's keyframes: one spec per scene through the image pipeline, stored exactly once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from langchain_core.messages import AIMessage
from langgraph.runtime import Runtime

from adapters.errors import GenerationCancelled
from adapters.images import template_traits
from adapters.specs import GenerationSpec, SpecBatch, clamp_spec
from agents import prompts
from agents.calls import overrides, structured
from agents.generate import job_id as image_job_id
from agents.video.work import asset_ref, who
from graph import directions
from graph.context import StudioContext
from graph.emit import emit
from graph.state import Deliverable
from graph.video_stages import add_version, latest, next_version, output, request


def keyframe_size(width: int, height: int) -> tuple[int, int]:
    """The keyframe's size: the frame's shape, at least 256 on the short side (the spec's
    floor), in multiples of 8."""
    scale = max(1.0, 256 / min(width, height))
    return (int(width * scale + 7) // 8 * 8, int(height * scale + 7) // 8 * 8)


def scene_spec(
    proposal: Any,
    scene: dict[str, Any],
    video: dict[str, Any],
    look: dict[str, Any],
    *,
    last: bool = False,
) -> dict[str, Any]:
    """Pixel's proposal for one scene, within bounds, in the video's look and frame."""
    spec, _ = clamp_spec(proposal)
    width, height = keyframe_size(int(video["width"]), int(video["height"]))
    prompt = f"{scene['beat']}, {scene['shot']}, {spec.prompt}"
    if video.get("name") and last:  # the closing scene shows the name, lettered
        prompt += f', product name "{video["name"]}"'
    update: dict[str, Any] = {
        "deliverable": scene["id"],
        "prompt": prompt,
        "width": width,
        "height": height,
        "mood": look.get("mood") or spec.mood,
    }
    if look.get("palette"):
        update["palette"] = list(look["palette"])
    clamped, _ = clamp_spec({**spec.model_dump(), **update})
    return clamped.model_dump()


def progress_of(deliverable: str, job: str) -> Callable[[float, bytes | None], None]:
    """A generation's progress as the live view's `progress` events for one keyframe."""

    def report(fraction: float, _preview: bytes | None) -> None:
        emit("progress", job_id=job, deliverable=deliverable, stage="visuals", fraction=fraction)

    return report


async def make_keyframes(state: Any, runtime: Runtime[StudioContext]) -> dict[str, Any]:
    """A keyframe per scene (or only the scene the person asked to regenerate)."""
    started = time.monotonic()
    context, video = runtime.context, state["video"]
    thread = (runtime.execution_info.thread_id if runtime.execution_info else None) or "local"
    scenes = output(video, "scenes")["scenes"]
    look = output(video, "scenes").get("look") or {}
    scope, feedback = request(video, "visuals")
    before = output(video, "visuals").get("keyframes") or {}
    version = next_version(video, "visuals")
    targets = [s for s in scenes if scope in ("*", s["id"]) or s["id"] not in before]
    keyframes = {k: v for k, v in before.items() if k in {s["id"] for s in scenes}}
    templates = await context.images.templates()
    tokens, made = 0, 0
    for scene in targets:
        deliverable = Deliverable(
            id=scene["id"],
            title=scene["title"],
            purpose=f"{scene['beat']} ({scene['shot']})",
            aspect=str(video.get("aspect", "16:9")),
        )
        seen: Any = {
            **state,
            "brief": f"{scene['beat']}. {state.get('brief', '')}",
            "plan": {"deliverables": [deliverable], "style_guards": [], "scope": ""},
            "specs": {},
        }
        asked = {scene["id"]: feedback} if feedback and scope in ("*", scene["id"]) else {}
        ask = prompts.specs(seen, asked, [scene["id"]], templates[:3] or ["txt2img"])
        batch, used = await structured(context, state, "director", SpecBatch, ask)
        tokens += used
        proposal = next((p for p in batch.specs if p.deliverable == scene["id"]), batch.specs[0])
        last = scene["id"] == scenes[-1]["id"]
        spec = scene_spec(proposal.model_dump(), scene, video, look, last=last)
        spec["seed"] = (spec["seed"] + version - 1) % 2**32  # a new take per version
        spec["sketch"] = template_traits(context.images, spec["template"]).sketch
        spec, _ = directions.apply(spec, directions.for_state(state, scene["id"]), [deliverable])
        job = image_job_id(thread, f"video-{scene['id']}", version, 0)
        record = await context.assets.by_job(job)
        if record is None:
            progress = progress_of(f"keyframe {scene['id']}", job)
            progress(0.0, None)
            try:
                async with context.generation_slots:
                    images = await context.images.generate(
                        GenerationSpec.model_validate(spec),
                        job_id=job,
                        on_progress=progress,
                    )
            except (asyncio.CancelledError, GenerationCancelled):
                await asyncio.shield(context.images.cancel(job))  # leave no orphan job behind
                raise
            record = await context.assets.put(
                images[0],
                thread_id=thread,
                job_id=job,
                deliverable=f"video:visuals:{scene['id']}",
                iteration=version,
                attempt=0,
                seed=int(spec["seed"]),
                spec=spec,
            )
            made += 1
        keyframes[scene["id"]] = asset_ref(
            record, spec=spec, sketch=bool(record.recipe.get("sketch", spec["sketch"]))
        )
    label = f"{who(context, 'director', overrides(state))} specs; images by {context.images.name}"
    if context.images.name == "renderer":
        label = f"{who(context, 'director', overrides(state))} specs; built-in renderer (sketch)"
    out = {"keyframes": keyframes, "remade": [s["id"] for s in targets]}
    remade = ", ".join(s["id"] for s in targets)
    text = f"Pixel: keyframes for {remade} ({label})."
    if latest(video, "visuals") is None:
        text = f"Pixel: a keyframe for every scene ({label})."
    return {
        "video": add_version(video, "visuals", out, made_by=[label], started=started),
        "messages": [AIMessage(text, name="director")],
        "usage": {"tokens": tokens, "generations": made},
    }
