"""Pixel measurements, palette distance, the measured assessment and set drift."""

from __future__ import annotations

import io
import json
import re

import pytest
from PIL import Image, ImageDraw

from adapters.pixels import (
    PALETTE_ACCEPTABLE,
    Measurements,
    assess,
    drift,
    hamming,
    histogram_distance,
    measure,
    palette_distance,
)

FINDING = re.compile(
    r"^(brightness|contrast|palette|composition|horizon): [a-z -]+ "
    r"\(measured -?\d+\.\d{2}, target -?\d+\.\d{2}\)$"
)


def scene(
    *,
    sky: str = "#8fb8de",
    ground: str = "#4a6b3a",
    horizon: float = 0.5,
    subject_x: float = 0.5,
    subject: str = "#1b1b1b",
    size: tuple[int, int] = (600, 400),
) -> Image.Image:
    """Sky over ground with a dark block for a subject: a tiny stand-in for a render."""
    w, h = size
    img = Image.new("RGB", size, sky)
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, int(horizon * h), w, h), fill=ground)
    cx, half = subject_x * w, 0.05 * w
    draw.rectangle((cx - half, 0.35 * h, cx + half, 0.8 * h), fill=subject)
    return img


def png(img: Image.Image) -> bytes:
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def test_measures_tone_of_flat_and_split_images() -> None:
    grey = measure(Image.new("RGB", (300, 200), (128, 128, 128)))
    assert grey.brightness == pytest.approx(128 / 255, abs=0.005)
    assert grey.contrast == pytest.approx(0.0, abs=0.01)
    assert grey.saturation == pytest.approx(0.0, abs=0.01)
    split = Image.new("RGB", (300, 200), "white")
    ImageDraw.Draw(split).rectangle((0, 140, 300, 200), fill="black")
    m = measure(png(split))  # bytes work as well as images
    assert m.brightness == pytest.approx(0.7, abs=0.01)
    assert m.horizon == pytest.approx(0.7, abs=0.02)
    assert m.contrast > 0.9


def test_warmth_and_colourfulness_follow_colour() -> None:
    red, blue = (
        measure(Image.new("RGB", (64, 64), "#d04020")),
        measure(Image.new("RGB", (64, 64), "#2040d0")),
    )
    assert red.warmth > 0.5 > -0.5 > blue.warmth
    assert red.colourfulness > measure(Image.new("RGB", (64, 64), "#808080")).colourfulness


@pytest.mark.parametrize("subject_x", [0.2, 0.5, 0.8])
def test_subject_centroid_follows_the_subject(subject_x: float) -> None:
    assert measure(scene(subject_x=subject_x)).subject_x == pytest.approx(subject_x, abs=0.06)


@pytest.mark.parametrize("horizon", [0.3, 0.55, 0.75])
def test_horizon_follows_the_sky_ground_line(horizon: float) -> None:
    assert measure(scene(horizon=horizon)).horizon == pytest.approx(horizon, abs=0.03)


def test_dominant_colours_and_histogram() -> None:
    img = Image.new("RGB", (200, 100), "#ff0000")
    ImageDraw.Draw(img).rectangle((0, 0, 49, 100), fill="#0000ff")
    m = measure(img)
    weights = dict(m.dominant)
    assert weights["#ff0000"] == pytest.approx(0.75, abs=0.02)
    assert weights["#0000ff"] == pytest.approx(0.25, abs=0.02)
    assert len(m.histogram) == 48
    for channel in range(3):
        assert sum(m.histogram[16 * channel : 16 * channel + 16]) == pytest.approx(1.0)


def test_phash_is_stable_under_resizing_and_differs_across_images() -> None:
    a = scene(subject_x=0.3)
    assert measure(a).phash == measure(a).phash
    assert len(measure(a).phash) == 16
    assert hamming(measure(a).phash, measure(a.resize((300, 200))).phash) <= 4
    assert hamming(measure(a).phash, measure(scene(horizon=0.25, subject_x=0.8)).phash) > 10


def test_hamming_and_histogram_distance_bounds() -> None:
    assert hamming("0" * 16, "f" * 16) == 64
    assert hamming("00ff", "00fe") == 1
    same = [0.5, 0.5, 0.0, 0.0]
    assert histogram_distance(same, same) == pytest.approx(0.0, abs=1e-6)
    assert histogram_distance(same, [0.0, 0.0, 0.5, 0.5]) == pytest.approx(1.0)


def test_scalars_are_plain_json_floats() -> None:
    scalars = measure(scene()).scalars()
    assert {"brightness", "contrast", "subject_x", "horizon", "edge_density"} <= set(scalars)
    assert all(type(v) is float for v in scalars.values())
    json.dumps(scalars)


