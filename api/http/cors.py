"""CORS for a frontend hosted on another origin (`STUDIO_CORS_ORIGINS`; off by default).

Only the listed origins get CORS headers, so only their pages may read answers and send
credentials (cookies, `Authorization`) cross-origin; any other origin's preflight is refused
(400, no `Access-Control-Allow-Origin`). `*` lets every origin read answers but never with
credentials: a page on any site could otherwise act as the signed-in person.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
EXPOSED = ["Location", "Content-Location", "Retry-After", "X-Request-ID", "Content-Disposition"]
"""Headers a cross-origin page may read: where a run is (langgraph-sdk follows
`Content-Location`), when a limit frees up, the request id to quote, a download's name."""


def install_cors(app: FastAPI, origins: list[str]) -> None:
    """Answer cross-origin requests from `origins` (none: no CORS at all)."""
    if not origins:
        return
    anyone = "*" in origins
    app.add_middleware(
        CORSMiddleware,
        allow_origins=["*"] if anyone else origins,
        allow_credentials=not anyone,
        allow_methods=METHODS,
        allow_headers=["*"],
        expose_headers=EXPOSED,
        max_age=600,
    )
