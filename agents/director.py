"""Pixel, the technical director: the team's consensus as one safe `GenerationSpec` each."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage
from langgraph.runtime import Runtime
from PIL import Image

from adapters.images import MODEL_TRAITS, TemplateTraits, template_traits
from adapters.media_lab.references import Layout, analyse
from adapters.prose import clipped
from adapters.render_vocab import cannot_draw_line, undrawable
from adapters.renderer import Renderer
from adapters.specs import GenerationSpec, SpecBatch, SpecProposal, clamp_spec, spec_dump
from agents import prompts
from agents.calls import structured
from graph import directions
from graph.context import StudioContext
from graph.emit import phase
from graph.state import StudioState, valid_settings
from store.uploads import UploadStore

RESIZE = re.compile(
    r"\b(?:resolution|size|pixels|larger image|bigger image|smaller image|aspect|crop|"
    r"portrait format|landscape format)\b",
    re.I,
)
"""Words that ask for another image size; without them a revision keeps the size it had."""
DIFFED = (
    "template",
    "width",
    "height",
    "palette",
    "lighting",
    "weather",
    "brightness",
    "contrast",
    "subject",
    "subject_x",
    "subject_y",
    "subject_scale",
    "horizon",
    "camera",
    "mood",
)


def targets(state: StudioState) -> list[str]:
    """Deliverables to specify now: the pending ones, else every deliverable in the plan."""
    every = [d["id"] for d in state["plan"]["deliverables"]]
    pending = [d for d in state.get("pending") or [] if d in every]
    return pending or every


def settle(
    batch: SpecBatch,
    wanted: list[str],
    state: StudioState,
    context: StudioContext,
    runnable: list[str],
    feedback: dict[str, str] | None = None,
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Clamp each proposal to safe bounds and to a template the image server can run; fill
    any deliverable the model skipped from its closest sibling; keep a revised spec's size
    unless the person asked for another; carry every direction in scope into its prompts."""
    current = dict(state.get("specs") or {})
    plan = state["plan"]["deliverables"] if state.get("plan") else []
    asked = " ".join((feedback or {}).values())
    by_id = {p.deliverable: p for p in batch.specs}
    fallback = batch.specs[0] if batch.specs else None
    specs: dict[str, dict[str, Any]] = {}
    notes: list[str] = []
    for deliverable in wanted:
        proposal = by_id.get(deliverable)
        if proposal is None:
            base = current.get(deliverable) or (fallback.model_dump() if fallback else None)
            if base is None:
                base = {"prompt": deliverable}
            proposal = SpecProposal.model_validate({**base, "deliverable": deliverable})
            notes.append(f"{deliverable}: no spec proposed; reused the closest one")
        spec, adjustments = clamp_spec(proposal, context.spec_limits)
        if runnable and spec.template not in runnable:
            adjustments.append(f"template {spec.template} cannot run here -> {runnable[0]}")
            spec = spec.model_copy(update={"template": runnable[0]})
        previous = current.get(deliverable)
        if previous and spec.seed == previous.get("seed"):
            # a regeneration must never be a silent cache hit on the same seed
            spec = spec.model_copy(update={"seed": (spec.seed + 1) % 2**32})
        size = (previous or {}).get("width"), (previous or {}).get("height")
        if previous and size != (spec.width, spec.height) and not RESIZE.search(asked):
            spec = spec.model_copy(update={"width": size[0], "height": size[1]})
        carried, _ = directions.apply(
            spec.model_dump(), directions.for_state(state, deliverable), plan
        )
        carried["sketch"] = template_traits(context.images, spec.template).sketch
        specs[deliverable] = spec_dump(GenerationSpec.model_validate(carried))
        notes += [f"{deliverable}: {a}" for a in adjustments]
    return specs, notes


def _value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.2f}"
    if isinstance(value, list):
        return " ".join(str(v) for v in value[:4])
    return str(value)


def diff(before: dict[str, Any] | None, after: dict[str, Any]) -> list[str]:
    """What a revision changed, field by field, in words a person can check."""
    if not before:
        return []
    changes = []
    old_words = {w.strip().lower() for w in str(before.get("prompt", "")).split(",")}
    added = [
        w.strip()
        for w in str(after.get("prompt", "")).split(",")
        if w.strip() and w.strip().lower() not in old_words
    ]
    if added:
        changes.append("prompt + '" + clipped(", ".join(added), 160) + "'")
    if before.get("negative_prompt") != after.get("negative_prompt"):
        changes.append(f"negative prompt: {clipped(after.get('negative_prompt', ''), 120)}")
    for key in DIFFED:
        old, new = before.get(key), after.get(key)
        if old != new and not (
            isinstance(old, float) and isinstance(new, float) and abs(old - new) < 0.005
        ):
            shown = _value(old), _value(new)
            if shown[0] == shown[1] and isinstance(old, list) and isinstance(new, list):
                shown = " ".join(map(str, old)), " ".join(map(str, new))  # past the first four
            changes.append(f"{key} {shown[0]} -> {shown[1]}")
    return changes


def describe(spec: GenerationSpec, traits: TemplateTraits = MODEL_TRAITS) -> str:
    """One line per spec; a sketch template's line shows no sampler settings it does not use."""
    sampling = (
        f"{spec.steps} steps, cfg {spec.cfg}, {spec.sampler}, "
        if traits.sampler
        else f"a layout sketch ({spec.template}, no model), "
    )
    return (
        f"{spec.deliverable}: {spec.width}x{spec.height}, {sampling}seed {spec.seed}; "
        f"{spec.lighting}, {spec.weather}, {spec.camera} camera, "
        f"palette {' '.join(spec.palette[:4])}"
        + "".join(f"; {thing} {colour}" for thing, colour in spec.colours.items())
    )


