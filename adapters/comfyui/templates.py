"""Workflow templates shipped with the package: API-format JSON whose nodes are bound by title."""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adapters.errors import InvalidWorkflow
from adapters.images import MODEL_TRAITS, TemplateTraits

TEMPLATE_DIR = Path(__file__).with_name("templates")


@dataclass(frozen=True)
class TemplateInfo:
    """What a template is for and what it needs beyond a spec."""

    description: str
    family: str | None = None
    """`sd15` or `sdxl`: which checkpoints suit it (used to pick a substitute)."""
    references: int = 0
    """How many reference images it loads (uploaded before queueing)."""


TEMPLATES: dict[str, TemplateInfo] = {
    "txt2img": TemplateInfo("Text to image with an SD1.5-style checkpoint.", "sd15"),
    "txt2img_sdxl": TemplateInfo("Text to image with an SDXL-style checkpoint.", "sdxl"),
    "img2img": TemplateInfo("Image to image from one reference.", "sd15", references=1),
    "upscale_model": TemplateInfo("Upscale a reference with an upscale model.", references=1),
    "upscale": TemplateInfo("Upscale a reference by a factor; needs no model.", references=1),
    "blend": TemplateInfo("Blend two reference images; needs no model.", references=2),
    "compose": TemplateInfo("Layout sketch from palette and composition; needs no model."),
}
"""Every shipped image template, by the name a `GenerationSpec.template` uses."""

VIDEO_TEMPLATES: dict[str, TemplateInfo] = {
    "img2vid": TemplateInfo(
        "Image to video (Stable Video Diffusion) from one keyframe; needs a video model.",
        "video",
        references=1,
    ),
}
"""Workflow templates that animate a keyframe (the video format's ComfyUI animator); they are
capability-checked like the image templates but are never offered for a still."""
SHIPPED: dict[str, TemplateInfo] = {**TEMPLATES, **VIDEO_TEMPLATES}


@functools.cache
def _template_text(name: str) -> str:
    return (TEMPLATE_DIR / f"{name}.json").read_text(encoding="utf-8")


def load_template(name: str) -> dict[str, Any]:
    """A fresh, mutable copy of template `name` (API format with `_meta.title` markers)."""
    if name not in SHIPPED:
        raise InvalidWorkflow(
            f"There is no ComfyUI template named {name!r}; the templates are {sorted(SHIPPED)}."
        )
    return copy.deepcopy(json.loads(_template_text(name)))


SAMPLER_NODES = frozenset(
    {"KSampler", "KSamplerAdvanced", "SamplerCustom", "SamplerCustomAdvanced"}
)
"""Node classes that denoise with a model: steps, cfg, sampler and scheduler reach them."""


@functools.cache
def traits(name: str) -> TemplateTraits:
    """Whether template `name` samples with a model and whether it makes a sketch, read from
    the workflow itself: no sampler and no reference image means a layout drawn from the spec
    (`compose`). Unknown names count as model-based."""
    if name not in TEMPLATES:
        return MODEL_TRAITS
    sampler = any(node.get("class_type") in SAMPLER_NODES for node in load_template(name).values())
    return TemplateTraits(sketch=not sampler and TEMPLATES[name].references == 0, sampler=sampler)


def titles(workflow: Mapping[str, Any]) -> dict[str, str]:
    """Node id by title: templates are bound by these markers, never by node ids."""
    found: dict[str, str] = {}
    for node_id, node in workflow.items():
        title = node.get("_meta", {}).get("title") if isinstance(node, Mapping) else None
        if title:
            found[str(title)] = str(node_id)
    return found
