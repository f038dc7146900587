"""The HTTP API: LangGraph Server-compatible threads and runs over SSE, plus studio additions."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request

from api.http.audit_trail import RefusedAttempts
from api.http.cors import install_cors
from api.http.deps import Services
from api.http.errors import install_error_handlers
from api.http.guards import RequestGuards
from api.http.idempotency import IdempotencyMiddleware
from api.http.openapi import install_openapi
from api.http.pages import router as ui_router
from api.http.request_ids import RequestIds
from api.http.routes import (
    accounts,
    assistants,
    audit,
    critique,
    domain,
    experiment,
    export,
    grants,
    library,
    media,
    metrics,
    runs,
    threads,
)
from engine.manager import open_engine
from engine.media_lab import MediaLab
from engine.settings import Settings
from engine.studio import Studio, open_studio
from people.bootstrap import ensure_home_admin
from people.caller_cache import CallerCache

logger = logging.getLogger("studio.api")
VERSION = "0.1.0"


def create_app(settings: Settings | None = None, *, studio: Studio | None = None) -> FastAPI:
    """Build the app (`uvicorn --factory api.http.app:create_app`). Its lifespan opens the studio
    (unless one is given), then resumes the runs a previous process left unfinished."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            if studio is None:
                opened = await stack.enter_async_context(open_studio(settings))
            else:
                opened = studio
            # the home's owner token is its admin's: the CLI's, and the local browser's
            await ensure_home_admin(opened.threads.pool, settings.home)
            # bearer token -> caller in this process, kept only while it hears every change
            known = CallerCache(opened.threads.pool)
            await known.start()
            stack.push_async_callback(known.close)
            app.state.caller_cache = known
            engine = await stack.enter_async_context(open_engine(opened, settings))
            app.state.services = Services(
                settings, opened, engine.log, engine.store, engine.manager
            )
            app.state.media = await MediaLab.open(engine.manager, opened.media, settings)
            yield

    app = FastAPI(
        title="Creative Studio API",
        version=VERSION,
        summary="LangGraph Server-compatible threads and runs (SSE) for the studio graph.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    install_openapi(app)
    # innermost: it sees the route and the caller of a change refused before its route ran
    app.add_middleware(RefusedAttempts, pool=lambda: app.state.services.studio.threads.pool)
    app.add_middleware(IdempotencyMiddleware, pool=lambda: app.state.services.studio.threads.pool)
    install_cors(app, settings.cors_origin_list)  # a frontend on another origin (off by default)
    app.add_middleware(  # before anything else looks at the request
        RequestGuards,
        max_body_bytes=settings.max_body_bytes,
        allowed_hosts=settings.allowed_host_names,
        streamed={
            "/media/uploads": (settings.media_max_upload_bytes, "STUDIO_MEDIA_MAX_UPLOAD_BYTES")
        },
    )
    app.add_middleware(RequestIds)  # outermost: every answer carries its X-Request-ID
    app.include_router(accounts.router)  # sign-in, /me, personal tokens, /users (admin)
    app.include_router(threads.router)
    app.include_router(runs.router)
    app.include_router(domain.router)
    app.include_router(export.router)  # GET /threads/{id}/export: a zip to take home
    app.include_router(grants.router)  # share grants, signed URLs for media and streams
    app.include_router(critique.router)  # POST /critique: Lens on images a person brings
    app.include_router(assistants.router)
    app.include_router(media.router)  # the Media Lab: uploads, presets, jobs
    app.include_router(experiment.router)  # the launch kit: results, the A/B test, its timers
    app.include_router(metrics.router)  # GET /metrics: Prometheus (loopback, or its token)
    app.include_router(audit.router)  # GET /audit: the audit trail (admins)
    app.include_router(library.router)  # GET /library: every output you may see, downloads
    app.include_router(ui_router)  # the chat UI: `/`, `/t/{thread_id}`, `/ui/*`

    @app.get("/ok", tags=["meta"])
    async def ok() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/info", tags=["meta"])
    async def info(request: Request) -> dict[str, Any]:
        svc: Services = request.app.state.services
        return {
            "version": VERSION,
            "langgraph_py_version": _langgraph_version(),
            # strict_resume: a resume for an interrupt that is not waiting is always refused
            "flags": {
                "assistants": True,  # read-only: `studio` and `media`
                "crons": False,
                "langsmith": False,
                "strict_resume": True,
            },
            "studio": svc.studio.labels,
            "assistants": ["studio", "media"],
        }

    return app


def _langgraph_version() -> str:
    from importlib.metadata import version

    return version("langgraph")
