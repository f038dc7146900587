"""One progress fraction from ComfyUI's node and sampler-step events."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from adapters.images import ProgressFn

_SAMPLER_SHARE = 0.8
"""Share of the bar for sampler steps when the workflow samples (Krita weighs them alike)."""


class ProgressTracker:
    """Combines nodes done and sampler steps into a fraction that only ever grows, below 1.

    Node count alone is misleading (the sampler is one node but most of the time); steps alone
    miss model loading and decoding. Cached nodes count as done at once. The caller reports 1.0
    itself, once the images are in hand.
    """

    def __init__(self, workflow: Mapping[str, Any]) -> None:
        self._nodes = {str(n) for n in workflow}
        self._samplers = {
            str(node_id): max(1, int(node.get("inputs", {}).get("steps") or 1))
            for node_id, node in workflow.items()
            if isinstance(node, Mapping) and isinstance(node.get("inputs", {}).get("steps"), int)
        }
        self._done: set[str] = set()
        self._current: str | None = None
        self._steps: dict[str, tuple[int, int]] = {}
        self.fraction = 0.0

    def cached(self, nodes: Iterable[str]) -> bool:
        """Nodes whose outputs come from cache; True when the fraction grew."""
        self._done.update(str(n) for n in nodes)
        return self._update()

    def executing(self, node: str) -> bool:
        """A node starts, so the previous one finished."""
        if self._current is not None:
            self._done.add(self._current)
        self._current = node
        return self._update()

    def executed(self, node: str) -> bool:
        """A node produced output."""
        self._done.add(node)
        return self._update()

    def step(self, node: str, value: int, maximum: int) -> bool:
        """A `progress` event; `value` is 0- or 1-based depending on the node, never trusted
        to reach `maximum` (gotcha 18)."""
        if maximum > 0:
            self._steps[node] = (max(0, min(value, maximum)), maximum)
        return self._update()

    def _update(self) -> bool:
        total = max(1, len(self._nodes))
        nodes_part = len(self._done & self._nodes) / total
        if self._samplers:
            done = total_steps = 0
            for node_id, steps in self._samplers.items():
                value, maximum = self._steps.get(node_id, (0, steps))
                if node_id in self._done:
                    value = maximum
                done, total_steps = done + value, total_steps + maximum
            fraction = (1 - _SAMPLER_SHARE) * nodes_part + _SAMPLER_SHARE * done / total_steps
        else:
            partial = 0.0
            if self._current is not None and self._current in self._steps:
                value, maximum = self._steps[self._current]
                partial = value / maximum / total
            fraction = nodes_part + partial
        fraction = min(0.99, fraction)
        if fraction > self.fraction:
            self.fraction = fraction
            return True
        return False


def monotonic(on_progress: ProgressFn) -> ProgressFn:
    """`on_progress` that never reports less than before (a requeued job restarts its count)."""
    peak = 0.0

    def report(fraction: float, preview: bytes | None) -> None:
        nonlocal peak
        peak = max(peak, fraction)
        on_progress(peak, preview)

    return report
