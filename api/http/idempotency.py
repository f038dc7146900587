"""`Idempotency-Key` on mutating POSTs: a retry gets the first response, with no second effect.

A key belongs to the caller (the credential it sends: its bearer token, else the API key) and
to the request it first came with: the same key with another body is refused (422), as Stripe
and the IETF draft do. Keys expire after a day. A stored answer holds no secret: a thread's
`token` is sealed with the caller's own credential, which the server never stores, so only
that caller's retry can read it back.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from collections.abc import Callable
from typing import Any

import orjson
from fastapi import Request
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adapters.errors import InvalidInput
from api.http.errors import error_body
from engine.store import KEY_TTL_S
from store.database import Pool

RUN_CREATE = re.compile(r"^/threads/[^/]+/runs(/stream|/wait)?$")
"""Run creation dedupes by key itself (the `runs` table), so a retried stream rejoins its run."""
READ_ONLY = re.compile(r"^/(threads/search|threads/[^/]+/history|assistants/search)$")
"""POSTs that only read: a retry just reads again, nothing to remember."""
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
_KEPT_HEADERS = ("content-type", "content-location", "location")
_PURGE_EVERY_S = 600.0
_CLAIM = """
    INSERT INTO idempotency_keys (scope, key, request_hash) VALUES (%(scope)s, %(key)s, %(hash)s)
    ON CONFLICT (scope, key) DO UPDATE SET
        request_hash = EXCLUDED.request_hash, status_code = NULL, headers = '{}', body = NULL,
        created_at = now()
    WHERE idempotency_keys.created_at < now() - %(ttl)s * interval '1 s'
    RETURNING key
"""
"""The key is this request's: new, or expired (then it starts over)."""


def checked_key(raw: str) -> str:
    """The key if it is 1-255 visible ASCII characters, else `InvalidInput`."""
    if not _KEY.match(raw):
        raise InvalidInput("Idempotency-Key: 1 to 255 visible ASCII characters")
    return raw


def idempotency_key(request: Request) -> str | None:
    """The request's checked `Idempotency-Key`, if it sent one."""
    raw = request.headers.get("idempotency-key")
    return None if raw is None else checked_key(raw)


def caller_credential(headers: dict[bytes, bytes]) -> bytes | None:
    """What identifies the caller: its bearer token (else its session cookie) and/or the API
    key it sent."""
    scheme, _, token = headers.get(b"authorization", b"").partition(b" ")
    bearer = token.strip() if scheme.lower() == b"bearer" else b""
    if not bearer:
        for part in headers.get(b"cookie", b"").split(b";"):
            name, _, value = part.strip().partition(b"=")
            if name == b"studio_session" and value:
                bearer = b"session:" + value
    api_key = headers.get(b"x-api-key", b"")
    return bearer + b"|" + api_key if bearer or api_key else None


def _pad(credential: bytes, key: str, size: int) -> bytes:
    return hmac.new(credential, b"studio idempotency|" + key.encode(), hashlib.sha512).digest()[
        :size
    ]


def seal(secret: str, credential: bytes, key: str) -> str:
    """`secret` (at most 64 bytes) readable only with `credential`."""
    raw = secret.encode()
    if len(raw) > 64:
        raise ValueError("only short secrets can be sealed")
    pad = _pad(credential, key, len(raw))
    return base64.b64encode(bytes(a ^ b for a, b in zip(raw, pad, strict=True))).decode()


def unseal(sealed: str, credential: bytes, key: str) -> str:
    raw = base64.b64decode(sealed)
    pad = _pad(credential, key, len(raw))
    return bytes(a ^ b for a, b in zip(raw, pad, strict=True)).decode()


