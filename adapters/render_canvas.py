"""The built-in renderer's canvas: lighting setups, palette, colour helpers and compositing."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from adapters import colours
from adapters.colours import normal_hex
from adapters.pixels import LUMA
from adapters.render_vocab import FAMILIES, mentions, pick
from adapters.render_words import Reading, read
from adapters.specs import DEFAULT_PALETTE, GenerationSpec

Arr = NDArray[np.float32]
Rng = np.random.Generator


@dataclass(frozen=True)
class Light:
    """How one lighting setup paints a scene; colours are `#rrggbb`."""

    top: str
    horizon: str
    sun: str | None  # sun, moon or None
    sun_height: float  # fraction of the sky above the horizon; negative sets it behind the land
    sun_size: float  # disc radius as a fraction of the image height
    glow: float  # sky glow around the sun
    emissive: float  # windows, signs and lamps; above 1 means neon signs too
    stars: float
    tint: str  # colour cast over the whole frame
    clouds: float
    halo: float  # backlight behind the subject
    sky_gain: float
    ambient: float  # how lit land and subject are, relative to the sky


# fmt: off
LIGHTS: dict[str, Light] = {
    #                   top        horizon    sun        height size  glow emit stars tint
    #                   clouds halo sky  ambient
    "daylight": Light("#3f7fcf", "#d2e7f7", "#fffbea", 0.75, 0.03, 0.35, 0.12, 0.0, "#fff8ee",
                      0.5, 0.15, 1.0, 0.85),
    "golden hour": Light("#6f86c0", "#ffb45c", "#ffd98a", 0.16, 0.055, 1.0, 0.2, 0.0, "#ffc27a",
                         0.35, 0.45, 1.0, 0.65),
    "dawn": Light("#56679a", "#f7b9aa", "#fff0d8", 0.08, 0.045, 0.7, 0.2, 0.15, "#f1ccd6",
                  0.3, 0.3, 0.95, 0.6),
    "dusk": Light("#1d2150", "#e46f55", "#ff9060", -0.02, 0.05, 0.8, 0.6, 0.4, "#c79bc6",
                  0.2, 0.7, 0.8, 0.4),
    "night": Light("#04060f", "#1c2645", "#e6ecfa", 0.72, 0.025, 0.3, 1.0, 1.0, "#a3b6ff",
                   0.1, 0.6, 0.45, 0.2),
    "overcast": Light("#878f98", "#c7ccd2", None, 0.0, 0.0, 0.0, 0.12, 0.0, "#dfe3e7",
                      0.9, 0.1, 0.95, 0.75),
    "studio": Light("#26262b", "#4d4d55", None, 0.0, 0.0, 0.0, 0.0, 0.0, "#ffffff",
                    0.0, 1.0, 0.8, 0.6),
    "neon": Light("#070519", "#2b1040", None, 0.0, 0.0, 0.0, 1.6, 0.25, "#d6a6ff",
                  0.0, 1.2, 0.5, 0.18),
}
# fmt: on
CAMERA_HORIZON = {"low": 0.06, "eye": 0.0, "high": -0.06, "overhead": -0.06}
"""Horizon shift by camera, kept under the critic's 0.08 horizon tolerance on purpose."""
_LUMA32 = LUMA.astype(np.float32)
WHITE = np.ones(3, np.float32)


def f32(a: object) -> Arr:
    """`a` as a float32 array (numpy's stubs widen mixed float arithmetic to float64)."""
    out: Arr = np.asarray(a, dtype=np.float32)
    return out


def rgb(colour: str) -> Arr:
    """`#rrggbb` as a float RGB triple in 0..1."""
    return f32(np.array(colours.rgb(colour)))


def mix(a: Arr, b: Arr, t: Arr | float) -> Arr:
    """Linear blend from `a` (t=0) to `b` (t=1); `t` broadcasts."""
    out: Arr = a + (b - a) * t
    return out


def luma(a: Arr) -> Arr:
    """Rec. 601 luma of RGB values in the last axis."""
    out: Arr = a @ _LUMA32
    return out


@dataclass
class Canvas:
    """A render in progress: unclipped light in `rgb`, emitters in `glow` (bloomed at the end)."""

    spec: GenerationSpec
    words: Reading  # what the spec's prompt adds to its fields
    light: Light
    family: str
    palette: Arr  # at least three colours, dominant first
    horizon: float  # after the camera's shift
    rgb: Arr
    glow: Arr
    ground: Arr  # 1 where the ground plane is (wet reflections, snow cover)
    subject: Arr  # the subject's coverage
    sky_low: Arr  # sky colour at the horizon: haze and fog take it on
    # Coverage kept out of the palette grade: a thing painted in a colour the person named,
    # and half of the sea (its own cool colour, or a warm palette grades it into sand).
    ungraded: Arr | None = None

    @property
    def h(self) -> int:
        return int(self.rgb.shape[0])

    @property
    def w(self) -> int:
        return int(self.rgb.shape[1])

    @property
    def accents(self) -> list[Arr]:
        """Colours for small things (flowers, rims); the first two cover the big areas."""
        return list(self.palette[2:]) or [self.palette[1]]

    @property
    def emitters(self) -> list[Arr]:
        """Colours for signs and glows: every colour after the dominant one."""
        return list(self.palette[1:])


