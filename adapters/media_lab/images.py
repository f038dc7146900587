"""Image helpers shared by the Media Lab backends: safe loading, cover-resizing, blend modes."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageFilter

from adapters.media_lab.errors import ReferenceUnreadable
from adapters.media_lab.params import BlendMode, UpscaleParams

F32 = npt.NDArray[np.float32]


def load_images(paths: list[Path], field: str) -> list[Image.Image]:
    """Open and fully decode every path, in order; the first missing or unreadable one raises
    `ReferenceUnreadable` naming `field[i]` (deterministic: the same input, the same error)."""
    images: list[Image.Image] = []
    for index, path in enumerate(paths):
        name = f"{field}[{index}]"
        try:
            data = path.read_bytes()
        except FileNotFoundError as exc:
            raise ReferenceUnreadable(name, f"{path.name} does not exist") from exc
        except OSError as exc:
            raise ReferenceUnreadable(name, f"{path.name} cannot be read ({exc.strerror})") from exc
        try:
            image = Image.open(io.BytesIO(data))
            image.load()
        except (OSError, SyntaxError, ValueError, struct.error, EOFError) as exc:
            raise ReferenceUnreadable(name, f"{path.name} is not a readable image") from exc
        images.append(image)
    return images


def rgb_or_rgba(image: Image.Image) -> Image.Image:
    """Keep transparency when there is some; everything else becomes RGB."""
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        return image.convert("RGBA")
    return image if image.mode == "RGB" else image.convert("RGB")


def upscale_image(image: Image.Image, factor: int, params: UpscaleParams) -> Image.Image:
    """Lanczos resampling, then an unsharp mask (the quality preset)."""
    image = rgb_or_rgba(image)
    size = (image.width * factor, image.height * factor)
    big = image.resize(size, Image.Resampling.LANCZOS)
    if params.sharpen_percent > 0 and params.sharpen_radius > 0:
        big = big.filter(
            ImageFilter.UnsharpMask(
                params.sharpen_radius, params.sharpen_percent, params.sharpen_threshold
            )
        )
    return big


def cover(image: Image.Image, width: int, height: int) -> Image.Image:
    """Centre-crop to the target aspect ratio, then bicubic resize (ComfyUI's `crop=center`)."""
    image = image.convert("RGB")
    if image.size == (width, height):
        return image
    w, h = image.size
    target = width / height
    if w / h > target:
        new_w = max(1, round(h * target))
        left = (w - new_w) // 2
        image = image.crop((left, 0, left + new_w, h))
    elif w / h < target:
        new_h = max(1, round(w / target))
        top = (h - new_h) // 2
        image = image.crop((0, top, w, top + new_h))
    return image.resize((width, height), Image.Resampling.BICUBIC)


def to_float(image: Image.Image) -> F32:
    return np.asarray(image.convert("RGB"), np.float32) / np.float32(255.0)


def to_image(array: F32) -> Image.Image:
    return Image.fromarray(np.clip(array * 255.0 + 0.5, 0, 255).astype(np.uint8))


def _soft_light_g(x: F32) -> F32:
    return np.where(x <= 0.25, ((16 * x - 12) * x + 4) * x, np.sqrt(x)).astype(np.float32)


def blend_mode(a: F32, b: F32, mode: BlendMode) -> F32:
    """`mode(a, b)` with ComfyUI ImageBlend's formulas (`average` is its `normal`: b)."""
    if mode == "average":
        out = b
    elif mode == "multiply":
        out = a * b
    elif mode == "screen":
        out = 1 - (1 - a) * (1 - b)
    elif mode == "overlay":
        out = np.where(a <= 0.5, 2 * a * b, 1 - 2 * (1 - a) * (1 - b))
    elif mode == "soft_light":
        out = np.where(
            b <= 0.5, a - (1 - 2 * b) * a * (1 - a), a + (2 * b - 1) * (_soft_light_g(a) - a)
        )
    else:  # difference
        out = a - b
    return np.asarray(out, np.float32)


def blend_factors(weights: list[float]) -> list[float]:
    """The ImageBlend `blend_factor` of each step of the left fold (step i mixes source i+1)."""
    factors, running = [], weights[0]
    for weight in weights[1:]:
        running += weight
        factors.append(weight / running if running > 0 else 0.0)
    return factors


def blend_arrays(arrays: list[F32], weights: list[float], mode: BlendMode) -> F32:
    """Fold: acc = acc * (1 - f_i) + mode(acc, src_i) * f_i, clamped like ImageBlend."""
    acc = arrays[0]
    for array, factor in zip(arrays[1:], blend_factors(weights), strict=True):
        blended = blend_mode(acc, array, mode)
        acc = np.clip(acc * (1 - factor) + blended * factor, 0, 1).astype(np.float32)
    return acc
