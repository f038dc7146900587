"""Pixel measurements against synthetic images with known values, palette distance, the
measured assessment, set drift, and how feedback words map onto measurements."""

from __future__ import annotations

import io
import json
import random
import re

import pytest
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from adapters.pixels import (
    MISSING_CAP,
    PALETTE_ACCEPTABLE,
    RAIN_VISIBLE,
    TEXT_LETTERS,
    Measurements,
    asked_moves,
    assess,
    drift,
    hamming,
    histogram_distance,
    measure,
    movements,
    outlier,
    palette_distance,
)
from adapters.regions import RAIN_SCALE

FINDING = re.compile(
    r"^(brightness|contrast|palette|composition|scale|horizon|rain|text): [a-z -]+ "
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


@pytest.mark.parametrize("horizon", [0.3, 0.55, 0.6, 0.75])
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


# Synthetic images with known values, one measurement at a time.

W, H = 768, 432


def disc(x: float, y: float, diameter: float, *, bg: str = "#8fb8de", fg: str = "#1b1b1b"):
    """A disc whose centre and diameter (as shares of the height) are known."""
    img = Image.new("RGB", (W, H), bg)
    r, cx, cy = diameter * H / 2, x * W, y * H
    ImageDraw.Draw(img).ellipse((cx - r, cy - r, cx + r, cy + r), fill=fg)
    return img


def cloudy(x: float, seed: int) -> Image.Image:
    """A storm sky whose cloud banks hang from the top edge over dark ground, and a dark
    figure centred at `x`: the kind of frame where Lens said 0.62 for a subject at 0.33."""
    rng = random.Random(seed)
    img = Image.new("RGB", (W, H), "#5a6284")
    draw = ImageDraw.Draw(img)
    for _ in range(10):
        cx, cy = rng.uniform(0, W), rng.uniform(-40, 5)
        rx, ry = rng.uniform(80, 180), rng.uniform(25, 50)
        colour = rng.choice(["#c3c8e0", "#1d2033", "#d9dcef", "#15172a"])
        draw.ellipse((cx - rx, cy - ry, cx + rx, cy + ry), fill=colour)
    img = img.filter(ImageFilter.GaussianBlur(8))
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, int(0.6 * H), W, H), fill="#3b4160")
    draw.rectangle((x * W - 16, 0.35 * H, x * W + 16, 0.75 * H), fill="#0b0c14")
    return img


@pytest.mark.parametrize("x", [0.2, 0.33, 0.5, 0.67, 0.8])
def test_subject_position_of_a_disc(x: float) -> None:
    m = measure(disc(x, 0.6, 0.25))
    assert m.subject_x == pytest.approx(x, abs=0.03)
    assert m.subject_y == pytest.approx(0.6, abs=0.04)


@pytest.mark.parametrize("x", [0.25, 0.33, 0.5, 0.67])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_subject_at_a_third_is_not_measured_at_the_clouds(x: float, seed: int) -> None:
    """Regression: clouds and sky texture used to outweigh the subject (0.62 for 0.33)."""
    assert measure(cloudy(x, seed)).subject_x == pytest.approx(x, abs=0.05)


@pytest.mark.parametrize("light", ["night", "dusk"])
def test_the_renderers_subject_at_a_third_measures_at_a_third(light: str) -> None:
    """Regression on the built-in renderer's rainy sketches, where the bug was seen."""
    import asyncio

    from adapters.renderer import Renderer
    from adapters.specs import GenerationSpec

    spec = GenerationSpec(
        deliverable="hero-a",
        prompt="a lighthouse in the rain",
        subject="lighthouse",
        subject_x=0.33,
        lighting=light,
        weather="rain",
        width=768,
        height=432,
        seed=3,
    )
    [image] = asyncio.run(Renderer().generate(spec, job_id="j", on_progress=lambda *_: None))
    assert measure(image.png).subject_x == pytest.approx(0.33, abs=0.06)


