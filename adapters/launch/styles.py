"""The three thumbnail styles the launch kit tests, and what each one's spec looks like."""

from __future__ import annotations

from typing import Any

from typing_extensions import TypedDict


class Style(TypedDict):
    label: str
    prompt: str
    """What the style shows; the title (quoted) and the person's directions are added."""
    spec: dict[str, Any]
    """`GenerationSpec` fields that make the style."""
    baseline_ctr: float
    """The simulator's CTR for this style (as in the seed: face 8.5%, demo 6.2%, bold 9.5%)."""
    spread: float
    """How far the simulator's true CTR may sit from the baseline (bold text varies most)."""


STYLES: dict[str, Style] = {
    "face-focused": Style(
        label="Face-focused",
        prompt="YouTube thumbnail, close-up of a presenter's surprised face looking at the "
        "viewer, person on the left",
        spec={
            "subject": "person",
            "subject_x": 0.26,
            "subject_y": 0.68,
            "subject_scale": 0.6,
            "palette": ["#1b1f3b", "#f4a259", "#f7f3e3"],
            "lighting": "studio",
            "brightness": 0.5,
            "contrast": 0.75,
            "mood": "excited",
        },
        baseline_ctr=0.085,
        spread=0.004,
    ),
    "product-demo": Style(
        label="Product demo",
        prompt="YouTube thumbnail, product shot on a clean studio backdrop, the product in use",
        spec={
            "subject": "product",
            "subject_x": 0.5,
            "subject_y": 0.7,
            "subject_scale": 0.42,
            "palette": ["#f1f1ee", "#2d6a4f", "#111111"],
            "lighting": "studio",
            "brightness": 0.68,
            "contrast": 0.6,
            "mood": "clean",
        },
        baseline_ctr=0.062,
        spread=0.004,
    ),
    "bold-text": Style(
        label="Bold text",
        prompt="YouTube thumbnail, huge bold headline type on a flat saturated background, "
        "minimal, one small product shot",
        spec={
            "subject": "object",
            "subject_x": 0.5,
            "subject_y": 0.84,
            "subject_scale": 0.2,
            "palette": ["#ffd60a", "#ffb000", "#111111"],  # flat yellow: unlike the others
            "lighting": "studio",
            "brightness": 0.7,
            "contrast": 0.9,
            "mood": "bold",
        },
        baseline_ctr=0.095,
        spread=0.012,
    ),
}
VARIANTS: tuple[str, ...] = tuple(STYLES)
THUMB_NEGATIVE = "blurry, lowres, watermark, jpeg artifacts, deformed, cluttered, tiny text"
"""The stock negative prompt without `text`: the title is what a thumbnail must letter."""