def cannot_draw(state: StudioState, specs: dict[str, dict[str, Any]], images: object) -> str:
    """One line naming what the person asked for that the built-in renderer cannot draw (the
    prompt still carries it, for ComfyUI); empty when it draws everything asked."""
    if not isinstance(images, Renderer):
        return ""
    asked = [
        d["text"]
        for deliverable in specs
        for d in directions.for_state(state, deliverable)
        if not d["negative"]
    ]
    return cannot_draw_line(list(dict.fromkeys(n for text in asked for n in undrawable(text))))


REFERENCE_TEMPLATE = "img2img"
"""The template a spec uses when the thread has reference images (its first is the init image)."""


async def with_references(
    specs: dict[str, dict[str, Any]], state: StudioState, context: StudioContext
) -> str:
    """Point every spec at the thread's reference images (`settings.references`): the `img2img`
    template, the references' upload id and sha256 (so the recipe and lineage list them) and a
    strength; on the built-in renderer also their palette and layout, read by
    `adapters.media_lab.references.analyse`. Returns the line Pixel says about it ("" without
    references; references gone since they were set are skipped, said so)."""
    wanted = valid_settings(state.get("settings")).get("references") or []
    if not wanted:
        return ""
    uploads = UploadStore(context.assets.pool, context.assets.root)
    found = [r for r in [await uploads.get(i) for i in wanted] if r and r.kind == "image"]
    if not found:
        return "The thread's reference images are gone; specs use text alone."
    listed = [{"upload_id": r.id, "sha256": r.sha256} for r in found]
    renderer = isinstance(context.images, Renderer)
    if not renderer and not await _runs_img2img(context.images):
        return (
            f"The image server cannot run the {REFERENCE_TEMPLATE} template (no checkpoint or "
            "nodes for it); the reference images are not used."
        )
    update: dict[str, Any] = {"template": REFERENCE_TEMPLATE, "references": listed}
    if renderer:
        layout = await asyncio.to_thread(_layout, [r.path for r in found])
        update |= {
            "palette": layout.palette,
            "brightness": layout.brightness,
            "contrast": layout.contrast,
            "horizon": layout.horizon,
            "subject_x": layout.subject_x,
            "subject_y": layout.subject_y,
            "subject_scale": layout.subject_scale,
        }
    for deliverable, spec in specs.items():
        checked = GenerationSpec.model_validate({**spec, **update})
        specs[deliverable] = spec_dump(checked)
    names = ", ".join(r.filename or r.id for r in found)
    line = f"Using {len(found)} reference image(s) ({names}) with the {REFERENCE_TEMPLATE} template"
    if renderer:
        return (
            f"{line}: the built-in renderer takes their palette and layout (horizon, subject "
            "place and size, brightness); it cannot copy their content or texture (ComfyUI's "
            "img2img does: set COMFYUI_URL)."
        )
    return f"{line}, the first as the init image."


async def _runs_img2img(images: object) -> bool:
    """Whether a ComfyUI server can run the reference template (other generators: no)."""
    from adapters.comfyui.generator import ComfyUIImageGenerator

    if not isinstance(images, ComfyUIImageGenerator):
        return False
    caps = await images.capabilities()
    return REFERENCE_TEMPLATE in caps.runnable_templates()


def _layout(paths: list[Path]) -> Layout:
    images = []
    for path in paths:
        with Image.open(path) as image:
            images.append(image.convert("RGB"))
    return analyse(images)


async def direct(state: StudioState, runtime: Runtime[StudioContext]) -> dict[str, Any]:
    """Ask Pixel for specs (applying any feedback), clamp them, and explain the result."""
    context = runtime.context
    wanted = targets(state)
    feedback = dict(state.get("feedback") or {})
    for deliverable in wanted:
        # the person's word on one deliverable holds in every later iteration of it
        own = [
            directions.bullet(d)
            for d in directions.for_state(state, deliverable)
            if d["scope"] == deliverable
        ]
        said = "; ".join(o for o in own if o not in feedback.get(deliverable, ""))
        if said:
            feedback[deliverable] = "; ".join(filter(None, [said, feedback.get(deliverable)]))
    runnable = await context.images.templates()
    batch, tokens = await structured(
        context, state, "director", SpecBatch, prompts.specs(state, feedback, wanted, runnable)
    )
    specs, notes = settle(batch, wanted, state, context, runnable, feedback)
    referenced = await with_references(specs, state, context)
    before = dict(state.get("specs") or {})
    lines = []
    for deliverable, spec in specs.items():
        line = describe(
            GenerationSpec.model_validate(spec), template_traits(context.images, spec["template"])
        )
        changed = diff(before.get(deliverable), spec)
        if changed:
            why = feedback.get(deliverable) or feedback.get("*") or "the team's revision"
            line += f"\n  changed: {'; '.join(changed)} (because: {clipped(why, 200)})"
        lines.append(line)
    text = "Specs ready:\n" + "\n".join(f"- {line}" for line in lines)
    if referenced:
        text += f"\n{referenced}"
    if limits_of_drawing := cannot_draw(state, specs, context.images):
        text += f"\n{limits_of_drawing}"
    if notes:
        text += "\nClamped to safe bounds: " + "; ".join(notes)
    if batch.rationale:
        text += f"\n{batch.rationale.strip()}"
    iterating = state.get("iteration", 0) > 0
    return {
        "specs": specs,
        "spec_notes": notes,
        "feedback": {key: None for key in state.get("feedback") or {}},
        "messages": [AIMessage(text, name="director")],
        "usage": {"tokens": tokens},
        **phase("iterating" if iterating else "synthesis", "specs ready"),
    }