@pytest.mark.parametrize("diameter", [0.2, 0.3, 0.5])
def test_subject_scale_is_its_height(diameter: float) -> None:
    assert measure(disc(0.5, 0.5, diameter)).subject_scale == pytest.approx(diameter, abs=0.04)
    figure = Image.new("RGB", (W, H), "#d9d2c5")
    ImageDraw.Draw(figure).rectangle((350, 0.2 * H, 400, 0.2 * H + diameter * H), fill="#202020")
    assert measure(figure).subject_scale == pytest.approx(diameter, abs=0.05)


def test_a_flat_image_has_no_subject() -> None:
    m = measure(Image.new("RGB", (W, H), "#777777"))
    assert (m.subject_x, m.subject_y, m.subject_scale) == (0.5, 0.5, 0.0)


def test_known_brightness_and_contrast() -> None:
    two_tone = Image.new("RGB", (W, H), (102, 102, 102))  # luma 0.4 over 0.6
    ImageDraw.Draw(two_tone).rectangle((0, H // 2, W, H), fill=(153, 153, 153))
    m = measure(two_tone)
    assert m.brightness == pytest.approx(0.5, abs=0.005)
    assert m.contrast == pytest.approx(0.1 / 0.3, abs=0.01)  # luma std 0.1 over CONTRAST_SCALE
    assert m.horizon == pytest.approx(0.5, abs=0.02)


def test_known_warmth_and_saturation() -> None:
    warm, cool = (
        measure(Image.new("RGB", (64, 64), "#c08040")),
        measure(Image.new("RGB", (64, 64), "#4080c0")),
    )
    assert warm.warmth == pytest.approx(128 / 255, abs=0.005)  # mean red minus blue
    assert cool.warmth == pytest.approx(-128 / 255, abs=0.005)
    assert measure(Image.new("RGB", (64, 64), "#ff0000")).saturation == pytest.approx(1.0)


def test_a_known_palette_is_found_with_its_proportions() -> None:
    img = Image.new("RGB", (W, H), "#0b132b")
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, 0, int(0.3 * W) - 1, H), fill="#ff7f50")
    draw.rectangle((int(0.3 * W), 0, int(0.5 * W) - 1, H), fill="#f4d35e")
    weights = dict(measure(img).dominant)
    assert weights["#0b132b"] == pytest.approx(0.5, abs=0.02)
    assert weights["#ff7f50"] == pytest.approx(0.3, abs=0.02)
    assert weights["#f4d35e"] == pytest.approx(0.2, abs=0.02)
    dominant = measure(img).dominant
    assert palette_distance(dominant, ["#0b132b", "#ff7f50", "#f4d35e"]) < 0.02
    assert palette_distance(dominant, ["#00ff66", "#8800ff"]) > 0.4


def streaks(share: float, *, seed: int = 0, bg: str = "#2a3140") -> Image.Image:
    """Rain: one-pixel streaks 40 px long covering `share` of a 512x288 frame."""
    rng = random.Random(seed)
    img = Image.new("RGB", (512, 288), bg)
    draw = ImageDraw.Draw(img)
    for _ in range(round(share * 512 * 288 / 40)):
        x, y = 5 * rng.randrange(2, 100), rng.randrange(0, 248)
        draw.line((x, y, x, y + 39), fill="#c8d0dc")
    return img


@pytest.mark.parametrize("share", [0.005, 0.01, 0.02])
def test_rain_measures_the_share_of_streaks(share: float) -> None:
    assert measure(streaks(share)).rain == pytest.approx(share / RAIN_SCALE, rel=0.25)


def test_no_rain_in_clear_scenes_snow_or_lit_windows() -> None:
    assert measure(scene()).rain < 0.02
    snow = Image.new("RGB", (512, 288), "#2a3140")
    rng = random.Random(3)
    draw = ImageDraw.Draw(snow)
    for _ in range(600):
        x, y = rng.uniform(0, 512), rng.uniform(0, 288)
        draw.ellipse((x, y, x + 3, y + 3), fill="#eef4fa")
    assert measure(snow).rain < RAIN_VISIBLE / 4
    assert measure(city()).rain < RAIN_VISIBLE / 4


