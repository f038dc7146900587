"""`Idempotency-Key` on mutating POSTs: a retry gets the first response, with no second effect."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.database import Pool

RUN_CREATE = re.compile(r"^/threads/[^/]+/runs(/stream|/wait)?$")
"""Run creation dedupes by key itself (the `runs` table), so a retried stream rejoins its run."""
_KEPT_HEADERS = ("content-type", "content-location", "location")


class IdempotencyMiddleware:
    """Stores the first response to each `(caller, method, path, key)` and replays it."""

    def __init__(self, app: ASGIApp, pool: Callable[[], Pool]) -> None:
        self.app = app
        self.pool = pool

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers") or []) if scope["type"] == "http" else {}
        key = headers.get(b"idempotency-key", b"").decode()
        if scope["type"] != "http" or scope["method"] != "POST" or not key:
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if RUN_CREATE.match(path):
            await self.app(scope, receive, send)
            return
        caller = headers.get(b"authorization", b"") + b"|" + headers.get(b"x-api-key", b"")
        name = f"POST {path} {hashlib.sha256(caller).hexdigest()}"
        stored = await self._claim(name, key)
        if stored is not None:
            await _replay(stored, send)
            return
        captured: dict[str, Any] = {"body": b"", "held": []}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured["status"] = message["status"]
                captured["headers"] = {
                    k.decode().lower(): v.decode()
                    for k, v in message.get("headers", [])
                    if k.decode().lower() in _KEPT_HEADERS
                }
                content_type = captured["headers"].get("content-type", "")
                captured["streamed"] = "text/event-stream" in content_type
            elif message["type"] == "http.response.body":
                captured["body"] += message.get("body", b"")
            if captured.get("streamed"):
                await send(message)
            else:  # held until stored: a retry that arrives meanwhile must find the answer
                captured["held"].append(message)

        try:
            await self.app(scope, receive, capture)
        except BaseException:
            await self._release(name, key)
            raise
        status = captured.get("status", 500)
        if captured.get("streamed") or status >= 500:
            await self._release(name, key)  # not a replayable answer: a retry runs again
        else:
            await self._store(name, key, status, captured["headers"], captured["body"])
        for message in captured["held"]:
            await send(message)

    async def _claim(self, name: str, key: str) -> dict[str, Any] | None:
        """None when this request is the first with the key; else the stored response."""
        async with self.pool().connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(
                "INSERT INTO idempotency_keys (scope, key) VALUES (%s, %s) "
                "ON CONFLICT DO NOTHING RETURNING key",
                [name, key],
            )
            if await cur.fetchone() is not None:
                return None
            await cur.execute(
                "SELECT status_code, headers, body FROM idempotency_keys"
                " WHERE scope = %s AND key = %s",
                [name, key],
            )
            row = await cur.fetchone()
        if row is None or row["status_code"] is None:
            body = {
                "error": {
                    "code": "conflict",
                    "message": "A request with this Idempotency-Key is still being answered.",
                    "retryable": True,
                }
            }
            return {"status_code": 409, "headers": {}, "body": json.dumps(body).encode()}
        return row

    async def _store(
        self, name: str, key: str, status: int, headers: dict[str, str], body: bytes
    ) -> None:
        async with self.pool().connection() as conn:
            await conn.execute(
                "UPDATE idempotency_keys SET status_code = %s, headers = %s, body = %s"
                " WHERE scope = %s AND key = %s",
                [status, Jsonb(headers), body, name, key],
            )

    async def _release(self, name: str, key: str) -> None:
        async with self.pool().connection() as conn:
            await conn.execute(
                "DELETE FROM idempotency_keys WHERE scope = %s AND key = %s", [name, key]
            )


async def _replay(stored: dict[str, Any], send: Send) -> None:
    headers = {"content-type": "application/json", **(stored.get("headers") or {})}
    headers["idempotent-replayed"] = "true"
    await send(
        {
            "type": "http.response.start",
            "status": stored["status_code"],
            "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
        }
    )
    await send({"type": "http.response.body", "body": bytes(stored["body"] or b"")})
