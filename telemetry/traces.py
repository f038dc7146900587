"""OpenTelemetry traces, exported over OTLP/HTTP only when `OTEL_EXPORTER_OTLP_ENDPOINT` is set.

A run is one trace: a `studio.run` span, a span per graph node under it, and under a node a
span per model call (`llm ROLE`) and per image generation job (`image.generate`). The studio
keeps its own `TracerProvider` (OpenTelemetry's global one is left alone); without an endpoint
every span is a no-op that costs next to nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Span, Status, StatusCode, Tracer

from telemetry import context
from telemetry.logs import scrub

logger = logging.getLogger("studio.traces")
SCOPE = "creative-studio"

_provider: TracerProvider | None = None
_NOOP = trace.NoOpTracer()


def traces_url(endpoint: str) -> str:
    """The traces URL for a base OTLP/HTTP endpoint, as the OpenTelemetry spec builds it from
    `OTEL_EXPORTER_OTLP_ENDPOINT` (`http://collector:4318` -> `.../v1/traces`)."""
    return endpoint.rstrip("/") + "/v1/traces"


def configure(
    endpoint: str | None,
    *,
    service_name: str = "creative-studio",
    headers: Mapping[str, str] | None = None,
) -> TracerProvider | None:
    """Export spans to `endpoint` (a base OTLP/HTTP URL) from now on; None turns tracing off.
    Replaces (and flushes) a provider an earlier call made."""
    global _provider
    shutdown()
    if not endpoint:
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    exporter = OTLPSpanExporter(endpoint=traces_url(endpoint), headers=dict(headers or {}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    _provider = provider
    logger.info("traces: exporting to %s (OTLP/HTTP)", traces_url(endpoint))
    return provider


def shutdown() -> None:
    """Send the spans still buffered and stop exporting."""
    global _provider
    provider, _provider = _provider, None
    if provider is not None:
        provider.shutdown()


def flush(timeout_ms: int = 5000) -> bool:
    """Send the spans buffered so far (tests, before a process exits)."""
    return _provider.force_flush(timeout_ms) if _provider is not None else True


@contextmanager
def tracing(
    endpoint: str | None, *, service_name: str = "creative-studio"
) -> Iterator[TracerProvider | None]:
    """`configure` for the block, then flush and stop (a process's lifetime)."""
    provider = configure(endpoint, service_name=service_name)
    try:
        yield provider
    finally:
        if provider is not None and provider is _provider:
            shutdown()


def enabled() -> bool:
    return _provider is not None


def tracer() -> Tracer:
    """The studio's tracer (a no-op one while tracing is off)."""
    return _provider.get_tracer(SCOPE) if _provider is not None else _NOOP


def context_attributes() -> dict[str, Any]:
    """The current context (`telemetry.context`) as span attributes: `studio.thread_id`..."""
    return {f"studio.{name}": value for name, value in context.current().items()}


def parent_context(task: context.Task | None = None) -> otel_context.Context | None:
    """The context a new span's parent comes from: the span of `task` (default: the graph
    node running now) when it has one, else the current span (None: OpenTelemetry's own)."""
    task = task or context.running_task()
    if task is not None and task.span is not None:
        return trace.set_span_in_context(task.span)
    return None


@contextmanager
def span(name: str, attributes: Mapping[str, Any] | None = None) -> Iterator[Span]:
    """A span for the block, a child of the current one, carrying the context fields; an
    exception escaping the block is recorded on it and marks it failed."""
    attrs = {
        **context_attributes(),
        **{k: v for k, v in (attributes or {}).items() if v is not None},
    }
    with tracer().start_as_current_span(
        name,
        context=parent_context(),
        attributes=attrs,
        record_exception=False,
        set_status_on_exception=False,
    ) as current:
        try:
            yield current
        except BaseException as exc:
            failed(current, exc)
            raise


def failed(current: Span, exc: BaseException) -> None:
    """Mark `current` failed by `exc` (its type and message; a `StudioError`'s code)."""
    code = getattr(exc, "code", None)
    if isinstance(code, str):
        current.set_attribute("studio.error_code", code)
    # our own exception event, scrubbed: a message may quote a URL with its credentials
    message = scrub(str(exc))[:1000]
    kind = type(exc).__name__
    current.add_event("exception", {"exception.type": kind, "exception.message": message})
    current.set_status(Status(StatusCode.ERROR, f"{kind}: {message}"[:200]))
