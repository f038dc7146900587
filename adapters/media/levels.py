"""Audio measurements Lens reports: loudness, peak and the silent gaps in a voice track."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

SILENCE_DB = -45.0
"""Windows quieter than this (dBFS, RMS over 50 ms) count as silence."""
_WINDOW_S = 0.05


def _db(value: float) -> float:
    return float(20 * np.log10(max(value, 1e-9)))


@dataclass(frozen=True)
class Levels:
    """How loud a track is and where it goes quiet."""

    rms_db: float
    """Loudness of the voiced parts (RMS, dBFS); -inf-like (-180) for pure silence."""
    peak_db: float
    seconds: float
    gaps: list[tuple[float, float]]
    """Silent stretches (start, end) in seconds of at least the asked length."""

    @property
    def longest_gap(self) -> float:
        return max((end - start for start, end in self.gaps), default=0.0)


def levels(samples: NDArray[np.int16], rate: int, *, min_gap_s: float = 0.6) -> Levels:
    """Measure `samples` (mono 16-bit): loudness of the voiced windows, peak, silent gaps."""
    x = samples.astype(np.float32) / 32768
    window = max(1, int(rate * _WINDOW_S))
    count = len(x) // window
    if count == 0:
        return Levels(-180.0, -180.0, len(x) / max(rate, 1), [])
    frames = x[: count * window].reshape(count, window)
    rms = np.sqrt((frames**2).mean(axis=1))
    loud = rms > 10 ** (SILENCE_DB / 20)
    voiced = frames[loud]
    rms_db = _db(float(np.sqrt((voiced**2).mean()))) if voiced.size else -180.0
    gaps, start = [], None
    for index, is_loud in enumerate([*loud.tolist(), True]):
        if not is_loud and start is None:
            start = index
        elif is_loud and start is not None:
            if (index - start) * _WINDOW_S >= min_gap_s:
                gaps.append((round(start * _WINDOW_S, 2), round(index * _WINDOW_S, 2)))
            start = None
    return Levels(round(rms_db, 1), round(_db(float(np.abs(x).max())), 1), len(x) / rate, gaps)