def city() -> Image.Image:
    """A night skyline with rows of lit windows: regular shapes that are not letters."""
    img = Image.new("RGB", (W, H), "#0b132b")
    draw = ImageDraw.Draw(img)
    for left in range(20, W - 80, 110):
        draw.rectangle((left, 120, left + 90, H), fill="#1c2541")
        for y in range(135, H - 10, 16):
            for x in range(left + 8, left + 84, 12):
                draw.rectangle((x, y, x + 5, y + 7), fill="#f2e8cf")
    return img


def lettered(
    words: str, *, size: int, fill: str, outline: str | None = None, base=None
) -> Image.Image:
    img = (base or scene()).copy()
    font = ImageFont.load_default(size=size)
    draw = ImageDraw.Draw(img)
    width = 0 if outline is None else max(2, size // 12)
    draw.text((60, 40), words, font=font, fill=fill, stroke_width=width, stroke_fill=outline)
    return img


def paper() -> Image.Image:
    """A pale gradient, like a poster's background."""
    img = Image.new("RGB", (W, H), "#f1ede4")
    ImageDraw.Draw(img).rectangle((0, H // 2, W, H), fill="#d9cdb8")
    return img


@pytest.mark.parametrize(
    ("fill", "outline", "bases"),
    [
        ("white", None, (scene, city, lambda: cloudy(0.7, 1))),
        ("black", None, (scene, paper)),
        ("#faf8f0", "#0c0c10", (scene, city, paper, lambda: cloudy(0.7, 1))),  # the renderer's
    ],
    ids=["light", "dark", "outlined"],
)
def test_text_drawn_with_pillow_is_found(fill: str, outline: str | None, bases) -> None:
    for base in bases:
        m = measure(lettered("Harbour Light", size=40, fill=fill, outline=outline, base=base()))
        assert m.text >= TEXT_LETTERS, base


def test_no_text_in_pictures_without_lettering() -> None:
    for img in (scene(), city(), cloudy(0.33, 2), streaks(0.02), disc(0.33, 0.6, 0.3)):
        assert measure(img).text < TEXT_LETTERS


def test_assess_counts_missing_text_and_caps_the_score() -> None:
    plain = measure(scene())
    with_text = measure(lettered("Harbour Light", size=40, fill="white"))
    asked = assess(plain, **targets(plain), text=TEXT_LETTERS)
    assert asked.missing == ["legible text"]
    assert any(f.startswith("text: no legible line of text (measured") for f in asked.findings)
    assert asked.score <= MISSING_CAP
    assert all(FINDING.match(f) for f in asked.findings), asked.findings
    shown = assess(with_text, **targets(with_text), text=TEXT_LETTERS)
    assert shown.missing == [] and shown.parts["text"] == 1.0 and shown.score > 9
    assert shown.checks["text"] == (with_text.text, float(TEXT_LETTERS))
    assert "text" not in assess(plain, **targets(plain)).parts  # no text asked: not scored


def test_assess_checks_rain_and_subject_scale_when_asked() -> None:
    dry = measure(scene())
    rain = assess(dry, **targets(dry), weather="rain", subject_scale=0.8)
    found = " ".join(rain.findings)
    assert "rain: streaks barely visible" in found and "scale: subject too small" in found
    wet = measure(streaks(0.02))
    assert "rain" not in " ".join(assess(wet, **targets(wet), weather="rain").findings)
    assert rain.checks["subject_scale"] == (round(dry.subject_scale, 4), 0.8)


def test_a_fog_hidden_horizon_is_reported_as_unchecked() -> None:
    haze = measure(scene(sky="#c8c8c8", ground="#c0c0c0", subject="#808080", horizon=0.3))
    foggy = assess(haze, **targets(haze, horizon=0.7), weather="fog")
    assert foggy.unchecked == ["the horizon (hidden by the fog)"]


def test_outlier_names_the_image_that_drifts() -> None:
    a, b = measure(scene(subject_x=0.4)), measure(scene(subject_x=0.6))
    odd = measure(scene(sky="#ff5fa2", ground="#d00000", subject="#ffd000"))
    assert outlier(drift([("a", a), ("b", b), ("c", odd)])) == "c"
    assert outlier(drift([("a", a), ("b", b), ("c", measure(scene()))])) is None
    assert outlier(drift([("a", a), ("c", odd)])) is None  # two: either could be the odd one


# Feedback words -> measurements, checked on synthetic pairs.


def test_feedback_words_map_to_measurements() -> None:
    asks = asked_moves("warmer, closer, with a lower horizon and lighter rain; more contrast")
    assert [(key, way) for _, key, way in asks] == [
        ("warmth", 1),
        ("subject_scale", 1),
        ("horizon", 1),
        ("rain", -1),
        ("contrast", 1),
    ]
    assert asked_moves("a cat on the kerb") == []
    assert [k for _, k, _ in asked_moves("make it brighter and move the subject left")] == [
        "brightness",
        "subject_x",
    ]


PAIRS = [
    ("brighter", scene(sky="#4a5a70", ground="#2a3a20"), scene(sky="#a8c8ee", ground="#6a8b5a")),
    ("warmer", Image.new("RGB", (W, H), "#6080a0"), Image.new("RGB", (W, H), "#a08060")),
    ("closer", disc(0.5, 0.5, 0.2), disc(0.5, 0.5, 0.45)),
    ("lower the horizon", scene(horizon=0.45), scene(horizon=0.7)),
    ("more rain", streaks(0.004), streaks(0.02)),
    (
        "more contrast",
        scene(sky="#8090a0", ground="#607080"),
        scene(sky="#e0f0ff", ground="#203020"),
    ),
]


@pytest.mark.parametrize(("words", "before", "after"), PAIRS, ids=[p[0] for p in PAIRS])
def test_feedback_movement_on_synthetic_pairs(words: str, before, after) -> None:
    old, new = measure(before).scalars(), measure(after).scalars()
    [forward] = movements(words, old, new)
    assert forward.ask == words and forward.moved
    assert forward.line().startswith(f"{words}: yes (")
    [backward] = movements(words, new, old)
    assert not backward.moved
    assert backward.line().startswith(f"{words}: no, it went the other way (")
    [still] = movements(words, old, old)
    assert "no, it barely changed" in still.line()


def test_feedback_movement_skips_what_was_not_measured() -> None:
    assert movements("warmer", {"brightness": 0.4}, {"brightness": 0.5, "warmth": 0.2}) == []


def test_overshooting_the_way_the_person_asked_is_not_a_fault() -> None:
    """ "brighter" after a brief that implies 0.5: an image at 0.8 is what was asked, not "too
    bright"; "darker" still finds it too bright (a new user's regenerate went back and forth)."""
    m = measure(scene())
    goal = targets(m, brightness=m.brightness - 0.3, contrast=m.contrast - 0.3)
    plain = assess(m, **goal)
    assert any(f.startswith("brightness: too bright") for f in plain.findings)
    asked = assess(m, **goal, asked={"brightness": 1, "contrast": 1})
    assert not any(f.startswith(("brightness", "contrast")) for f in asked.findings)
    assert asked.score > plain.score
    wrong_way = assess(m, **goal, asked={"brightness": -1})
    assert any(f.startswith("brightness: too bright") for f in wrong_way.findings)


def test_fog_never_asks_for_a_flatter_image_than_a_render_can_be() -> None:
    m = measure(scene())
    foggy = assess(m, **targets(m, contrast=0.1), weather="fog")
    assert foggy.checks["contrast"][1] >= 0.2
