"""Prometheus metrics of one studio process, in their own registry, for `GET /metrics`.

Counters and histograms count what this process did (the runs it executed, the nodes, model
calls and generations in them, the streams it served). `studio_runs_queued` is the exception:
it is read from the shared Postgres when scraped, so every process reports the same queue.
Label values come from small, known sets (statuses, node names, roles, models, backends);
thread and run ids never become labels.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.gc_collector import GCCollector
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

logger = logging.getLogger("studio.metrics")
T = TypeVar("T")

disable_created_metrics()  # type: ignore[no-untyped-call]  # no `*_created` series
REGISTRY = CollectorRegistry()
"""The studio's registry (not prometheus-client's global one): exactly what `/metrics` shows."""
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)
GCCollector(registry=REGISTRY)

SECONDS = (0.005, 0.025, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
WAITING = (1, 5, 15, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600, 7 * 24 * 3600)
LAG = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

RUNS = Counter(
    "studio_runs",
    "Runs this process finished, by how they ended (success, error, interrupted, "
    "rolled_back; a run that stopped at a gate is a success).",
    ["status"],
    registry=REGISTRY,
)
RUNS_ACTIVE = Gauge(
    "studio_runs_active",
    "Runs executing in this process now.",
    registry=REGISTRY,
    multiprocess_mode="livesum",
)
RUNS_QUEUED = Gauge(
    "studio_runs_queued",
    "Runs created and not started yet, in the whole studio (read from the shared Postgres "
    "when scraped; every process reports the same value).",
    registry=REGISTRY,
    multiprocess_mode="mostrecent",
)
NODE_SECONDS = Histogram(
    "studio_node_duration_seconds",
    "How long each graph node ran (one observation per node execution; a gate node counts "
    "until it pauses, and again when it resumes).",
    ["node"],
    buckets=SECONDS,
    registry=REGISTRY,
)
NODE_FAILURES = Counter(
    "studio_node_failures",
    "Node executions that raised an error (a gate pausing is not one).",
    ["node"],
    registry=REGISTRY,
)
GATE_WAIT = Histogram(
    "studio_gate_wait_seconds",
    "How long a gate waited for the person's answer (observed when the answer's run starts).",
    ["gate"],
    buckets=WAITING,
    registry=REGISTRY,
)
GENERATIONS = Counter(
    "studio_generations",
    "Image generation jobs that produced images, by backend (embedded: the built-in "
    "renderer; comfyui).",
    ["backend"],
    registry=REGISTRY,
)
GENERATION_FAILURES = Counter(
    "studio_generation_failures",
    "Image generation jobs that failed, by backend and error code (cancelled included).",
    ["backend", "code"],
    registry=REGISTRY,
)
GENERATION_SECONDS = Histogram(
    "studio_generation_duration_seconds",
    "How long an image generation job took, by backend (queueing for a slot excluded).",
    ["backend"],
    buckets=SECONDS,
    registry=REGISTRY,
)
LLM_TOKENS = Counter(
    "studio_llm_tokens",
    "Tokens the models read (input) and wrote (output), by role and model, as the model "
    "reported them.",
    ["role", "model", "direction"],
    registry=REGISTRY,
)
LLM_CALLS = Counter(
    "studio_llm_calls",
    "Model calls by role, model and outcome (ok, error).",
    ["role", "model", "outcome"],
    registry=REGISTRY,
)
LLM_SECONDS = Histogram(
    "studio_llm_call_duration_seconds",
    "How long one model call took, by role and model.",
    ["role", "model"],
    buckets=SECONDS,
    registry=REGISTRY,
)
SSE_CLIENTS = Gauge(
    "studio_sse_clients",
    "Server-sent event streams open in this process, by stream (run, thread, media).",
    ["stream"],
    registry=REGISTRY,
    multiprocess_mode="livesum",
)
EVENT_LAG = Histogram(
    "studio_event_log_lag_seconds",
    "From an event's write to the event log (Postgres time) to its delivery to a live "
    "follower in this process (replayed history is not counted).",
    buckets=LAG,
    registry=REGISTRY,
)
SCRAPE_ERRORS = Counter(
    "studio_metrics_scrape_errors",
    "Scrapes where a value read at scrape time (the queue) could not be read; the last "
    "known value was shown.",
    registry=REGISTRY,
)


@contextmanager
def sse_client(stream: str) -> Iterator[None]:
    """Count an open SSE stream for the block."""
    gauge = SSE_CLIENTS.labels(stream)
    gauge.inc()
    try:
        yield
    finally:
        gauge.dec()


async def counted(stream: str, source: AsyncIterator[T]) -> AsyncIterator[T]:
    """`source`, counted in `studio_sse_clients` from its first item until it ends or its
    client goes away (`EventSourceResponse(metrics.counted("run", events()))`)."""
    with sse_client(stream):
        async for item in source:
            yield item


def event_delivered(written_at: float) -> None:
    """A live follower got an event written at `written_at` (epoch seconds)."""
    if written_at > 0:
        EVENT_LAG.observe(max(0.0, time.time() - written_at))


async def render(
    queued: Callable[[], Awaitable[int]] | None = None, *, multiprocess_dir: Path | None = None
) -> tuple[bytes, str]:
    """The registry in Prometheus' text format, and its content type. `queued` reads the
    queue depth; if it fails the last value stays and `studio_metrics_scrape_errors_total`
    counts it, so a scrape never fails because Postgres is slow.

    `multiprocess_dir`: the worker processes of one `studio serve --workers N` write their
    values there (prometheus-client's multiprocess mode, chosen by `PROMETHEUS_MULTIPROC_DIR`
    before the first metric exists), and every worker answers with all of them added up
    (process and GC metrics, which cannot be added, are then left out)."""
    if queued is not None:
        try:
            RUNS_QUEUED.set(await queued())
        except Exception as exc:
            SCRAPE_ERRORS.inc()
            logger.warning("metrics: could not read the run queue: %s", exc)
    if multiprocess_dir is not None:
        merged = CollectorRegistry()
        MultiProcessCollector(merged, path=str(multiprocess_dir))  # type: ignore[no-untyped-call]
        return generate_latest(merged), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
