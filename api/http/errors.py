"""How errors reach clients: `{error: {code, message, retryable}}`, never a traceback."""

from __future__ import annotations

import logging
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg_pool import PoolClosed, PoolTimeout
from pydantic import ValidationError
from starlette.exceptions import HTTPException

from adapters.errors import INTERNAL_MESSAGE, NotFound, StudioError, friendly_validation
from people.errors import LimitReached

logger = logging.getLogger("studio.api")
NO_DATABASE = (
    "The studio's database cannot be reached right now (your work is saved); try again in a moment."
)
STATUS_BY_CODE = {
    "thread_not_found": 404,
    "run_not_found": 404,
    "asset_not_found": 404,
    "invalid_input": 422,
    "invalid_gate_action": 422,
    "model_not_found": 422,
    "conflict": 409,
    "unauthorized": 401,
    "forbidden": 403,
    "too_many_requests": 429,
    "service_unavailable": 503,
}
CODE_BY_STATUS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    422: "invalid_input",
    429: "too_many_requests",
}


def error_body(code: str, message: str, *, retryable: bool = False) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "retryable": retryable}, "detail": message}


def unreachable(exc: BaseException) -> bool:
    """Whether a database error means Postgres is out of reach (a lost or refused connection,
    the pool's wait, an admin or crash shutdown: SQLSTATE class 08, 57P01-57P03), not a query
    that failed (a deadlock, a statement timeout)."""
    if isinstance(exc, PoolTimeout | PoolClosed) or type(exc) is psycopg.OperationalError:
        return True
    state = getattr(exc, "sqlstate", None) or ""
    return state.startswith("08") or state in ("57P01", "57P02", "57P03")


def install_error_handlers(app: FastAPI) -> None:
    """Register the translators from exceptions to responses."""

    @app.exception_handler(StudioError)
    async def studio_error(request: Request, exc: StudioError) -> JSONResponse:
        status = 404 if isinstance(exc, NotFound) else STATUS_BY_CODE.get(exc.code, 500)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        if isinstance(exc, LimitReached):  # when the limit frees up, in seconds
            headers = {"Retry-After": str(exc.retry_after)}
        body = error_body(exc.code, exc.message, retryable=exc.retryable)
        return JSONResponse(body, status_code=status, headers=headers)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        code = CODE_BY_STATUS.get(exc.status_code, "error")
        body = error_body(code, str(exc.detail), retryable=exc.status_code >= 500)
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(error_body("invalid_input", friendly_validation(exc)), 422)

    @app.exception_handler(ValidationError)
    async def invalid_value(request: Request, exc: ValidationError) -> JSONResponse:
        return JSONResponse(error_body("invalid_input", friendly_validation(exc)), 422)

    @app.exception_handler(PoolTimeout)
    @app.exception_handler(PoolClosed)
    @app.exception_handler(psycopg.OperationalError)
    async def no_database(request: Request, exc: Exception) -> JSONResponse:
        """Postgres is down or unreachable (stopped, restarting, `studio db stop --force`):
        a 503 to retry, not a bug's 500. Other operational errors (a deadlock, a statement
        timeout: subclasses) are the 500 they were."""
        if not unreachable(exc):
            return await internal(request, exc)
        rid = getattr(request.state, "request_id", None)
        logger.warning(
            "request %s %s: database unreachable (request %s): %s",
            request.method,
            request.url.path,
            rid,
            exc,
        )
        headers = {"Retry-After": "5", **({"X-Request-ID": rid} if rid else {})}
        body = error_body("service_unavailable", NO_DATABASE, retryable=True)
        return JSONResponse(body, 503, headers=headers)

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> JSONResponse:
        thread_id = request.path_params.get("thread_id", "-")
        path = request.url.path
        # answered outside the other middleware: the request id is taken from the request
        rid = getattr(request.state, "request_id", None)
        logger.exception(
            "request %s %s failed (thread %s, request %s)", request.method, path, thread_id, rid
        )
        headers = {"X-Request-ID": rid} if rid else None
        body = error_body("internal", INTERNAL_MESSAGE, retryable=True)
        return JSONResponse(body, 500, headers=headers)
