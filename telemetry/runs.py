"""A run as the run engine sees it: its context, its span, its count and its gate waits."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler
from opentelemetry import trace
from opentelemetry.trace import Span, Status, StatusCode

from telemetry import context, metrics, traces
from telemetry.graph import GraphTelemetry

HANDLER = GraphTelemetry()
"""The one callback handler every run's config carries (its state is per LangChain run)."""


def callbacks() -> list[BaseCallbackHandler]:
    """The callbacks a run's graph config takes (`config["callbacks"]`)."""
    return [HANDLER]


@contextmanager
def run_scope(
    *, thread_id: str, run_id: str, user: str | None = None, attempt: int = 0
) -> Iterator[Span]:
    """Execute one run inside: its log lines carry the thread, run and user; its nodes' spans
    hang under one `studio.run` span; `studio_runs_active` counts it meanwhile. Tasks it
    starts inherit the context."""
    # not the request id the task inherited: a thread's worker task, started by the request
    # that queued its first run, goes on to runs that other requests queued
    with context.bound(thread_id=thread_id, run_id=run_id, user=user, request_id=None):
        attributes = {"studio.attempt": attempt} if attempt else None
        with traces.span("studio.run", attributes) as span:
            metrics.RUNS_ACTIVE.inc()
            try:
                yield span
            finally:
                metrics.RUNS_ACTIVE.dec()


def run_ended(status: str) -> None:
    """Count a finished run by how it ended (`success`, `error`, `interrupted`, ...) and
    say so on its span (called inside `run_scope`)."""
    metrics.RUNS.labels(status).inc()
    span = trace.get_current_span()
    span.set_attribute("studio.status", status)
    if status == "error":
        span.set_status(Status(StatusCode.ERROR, "the run failed"))


def gate_answered(gate: str, asked_at: datetime | float) -> None:
    """A run carrying the answer to `gate` starts; the gate was announced at `asked_at`."""
    when = asked_at.timestamp() if isinstance(asked_at, datetime) else float(asked_at)
    metrics.GATE_WAIT.labels(gate).observe(max(0.0, time.time() - when))


def gate_of(record: Any) -> str:
    """The gate name in a `gate` event's data (`{"gate": "plan", ...}`), else `unknown`."""
    return str(record.get("gate") or "unknown") if isinstance(record, dict) else "unknown"
