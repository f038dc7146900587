"""The edge: what every request must be before a route sees it (host, size, JSON, URL)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote_to_bytes

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.http.errors import CODE_BY_STATUS, error_body

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_DRAIN_BYTES = 8 << 20
"""How much of a too-large body (sent without a length) is read to answer it cleanly."""


class Refused(Exception):
    """A request the edge answers itself (`status`, `message`)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class RequestGuards:
    """Refuses, before any route runs: a `Host` the studio does not serve (403: a DNS
    rebinding page cannot drive a studio on loopback); a body over `max_body_bytes` (413,
    however it is sent); a JSON body that is not strict JSON or holds what Postgres cannot
    store (422: NaN, Infinity, lone surrogates, invalid UTF-8, NUL characters); and a URL
    with NUL characters (422). The body is read once here and handed on; later `receive`
    calls (a streaming response waiting for the client to leave) reach the server as before."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        allowed_hosts: list[str] | None = None,
        streamed: dict[str, tuple[int, str]] | None = None,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.streamed = streamed or {}
        """Paths whose POST body the route reads as a stream (uploads), with their own limit
        and its setting's name: counted as it arrives, never held here."""
        self.allowed_hosts = [h.lower().rstrip(".") for h in allowed_hosts or ["*"]]
        """Host names (no port); `*` any, `*.example.com` its subdomains."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            self._check_host(scope)
            check_url(scope)
            if scope["method"] not in _BODY_METHODS:
                await self.app(scope, receive, send)
                return
            if scope["method"] == "POST" and scope["path"] in self.streamed:
                await self._streamed(scope, receive, send, *self.streamed[scope["path"]])
                return
            body = await self._body(scope, receive)
            if body and _is_json(scope):
                check_json(body)
        except Refused as refused:
            await _answer(send, refused.status, refused.message)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _streamed(
        self, scope: Scope, receive: Receive, send: Send, limit: int, setting: str
    ) -> None:
        """Hand the body on as it arrives, counting: past `limit` the route's next read fails
        and the client gets a 413 naming `setting`."""
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _discard(receive, {"more_body": True}, _DRAIN_BYTES)
            raise Refused(413, f"file: at most {limit} bytes ({setting})")
        size = 0

        async def counted() -> Message:
            nonlocal size
            message = await receive()
            size += len(message.get("body", b""))
            if size > limit:
                raise Refused(413, f"file: at most {limit} bytes ({setting})")
            return message

        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            started = True
            await send(message)

        try:
            await self.app(scope, counted, sending)
        except Refused as refused:
            if started:
                raise
            await _discard(receive, {"more_body": True}, _DRAIN_BYTES)
            await _answer(send, refused.status, refused.message)

    def _check_host(self, scope: Scope) -> None:
        host = _header(scope, b"host")
        if host is None or "*" in self.allowed_hosts:
            return  # no Host (HTTP/1.0, ASGI tests): no browser sent it
        name = host_name(host)
        for allowed in self.allowed_hosts:
            if name == allowed or (allowed.startswith("*.") and name.endswith(allowed[1:])):
                return
        raise Refused(
            403,
            f"host: {name[:100]!r} is not a name this studio serves "
            "(STUDIO_ALLOWED_HOSTS lists them)",
        )

    async def _body(self, scope: Scope, receive: Receive) -> bytes:
        limit = self.max_body_bytes
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise Refused(413, _too_large(limit))
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise Refused(400, "the client went away before sending the whole body")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _discard(receive, message, _DRAIN_BYTES)
                raise Refused(413, _too_large(limit))
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


async def _discard(receive: Receive, message: Message, most: int) -> None:
    """Read and drop what the client is still sending (up to `most` bytes), so that it reads
    the 413 instead of a connection reset in the middle of its upload."""
    while message.get("more_body", False) and most > 0:
        message = await receive()
        most -= len(message.get("body", b""))


def host_name(host: str) -> str:
    """The name in a `Host` header: without the port or IPv6 brackets, lower case."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    name, colon, port = host.rpartition(":")
    return (name if colon and port.isdigit() else host).rstrip(".")


def _too_large(limit: int) -> str:
    return f"body: at most {limit} bytes (STUDIO_MAX_BODY_BYTES)"


def check_url(scope: Scope) -> None:
    """A URL (path or query) whose decoded text holds a NUL character is refused."""
    raw_path = scope.get("raw_path") or scope["path"].encode()
    query = scope.get("query_string") or b""
    if b"\x00" in unquote_to_bytes(raw_path) or b"\x00" in unquote_to_bytes(query):
        raise Refused(422, "url: NUL characters are not allowed")


def check_json(body: bytes) -> None:
    """Strict JSON (no NaN or Infinity, valid UTF-8, no lone surrogates), no NUL in text."""
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise Refused(422, f"body: {_why_not_json(body, exc)}") from None
    if _has_nul(value):
        raise Refused(422, "body: NUL characters (\\u0000) are not allowed in text")


def _why_not_json(body: bytes, exc: orjson.JSONDecodeError) -> str:
    """orjson's reason, or plainly that NaN / Infinity are no JSON numbers (Python's parser,
    which FastAPI uses, takes them)."""

    def refuse(constant: str) -> Any:
        raise ValueError(constant)

    try:
        json.loads(body, parse_constant=refuse)
    except ValueError as found:
        if str(found) in ("NaN", "Infinity", "-Infinity"):
            return f"{found} is not a JSON number"
    return f"not valid JSON ({exc})"


def _has_nul(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers") or []:
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


def _is_json(scope: Scope) -> bool:
    """FastAPI reads a body as JSON when it says so, or says nothing."""
    content_type = (_header(scope, b"content-type") or "").split(";")[0].strip().lower()
    return not content_type or content_type == "application/json" or content_type.endswith("+json")


async def _answer(send: Send, status: int, message: str) -> None:
    body = orjson.dumps(error_body(CODE_BY_STATUS.get(status, "error"), message))
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 413:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
