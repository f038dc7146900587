"""A `GenerationSpec` is a `SpecProposal` clamped: one set of fields, the choices narrowed, and
every fallback the clamp uses is the spec's own declared default."""

from __future__ import annotations

from adapters.specs import GenerationSpec, SpecProposal, clamp_spec


def test_a_spec_has_every_field_a_model_may_propose() -> None:
    proposed = list(SpecProposal.model_fields)
    assert list(GenerationSpec.model_fields)[: len(proposed)] == proposed
    schema = SpecProposal.model_json_schema()["properties"]
    assert schema["lighting"] == {"default": "daylight", "title": "Lighting", "type": "string"}


def test_unknown_choices_fall_back_to_the_specs_own_defaults() -> None:
    nonsense = {
        "lighting": "moonbeam",
        "camera": "drone",
        "weather": "hail",
        "quality": "ultra",
        "sampler": "magic",
        "scheduler": "whenever",
        "template": "  ",
        "mood": " ",
        "subject": "",
    }
    spec, notes = clamp_spec({"deliverable": "hero", "prompt": "a harbour", **nonsense})
    default = GenerationSpec(deliverable="hero", prompt="a harbour")
    assert {name: getattr(spec, name) for name in nonsense} == {
        name: getattr(default, name) for name in nonsense
    }
    assert "sampler magic/whenever -> dpmpp_2m/karras" in notes
