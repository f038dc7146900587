"""Thumbnails: Pixel makes one per style through the image pipeline with the chosen script's
title lettered; Lens scores each for reading at the size people see it."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage
from langgraph.runtime import Runtime

from adapters.launch.styles import STYLES, THUMB_NEGATIVE, VARIANTS
from adapters.render_vocab import cannot_draw_line
from adapters.specs import GenerationSpec, clamp_spec
from agents.generate import progress_events
from agents.launch.readability import SMALL, assess
from graph import directions
from graph.context import StudioContext, thread_of
from graph.emit import asset_made, emit, phase
from graph.launch_settings import chosen_script
from graph.state import Direction, StudioState

SIZE = (768, 432)
"""16:9, like a video thumbnail (1280x720 scaled to what the renderer draws quickly)."""


def drawn_directions(state: StudioState, variant: str) -> list[Direction]:
    """The directions that reach this thumbnail's prompt: every one in scope but the script
    gate's (a note about the scripts reaches the picture through the title it changed, never
    pasted into the prompt: "…shorter and aim them at beginners")."""
    return [d for d in directions.for_state(state, variant) if d["source"] != "script_feedback"]


def asked_of(state: StudioState, variant: str) -> str:
    """What the person asked this thumbnail to show, as Lens checks it against the recipe."""
    return "\n".join(d["text"] for d in drawn_directions(state, variant) if not d["negative"])


def thumbnail_spec(
    state: StudioState, variant: str, title: str, seed: int, round_no: int
) -> GenerationSpec:
    """The style's spec with the video's topic (what a model draws as the product or the
    scene), the title quoted (the renderer letters quoted words; ComfyUI gets them in the
    prompt) and every direction in scope for this variant but the script gate's."""
    style = STYLES[variant]
    topic = " ".join(str((state.get("launch") or {}).get("topic") or "").split())
    about = f", about {topic}" if topic else ""
    proposal = {
        **style["spec"],
        "deliverable": variant,
        "prompt": f'{style["prompt"]}{about}, "{title}", bold legible title text, high contrast',
        "negative_prompt": THUMB_NEGATIVE,
        "width": SIZE[0],
        "height": SIZE[1],
        "seed": seed * 1000 + round_no * 10 + VARIANTS.index(variant),
    }
    spec, _ = clamp_spec(proposal)
    applied, _ = directions.apply(spec.model_dump(), drawn_directions(state, variant))
    return GenerationSpec.model_validate(applied)


async def design_thumbnails(state: StudioState, runtime: Runtime[StudioContext]) -> dict[str, Any]:
    """Make the thumbnails this round asks for (all three, or the ones the person named),
    exactly once per job id: a resumed run collects what was already stored."""
    context = runtime.context
    launch = state["launch"]
    script = chosen_script(launch)
    round_no = int(launch.get("thumbnail_round", 0)) + 1
    redo = [v for v in launch.get("redo") or VARIANTS if v in VARIANTS]
    kept = {t["variant"]: t for t in launch.get("thumbnails") or [] if t["variant"] not in redo}
    seed = int((state.get("settings") or {}).get("seed", 7))
    info = runtime.execution_info
    thread = (info.thread_id if info else None) or "local"
    made: dict[str, dict[str, Any]] = {}
    for variant in redo:
        spec = thumbnail_spec(state, variant, script["title"], seed, round_no)
        job = f"{thread}:launch:{variant}:{round_no}"
        record = await context.assets.by_job(job)
        if record is None:
            async with context.generation_slots:
                emit("progress", deliverable=variant, job_id=job, fraction=0.0)
                images = await context.images.generate(
                    spec, job_id=job, on_progress=progress_events(variant, job)
                )
            record = await context.assets.put(
                images[0],
                thread_id=thread,
                job_id=job,
                deliverable=variant,
                iteration=round_no,
                attempt=0,
                seed=spec.seed,
                spec=spec.model_dump(),
            )
        asset_made(record)
        made[variant] = {
            "variant": variant,
            "style": STYLES[variant]["label"],
            "asset_id": record.id,
            "path": str(record.path),
            "title": script["title"],
            "prompt": spec.prompt,
            "round": round_no,
            "generator": record.generator,
            "sketch": bool(record.recipe.get("sketch")) or record.generator == "renderer",
        }
    thumbnails = [made.get(v) or kept[v] for v in VARIANTS if v in made or v in kept]
    names = ", ".join(f"{t['variant']} ({t['asset_id'][:8]})" for t in made.values())
    text = f'Thumbnails for "{script["title"]}", title lettered in each: {names}.'
    return {
        "launch": {
            "thumbnails": thumbnails,
            "thumbnail_round": round_no,
            "redo": [],
            "stage": "scoring",
        },
        "usage": {"generations": len(made)},
        "messages": [AIMessage(text, name="director")],
        **phase("designing", "making the thumbnails"),
    }


async def score_thumbnails(state: StudioState, runtime: Runtime[StudioContext]) -> dict[str, Any]:
    """Lens reads each thumbnail at 168x94: is the title there, tall enough, with contrast?"""
    context = runtime.context
    launch = state["launch"]
    scored = []
    for thumb in launch.get("thumbnails") or []:
        record = await context.assets.get(thumb["asset_id"])
        if record is None:
            scored.append(thumb)
            continue
        if thumb.get("readability") is None:
            png = await context.assets.read_bytes(record)
            verdict = assess(
                png, dict(record.recipe), thumb["title"], asked_of(state, thumb["variant"])
            )
            await context.assets.record_scores(
                thread_of(runtime),
                record.id,
                {"score": verdict["score"], "reasons": verdict["reasons"]},
            )
            thumb = {**thumb, "readability": verdict}
        scored.append(thumb)
    lines = [
        f"{t['variant']} {t['readability']['score']}/10 ({'; '.join(t['readability']['reasons'])})"
        for t in scored
        if t.get("readability")
    ]
    text = f"Read at {SMALL[0]}x{SMALL[1]}: " + ". ".join(lines) + "."
    undrawn = [n for t in scored for n in (t.get("readability") or {}).get("undrawn") or []]
    if limits := cannot_draw_line(list(dict.fromkeys(undrawn))):
        text += f" {limits}"
    return {
        "launch": {"thumbnails": scored, "stage": "selection_gate"},
        "messages": [AIMessage(text, name="critic")],
        **phase("awaiting_selection", "choose the variants to test"),
    }
