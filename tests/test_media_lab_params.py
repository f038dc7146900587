"""Media Lab parameters: bounds, defaults, the fps-multiple rule, weights, and presets."""

from __future__ import annotations

import dataclasses
import math

import pytest
from pydantic import ValidationError

from adapters.errors import InvalidInput
from adapters.media_lab.errors import MediaInvalidInput
from adapters.media_lab.params import (
    BUILTIN_PRESETS,
    KINDS,
    BlendParams,
    InterpolateParams,
    Preset,
    ReferenceParams,
    UpscaleParams,
    builtin_preset,
    check_target_fps,
    normalise_weights,
    parse_params,
)


def test_defaults_are_valid_and_bounded() -> None:
    assert parse_params("upscale", None) == UpscaleParams()
    assert UpscaleParams().factor == 2
    assert InterpolateParams().target_fps == 120 and 8 <= InterpolateParams().chunk_frames <= 600
    assert 0 <= ReferenceParams().strength <= 1
    assert BlendParams().mode == "average"
    assert set(KINDS) == {"upscale", "interpolate", "generate", "blend"}


@pytest.mark.parametrize(
    ("kind", "data", "field"),
    [
        ("upscale", {"factor": 3}, "factor"),
        ("upscale", {"sharpen_percent": 301}, "sharpen_percent"),
        ("upscale", {"sharpen_radius": -1}, "sharpen_radius"),
        ("upscale", {"model": "x"}, "model"),  # no free-form extras
        ("interpolate", {"target_fps": 0}, "target_fps"),
        ("interpolate", {"target_fps": 1000}, "target_fps"),
        ("interpolate", {"chunk_frames": 4}, "chunk_frames"),
        ("interpolate", {"chunk_frames": 601}, "chunk_frames"),
        ("interpolate", {"flow": "rife"}, "flow"),
        ("generate", {"strength": 1.5}, "strength"),
        ("generate", {"seed": -1}, "seed"),
        ("generate", {"width": 100}, "width"),
        ("generate", {"height": 513}, "height"),
        ("generate", {"steps": 0}, "steps"),
        ("blend", {"mode": "burn"}, "mode"),
        ("nope", {}, "kind"),
        ("blend", [1, 2], "params"),
    ],
)
def test_out_of_bounds_parameters_name_the_field(kind: str, data: object, field: str) -> None:
    with pytest.raises(MediaInvalidInput) as caught:
        parse_params(kind, data)  # type: ignore[arg-type]
    assert caught.value.field == field
    assert caught.value.message.startswith(f"{field}: ")
    assert isinstance(caught.value, InvalidInput) and caught.value.code == "invalid_input"


@pytest.mark.parametrize(
    ("source", "target", "multiple"),
    [(60, 120, 2), (30, 120, 4), (30, 90, 3), (24, 48, 2), (29.97, 119.88, 4), (59.94, 120, 2)],
)
def test_supported_multiples(source: float, target: float, multiple: int) -> None:
    assert check_target_fps(source, target) == multiple
    assert InterpolateParams(target_fps=target).multiple_for(source) == multiple


@pytest.mark.parametrize(
    ("source", "target"),
    [(60, 90), (60, 60), (60, 30), (30, 150), (25, 120), (0, 120), (math.nan, 120)],
)
def test_a_target_that_is_not_a_supported_multiple_names_target_fps(
    source: float, target: float
) -> None:
    with pytest.raises(MediaInvalidInput) as caught:
        check_target_fps(source, target)
    assert caught.value.field == "target_fps"


def test_weights_are_normalised_and_checked() -> None:
    assert normalise_weights(None, 4) == [0.25] * 4
    assert normalise_weights([2, 1, 1], 3) == [0.5, 0.25, 0.25]
    assert sum(normalise_weights([0.3, 0.3, 0.3], 3)) == pytest.approx(1)
    for weights, count, field in [
        ([1.0], 1, "srcs"),
        (None, 9, "srcs"),
        ([1.0, 2.0], 3, "weights"),
        ([1.0, -1.0], 2, "weights"),
        ([0.0, 0.0], 2, "weights"),
        ([math.inf, 1.0], 2, "weights"),
        ([1e9, 1.0], 2, "weights"),
    ]:
        with pytest.raises(MediaInvalidInput) as caught:
            normalise_weights(weights, count)
        assert caught.value.field == field


def test_builtin_presets_are_versioned_immutable_and_valid() -> None:
    keys = [(p.id, p.version) for p in BUILTIN_PRESETS]
    assert len(keys) == len(set(keys))
    for preset in BUILTIN_PRESETS:
        assert preset.version >= 1
        assert parse_params(preset.kind, preset.to_json()["params"]) == preset.params
        assert Preset.from_json(preset.to_json()) == preset
    crisp = builtin_preset("crisp")
    assert (crisp.kind, crisp.version) == ("upscale", 1)
    assert builtin_preset("smooth-120", 1).kind == "interpolate"
    assert builtin_preset("moodboard").kind == "blend"
    with pytest.raises(dataclasses.FrozenInstanceError):
        crisp.version = 2  # type: ignore[misc]
    with pytest.raises(ValidationError):
        crisp.params.factor = 4  # type: ignore[misc,union-attr]
    with pytest.raises(MediaInvalidInput) as caught:
        builtin_preset("crisp", 7)
    assert caught.value.field == "preset"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"id": "x y", "version": 1, "kind": "blend", "params": {}}, "id"),
        ({"id": "", "version": 1, "kind": "blend", "params": {}}, "id"),
        ({"id": "ok", "version": 0, "kind": "blend", "params": {}}, "version"),
        ({"id": "ok", "version": True, "kind": "blend", "params": {}}, "version"),
        ({"id": "ok", "version": 2, "kind": "blend", "params": {"mode": "x"}}, "mode"),
        ({"id": "ok", "version": 2, "kind": "paint", "params": {}}, "kind"),
        ({"id": "ok", "version": 2, "kind": "blend", "description": "x" * 501}, "description"),
    ],
)
def test_a_preset_from_json_is_checked_field_by_field(data: dict[str, object], field: str) -> None:
    with pytest.raises(MediaInvalidInput) as caught:
        Preset.from_json(data)
    assert caught.value.field == field


def test_a_studio_run_input_becomes_a_new_version() -> None:
    saved = {"id": "crisp", "version": 2, "kind": "upscale", "params": {"sharpen_percent": 150}}
    preset = Preset.from_json(saved)
    assert preset.version == 2 and isinstance(preset.params, UpscaleParams)
    assert preset.params.sharpen_percent == 150 and preset.params.factor == 2