class IdempotencyMiddleware:
    """Stores the first response to each `(caller, path, key)` and replays it."""

    def __init__(self, app: ASGIApp, pool: Callable[[], Pool]) -> None:
        self.app = app
        self.pool = pool
        self._purged_at = 0.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers") or []) if scope["type"] == "http" else {}
        raw_key = headers.get(b"idempotency-key")
        path = scope.get("path", "")
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or raw_key is None
            or RUN_CREATE.match(path)
            or READ_ONLY.match(path)
        ):
            await self.app(scope, receive, send)
            return
        credential = caller_credential(headers)
        try:
            key = checked_key(raw_key.decode("latin-1"))
            if credential is None:
                raise InvalidInput(
                    "Idempotency-Key: keys belong to a caller; send the credential it is "
                    "scoped to (Authorization: Bearer, a token you hold, or X-Api-Key)"
                )
        except InvalidInput as exc:
            await _send(send, 422, {}, orjson.dumps(error_body(exc.code, exc.message)))
            return
        body, receive = await _buffered(receive)
        name = f"POST {path} {hashlib.sha256(credential).hexdigest()}"
        request_hash = hashlib.sha256(body).hexdigest()
        await self._purge_now_and_then()
        stored = await self._claim(name, key, request_hash)
        if stored is not None:
            status, kept, answer = stored
            await _send(send, status, kept, _unsealed(answer, credential, key), replayed=True)
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
            sealed = _sealed(captured["body"], credential, key)
            await self._store(name, key, status, captured["headers"], sealed)
        for message in captured["held"]:
            await send(message)

    async def _claim(
        self, name: str, key: str, request_hash: str
    ) -> tuple[int, dict[str, str], bytes] | None:
        """None when this request is the first with the key; else the answer to give."""
        params = {"scope": name, "key": key, "hash": request_hash, "ttl": KEY_TTL_S}
        async with self.pool().connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(_CLAIM, params)
            if await cur.fetchone() is not None:
                return None
            await cur.execute(
                "SELECT status_code, headers, body, request_hash FROM idempotency_keys"
                " WHERE scope = %s AND key = %s",
                [name, key],
            )
            row = await cur.fetchone()
        if row is not None and row["request_hash"] != request_hash:
            message = (
                "Idempotency-Key: already used with another request body; "
                "send a new key for a new request"
            )
            return 422, {}, orjson.dumps(error_body("invalid_input", message))
        if row is None or row["status_code"] is None:
            message = "A request with this Idempotency-Key is still being answered."
            return 409, {}, orjson.dumps(error_body("conflict", message, retryable=True))
        return int(row["status_code"]), dict(row["headers"] or {}), bytes(row["body"] or b"")

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

    async def _purge_now_and_then(self) -> None:
        """Forget expired keys (every few minutes, on the next request that uses one)."""
        now = time.monotonic()
        if now - self._purged_at < _PURGE_EVERY_S:
            return
        self._purged_at = now
        async with self.pool().connection() as conn:
            await conn.execute(
                "DELETE FROM idempotency_keys WHERE created_at < now() - %s * interval '1 s'",
                [KEY_TTL_S],
            )


def _sealed(body: bytes, credential: bytes, key: str) -> bytes:
    """The answer as stored: a `token` in it sealed with the caller's credential."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body
    if isinstance(data, dict) and isinstance(data.get("token"), str):
        data["token"] = {"sealed": seal(data["token"], credential, key)}
        return orjson.dumps(data)
    return body


def _unsealed(body: bytes, credential: bytes, key: str) -> bytes:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body
    token = data.get("token") if isinstance(data, dict) else None
    if isinstance(token, dict) and isinstance(token.get("sealed"), str):
        data["token"] = unseal(token["sealed"], credential, key)
        return orjson.dumps(data)
    return body


async def _buffered(receive: Receive) -> tuple[bytes, Receive]:
    """The whole request body, and a `receive` that hands it on first (then the server's)."""
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if message["type"] != "http.request" or not message.get("more_body", False):
            break
    body = b"".join(chunks)
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay


async def _send(
    send: Send, status: int, headers: dict[str, str], body: bytes, *, replayed: bool = False
) -> None:
    out = {"content-type": "application/json", **headers}
    if replayed:
        out["idempotent-replayed"] = "true"
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(k.encode(), v.encode("latin-1")) for k, v in out.items()],
        }
    )
    await send({"type": "http.response.body", "body": body})
