"""Observability of a served studio on the embedded defaults: `/metrics` after a real session,
JSON log lines from a run, OTLP spans at a loopback collector, and CORS."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from telemetry.logs import configure
from tests.api_helpers import NEON, Served, ServerProcess, read_sse, serve
from tests.otlp_collector import otlp_collector

pytestmark = pytest.mark.anyio
FRONTEND = "https://app.example.org"


def start(text: str) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": text}]}


async def scrape(served: Served, **headers: str) -> dict[tuple[str, tuple[Any, ...]], float]:
    """`/metrics` as `{(sample name, sorted labels): value}`."""
    async with served.http(**headers) as client:
        response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    found = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def get(found: dict[tuple[str, tuple[Any, ...]], float], name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


async def session(served: Served) -> tuple[str, str]:
    """A real session: a streamed run to the plan gate (followed live on the thread stream),
    then the approval, which generates the images and stops at the output gate."""
    tid, token = await served.new_thread()
    async with served.http(token) as client:
        follower = asyncio.create_task(
            read_sse(client, "GET", f"/threads/{tid}/stream", until="done")
        )
        await asyncio.sleep(0.2)
        streamed = await read_sse(
            client, "POST", f"/threads/{tid}/runs/stream", json={"input": start(NEON)}
        )
        assert streamed[-1].event == "end"
        assert (await follower)[-1].data["thread_status"] == "interrupted"
        approved = await client.post(
            f"/threads/{tid}/runs/wait", json={"command": {"resume": {"action": "approve"}}}
        )
        assert approved.status_code == 200, approved.text
    return tid, token


async def test_metrics_move_with_a_real_session(database, tmp_path) -> None:
    async with serve(database, tmp_path) as served:
        before = await scrape(served)
        await session(served)
        after = await scrape(served)

    def moved(name: str, **labels: str) -> float:
        return get(after, name, **labels) - get(before, name, **labels)

    assert moved("studio_runs_total", status="success") == 2
    for node in ("plan", "style", "direct", "generate", "critique", "approve_plan"):
        assert moved("studio_node_duration_seconds_count", node=node) >= 1, node
    assert moved("studio_node_duration_seconds_sum", node="generate") > 0
    assert moved("studio_generations_total", backend="embedded") >= 1
    assert moved("studio_generation_duration_seconds_count", backend="embedded") >= 1
    tokens = {
        labels: value - get(before, name, **dict(labels))
        for (name, labels), value in after.items()
        if name == "studio_llm_tokens_total"
    }
    roles = {dict(labels)["role"] for labels, grew in tokens.items() if grew > 0}
    assert {"style", "composition", "story"} <= roles
    assert {dict(labels)["model"] for labels, grew in tokens.items() if grew} == {
        "studio-offline-1"
    }
    assert moved("studio_gate_wait_seconds_count", gate="plan") == 1
    assert moved("studio_event_log_lag_seconds_count") > 0  # the live follower's deliveries
    assert get(after, "studio_sse_clients", stream="thread") == 0  # both streams closed
    assert get(after, "studio_sse_clients", stream="run") == 0
    assert get(after, "studio_runs_active") == 0
    assert ("studio_runs_queued", ()) in after
    assert moved("studio_metrics_scrape_errors_total") == 0


async def test_metrics_are_for_loopback_or_the_metrics_token(database, tmp_path) -> None:
    async with serve(database, tmp_path) as served:
        async with served.http(**{"X-Forwarded-For": "203.0.113.9"}) as client:
            proxied = await client.get("/metrics")
        assert proxied.status_code == 403 and "STUDIO_METRICS_TOKEN" in proxied.text
    async with serve(database, tmp_path, metrics_token="scrape-me-0123") as served:
        async with served.http() as client:
            assert (await client.get("/metrics")).status_code == 401
        async with served.http("wrong-token") as client:
            refused = await client.get("/metrics")
        assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
        found = await scrape(served, Authorization="Bearer scrape-me-0123")
        assert ("studio_runs_active", ()) in found


async def test_json_log_lines_from_a_run_carry_thread_run_and_node(database, tmp_path) -> None:
    stream = io.StringIO()
    handler = configure("json")
    handler.setStream(stream)  # type: ignore[attr-defined]
    try:
        async with serve(database, tmp_path) as served:
            tid, _token = await session(served)
    finally:
        logging.getLogger().removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    mine = [line for line in lines if line.get("thread_id") == tid]
    assert mine, "the runs logged nothing"
    for line in mine:
        assert {"thread_id", "run_id", "node", "iteration", "user"} <= line.keys(), line
        assert line["run_id"] and line["user"], line  # the user the run is charged to
    nodes = {line["node"] for line in mine if line["node"]}
    assert {"plan", "generate", "approve_plan"} <= nodes
    assert len({line["run_id"] for line in mine}) == 2
    generated = [line for line in mine if line["node"] == "generate"]
    assert all(isinstance(line["iteration"], int) for line in generated)


async def test_spans_of_a_served_run_reach_the_collector(database, tmp_path) -> None:
    with otlp_collector() as collector:
        async with serve(database, tmp_path, OTEL_EXPORTER_OTLP_ENDPOINT=collector.url) as served:
            tid, _token = await session(served)
        # the studio flushed its spans when it stopped
        runs = collector.named("studio.run")
        nodes = collector.named("node ")
        models = collector.named("llm ")
        images = collector.named("image.generate")
    assert len(runs) == 2 and {r.attributes["studio.thread_id"] for r in runs} == {tid}
    run_spans = {r.span_id: r for r in runs}
    top = [n for n in nodes if n.parent_span_id in run_spans]
    assert {"node plan", "node generate", "node approve_plan"} <= {n.name for n in top}
    by_id = {n.span_id: n for n in nodes}
    assert models and all(m.parent_span_id in by_id for m in models)
    assert images and all(by_id[i.parent_span_id].name == "node generate" for i in images)
    assert all(i.attributes["studio.backend"] == "embedded" for i in images)
    assert {s.service for s in runs + nodes} == {"creative-studio"}


async def test_cors_is_off_by_default(database, tmp_path) -> None:
    async with serve(database, tmp_path) as served, served.http() as client:
        preflight = await client.options(
            "/threads",
            headers={"Origin": FRONTEND, "Access-Control-Request-Method": "POST"},
        )
        plain = await client.get("/ok", headers={"Origin": FRONTEND})
    assert "access-control-allow-origin" not in preflight.headers
    assert "access-control-allow-origin" not in plain.headers


async def test_cors_answers_listed_origins_only(database, tmp_path) -> None:
    origins = f"{FRONTEND}/, http://localhost:5173"
    async with serve(database, tmp_path, cors_origins=origins) as served, served.http() as client:
        allowed = await client.options(
            "/threads",
            headers={
                "Origin": FRONTEND,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type",
            },
        )
        refused = await client.options(
            "/threads",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        )
        created = await client.post("/threads", json={}, headers={"Origin": FRONTEND})
        foreign = await client.get("/ok", headers={"Origin": "https://evil.example"})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == FRONTEND
    assert allowed.headers["access-control-allow-credentials"] == "true"
    assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
    assert refused.status_code == 400
    assert "access-control-allow-origin" not in refused.headers
    assert created.headers["access-control-allow-origin"] == FRONTEND
    assert "content-location" in created.headers["access-control-expose-headers"].lower()
    assert "access-control-allow-origin" not in foreign.headers


async def test_cors_for_any_origin_never_allows_credentials(database, tmp_path) -> None:
    async with serve(database, tmp_path, cors_origins="*") as served, served.http() as client:
        preflight = await client.options(
            "/threads",
            headers={"Origin": FRONTEND, "Access-Control-Request-Method": "POST"},
        )
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in preflight.headers


def test_cors_setting_is_read_from_the_environment(monkeypatch) -> None:
    from engine.settings import Settings

    monkeypatch.setenv("STUDIO_CORS_ORIGINS", "https://a.example, https://b.example/")
    monkeypatch.setenv("STUDIO_LOG_FORMAT", "json")
    settings = Settings()
    assert settings.cors_origin_list == ["https://a.example", "https://b.example"]
    assert settings.log_format == "json"


@pytest.mark.slow
async def test_serve_workers_add_up_their_metrics(database_url, tmp_path) -> None:
    """`studio serve --workers 2`: whichever worker answers a scrape (a new connection each
    time) reports the runs of both, from the shared multiprocess directory."""
    server = ServerProcess(tmp_path, database_url, args=("--workers", "2"), name="workers")
    await server.start()
    try:
        async with server.http(server.admin_token) as client:
            for _ in range(3):
                tid = (await client.post("/threads", json={})).json()["thread_id"]
                ran = await client.post(f"/threads/{tid}/runs/wait", json={"input": start(NEON)})
                assert ran.status_code == 200, ran.text
        scrapes = []
        for _ in range(8):
            async with httpx.AsyncClient(base_url=server.url) as fresh:
                answer = await fresh.get("/metrics", headers={"Connection": "close"})
            assert answer.status_code == 200, answer.text
            scrapes.append(answer.text)
    finally:
        server.stop()
    for text in scrapes:
        assert 'studio_runs_total{status="success"} 3.0' in text
        assert "process_cpu_seconds_total" not in text  # the merged view: nothing per-process
    pids = {
        line.split("[")[-1].rstrip("]")
        for line in server.log.read_text().splitlines()
        if "Started server process" in line
    }
    assert len(pids) == 2


async def test_a_listed_frontend_acts_with_the_session_cookie_others_do_not(
    database, tmp_path
) -> None:
    """The cookie check that stops other sites' pages trusts the origins CORS lists."""
    from people import accounts

    async with serve(database, tmp_path, cors_origins=FRONTEND) as served:
        pool = served.studio.threads.pool
        await accounts.add_user(pool, "ada", "creator", password="a long password")
        async with served.http() as browser:
            signed = await browser.post(
                "/auth/signin", json={"name": "ada", "password": "a long password"}
            )
            assert signed.status_code == 200, signed.text
            listed = await browser.post("/threads", json={}, headers={"Origin": FRONTEND})
            forged = await browser.post(
                "/threads", json={}, headers={"Origin": "https://evil.example"}
            )
    assert listed.status_code == 200, listed.text
    assert listed.headers["access-control-allow-origin"] == FRONTEND
    assert forged.status_code == 403
