"""Templates and binding: by title, validated and clamped; the spec mapping; frames; progress."""

from __future__ import annotations

import io
import json
import struct

import pytest
from PIL import Image

from adapters.colours import colour_name
from adapters.comfyui import TEMPLATES, Capabilities, job_id_for, prompt_id_for
from adapters.comfyui.binder import bind
from adapters.comfyui.frames import Preview, ProgressText, as_png, decode_frame
from adapters.comfyui.jobs import attempt_of, seed_for, thread_of
from adapters.comfyui.mapping import positive_prompt
from adapters.comfyui.progress import ProgressTracker
from adapters.comfyui.templates import load_template, titles
from adapters.specs import GenerationSpec, SpecLimits
from tests.comfyui_server import SAMPLERS, LoopbackComfyUI

STATS = {"system": {"comfyui_version": "0.3.64"}, "devices": []}
CAPS = Capabilities.from_responses(STATS, LoopbackComfyUI().object_info())


def spec(**overrides: object) -> GenerationSpec:
    return GenerationSpec.model_validate({"deliverable": "hero-a", "prompt": "a lighthouse",
                                          **overrides})  # fmt: skip


def node_titled(workflow: dict[str, object], title: str) -> dict[str, object]:
    found = workflow[titles(workflow)[title]]
    assert isinstance(found, dict)
    inputs = found["inputs"]
    assert isinstance(inputs, dict)
    return inputs


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_every_template_is_api_format_with_an_output_and_runs_on_the_server(name: str) -> None:
    workflow = load_template(name)
    assert all(
        isinstance(node_id, str) and node["class_type"] for node_id, node in workflow.items()
    )
    assert "output" in titles(workflow)
    assert CAPS.check_template(name) == []


def test_binding_follows_titles_whatever_the_node_ids() -> None:
    shipped = load_template("txt2img")
    renumber = {old: f"n{i * 7 + 100}" for i, old in enumerate(reversed(list(shipped)))}
    moved = {
        renumber[node_id]: {
            **node,
            "inputs": {k: [renumber[v[0]], v[1]] if isinstance(v, list) else v
                       for k, v in node["inputs"].items()},
        }
        for node_id, node in shipped.items()
    }  # fmt: skip
    a = bind(spec(), seed=7, prompt_id="abcdef12-0", caps=CAPS)
    b = bind(spec(), seed=7, prompt_id="abcdef12-0", caps=CAPS, workflow=moved)

    assert a.params == b.params
    assert node_titled(b.workflow, "sampler")["seed"] == 7
    assert node_titled(b.workflow, "positive")["text"] == a.params["positive"]
    assert node_titled(b.workflow, "output")["filename_prefix"] == "studio/hero-a_abcdef12"


def test_out_of_bounds_values_are_clamped_to_limits_and_the_server_schema() -> None:
    wild = GenerationSpec.model_construct(**{**spec().model_dump(), "steps": 500, "cfg": 40.0,
                                             "width": 4001, "height": 1001, "sampler": "restart",
                                             "style_intensity": 1.0})  # fmt: skip
    bound = bind(wild, seed=2**40, prompt_id="p", caps=CAPS)

    limits = SpecLimits()
    assert bound.params["steps"] == limits.max_steps
    assert bound.params["cfg"] == limits.max_cfg
    width, height = bound.params["width"], bound.params["height"]
    assert width % 8 == 0 and height % 8 == 0 and width * height <= limits.max_pixels
    assert bound.params["sampler"] in SAMPLERS  # "restart" is not on this server
    assert any("sampler_name: 'restart'" in note for note in bound.adjustments)


def test_style_intensity_scales_cfg_and_quality_picks_steps_sampler_and_size() -> None:
    def params(**overrides: object) -> dict[str, object]:
        return bind(spec(**overrides), seed=1, prompt_id="p").params

    assert [params(style_intensity=v)["cfg"] for v in (0.0, 0.5, 1.0)] == [3.9, 6.5, 9.1]
    draft, standard, high = (params(quality=q) for q in ("draft", "standard", "high"))
    assert (draft["steps"], standard["steps"], high["steps"]) == (12, 24, 36)
    assert (draft["sampler"], standard["sampler"], high["sampler"]) == (
        "euler",
        "dpmpp_2m",
        "dpmpp_2m_sde",
    )
    assert (draft["width"], draft["height"]) == (576, 384)
    assert (standard["width"], standard["height"]) == (768, 512)


