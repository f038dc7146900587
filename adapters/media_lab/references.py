"""Embedded generation from references: read palette and layout from the reference images,
draw the prompt with the built-in renderer (adapters/renderer.py) in that palette and layout,
and mix the first reference back in by (1 - strength)."""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image

from adapters.media_lab.images import cover
from adapters.media_lab.params import ReferenceParams
from adapters.media_lab.video import check_stop
from adapters.renderer import render
from adapters.specs import SpecProposal, clamp_spec, spec_dump

F32 = npt.NDArray[np.float32]
PALETTE_SIZE = 5
_ANALYSIS_SIDE = 160


@dataclass(frozen=True)
class Layout:
    """What the renderer takes from the references."""

    palette: list[str]
    """Dominant colours of all references (k-means), most common first."""
    brightness: float
    contrast: float
    horizon: float
    """Row (0 top, 1 bottom) of the first reference's strongest horizontal edge."""
    subject_x: float
    subject_y: float
    subject_scale: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _small(image: Image.Image) -> F32:
    rgb = image.convert("RGB")
    rgb.thumbnail((_ANALYSIS_SIDE, _ANALYSIS_SIDE), Image.Resampling.BOX)
    return np.asarray(rgb, np.float32) / np.float32(255.0)


def _luma(a: F32) -> F32:
    return np.asarray(a @ np.array([0.299, 0.587, 0.114], np.float32), np.float32)


def _kmeans(pixels: F32, k: int) -> tuple[F32, npt.NDArray[np.int64]]:
    """Deterministic k-means (centres start at luma quantiles): centres and cluster sizes,
    biggest first."""
    luma = _luma(pixels)
    order = np.argsort(luma, kind="stable")
    starts = order[((np.arange(k) + 0.5) / k * len(order)).astype(int)]
    centres = pixels[starts].copy()
    labels = np.zeros(len(pixels), np.int64)
    for _ in range(12):
        dist = ((pixels[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
        labels = dist.argmin(axis=1)
        for c in range(k):
            members = pixels[labels == c]
            if len(members):
                centres[c] = members.mean(axis=0)
    counts = np.bincount(labels, minlength=k)
    order = np.argsort(-counts, kind="stable")
    return centres[order], counts[order]


def _palette(pixels: F32, k: int) -> list[str]:
    """The k-means colours as `#rrggbb`, most common first."""
    centres, counts = _kmeans(pixels, k)
    hexes: list[str] = []
    for centre, count in zip(centres, counts, strict=True):
        if count == 0:
            continue
        r, g, b = (np.clip(centre, 0, 1) * 255 + 0.5).astype(int)
        colour = f"#{r:02x}{g:02x}{b:02x}"
        if colour not in hexes:
            hexes.append(colour)
    return hexes


def analyse(references: list[Image.Image]) -> Layout:
    """Palette from every reference; brightness, contrast, horizon and subject from the first."""
    smalls = [_small(image) for image in references]
    pixels = np.concatenate([s.reshape(-1, 3) for s in smalls])
    step = max(1, len(pixels) // 20000)
    palette = _palette(pixels[::step], PALETTE_SIZE)
    first = smalls[0]
    h, w = first.shape[:2]
    luma = _luma(first)
    # horizon: the row where the image changes most from above to below (smoothed)
    rows = cv2.GaussianBlur(luma, (0, 0), 2.0).mean(axis=1)
    jump = np.abs(np.diff(rows))
    low, high = int(0.15 * h), max(int(0.15 * h) + 1, int(0.85 * h))
    horizon = (low + int(np.argmax(jump[low:high])) + 1) / h if high - low > 1 else 0.55
    # subject: the pixels least like the two biggest colour areas (sky, ground, backdrop)
    backdrop, _ = _kmeans(first.reshape(-1, 3), 4)
    distance = np.min(
        [np.sqrt(((first - colour) ** 2).sum(axis=2)) for colour in backdrop[:2]], axis=0
    )
    stand_out = cv2.GaussianBlur(distance.astype(np.float32), (0, 0), 2.0)
    mask = stand_out >= max(float(np.quantile(stand_out, 0.9)), 0.5 * float(stand_out.max()))
    ys, xs = np.nonzero(mask)
    subject_x = float((xs.mean() + 0.5) / w) if len(xs) else 0.5
    subject_y = float((ys.mean() + 0.5) / h) if len(ys) else 0.6
    extent = float((np.quantile(ys, 0.95) - np.quantile(ys, 0.05) + 1) / h) if len(ys) else 0.35
    return Layout(
        palette=palette,
        brightness=round(float(luma.mean()), 3),
        contrast=round(float(np.clip(luma.std() * 3.0, 0.0, 1.0)), 3),
        horizon=round(horizon, 3),
        subject_x=round(subject_x, 3),
        subject_y=round(subject_y, 3),
        subject_scale=round(float(np.clip(extent, 0.1, 0.8)), 3),
    )


def render_from_references(
    first: Image.Image,
    layout: Layout,
    prompt: str,
    params: ReferenceParams,
    *,
    stop: threading.Event,
) -> tuple[Image.Image, dict[str, Any]]:
    """Draw `prompt` in the references' palette and layout, mixed with the first reference."""
    proposal = SpecProposal(
        deliverable="reference",
        prompt=prompt or "an image",
        width=params.width,
        height=params.height,
        seed=params.seed,
        palette=layout.palette,
        brightness=layout.brightness,
        contrast=layout.contrast,
        subject=prompt[:120] or "figure",
        subject_x=layout.subject_x,
        subject_y=layout.subject_y,
        subject_scale=layout.subject_scale,
        horizon=layout.horizon,
    )
    spec, _ = clamp_spec(proposal)
    check_stop(stop)
    drawn = render(spec).convert("RGB")
    check_stop(stop)
    reference = cover(first, drawn.width, drawn.height)
    mixed = Image.blend(reference, drawn, params.strength)
    return mixed, spec_dump(spec)
