"""Postgres out of reach (stopped, restarting, `studio db stop --force` under a running server)
is a 503 to retry with Retry-After, not a 500 "something went wrong"; a deadlock or a statement
timeout (OperationalError's subclasses) stays the 500 it was."""

from __future__ import annotations

import httpx
import psycopg
import pytest
from fastapi import FastAPI
from psycopg import errors
from psycopg_pool import PoolTimeout

from api.http.errors import NO_DATABASE, install_error_handlers
from api.http.request_ids import RequestIds

pytestmark = pytest.mark.anyio


def app() -> FastAPI:
    made = FastAPI()
    install_error_handlers(made)
    made.add_middleware(RequestIds)

    @made.get("/pool")
    async def pool() -> None:
        raise PoolTimeout("couldn't get a connection after 30.00 sec")

    @made.get("/gone")
    async def gone() -> None:
        raise psycopg.OperationalError("connection is bad: No such file or directory")

    @made.get("/shutdown")  # what an in-flight query gets from `pg_ctl -m fast`
    async def shutdown() -> None:
        raise errors.AdminShutdown("terminating connection due to administrator command")

    @made.get("/lost")
    async def lost() -> None:
        raise errors.ConnectionFailure("server closed the connection unexpectedly")

    @made.get("/deadlock")
    async def deadlock() -> None:
        raise errors.DeadlockDetected("deadlock detected")

    return made


async def test_an_unreachable_database_is_a_503_to_retry() -> None:
    transport = httpx.ASGITransport(app=app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://studio") as client:
        for path in ("/pool", "/gone", "/shutdown", "/lost"):
            down = await client.get(path, headers={"X-Request-ID": "db-1"})
            assert down.status_code == 503, (path, down.text)
            assert down.json()["error"] == {
                "code": "service_unavailable",
                "message": NO_DATABASE,
                "retryable": True,
            }
            assert down.headers["Retry-After"] == "5"
            assert down.headers["X-Request-ID"] == "db-1"
            assert "connection" not in down.text  # the driver's words stay in the log
        bug = await client.get("/deadlock")
        assert bug.status_code == 500 and bug.json()["error"]["code"] == "internal"
