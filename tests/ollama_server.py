"""A loopback Ollama for tests: `/api/chat` (NDJSON), `/api/tags`, `/api/show`, and faults.

Speaks the wire format of `/work/shared/protocols/ollama.md` (sections 1.4 and 1.5) so that the
unmodified `ChatOllama` is what the tests exercise. Answers come from the built-in offline
model run in-process on the received messages: prose for persona calls, JSON for a `format`
schema. Every request is recorded; scripted `Fault`s reproduce 404s, 500s, error lines
mid-stream, slow replies and unparsable JSON.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import uvicorn
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from adapters.offline.model import OfflineChatModel

_PIECE = re.compile(r"\S+\s*|\s+")
_ROLE = re.compile(r"^Role:\s*([\w-]+)", re.MULTILINE)
FaultKind = Literal["status", "midstream", "slow", "garbage"]


@dataclass
class Fault:
    """A scripted misbehaviour for the next `times` chat requests that match it."""

    kind: FaultKind
    role: str | None = None
    """Only requests whose system prompt says `Role: <role>`; None matches any."""
    structured: bool | None = None
    """Only requests with (True) or without (False) a `format`; None matches both."""
    times: int = 1
    status: int = 500
    error: str = "llama runner process has terminated: exit status 2"
    delay_s: float = 0.0
    """`slow`: seconds before any byte is sent."""
    after_chunks: int = 3
    """`midstream`: content lines sent before the error line."""

    def matches(self, role: str, body: dict[str, Any]) -> bool:
        if self.times <= 0 or (self.role is not None and self.role != role):
            return False
        return self.structured is None or self.structured == ("format" in body)


@dataclass
class Chat:
    """One `/api/chat` request as received, and what the server did with it."""

    body: dict[str, Any]
    role: str
    outcome: str = "ok"
    """`ok`, `404`, `500`, `midstream`, `slow`, `garbage`."""
    usage: int = 0
    """prompt_eval_count + eval_count reported in the final line (0 when none was sent)."""

    @property
    def model(self) -> str:
        return str(self.body["model"])

    @property
    def text(self) -> str:
        return "\n".join(str(m.get("content", "")) for m in self.body["messages"])


@dataclass
class LoopbackOllama:
    """The server; `async with LoopbackOllama({...}) as ollama:` and use `ollama.base_url`."""

    models: dict[str, list[str]]
    """Installed model (with tag) -> capabilities, e.g. `{"gemma3:latest": ["vision"]}`."""
    seed: int = 7
    port: int = 0
    chats: list[Chat] = field(default_factory=list)
    requests: list[tuple[str, str, Any]] = field(default_factory=list)
    """(method, path, JSON body or None) of every request, in order."""
    faults: list[Fault] = field(default_factory=list)
    chunk_words: int = 2
    """Words per streamed content line."""

    def __post_init__(self) -> None:
        self._model = OfflineChatModel(seed=self.seed)
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    # -- lifecycle --------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> LoopbackOllama:
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Listen (again) on the same port: a server that went down comes back."""
        routes = [
            Route("/api/tags", self._tags, methods=["GET"]),
            Route("/api/show", self._show, methods=["POST"]),
            Route("/api/chat", self._chat, methods=["POST"]),
        ]
        config = uvicorn.Config(
            Starlette(routes=routes),
            host="127.0.0.1",
            port=self.port,
            log_level="critical",
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.005)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Go down: refuse connections until `start()`."""
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task
        self._server = self._task = None

    # -- test helpers -----------------------------------------------------------------------
    def chats_for(self, role: str) -> list[Chat]:
        return [c for c in self.chats if c.role == role]

    def roles(self) -> set[str]:
        return {c.role for c in self.chats}

    # -- routes -----------------------------------------------------------------------------
    async def _tags(self, request: Request) -> Response:
        self.requests.append(("GET", "/api/tags", None))
        listed = [
            {
                "name": name,
                "model": name,
                "modified_at": "2026-11-20T10:00:00.000000Z",
                "size": 2_019_393_189,
                "digest": f"{abs(hash(name)):064x}"[:64],
                "details": {
                    "parent_model": "",
                    "format": "gguf",
                    "family": name.split(":")[0],
                    "families": [name.split(":")[0]],
                    "parameter_size": "3.2B",
                    "quantization_level": "Q4_K_M",
                },
            }
            for name in self.models
        ]
        return JSONResponse({"models": listed})

    async def _show(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append(("POST", "/api/show", body))
        name = self._installed(str(body.get("model", "")))
        if name is None:
            return _not_found(str(body.get("model")))
        return JSONResponse(
            {
                "modified_at": "2026-11-20T10:00:00.000000Z",
                "template": "{{ .Prompt }}",
                "modelfile": f"FROM {name}",
                "license": "",
                "parameters": "stop <|eot_id|>",
                "details": {"format": "gguf", "family": name.split(":")[0]},
                "model_info": {"general.architecture": name.split(":")[0]},
                "capabilities": self.models[name],
            }
        )

    async def _chat(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append(("POST", "/api/chat", body))
        chat = Chat(body, _role_of(body))
        self.chats.append(chat)
        name = self._installed(chat.model)
        if name is None:
            chat.outcome = "404"
            return _not_found(chat.model)
        fault = next((f for f in self.faults if f.matches(chat.role, body)), None)
        if fault is not None:
            fault.times -= 1
            chat.outcome = fault.kind if fault.kind != "status" else str(fault.status)
            if fault.kind == "status":
                return JSONResponse({"error": fault.error}, status_code=fault.status)
            if fault.kind == "slow":
                await asyncio.sleep(fault.delay_s)
        messages = _to_langchain(body["messages"])
        if fault is not None and fault.kind == "garbage":
            text = '{"this is": not valid JSON'
        else:
            text = await asyncio.to_thread(self._model.respond, messages, body.get("format"))
        prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in body["messages"])
        pieces = _pieces(text, self.chunk_words)
        broken = fault.after_chunks if fault is not None and fault.kind == "midstream" else None
        if broken is None:
            chat.usage = prompt_tokens + len(pieces)
        if not body.get("stream", True):
            return JSONResponse(_final(chat.model, text, prompt_tokens, len(pieces)))
        return StreamingResponse(
            self._lines(chat.model, pieces, prompt_tokens, broken),
            media_type="application/x-ndjson",
        )

    async def _lines(
        self, model: str, pieces: list[str], prompt_tokens: int, broken: int | None
    ) -> AsyncIterator[bytes]:
        for i, piece in enumerate(pieces):
            if broken is not None and i >= broken:
                yield _line({"error": "an error was encountered while running the model"})
                return
            message = {"role": "assistant", "content": piece}
            yield _line({"model": model, "created_at": _now(), "message": message, "done": False})
            await asyncio.sleep(0)
        yield _line(_final(model, "", prompt_tokens, len(pieces)))

    def _installed(self, name: str) -> str | None:
        last = name.rsplit("/", 1)[-1]
        tagged = name if ":" in last else f"{name}:latest"
        return tagged if tagged in self.models else None


def _role_of(body: dict[str, Any]) -> str:
    system = "\n".join(str(m.get("content", "")) for m in body["messages"] if m["role"] == "system")
    match = _ROLE.search(system)
    return match.group(1) if match else "unknown"


def _to_langchain(messages: list[dict[str, Any]]) -> list[BaseMessage]:
    kinds: dict[str, type[BaseMessage]] = {
        "system": SystemMessage,
        "user": HumanMessage,
        "assistant": AIMessage,
    }
    return [kinds.get(m["role"], HumanMessage)(content=str(m.get("content", ""))) for m in messages]


def _pieces(text: str, words: int) -> list[str]:
    parts = _PIECE.findall(text)
    return ["".join(parts[i : i + words]) for i in range(0, len(parts), words)] or [""]


def _final(model: str, content: str, prompt_tokens: int, eval_count: int) -> dict[str, Any]:
    return {
        "model": model,
        "created_at": _now(),
        "message": {"role": "assistant", "content": content},
        "done": True,
        "done_reason": "stop",
        "total_duration": 1_501_667,
        "load_duration": 1_234_567,
        "prompt_eval_count": prompt_tokens,
        "prompt_eval_duration": 2_345_678,
        "eval_count": eval_count,
        "eval_duration": 3_456_789,
    }


def _not_found(model: str) -> Response:
    return JSONResponse({"error": f"model '{model}' not found"}, status_code=404)


def _line(obj: dict[str, Any]) -> bytes:
    return (json.dumps(obj) + "\n").encode()


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")