def test_mood_palette_light_weather_camera_and_subject_fold_into_the_prompt() -> None:
    text = positive_prompt(
        spec(prompt="a lighthouse on a cliff", subject="keeper", mood="melancholic",
             lighting="golden hour", weather="fog", camera="low",
             palette=["#1b2a4a", "#f2a03d"], brightness=0.2),
        SpecLimits(),
    )  # fmt: skip

    assert text.startswith("a lighthouse on a cliff, keeper, melancholic mood")
    for phrase in ("golden hour light", "foggy atmosphere", "low angle shot", "dark low-key"):
        assert phrase in text
    assert f"colour palette of {colour_name('#1b2a4a')}, {colour_name('#f2a03d')}" in text
    assert (colour_name("#1b2a4a"), colour_name("#f2a03d")) == ("deep navy", "orange")


def test_job_ids_give_stable_prompt_ids_and_seeds_that_vary_by_attempt() -> None:
    job = job_id_for("thread:with:colons", "hero-a", 2, 3)
    assert (thread_of(job), attempt_of(job)) == ("thread:with:colons", 3)
    assert prompt_id_for(job) == prompt_id_for(job) != prompt_id_for(job[:-1] + "4")
    assert len(prompt_id_for(job)) == 36  # a uuid, as ComfyUI's own ids are
    auto = [seed_for(0, job_id_for("t", "hero-a", 0, n)) for n in range(3)]
    assert auto[1] == auto[0] + 1 and auto[2] == auto[0] + 2
    assert seed_for(0, job_id_for("t", "hero-b", 0, 0)) != auto[0]
    assert [seed_for(1234, job_id_for("t", "x", 0, n)) for n in (0, 1)] == [1234, 1235]


def test_binary_frames_decode_as_captured() -> None:
    png = io.BytesIO()
    Image.new("RGB", (4, 4), (1, 2, 3)).save(png, format="PNG")
    legacy = decode_frame(struct.pack(">II", 1, 2) + png.getvalue())
    assert legacy == Preview(image=png.getvalue(), mime="image/png")
    meta = json.dumps({"node_id": "7", "prompt_id": "p-1", "image_type": "image/png"}).encode()
    tagged = decode_frame(struct.pack(">II", 4, len(meta)) + meta + png.getvalue())
    assert isinstance(tagged, Preview) and (tagged.prompt_id, tagged.node_id) == ("p-1", "7")
    text = decode_frame(bytes.fromhex("0000000300000001") + b"5width: 64, height: 64")
    assert text == ProgressText(node_id="5", text="width: 64, height: 64")
    assert decode_frame(struct.pack(">II", 2, 0)) is None and decode_frame(b"\x00") is None
    jpeg = io.BytesIO()
    Image.new("RGB", (4, 4)).save(jpeg, format="JPEG")
    converted = as_png(Preview(image=jpeg.getvalue(), mime="image/jpeg"))
    assert converted is not None and converted.startswith(b"\x89PNG")


def test_progress_weighs_sampler_steps_and_never_goes_back() -> None:
    tracker = ProgressTracker(load_template("txt2img"))
    seen = [tracker.fraction]
    tracker.cached(["4", "6", "7"])
    seen.append(tracker.fraction)
    tracker.executing("5")
    tracker.executing("3")
    for step in range(1, 25):
        tracker.step("3", step, 24)
        seen.append(tracker.fraction)
    tracker.cached(["4"])  # a repeat must not move the bar
    tracker.executing("8")
    tracker.executing("9")
    tracker.executed("9")
    seen.append(tracker.fraction)

    assert seen == sorted(seen) and seen[-1] == 0.99
    assert seen[1] == pytest.approx(0.2 * 3 / 7)
    assert seen[13] == pytest.approx(0.2 * 4 / 7 + 0.8 * 12 / 24)  # step 12 of 24
