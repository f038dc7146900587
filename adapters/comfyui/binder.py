"""Binding a `GenerationSpec` into a template: by title, validated and clamped to the server."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from adapters.comfyui.capabilities import MODEL_INPUTS, Capabilities, is_video_model
from adapters.comfyui.mapping import slug, spec_params
from adapters.comfyui.templates import SHIPPED, load_template, titles
from adapters.errors import InvalidWorkflow
from adapters.specs import GenerationSpec, SpecLimits

BINDINGS: tuple[tuple[str, str, str], ...] = (
    ("checkpoint", "ckpt_name", "checkpoint"),
    ("positive", "text", "positive"),
    ("negative", "text", "negative"),
    ("latent", "width", "width"),
    ("latent", "height", "height"),
    ("sampler", "seed", "seed"),
    ("sampler", "steps", "steps"),
    ("sampler", "cfg", "cfg"),
    ("sampler", "sampler_name", "sampler"),
    ("sampler", "scheduler", "scheduler"),
    ("sampler", "denoise", "denoise"),
    ("reference", "image", "reference"),
    ("reference 2", "image", "reference_2"),
    ("resize", "width", "width"),
    ("resize", "height", "height"),
    ("resize 2", "width", "width"),
    ("resize 2", "height", "height"),
    ("upscale model", "model_name", "upscale_model"),
    ("upscale", "scale_by", "scale_by"),
    ("blend", "blend_factor", "blend_factor"),
    ("background", "width", "width"),
    ("background", "height", "height"),
    ("background", "color", "background_color"),
    ("ground", "width", "width"),
    ("ground", "height", "ground_height"),
    ("ground", "color", "ground_color"),
    ("place ground", "y", "horizon_y"),
    ("subject", "width", "subject_width"),
    ("subject", "height", "subject_height"),
    ("subject", "color", "subject_color"),
    ("place subject", "x", "subject_left"),
    ("place subject", "y", "subject_top"),
    ("grain", "seed", "seed"),
    ("output", "filename_prefix", "filename_prefix"),
    ("output", "fps", "fps"),
    ("video", "width", "width"),
    ("video", "height", "height"),
    ("video", "video_frames", "video_frames"),
    ("video", "fps", "fps"),
    ("video", "motion_bucket_id", "motion_bucket_id"),
    ("video sampler", "seed", "seed"),
)
"""(node title, input, parameter): where each parameter goes. Node ids are never used."""
_UPLOADS = frozenset({"reference", "reference_2"})


@dataclass(frozen=True)
class Bound:
    """A workflow ready to queue, and what went into it (for lineage)."""

    template: str
    workflow: dict[str, Any]
    params: dict[str, Any]
    """The value each bound parameter ended up with, after clamping."""
    seed: int
    adjustments: tuple[str, ...]
    """What clamping or substitution changed, in words."""


def bind(
    spec: GenerationSpec,
    *,
    seed: int,
    prompt_id: str,
    references: Sequence[str] = (),
    reference_sizes: Sequence[tuple[int, int]] = (),
    caps: Capabilities | None = None,
    limits: SpecLimits | None = None,
    workflow: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Bound:
    """Fill template `spec.template` from `spec`; `references` are uploaded image names.

    `workflow` replaces the shipped JSON with any API-format workflow carrying the same node
    titles (e.g. one edited in ComfyUI and exported): binding never depends on node ids.
    `extra`: parameters the spec does not carry (a video's `video_frames` and `fps`).
    """
    limits = limits or SpecLimits()
    shipped = load_template(spec.template)
    workflow = copy.deepcopy(dict(workflow)) if workflow is not None else shipped
    info = SHIPPED[spec.template]
    if len(references) < info.references:
        raise InvalidWorkflow(
            f"The '{spec.template}' template needs {info.references} reference image(s); "
            f"{len(references)} given."
        )
    params = spec_params(spec, seed=seed, limits=limits)
    for key, name in zip(("reference", "reference_2"), references, strict=False):
        params[key] = name
    if reference_sizes:
        # Model-free upscale: the factor that brings the first reference to the spec's width.
        params["scale_by"] = round(max(0.01, min(8.0, params["width"] / reference_sizes[0][0])), 2)
    params["filename_prefix"] = f"studio/{slug(spec.deliverable)}_{prompt_id[:8]}"
    params.update(extra or {})
    by_title = titles(workflow)
    targets: dict[str, tuple[str, str]] = {}
    for title, input_name, key in BINDINGS:
        node_id = by_title.get(title)
        if node_id is None or key not in params:
            continue
        inputs = workflow[node_id]["inputs"]
        if input_name in inputs:
            inputs[input_name] = params[key]
            targets[key] = (node_id, input_name)
    for node_id, node in workflow.items():
        for input_name in node["inputs"]:
            kind = MODEL_INPUTS.get((node["class_type"], input_name))
            if kind is not None:
                targets[kind] = (node_id, input_name)
    skip = {targets[key] for key in _UPLOADS if key in targets}
    adjustments = fit_to_server(workflow, caps, family=info.family, skip=skip) if caps else []
    bound = {key: workflow[n]["inputs"][i] for key, (n, i) in targets.items()}
    return Bound(spec.template, workflow, bound, seed, tuple(adjustments))


def pick_model(options: Sequence[str], family: str | None) -> str:
    """The installed model that best suits a template family (SDXL names usually say `xl`)."""
    if family == "sdxl":
        preferred = [o for o in options if "xl" in o.lower()]
    elif family == "sd15":
        preferred = [o for o in options if "xl" not in o.lower()]
    elif family == "video":
        preferred = [o for o in options if is_video_model(o)]
    else:
        preferred = []
    return (preferred or list(options))[0]


def fit_to_server(
    workflow: dict[str, Any],
    caps: Capabilities,
    *,
    family: str | None = None,
    skip: set[tuple[str, str]] | None = None,
) -> list[str]:
    """Clamp every literal input to the server's schema; substitute missing combo values.

    Returns what changed. Links (`["id", slot]`) and uploaded image names are left alone: an
    upload is newer than the cached `/object_info` option list.
    """
    notes: list[str] = []
    for node_id, node in workflow.items():
        class_type = node["class_type"]
        title = node.get("_meta", {}).get("title", node_id)
        for input_name, value in list(node["inputs"].items()):
            if isinstance(value, list) or (node_id, input_name) in (skip or set()):
                continue
            spec = caps.input_spec(class_type, input_name)
            if spec is None:
                continue
            fitted = value
            if spec.type == "INT" and isinstance(value, int | float):
                fitted = int(round(value))
            if spec.type in ("INT", "FLOAT") and isinstance(fitted, int | float):
                if spec.minimum is not None:
                    fitted = max(fitted, spec.minimum)
                if spec.maximum is not None:
                    fitted = min(fitted, spec.maximum)
                fitted = float(fitted) if spec.type == "FLOAT" else int(fitted)
            elif spec.type == "COMBO" and spec.options and value not in spec.options:
                if (class_type, input_name) in MODEL_INPUTS:
                    fitted = pick_model(spec.options, family)
                elif spec.default in spec.options:
                    fitted = spec.default
                else:
                    fitted = spec.options[0]
            if fitted != value:
                node["inputs"][input_name] = fitted
                notes.append(f"{title}.{input_name}: {value!r} -> {fitted!r}")
    return notes
