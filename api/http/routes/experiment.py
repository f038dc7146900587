"""The launch kit over HTTP: its results, the A/B test's figures, observations (JSON or CSV),
declare-winner and stop, and the timers that wake running tests (deadline, simulator polls)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from psycopg.rows import dict_row
from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from adapters.errors import Conflict, InvalidInput
from adapters.launch import experiment
from agents.launch.results import package
from api.http.audit_trail import audit
from api.http.deps import Services, ServicesDep, ThreadDep
from api.http.routes.runs import ALL_MODES
from people.audit import Pending

logger = logging.getLogger("studio.experiment")
SWEEP_S = 1.0
"""How often each process looks for tests whose timer is due."""
_SWEEP_LOCK = 0x1A_B7E5
"""Advisory lock id: one process at a time wakes due tests (the others skip that round)."""


@asynccontextmanager
async def timers(app: FastAPI) -> AsyncIterator[None]:
    """Wake due A/B tests in the background while the app runs (after the app's own start)."""
    task = asyncio.create_task(_sweep_forever(app))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


router = APIRouter(prefix="/threads/{thread_id}", tags=["launch"], lifespan=timers)


class Declare(BaseModel):
    """`deliverable`: the variant to declare (must be the leader; default: the leader), as the
    experiment gate's `declare` names it (README); `variant` is accepted for it too."""

    model_config = ConfigDict(extra="forbid")
    deliverable: str | None = Field(
        default=None, validation_alias=AliasChoices("deliverable", "variant")
    )


async def _values(svc: Services, thread_id: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
    snapshot = await svc.studio.graph.aget_state(svc.studio.config(thread_id))
    gate = snapshot.interrupts[0].value if snapshot.interrupts else None
    return dict(snapshot.values or {}), gate if isinstance(gate, dict) else None


async def _running_test(svc: Services, thread_id: str) -> dict[str, Any]:
    """The thread's running test, waiting at its gate (409 otherwise)."""
    values, gate = await _values(svc, thread_id)
    test = (values.get("launch") or {}).get("experiment")
    if not test:
        raise Conflict("This thread has no A/B test; it starts after the selection gate.")
    if test["status"] != "running":
        raise Conflict(f"The A/B test has ended ({test['status']}); see /results.")
    if not gate or gate.get("gate") != "experiment":
        raise Conflict("The A/B test is busy with an update; try again in a moment.")
    return dict(test)


async def answer_test(svc: Services, thread_id: str, decision: dict[str, Any]) -> dict[str, Any]:
    """Queue a run that answers the test's gate (the run manager serializes it per thread)."""
    kwargs = {
        "input": None,
        "command": {"resume": decision},
        "stream_mode": list(ALL_MODES),
        "stream_resumable": False,
        "durability": None,
        "on_disconnect": "continue",
    }
    return await svc.manager.submit(
        thread_id, assistant_id="studio", kwargs=kwargs, metadata={}, strategy="enqueue"
    )


@router.get("/results")
async def results(thread: ThreadDep, svc: ServicesDep) -> dict[str, Any]:
    """The launch kit's results: the winning script and thumbnail, every variant with its
    stats, the test's duration, confidence and method, and whether the data was simulated."""
    values, _ = await _values(svc, thread["thread_id"])
    if not values.get("launch"):
        raise Conflict("This thread is not a launch kit (settings.format 'launch').")
    return package(values)


@router.get("/experiment")
async def experiment_view(thread: ThreadDep, svc: ServicesDep) -> dict[str, Any]:
    """The A/B test as the dashboard shows it, with its thumbnails."""
    values, _ = await _values(svc, thread["thread_id"])
    launch = values.get("launch") or {}
    test = launch.get("experiment")
    if not test:
        raise Conflict("This thread has no A/B test yet.")
    thumbs = [t for t in launch.get("thumbnails") or [] if t["variant"] in test["variants"]]
    return {**experiment.view(test, svc.studio.context.clock()), "thumbnails": thumbs}


async def _rows(request: Request, variants: list[str]) -> tuple[list[dict[str, Any]], str]:
    raw = await request.body()
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if kind in ("text/csv", "application/csv", "text/plain"):
            return experiment.parse_csv(raw.decode("utf-8-sig"), variants), "csv"
        body = json.loads(raw or b"null")
        rows = body.get("rows") if isinstance(body, dict) else body
        return experiment.check_rows(rows, variants), "api"
    except UnicodeDecodeError:
        raise InvalidInput("the CSV must be UTF-8 text") from None
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None


@router.post("/experiment/observations", status_code=202)
async def post_observations(
    thread: ThreadDep, svc: ServicesDep, request: Request
) -> dict[str, Any]:
    """Add real figures: JSON `{"rows": [{variant, impressions, clicks}]}` or a CSV body
    (`Content-Type: text/csv`, header `variant,impressions,clicks`). Each row adds to the
    totals; a bad row is a 422 naming it. Refused (409) for a simulated test."""
    tid = thread["thread_id"]
    async with _audit(request, tid, "observe") as entry:
        test = await _running_test(svc, tid)
        if test["simulated"]:
            raise Conflict("This test runs on simulated data; figures cannot be added to it.")
        rows, source = await _rows(request, list(test["variants"]))
        entry.detail["answer"].update(rows=rows, source=source)
        payload = json.dumps({"rows": rows, "source": source})
        run = await answer_test(svc, tid, {"action": "observe", "answer": payload})
        entry.target = f"thread/{tid}/run/{run['run_id']}"
    return {"run_id": run["run_id"], "rows": len(rows), "source": source}


def _audit(request: Request, tid: str, action: str) -> AbstractAsyncContextManager[Pending]:
    """The A/B test's controls are answers to its gate: audited as `gate.answered`."""
    detail = {"answer": {"action": action}, "gate": "experiment"}
    return audit(request, "gate.answered", target=f"thread/{tid}", thread_id=tid, detail=detail)


@router.post("/experiment/declare", status_code=202)
async def declare(thread: ThreadDep, svc: ServicesDep, body: Declare, request: Request) -> Any:
    """Declare the leader the winner by hand (`{"deliverable": …}`, optional): refused (409,
    saying why) below 90% confidence, for a variant that does not lead, or once the test ended."""
    tid = thread["thread_id"]
    try:
        async with _audit(request, tid, "declare") as entry:
            entry.detail["answer"]["deliverable"] = body.deliverable
            test = await _running_test(svc, tid)
            if refused := experiment.refuse_declare(test, body.deliverable):
                raise _DeclareRefused(refused)
            decision = {
                "action": "declare",
                **({"deliverable": body.deliverable} if body.deliverable else {}),
            }
            run = await answer_test(svc, tid, decision)
            entry.target = f"thread/{tid}/run/{run['run_id']}"
    except _DeclareRefused as exc:
        return JSONResponse(
            {"error": {"code": exc.code, "message": str(exc), "retryable": False}},
            status_code=exc.status_code,
        )
    return {"run_id": run["run_id"], "winner": experiment.leader(test)}


class _DeclareRefused(Exception):
    """Declaring is refused (the audit trail records it so); answered as a 409."""

    code = "declare_refused"
    status_code = 409


@router.post("/experiment/stop", status_code=202)
async def stop(thread: ThreadDep, svc: ServicesDep, request: Request) -> dict[str, Any]:
    """Stop the test now; the results keep the figures so far."""
    tid = thread["thread_id"]
    async with _audit(request, tid, "stop") as entry:
        await _running_test(svc, tid)
        run = await answer_test(svc, tid, {"action": "stop"})
        entry.target = f"thread/{tid}/run/{run['run_id']}"
    return {"run_id": run["run_id"]}


async def sweep(svc: Services) -> list[str]:
    """Wake every test whose deadline or next simulator poll has come (by the studio's clock):
    one `observe` run each, unless the thread already has a run queued. One process sweeps at
    a time (an advisory lock), so a test is woken once however many processes run."""
    now = svc.studio.context.clock()
    woken: list[str] = []
    pool = svc.studio.threads.pool
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute("SELECT pg_try_advisory_lock(%s) AS got", [_SWEEP_LOCK])
        got = await cur.fetchone()
        if not got or not got["got"]:
            return woken
        try:
            await cur.execute(
                "SELECT thread_id FROM threads WHERE phase = 'experimenting' "
                "AND status = 'interrupted'"
            )
            for row in await cur.fetchall():
                tid = str(row["thread_id"])
                if await svc.runs.any_unfinished(tid):
                    continue
                values, gate = await _values(svc, tid)
                test = (values.get("launch") or {}).get("experiment")
                if gate and gate.get("gate") == "experiment" and test and experiment.due(test, now):
                    await answer_test(svc, tid, {"action": "observe"})
                    woken.append(tid)
        finally:
            await cur.execute("SELECT pg_advisory_unlock(%s)", [_SWEEP_LOCK])
    return woken


async def _sweep_forever(app: FastAPI) -> None:
    while True:
        await asyncio.sleep(SWEEP_S)
        services: Services | None = getattr(app.state, "services", None)
        if services is None:
            continue
        try:
            await sweep(services)
        except asyncio.CancelledError:
            raise
        except Exception:  # the database is away: the next round tries again
            logger.exception("A/B test timers: sweep failed")