def test_palette_distance_separates_own_colours_from_contrasting_ones() -> None:
    dominant = measure(scene(sky="#8fb8de", ground="#4a6b3a", subject="#1b1b1b")).dominant
    own = palette_distance(dominant, ["#8fb8de", "#4a6b3a", "#1b1b1b"])
    assert own < 0.05
    assert palette_distance(dominant, ["#d00000", "#ffb000", "#ff00aa"]) > 0.4
    shaded = palette_distance(dominant, ["#6f98be", "#3a5b2a", "#111111"])  # same hues, darker
    assert shaded < PALETTE_ACCEPTABLE
    assert palette_distance(dominant, []) == 0.0
    assert palette_distance([], ["#ffffff"]) == 1.0


def targets(m: Measurements, **changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "palette": [c for c, _ in m.dominant],
        "brightness": m.brightness,
        "contrast": m.contrast,
        "subject_x": m.subject_x,
        "horizon": m.horizon,
    }
    return {**base, **changes}


def test_assess_on_target_has_no_findings_and_a_high_score() -> None:
    m = measure(scene())
    result = assess(m, **targets(m))
    assert result.findings == []
    assert result.score > 9.5
    assert set(result.parts) == {"palette", "brightness", "contrast", "composition", "horizon"}


def test_assess_score_rises_as_the_brightness_gap_shrinks() -> None:
    m = measure(scene())
    scores = [
        assess(m, **targets(m, brightness=m.brightness + gap)).score
        for gap in (0.4, 0.3, 0.2, 0.1, 0.05, 0.0)
    ]
    assert scores == sorted(scores)
    assert len(set(scores)) == len(scores)


def test_assess_findings_name_each_gap_in_the_agreed_form() -> None:
    m = measure(scene(subject_x=0.78, horizon=0.3))
    result = assess(
        m,
        palette=["#d00000", "#ffb000"],
        brightness=m.brightness + 0.3,
        contrast=m.contrast + 0.4,
        subject_x=0.33,
        horizon=0.6,
    )
    assert all(FINDING.match(f) for f in result.findings), result.findings
    aspects = {f.split(":")[0] for f in result.findings}
    assert aspects == {"brightness", "contrast", "palette", "composition", "horizon"}
    assert f"brightness: too dark (measured {m.brightness:.2f}" in " ".join(result.findings)
    assert "composition: subject too far right" in " ".join(result.findings)
    assert "horizon: too high (measured 0.30, target 0.60)" in result.findings
    assert "palette: off-target colours" in " ".join(result.findings)
    brighter = assess(m, **targets(m, brightness=m.brightness - 0.3))
    assert brighter.findings[0].startswith("brightness: too bright (")


def test_fog_relaxes_the_contrast_target() -> None:
    m = measure(scene())
    target = m.contrast / 0.7
    clear = assess(m, **targets(m, contrast=target))
    assert any(f.startswith("contrast: too flat") for f in clear.findings)
    foggy = assess(m, **targets(m, contrast=target), weather="fog")
    assert not any(f.startswith("contrast") for f in foggy.findings)


def test_a_horizon_hidden_by_fog_is_not_a_finding() -> None:
    haze = scene(sky="#c8c8c8", ground="#c0c0c0", subject="#808080", horizon=0.3)
    m = measure(haze)
    assert m.horizon_strength < 0.06
    assert any(f.startswith("horizon") for f in assess(m, **targets(m, horizon=0.7)).findings)
    foggy = assess(m, **targets(m, horizon=0.7), weather="fog")
    assert not any(f.startswith("horizon") for f in foggy.findings)
    assert "horizon" not in foggy.parts


def test_drift_of_one_is_zero_and_grows_with_an_outlier() -> None:
    a = measure(scene(subject_x=0.4))
    assert drift([("hero-a", a)]) == {"drift": 0.0, "pairs": [], "flags": []}
    close = drift([("hero-a", a), ("hero-b", measure(scene(subject_x=0.6)))])
    outlier = measure(scene(sky="#ff5fa2", ground="#d00000", subject="#ffd000"))
    far = drift([("hero-a", a), ("hero-b", measure(scene(subject_x=0.6))), ("hero-c", outlier)])
    assert close["flags"] == []
    assert far["drift"] > close["drift"] + 0.3
    assert len(far["pairs"]) == 3
    assert any(f.startswith("hero-c drifts from hero-a: palette") for f in far["flags"])
    pair = far["pairs"][0]
    assert {"a", "b", "palette", "histogram", "phash", "brightness"} <= set(pair)
