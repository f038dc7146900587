"""Telemetry pieces on a small real graph: JSON logs with context and no secrets, Prometheus
metrics from node, model and generation hooks, OTLP spans received by a loopback collector."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from typing import Any, TypedDict

import pytest
from langchain_core.messages import HumanMessage
from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt
from prometheus_client.parser import text_string_to_metric_families

from adapters.errors import GenerationFailed
from adapters.offline.model import OfflineChatModel
from adapters.renderer import Renderer
from adapters.specs import GenerationSpec
from telemetry import context, generation, metrics, traces
from telemetry.graph import GraphTelemetry
from telemetry.logs import JsonFormatter, TextFormatter, configure, scrub, uvicorn_log_config
from tests.otlp_collector import otlp_collector

pytestmark = pytest.mark.anyio
log = logging.getLogger("studio.test_telemetry")
SPEC = GenerationSpec(
    deliverable="hero-a", prompt="a lone walker", width=128, height=96, seed=7, palette=[]
)


class State(TypedDict, total=False):
    iteration: int
    note: str


def small_graph(images: Any = None) -> Any:
    """sketch (a model call, a log line, maybe an image) -> review (a gate)."""

    async def sketch(state: State) -> dict[str, Any]:
        model = OfflineChatModel(model_name="tiny-model")
        config: Any = {"tags": ["persona:style"], "metadata": {"persona": "style"}}
        await model.ainvoke([HumanMessage("a palette for a meadow")], config)
        log.info("sketching with password=hunter2")
        if images is not None:
            await images.generate(SPEC, job_id="job-1", on_progress=lambda f, p: None)
        return {"note": "drawn"}

    def review(state: State) -> dict[str, Any]:
        interrupt({"gate": "output"})
        return {}

    builder = StateGraph(State)
    builder.add_node("sketch", sketch)
    builder.add_node("review", review)
    builder.add_edge(START, "sketch")
    builder.add_edge("sketch", "review")
    builder.add_edge("review", END)
    from langgraph.checkpoint.memory import InMemorySaver

    return builder.compile(checkpointer=InMemorySaver())


def samples(name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """The current samples called `name`, by their labels, read back from the text format."""
    text = metrics.generate_latest(metrics.REGISTRY).decode()
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                found[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def value(name: str, **labels: str) -> float:
    return samples(name).get(tuple(sorted(labels.items())), 0.0)


# -- logs ------------------------------------------------------------------------------------


def test_scrub_redacts_tokens_passwords_and_authorization() -> None:
    line = (
        'GET /threads/t1/stream?after=3&access_token=pat_abc123 HTTP/1.1 {"Authorization": '
        '"Bearer pat_xyz"} postgresql://studio:hunter2@db:5432/studio password=hunter2 '
        "/media/a.png?t=t1&exp=9&sig=deadbeef X-Api-Key: k3y max_tokens=300"
    )
    clean = scrub(line)
    for secret in ("pat_abc123", "pat_xyz", "hunter2", "deadbeef", "k3y"):
        assert secret not in clean
    assert "after=3" in clean and "max_tokens=300" in clean and "db:5432/studio" in clean
    assert "access_token=[redacted]" in clean


def test_scrub_redacts_the_studios_own_credentials_anywhere() -> None:
    secrets = {
        "thread": "st_" + "a1B2" * 10,
        "grant": "sg_" + "c3D4" * 10,
        "personal": "spat_" + "e5F6" * 10,
        "session": "sss_" + "g7H8" * 10,
        "link": "sl_" + "i9J0" * 10,
    }
    line = " ".join(f"{kind} {value}" for kind, value in secrets.items())
    line += " GET /auth/link?code=opaque-one-time-code HTTP/1.1 error code=service_unavailable"
    clean = scrub(line)
    assert not [value for value in secrets.values() if value in clean]
    assert "opaque-one-time-code" not in clean
    assert "code=service_unavailable" in clean and "first_step" in scrub("first_step_x" * 4)


def json_record(message: str, *args: Any, **extra: Any) -> dict[str, Any]:
    record = log.makeRecord(log.name, logging.INFO, __file__, 1, message, args, None, extra=extra)
    parsed: dict[str, Any] = json.loads(JsonFormatter().format(record))
    return parsed


def test_json_lines_carry_the_context_and_redact_secret_fields() -> None:
    with context.bound(thread_id="t1", run_id="r1", node="critic", iteration=2, user="ana"):
        line = json_record(
            "calling %s", "ollama", headers={"authorization": "Bearer pat_1"}, tokens=12
        )
    assert line["message"] == "calling ollama"
    assert line["level"] == "info" and line["logger"] == "studio.test_telemetry"
    assert line["ts"].endswith("+00:00")
    assert (line["thread_id"], line["run_id"], line["node"], line["iteration"]) == (
        "t1",
        "r1",
        "critic",
        2,
    )
    assert line["user"] == "ana"
    assert line["headers"] == {"authorization": "[redacted]"}
    assert line["tokens"] == 12  # a count is not a secret
    outside = json_record("idle")
    assert "thread_id" not in outside and "node" not in outside


def test_access_log_lines_never_show_the_access_token() -> None:
    access = logging.getLogger("uvicorn.access")
    args = ("127.0.0.1:5000", "GET", "/threads/t1/stream?access_token=pat_secret", "1.1", 200)
    record = access.makeRecord(
        access.name, logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d', args, None
    )
    line = json.loads(JsonFormatter().format(record))
    assert "pat_secret" not in json.dumps(line)
    assert line["http"] == {
        "client": "127.0.0.1:5000",
        "method": "GET",
        "path": "/threads/t1/stream?access_token=[redacted]",
        "status": 200,
    }
    assert "pat_secret" not in TextFormatter().format(record)


def test_uvicorn_log_config_applies() -> None:
    import logging.config

    before = logging.getLogger().handlers[:]
    try:
        logging.config.dictConfig(uvicorn_log_config("json"))
        (handler,) = logging.getLogger("uvicorn.access").handlers
        assert isinstance(handler.formatter, JsonFormatter)
    finally:
        root = logging.getLogger()
        for handler in root.handlers[:]:
            if handler not in before:
                root.removeHandler(handler)
        for handler in before:
            if handler not in root.handlers:
                root.addHandler(handler)
        for name in ("uvicorn", "uvicorn.access"):
            logging.getLogger(name).handlers.clear()
            logging.getLogger(name).propagate = True


async def test_log_lines_from_a_node_carry_thread_run_node_and_iteration() -> None:
    stream = io.StringIO()
    handler = configure("json")
    handler.setStream(stream)  # type: ignore[attr-defined]
    try:
        graph = small_graph()
        config: Any = {"configurable": {"thread_id": "t-logs"}, "callbacks": [GraphTelemetry()]}
        with context.bound(thread_id="t-logs", run_id="r-logs", user="ana"):
            await graph.ainvoke({"iteration": 1}, config)
    finally:
        logging.getLogger().removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    (sketching,) = [line for line in lines if line["message"].startswith("sketching")]
    assert sketching["message"] == "sketching with password=[redacted]"
    assert sketching["thread_id"] == "t-logs" and sketching["run_id"] == "r-logs"
    assert sketching["node"] == "sketch" and sketching["iteration"] == 1
    assert sketching["user"] == "ana"
    assert context.node.get() is None  # the node's context did not leak out


# -- metrics ---------------------------------------------------------------------------------


async def test_node_durations_tokens_and_generations_are_counted() -> None:
    renderer = generation.instrument(Renderer())
    before_nodes = value("studio_node_duration_seconds_count", node="sketch")
    before_gate = value("studio_node_duration_seconds_count", node="review")
    before_out = value(
        "studio_llm_tokens_total", role="style", model="tiny-model", direction="output"
    )
    before_gen = value("studio_generations_total", backend="embedded")
    before_fail = value("studio_node_failures_total", node="review")
    graph = small_graph(renderer)
    config: Any = {"configurable": {"thread_id": "t-metrics"}, "callbacks": [GraphTelemetry()]}
    await graph.ainvoke({"iteration": 0}, config)
    assert value("studio_node_duration_seconds_count", node="sketch") == before_nodes + 1
    assert value("studio_node_duration_seconds_count", node="review") == before_gate + 1
    assert value("studio_node_failures_total", node="review") == before_fail  # a gate pause
    assert (
        value("studio_llm_tokens_total", role="style", model="tiny-model", direction="output")
        > before_out
    )
    assert value("studio_generations_total", backend="embedded") == before_gen + 1


async def test_a_failed_generation_counts_by_backend_and_code() -> None:
    class Broken:
        name = "comfyui"

        async def generate(self, spec: Any, *, job_id: str, on_progress: Any) -> list[Any]:
            raise GenerationFailed("ComfyUI failed: out of nodes")

    broken = generation.instrument(Broken())
    before = value("studio_generation_failures_total", backend="comfyui", code="generation_failed")
    with pytest.raises(GenerationFailed):
        await broken.generate(SPEC, job_id="j", on_progress=lambda f, p: None)
    after = value("studio_generation_failures_total", backend="comfyui", code="generation_failed")
    assert after == before + 1
    assert generation.instrument(broken) is broken  # twice: still one wrapper


async def test_render_survives_a_failing_queue_read() -> None:
    async def unreachable() -> int:
        raise OSError("Postgres is gone")

    async def three() -> int:
        return 3

    body, content_type = await metrics.render(three)
    assert content_type.startswith("text/plain") and b"studio_runs_queued 3.0" in body
    errors = value("studio_metrics_scrape_errors_total")
    body, _ = await metrics.render(unreachable)
    assert b"studio_runs_queued 3.0" in body  # the last known value
    assert value("studio_metrics_scrape_errors_total") == errors + 1


def test_sse_clients_gauge_goes_up_and_down() -> None:
    before = value("studio_sse_clients", stream="thread")
    with metrics.sse_client("thread"):
        assert value("studio_sse_clients", stream="thread") == before + 1
    assert value("studio_sse_clients", stream="thread") == before


# -- traces ----------------------------------------------------------------------------------


async def test_spans_reach_an_otlp_collector_with_node_llm_and_generation() -> None:
    with otlp_collector() as collector:
        with traces.tracing(collector.url, service_name="studio-test"):
            renderer = generation.instrument(Renderer())
            graph = small_graph(renderer)
            config: Any = {
                "configurable": {"thread_id": "t-trace"},
                "callbacks": [GraphTelemetry()],
            }
            with context.bound(thread_id="t-trace", run_id="r-trace"), traces.span("studio.run"):
                await graph.ainvoke({"iteration": 0}, config)
            assert traces.flush()
        (run,) = collector.wait_for("studio.run")
        (node,) = collector.wait_for("node sketch")
        (gate,) = collector.wait_for("node review")
        (llm,) = collector.wait_for("llm style")
        (image,) = collector.wait_for("image.generate")
    assert run.service == "studio-test"
    assert {s.trace_id for s in (run, node, gate, llm, image)} == {run.trace_id}
    assert node.parent_span_id == run.span_id and gate.parent_span_id == run.span_id
    assert llm.parent_span_id == node.span_id and image.parent_span_id == node.span_id
    assert node.attributes["studio.thread_id"] == "t-trace"
    assert node.attributes["studio.run_id"] == "r-trace"
    assert llm.attributes["gen_ai.request.model"] == "tiny-model"
    assert llm.attributes["gen_ai.usage.output_tokens"] > 0
    assert image.attributes["studio.backend"] == "embedded"
    assert gate.attributes["langgraph.paused"] == "GraphInterrupt"
    assert gate.status_code == 0  # a gate pausing is not an error


async def test_a_failing_node_marks_its_span_failed_without_leaking_secrets() -> None:
    async def explode(state: State) -> dict[str, Any]:
        raise RuntimeError("cannot reach postgresql://studio:hunter2@db/studio")

    builder = StateGraph(State)
    builder.add_node("explode", explode)
    builder.add_edge(START, "explode")
    builder.add_edge("explode", END)
    graph = builder.compile()
    before = value("studio_node_failures_total", node="explode")
    with otlp_collector() as collector:
        with traces.tracing(collector.url):
            with pytest.raises(RuntimeError):
                await graph.ainvoke({}, {"callbacks": [GraphTelemetry()]})
            traces.flush()
        (span,) = collector.wait_for("node explode")
    assert span.status_code == 2  # STATUS_CODE_ERROR
    assert span.events == ["exception"]
    assert value("studio_node_failures_total", node="explode") == before + 1


def test_without_an_endpoint_spans_are_no_ops() -> None:
    traces.configure(None)
    assert not traces.enabled()
    with traces.span("studio.run") as span:
        assert not span.is_recording()


# -- real backends over their loopback servers -------------------------------------------------


async def test_ollama_tokens_are_counted_by_role_and_assigned_model() -> None:
    """ChatOllama (unmodified) against the loopback Ollama: the tokens the server reported
    (prompt_eval_count, eval_count) are what the metric adds, under the assigned model name."""
    from adapters.llm import ollama_models
    from tests.ollama_server import LoopbackOllama

    async with LoopbackOllama({"gemma3:latest": ["completion"]}) as ollama:
        models = ollama_models(ollama.base_url, {"critic": "gemma3"}, timeout_s=5.0)

        async def review(state: State) -> dict[str, Any]:
            config: Any = {"tags": ["persona:critic"], "metadata": {"persona": "critic"}}
            await models.for_role("critic").ainvoke([HumanMessage("score this")], config)
            return {}

        builder = StateGraph(State)
        builder.add_node("review", review)
        builder.add_edge(START, "review")
        builder.add_edge("review", END)
        labels = {"role": "critic", "model": "gemma3"}
        before_in = value("studio_llm_tokens_total", direction="input", **labels)
        before_out = value("studio_llm_tokens_total", direction="output", **labels)
        before_calls = value("studio_llm_calls_total", outcome="ok", **labels)
        await builder.compile().ainvoke({}, {"callbacks": [GraphTelemetry()]})
        await models.aclose()
        (chat,) = ollama.chats
    grown = value("studio_llm_tokens_total", direction="input", **labels) - before_in
    grown += value("studio_llm_tokens_total", direction="output", **labels) - before_out
    assert chat.usage > 0 and grown == chat.usage
    assert value("studio_llm_calls_total", outcome="ok", **labels) == before_calls + 1


async def test_comfyui_jobs_are_counted_and_traced_as_comfyui() -> None:
    from adapters.comfyui import ComfyUIImageGenerator
    from tests.comfyui_server import LoopbackComfyUI

    job = GenerationSpec.model_validate(
        {"deliverable": "hero-a", "prompt": "neon street", "width": 256, "height": 192}
    )
    before = value("studio_generations_total", backend="comfyui")
    with otlp_collector() as collector:
        with traces.tracing(collector.url):
            async with LoopbackComfyUI() as server:
                async with ComfyUIImageGenerator(server.base_url, stall_timeout_s=5) as comfy:
                    generation.instrument(comfy)
                    (image,) = await comfy.generate(
                        job, job_id="t1:hero-a:0:0", on_progress=lambda f, p: None
                    )
            traces.flush()
        (span,) = collector.wait_for("image.generate")
    assert image.generator == "comfyui"
    assert value("studio_generations_total", backend="comfyui") == before + 1
    assert span.attributes["studio.backend"] == "comfyui"
    assert span.attributes["studio.job_id"] == "t1:hero-a:0:0"
    assert span.attributes["studio.images"] == 1


async def test_a_subgraphs_nodes_hang_under_their_parent_node_and_keep_its_iteration() -> None:
    class Inner(TypedDict, total=False):
        note: str

    async def scene(state: Inner) -> dict[str, Any]:
        log.info("drawing a scene")
        return {"note": "scene"}

    inner = StateGraph(Inner)
    inner.add_node("scene", scene)
    inner.add_edge(START, "scene")
    outer = StateGraph(State)
    outer.add_node("video", inner.compile())
    outer.add_edge(START, "video")
    stream = io.StringIO()
    handler = configure("json")
    handler.setStream(stream)  # type: ignore[attr-defined]
    try:
        with otlp_collector() as collector:
            with traces.tracing(collector.url):
                await outer.compile().ainvoke({"iteration": 2}, {"callbacks": [GraphTelemetry()]})
                traces.flush()
            (parent,) = collector.wait_for("node video")
            (child,) = collector.wait_for("node scene")
    finally:
        logging.getLogger().removeHandler(handler)
    assert child.parent_span_id == parent.span_id
    assert child.attributes["studio.iteration"] == 2  # the subgraph's state has none
    (line,) = [json.loads(x) for x in stream.getvalue().splitlines() if "drawing" in x]
    assert (line["node"], line["iteration"]) == ("scene", 2)


async def test_a_cancelled_node_is_not_a_failure() -> None:
    started = asyncio.Event()

    async def slow(state: State) -> dict[str, Any]:
        started.set()
        await asyncio.Event().wait()  # until cancelled
        return {}

    builder = StateGraph(State)
    builder.add_node("slow", slow)
    builder.add_edge(START, "slow")
    graph = builder.compile()
    before = value("studio_node_failures_total", node="slow")
    runs = value("studio_node_duration_seconds_count", node="slow")
    task = asyncio.create_task(graph.ainvoke({}, {"callbacks": [GraphTelemetry()]}))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert value("studio_node_duration_seconds_count", node="slow") == runs + 1
    assert value("studio_node_failures_total", node="slow") == before