def new_canvas(spec: GenerationSpec) -> Canvas:
    """An empty canvas for `spec`, with palette, lighting and scene family resolved."""
    colours = [rgb(c) for c in spec.palette if normal_hex(c)]
    colours = colours or [rgb(c) for c in DEFAULT_PALETTE]
    if len(colours) < 2:
        colours.append(colours[0] * 0.55)
    if len(colours) < 3:
        colours.append(mix(colours[0], WHITE, 0.5))
    words = read(spec)
    h, w = spec.height, spec.width
    horizon = _horizon(spec)
    return Canvas(
        spec=spec,
        words=words,
        light=LIGHTS.get(words.lighting, LIGHTS["daylight"]),
        family=_family(spec, words),
        palette=np.stack(colours),
        horizon=horizon,
        rgb=np.zeros((h, w, 3), np.float32),
        glow=np.zeros((h, w, 3), np.float32),
        ground=np.zeros((h, w), np.float32),
        subject=np.zeros((h, w), np.float32),
        sky_low=np.zeros(3, np.float32),
    )


def _family(spec: GenerationSpec, words: Reading) -> str:
    text = f"{words.scene} {spec.template}"
    family = "studio" if words.lighting == "studio" else pick(text, FAMILIES)
    return family or ("city" if words.lighting in ("neon", "night") else "meadow")


def _horizon(spec: GenerationSpec) -> float:
    return float(np.clip(spec.horizon + CAMERA_HORIZON.get(spec.camera, 0.0), 0.05, 0.95))


Disc = tuple[float, float, float]
"""A sun or moon: centre x, centre y and radius, in pixels."""
SUN_CLEARANCE = 1.6
"""How far (in radii) the sun's bright disc and bloom reach: lettering keeps out of it."""


def sun_disc(spec: GenerationSpec) -> Disc | None:
    """Where the spec's sun or moon would sit, before lettering asks it to make room; None when
    the light has none, the sky is not clear, or the scene is a studio.

    It depends on the spec alone (its own random stream), so the lettering's layout can keep
    clear of it and the recipe's text box stays what was drawn."""
    words = read(spec)
    light = LIGHTS.get(words.lighting, LIGHTS["daylight"])
    if not light.sun or _family(spec, words) == "studio":
        return None
    # an asked-for moon shows through snow or rain ("night with a full moon" in snow)
    if spec.weather != "clear" and not asked_disc(spec.prompt):
        return None
    rng = np.random.default_rng([spec.seed, 101])
    w, h, horizon = spec.width, spec.height, _horizon(spec)
    sx = rng.uniform(0.15, 0.85) * w
    if light.sun_height < 0.3:  # a low sun backlights the subject instead of competing
        sx = float(np.clip(spec.subject_x + rng.uniform(-0.12, 0.12), 0.1, 0.9)) * w
    sy = (horizon - light.sun_height * horizon) * h
    full = mentions(spec.prompt, ("full moon", "big moon", "huge moon", "harvest moon"))
    return sx, sy, light.sun_size * h * (1.8 if full else 1.0)


def asked_disc(prompt: str) -> bool:
    """Whether the prompt asks for the moon itself (not "moonlight"). Not the sun: the lights'
    own notes say "a low sun raking in", which would put a sun into every golden-hour rain."""
    return bool(mentions(prompt, ("moon", "full moon")))


def disc_box(disc: Disc) -> tuple[float, float, float, float]:
    """The box (left, top, right, bottom) lettering must keep out of around a sun or moon."""
    x, y, r = disc
    reach = SUN_CLEARANCE * r
    return x - reach, y - reach, x + reach, y + reach


def noise(rng: Rng, h: int, w: int, cells: tuple[int, int]) -> Arr:
    """Smooth value noise in 0..1: a coarse random grid, bicubically upsampled."""
    small = Image.fromarray(rng.random(cells, dtype=np.float32))
    out: Arr = np.clip(np.asarray(small.resize((w, h), Image.Resampling.BICUBIC)), 0, 1)
    return out


def paint(c: Canvas, mask: Arr, colour: Arr) -> None:
    """Composite `colour` (a triple or an image) over the canvas through `mask` (H x W)."""
    covered = np.flatnonzero(mask.max(axis=1) > 0)
    if not covered.size:
        return
    # Only the rows the mask touches, in place: painting is most of a render's time.
    band = slice(int(covered[0]), int(covered[-1]) + 1)
    alpha = mask[band, :, None]
    paint_colour = colour[band] if colour.ndim == 3 else colour
    change = paint_colour - c.rgb[band]
    change *= alpha
    c.rgb[band] += change
    c.glow[band] *= 1 - alpha  # what is painted in front hides the lights behind it


def broad_lights(glow: Arr) -> Arr:
    """`glow` without its pinpoint lights (stars, one pixel each): a 3x3 opening (the darkest
    of each pixel's neighbours, then the brightest of those), so the sun, the moon, windows
    and lamps stay as they were. Water and wet ground mirror this: a star's reflection is lost
    in the ripples, where drawn it ran down the water as a dotted streak."""
    h, w = glow.shape[:2]

    def spread(a: Arr, pick: np.ufunc) -> Arr:
        p = np.pad(a, ((1, 1), (1, 1), (0, 0)), mode="edge")
        rows_ = pick.reduce([p[:, x : x + w] for x in range(3)])
        out: Arr = pick.reduce([rows_[y : y + h] for y in range(3)])
        return out

    return spread(spread(glow, np.minimum), np.maximum)


def as_mask(img: Image.Image) -> Arr:
    """An 8-bit Pillow mask as floats in 0..1."""
    return f32(np.asarray(img, dtype=np.float32) / 255)


def rows(h: int) -> Arr:
    """Pixel row indices as a column (H x 1), for broadcasting against columns."""
    out: Arr = np.arange(h, dtype=np.float32)[:, None]
    return out
