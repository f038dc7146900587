"""Every answer carries its request id, a 500 included (it is answered outside the other
middleware, where the id is most worth quoting)."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from api.http.errors import install_error_handlers
from api.http.request_ids import RequestIds
from telemetry.context import request_id

pytestmark = pytest.mark.anyio


def app() -> FastAPI:
    made = FastAPI()
    install_error_handlers(made)
    made.add_middleware(RequestIds)

    @made.get("/seen")
    async def seen() -> dict[str, str | None]:
        return {"request_id": request_id.get()}

    @made.get("/boom")
    async def boom() -> None:
        raise RuntimeError("a bug")

    return made


async def test_the_id_reaches_the_route_and_comes_back_even_on_a_500() -> None:
    transport = httpx.ASGITransport(app=app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://studio") as client:
        seen = await client.get("/seen", headers={"X-Request-ID": "abc.123"})
        assert seen.headers["X-Request-ID"] == "abc.123"
        assert seen.json() == {"request_id": "abc.123"}
        fresh = await client.get("/seen")
        assert fresh.json()["request_id"] == fresh.headers["X-Request-ID"]
        failed = await client.get("/boom", headers={"X-Request-ID": "trace-9"})
        assert failed.status_code == 500
        assert failed.headers["X-Request-ID"] == "trace-9"
        assert failed.json()["error"]["code"] == "internal"
        missing = await client.get("/nowhere", headers={"X-Request-ID": "with space"})
        assert missing.status_code == 404
        assert missing.headers["X-Request-ID"] != "with space"
    assert request_id.get() is None, "the id does not outlive its request"
