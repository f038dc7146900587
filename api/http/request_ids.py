"""Every HTTP request gets an id: the caller's `X-Request-ID` when sane, else a fresh one. It is
set in `telemetry.context.request_id` for the request's logs and audit entries, and returned in
the response's `X-Request-ID` header."""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from telemetry.context import accept_request_id, request_id

HEADER = "X-Request-ID"


class RequestIds:
    """Pure ASGI middleware (no extra task: the id reaches the route in the same context);
    install it outermost so that the guards' early answers carry the id too."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = accept_request_id(Headers(scope=scope).get(HEADER))
        scope.setdefault("state", {})["request_id"] = rid

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[HEADER] = rid
            await send(message)

        token = request_id.set(rid)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id.reset(token)
