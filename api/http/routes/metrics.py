"""`GET /metrics`: this process's Prometheus metrics (`telemetry.metrics`), for a scraper.

Who may read them: with `STUDIO_METRICS_TOKEN` set, whoever sends it as a bearer token
(`Authorization: Bearer ...`, what Prometheus' `authorization` scrape setting sends); without
it, only a client on this machine's loopback interface that did not come through a proxy
(a proxy on the same machine would make every visitor look local). Metrics name no thread,
user or prompt, but they tell how busy the studio is and which models it runs.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress

from fastapi import APIRouter, Request, Response

from api.http.deps import ServicesDep
from telemetry import metrics

router = APIRouter(tags=["meta"])
QUEUE_TIMEOUT_S = 2.0
_QUEUED = "SELECT count(*) AS n FROM runs WHERE status = 'pending'"
_PROXIED = ("forwarded", "x-forwarded-for", "x-real-ip")


def _local(request: Request) -> bool:
    if any(request.headers.get(name) for name in _PROXIED):
        return False
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def allowed(request: Request, token: str | None) -> tuple[bool, str]:
    """Whether the caller may read the metrics, and why not."""
    if token:
        scheme, _, sent = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(sent.strip(), token):
            return True, ""
        return False, "send STUDIO_METRICS_TOKEN as `Authorization: Bearer <token>`"
    if _local(request):
        return True, ""
    return False, (
        "metrics answer only loopback clients unless STUDIO_METRICS_TOKEN is set "
        "(then send it as a bearer token)"
    )


@router.get("/metrics", include_in_schema=False)
async def read_metrics(request: Request, svc: ServicesDep) -> Response:
    """This process's metrics in Prometheus' text format (`studio_runs_queued` from Postgres,
    the same in every process)."""
    ok, why = allowed(request, svc.settings.metrics_token)
    if not ok:
        status = 401 if svc.settings.metrics_token else 403
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return Response(why + "\n", status_code=status, media_type="text/plain", headers=headers)

    async def queued() -> int:
        async def count() -> int:
            async with svc.runs.pool.connection() as conn:
                row = await (await conn.execute(_QUEUED)).fetchone()
            return int(row["n"]) if row else 0

        return await asyncio.wait_for(count(), QUEUE_TIMEOUT_S)

    merged = svc.settings.prometheus_multiproc_dir  # `studio serve --workers N`
    body, content_type = await metrics.render(queued, multiprocess_dir=merged)
    return Response(body, media_type=content_type, headers={"Cache-Control": "no-store"})
