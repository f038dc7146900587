"""The wire helpers tests and benchmarks share (bench imports them from here, never the reverse):
a free loopback port and an SSE reader that keeps ids and arrival times."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Sse:
    event: str
    data: str
    id: str | None
    received: float = 0.0
    """`time.time()` when the event's blank line arrived."""

    def json(self) -> Any:
        return json.loads(self.data)


async def sse_events(response: httpx.Response) -> AsyncIterator[Sse]:
    """Events of an SSE response as they arrive (comments and pings skipped)."""
    event, sid = "message", None
    data: list[str] = []
    async for line in response.aiter_lines():
        if line == "":
            if data:
                yield Sse(event, "\n".join(data), sid, time.time())
            event, data, sid = "message", [], None
        elif line.startswith(":"):
            continue
        else:
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "event":
                event = value
            elif name == "data":
                data.append(value)
            elif name == "id":
                sid = value
