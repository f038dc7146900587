"""What a ComfyUI server can run: version, devices, node classes and model options."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from adapters.comfyui.templates import TEMPLATES, VIDEO_TEMPLATES, load_template, traits

ModelKind = Literal["checkpoint", "lora", "upscale_model", "video_model"]
MODEL_INPUTS: dict[tuple[str, str], ModelKind] = {
    ("CheckpointLoaderSimple", "ckpt_name"): "checkpoint",
    ("LoraLoader", "lora_name"): "lora",
    ("UpscaleModelLoader", "model_name"): "upscale_model",
    ("ImageOnlyCheckpointLoader", "ckpt_name"): "video_model",
}
"""Inputs whose combo options are the model files installed on the server."""
_VIDEO_MODEL = re.compile(r"svd|stable[-_ ]?video|img2vid|i2v|video", re.IGNORECASE)


def is_video_model(name: str) -> bool:
    """Whether a checkpoint file is an image-to-video model (SVD and kin), by its name: the
    checkpoints folder holds image and video models alike."""
    return bool(_VIDEO_MODEL.search(name))


@dataclass(frozen=True)
class InputSpec:
    """One node input's schema from `/object_info`, both dialects normalised (§5)."""

    type: str
    """`INT`, `FLOAT`, `STRING`, `BOOLEAN`, `COMBO`, or a link type such as `IMAGE`."""
    options: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    default: Any = None


def parse_input_spec(raw: Any) -> InputSpec | None:
    """Read `["INT", {...}]`, legacy combos `[[options], {...}]` and V3 `["COMBO", {options}]`."""
    if not isinstance(raw, list | tuple) or not raw:
        return None
    head = raw[0]
    info = raw[1] if len(raw) > 1 and isinstance(raw[1], Mapping) else {}
    if isinstance(head, list | tuple):
        return InputSpec("COMBO", tuple(str(o) for o in head), default=info.get("default"))
    if head == "COMBO":
        options = tuple(str(o) for o in info.get("options") or ())
        return InputSpec("COMBO", options, default=info.get("default"))
    return InputSpec(
        str(head), minimum=info.get("min"), maximum=info.get("max"), default=info.get("default")
    )


def _input_spec(
    object_info: Mapping[str, Any], class_type: str, input_name: str
) -> InputSpec | None:
    inputs = (object_info.get(class_type) or {}).get("input") or {}
    for section in ("required", "optional"):
        raw = (inputs.get(section) or {}).get(input_name)
        if raw is not None:
            return parse_input_spec(raw)
    return None


def _options(object_info: Mapping[str, Any], class_type: str, input_name: str) -> tuple[str, ...]:
    spec = _input_spec(object_info, class_type, input_name)
    return spec.options if spec is not None else ()


@dataclass(frozen=True)
class Device:
    """A compute device as `/system_stats` reports it."""

    name: str
    type: str
    vram_total: int
    vram_free: int


@dataclass(frozen=True)
class Missing:
    """Something a template needs that the server lacks, and what the server has instead."""

    kind: Literal["node", "checkpoint", "lora", "upscale_model", "video_model"]
    name: str
    alternatives: tuple[str, ...] = ()

    @property
    def blocking(self) -> bool:
        """True when the template cannot run: a missing node, or a model with no substitute."""
        return self.kind == "node" or not self.alternatives

    def describe(self) -> str:
        """One line for people: what is missing and what could replace it."""
        if not self.alternatives:
            return f"{self.kind} {self.name!r} is missing and the server has no alternative"
        return f"{self.kind} {self.name!r} is missing; the server has {list(self.alternatives)}"


