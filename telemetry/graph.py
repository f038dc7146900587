"""What a graph run does, seen through LangChain callbacks: node and model-call timings, tokens.

`GraphTelemetry` goes into a run's config (`callbacks`), so LangGraph hands it to every node,
subgraph and model call of the run. For each node it records the duration
(`studio_node_duration_seconds`), opens a span and registers the task (`context.Task`), so log
lines and spans from inside the node name it and its iteration. For each chat-model call it
counts tokens by role and model (from the message's `usage_metadata`) and opens a span.

Nothing here sets a context variable: LangChain may call a handler's start and end in
different contexts (a shielded end runs in a copy), so a value set at the start could
neither be undone nor kept from leaking into the caller; tasks are found instead through the
config LangGraph keeps in context while a node runs.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.outputs import LLMResult
from langgraph.errors import GraphBubbleUp
from opentelemetry import trace
from opentelemetry.trace import Span

from telemetry import context, metrics, traces

logger = logging.getLogger("studio.graph")


@dataclass
class _Open:
    """A node or model call under way."""

    started: float
    span: Span
    labels: tuple[str, ...]
    namespace: str | None = None
    """A node's task namespace (registered in `telemetry.context` while it runs)."""
    iteration: int | None = None


def _is_node(name: str | None, tags: list[str] | None, metadata: dict[str, Any] | None) -> bool:
    """The start of a node itself (LangGraph tags each node's task `graph:step:N` and names it
    after the node), not of a runnable inside it."""
    if not name or name.startswith("__") or not metadata or metadata.get("langgraph_node") != name:
        return False  # `__start__` is LangGraph's own input step, not a node of ours
    return any(tag.startswith("graph:step:") for tag in tags or ())


def _model_name(metadata: dict[str, Any] | None, kwargs: dict[str, Any]) -> str:
    found = (metadata or {}).get("ls_model_name")
    if not found:
        params = kwargs.get("invocation_params") or {}
        found = params.get("model") or params.get("model_name")
    return str(found or "unknown")


class GraphTelemetry(BaseCallbackHandler):
    """Node timings, model calls and tokens of graph runs, as metrics, spans and log context.
    One instance serves every run of a process (its state is keyed by LangChain run ids)."""

    run_inline = True
    """Called directly in the caller's task (no hop to a thread per event, as LangChain does
    for other sync handlers), so a node's task is registered before its code runs."""

    def __init__(self) -> None:
        self._open: dict[UUID, _Open] = {}

    def on_chain_start(
        self,
        serialized: dict[str, Any] | None,
        inputs: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        name = kwargs.get("name")
        if not _is_node(name, tags, metadata):
            return
        node = str(name)
        meta = metadata or {}
        namespace = str(meta.get("langgraph_checkpoint_ns") or f"{node}:{run_id}")
        found = inputs.get("iteration") if isinstance(inputs, dict) else None
        iteration = found if isinstance(found, int) else None
        parent = context.running_task(namespace.rpartition("|")[0])  # a subgraph's node
        if iteration is None and parent is not None:
            iteration = parent.iteration
        opened = _Open(time.perf_counter(), trace.INVALID_SPAN, (node,), namespace, iteration)
        if traces.enabled():
            attributes = {
                **traces.context_attributes(),
                "studio.node": node,
                "studio.iteration": iteration,
                "langgraph.step": meta.get("langgraph_step"),
                "langgraph.namespace": namespace,
            }
            opened.span = traces.tracer().start_span(
                f"node {node}",
                context=traces.parent_context(parent),
                attributes={k: v for k, v in attributes.items() if v is not None},
            )
        context.task_started(namespace, context.Task(node, iteration, opened.span))
        self._open[run_id] = opened

    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._end_node(run_id, None)

    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._end_node(run_id, error)

    def _end_node(self, run_id: UUID, error: BaseException | None) -> None:
        opened = self._open.pop(run_id, None)
        if opened is None:
            return
        (node,) = opened.labels
        elapsed = time.perf_counter() - opened.started
        metrics.NODE_SECONDS.labels(node).observe(elapsed)
        paused = isinstance(error, GraphBubbleUp)  # a gate's interrupt, a drain, a goto
        with context.bound(node=node, iteration=opened.iteration):
            if error is None:
                logger.info("node %s done in %.3f s", node, elapsed)
            elif isinstance(error, asyncio.CancelledError):  # stopped by the person or shutdown
                opened.span.set_attribute("studio.cancelled", True)
                logger.info("node %s cancelled after %.3f s", node, elapsed)
            elif paused:
                opened.span.set_attribute("langgraph.paused", type(error).__name__)
                logger.info("node %s paused (%s) after %.3f s", node, type(error).__name__, elapsed)
            else:
                metrics.NODE_FAILURES.labels(node).inc()
                traces.failed(opened.span, error)
                logger.warning(
                    "node %s failed after %.3f s: %s", node, elapsed, type(error).__name__
                )
        self._close(opened)

    def on_chat_model_start(
        self,
        serialized: dict[str, Any] | None,
        messages: list[list[Any]],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        meta = metadata or {}
        role = str(meta.get("persona") or meta.get("langgraph_node") or "unknown")
        model = _model_name(metadata, kwargs)
        opened = _Open(time.perf_counter(), trace.INVALID_SPAN, (role, model))
        if traces.enabled():
            attributes = {
                **traces.context_attributes(),
                "gen_ai.operation.name": "chat",
                "gen_ai.request.model": model,
                "gen_ai.system": meta.get("ls_provider") or "unknown",
                "studio.role": role,
            }
            parent = context.running_task(meta.get("langgraph_checkpoint_ns"))
            opened.span = traces.tracer().start_span(
                f"llm {role}", context=traces.parent_context(parent), attributes=attributes
            )
        self._open[run_id] = opened

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        opened = self._open.pop(run_id, None)
        if opened is None:
            return
        role, model = opened.labels
        usage = _usage(response)
        if usage.get("model"):  # the label stays the model as assigned (`llama3.2`)
            opened.span.set_attribute("gen_ai.response.model", usage["model"])
        metrics.LLM_CALLS.labels(role, model, "ok").inc()
        metrics.LLM_SECONDS.labels(role, model).observe(time.perf_counter() - opened.started)
        for direction in ("input", "output"):
            if usage.get(direction):
                metrics.LLM_TOKENS.labels(role, model, direction).inc(usage[direction])
                opened.span.set_attribute(f"gen_ai.usage.{direction}_tokens", usage[direction])
        self._close(opened)

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        opened = self._open.pop(run_id, None)
        if opened is None:
            return
        role, model = opened.labels
        metrics.LLM_CALLS.labels(role, model, "error").inc()
        metrics.LLM_SECONDS.labels(role, model).observe(time.perf_counter() - opened.started)
        traces.failed(opened.span, error)
        self._close(opened)

    @staticmethod
    def _close(opened: _Open) -> None:
        opened.span.end()
        if opened.namespace is not None:
            context.task_ended(opened.namespace)


def _usage(response: LLMResult) -> dict[str, Any]:
    """Input and output tokens (and the model that answered) of a model call's result."""
    found: dict[str, Any] = {"input": 0, "output": 0}
    for generations in response.generations:
        for generation in generations:
            message = getattr(generation, "message", None)
            usage = getattr(message, "usage_metadata", None) or {}
            found["input"] += int(usage.get("input_tokens") or 0)
            found["output"] += int(usage.get("output_tokens") or 0)
            meta = getattr(message, "response_metadata", None) or {}
            if meta.get("model_name") or meta.get("model"):
                found["model"] = str(meta.get("model_name") or meta.get("model"))
    return found