@dataclass(frozen=True)
class Capabilities:
    """A snapshot of one server, taken at startup and on demand."""

    version: str
    devices: tuple[Device, ...]
    node_classes: frozenset[str]
    checkpoints: tuple[str, ...]
    loras: tuple[str, ...]
    upscale_models: tuple[str, ...]
    video_models: tuple[str, ...] = ()
    """Image-to-video checkpoints (the loader's options that name a video model)."""
    object_info: Mapping[str, Any] = field(repr=False, default_factory=dict)

    @classmethod
    def from_responses(
        cls, system_stats: Mapping[str, Any], object_info: Mapping[str, Any]
    ) -> Capabilities:
        """Build from the `/system_stats` and `/object_info` bodies."""
        system = system_stats.get("system") or {}
        devices = tuple(
            Device(
                name=str(d.get("name", "")),
                type=str(d.get("type", "")),
                vram_total=int(d.get("vram_total") or 0),
                vram_free=int(d.get("vram_free") or 0),
            )
            for d in system_stats.get("devices") or []
        )
        return cls(
            version=str(system.get("comfyui_version") or "unknown"),
            devices=devices,
            node_classes=frozenset(object_info),
            checkpoints=tuple(
                c
                for c in _options(object_info, "CheckpointLoaderSimple", "ckpt_name")
                if not is_video_model(c)
            ),
            loras=_options(object_info, "LoraLoader", "lora_name"),
            upscale_models=_options(object_info, "UpscaleModelLoader", "model_name"),
            video_models=tuple(
                c
                for c in _options(object_info, "ImageOnlyCheckpointLoader", "ckpt_name")
                if is_video_model(c)
            ),
            object_info=object_info,
        )

    def input_spec(self, class_type: str, input_name: str) -> InputSpec | None:
        """The schema of one input, or None when the server does not know it."""
        return _input_spec(self.object_info, class_type, input_name)

    def options(self, class_type: str, input_name: str) -> tuple[str, ...]:
        """The choices of a combo input (model files for loaders); empty when unknown."""
        return _options(self.object_info, class_type, input_name)

    def models(self, kind: ModelKind) -> tuple[str, ...]:
        """Installed model files of one kind."""
        return {
            "checkpoint": self.checkpoints,
            "lora": self.loras,
            "video_model": self.video_models,
        }.get(kind, self.upscale_models)

    def check_template(self, name: str) -> list[Missing]:
        """What template `name` needs and the server lacks, with the alternatives it has."""
        missing: list[Missing] = []
        for node in load_template(name).values():
            class_type = str(node["class_type"])
            if class_type not in self.node_classes:
                close = difflib.get_close_matches(class_type, sorted(self.node_classes), n=3)
                if Missing("node", class_type, tuple(close)) not in missing:
                    missing.append(Missing("node", class_type, tuple(close)))
                continue
            for input_name, value in node.get("inputs", {}).items():
                kind = MODEL_INPUTS.get((class_type, input_name))
                if kind is not None and value not in self.models(kind):
                    missing.append(Missing(kind, str(value), self.models(kind)))
        return missing

    def report(self) -> dict[str, Any]:
        """Plain data for people and clients: version, devices, and per template whether it
        runs, what it lacks (with the server's alternatives), whether it makes a sketch and
        whether it uses a sampler."""
        templates = {}
        for name in (*TEMPLATES, *VIDEO_TEMPLATES):
            missing = self.check_template(name)
            kind = traits(name)
            templates[name] = {
                "runnable": not any(m.blocking for m in missing),
                "missing": [m.describe() for m in missing],
                "sketch": kind.sketch,
                "sampler": kind.sampler,
            }
        return {
            "version": self.version,
            "devices": [
                {"name": d.name, "type": d.type, "vram_total": d.vram_total} for d in self.devices
            ],
            "checkpoints": list(self.checkpoints),
            "video_models": list(self.video_models),
            "templates": templates,
        }

    def runnable_templates(self) -> list[str]:
        """Templates the server can run now (models may be substituted); what the director
        may propose."""
        return [
            name for name in TEMPLATES if not any(m.blocking for m in self.check_template(name))
        ]
