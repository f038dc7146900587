"""Ollama around the chat calls: installed models, capabilities, error translation, clients.

Chat itself goes through `langchain_ollama.ChatOllama` unmodified; this module covers what it
does not: `/api/tags` and `/api/show`, turning its exceptions into `StudioError`s (see
`/work/shared/protocols/ollama.md` section 1.5), and closing the httpx clients it opens.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from ollama import AsyncClient, ResponseError

from adapters.errors import ModelNotFound, ServiceUnavailable, StudioError

logger = logging.getLogger("studio.ollama")

NO_KEEPALIVE = httpx.Limits(max_keepalive_connections=0)
"""A model call takes seconds, so a fresh local connection per call costs nothing; with no
pooled sockets an unclosed client cannot leak one, nor reuse one from another event loop."""


def tag_of(name: str) -> str:
    """`name` as Ollama stores it: an untagged name means `:latest` (`llama3.2:latest`)."""
    last = name.rsplit("/", 1)[-1]
    return name if ":" in last else f"{name}:latest"


def timeout_for(timeout_s: float) -> httpx.Timeout:
    """Never infinite (the client's default is); connecting gets at most 10 s of it."""
    return httpx.Timeout(timeout_s, connect=min(10.0, timeout_s))


def is_transient(exc: BaseException) -> bool:
    """Worth retrying at once: the server is unreachable, failing, or broke off mid-stream.

    Timeouts are not: the call already waited its full timeout, and the graph's node-level
    `RetryPolicy` retries the `ServiceUnavailable` they become.
    """
    if isinstance(exc, ResponseError):
        return exc.status_code == -1 or exc.status_code == 429 or exc.status_code >= 500
    if isinstance(exc, httpx.TimeoutException):
        return False
    if isinstance(exc, httpx.TransportError | ConnectionError):
        return True
    return isinstance(exc, ValueError) and "No data received from Ollama" in str(exc)


def translate_ollama_error(
    exc: BaseException, model: str, base_url: str = "the configured URL"
) -> StudioError | None:
    """The `StudioError` a person should read for an Ollama failure; None when it is not one."""
    if isinstance(exc, StudioError):
        return exc
    if isinstance(exc, ResponseError):
        if exc.status_code == 404:
            return ModelNotFound(
                f"model `{model}` is not installed on Ollama at {base_url}; "
                f"run `ollama pull {model}` (or assign another model to this role)"
            )
        if exc.status_code == -1:
            return ServiceUnavailable(
                f"Ollama broke off `{model}`'s answer mid-stream ({exc.error}); "
                "the thread is saved: resume it to try again"
            )
        if exc.status_code == 429 or exc.status_code >= 500:
            return ServiceUnavailable(
                f"Ollama at {base_url} failed to serve `{model}` ({exc.error}); "
                "the thread is saved: resume it once Ollama is healthy"
            )
        return StudioError(f"Ollama rejected the request for `{model}`: {exc.error}")
    if isinstance(exc, httpx.TimeoutException):
        return ServiceUnavailable(
            f"Ollama at {base_url} did not answer `{model}` in time ({type(exc).__name__}); "
            "raise STUDIO_LLM_TIMEOUT_S or use a smaller model, then resume the thread"
        )
    if isinstance(exc, httpx.TransportError | ConnectionError):
        return ServiceUnavailable(
            f"cannot reach Ollama at {base_url}; start it (`ollama serve`) and resume the thread"
        )
    if isinstance(exc, ValueError) and "No data received from Ollama" in str(exc):
        return ServiceUnavailable(f"Ollama at {base_url} sent an empty answer for `{model}`")
    return None


async def installed_models(base_url: str, *, timeout_s: float) -> list[str]:
    """Names of the models installed on the server (`GET /api/tags`), sorted."""
    try:
        async with AsyncClient(host=base_url, timeout=timeout_for(timeout_s)) as client:
            listing = await client.list()
    except Exception as exc:
        error = translate_ollama_error(exc, "(listing models)", base_url)
        if error is None:
            raise
        raise error from exc
    return sorted({m.model for m in listing.models if m.model})


async def check_assignments(
    base_url: str, assignments: Mapping[str, str], *, timeout_s: float
) -> None:
    """Raise `ModelNotFound` naming every assigned model the server does not have."""
    if not assignments:
        return
    have = {tag_of(name) for name in await installed_models(base_url, timeout_s=timeout_s)}
    missing = {name for name in assignments.values() if tag_of(name) not in have}
    if missing:
        roles = ", ".join(
            f"{role}={name}" for role, name in sorted(assignments.items()) if name in missing
        )
        pulls = "; ".join(f"run `ollama pull {name}`" for name in sorted(missing))
        raise ModelNotFound(f"not installed on Ollama at {base_url}: {roles}; {pulls}")


async def model_capabilities(base_url: str, model: str, *, timeout_s: float) -> frozenset[str]:
    """What a model can do (`POST /api/show` `capabilities`: completion, vision, tools...)."""
    async with AsyncClient(host=base_url, timeout=timeout_for(timeout_s)) as client:
        shown = await client.show(model)
    return frozenset(shown.capabilities or ())


@dataclass
class OllamaServer:
    """The `ModelServer` behind `ollama_models`: listing, checks, capabilities, errors."""

    base_url: str
    timeout_s: float
    retry_attempts: int = 3
    retry_backoff_s: float = 1.0

    def __post_init__(self) -> None:
        self._capabilities: dict[str, frozenset[str]] = {}

    async def installed(self) -> list[str]:
        return await installed_models(self.base_url, timeout_s=self.timeout_s)

    async def check(self, assignments: Mapping[str, str]) -> None:
        await check_assignments(self.base_url, assignments, timeout_s=self.timeout_s)

    async def capabilities(self, model: str) -> frozenset[str]:
        """Cached per model; a failed lookup is not cached, so a later call asks again."""
        if model not in self._capabilities:
            try:
                found = await model_capabilities(self.base_url, model, timeout_s=self.timeout_s)
            except (ResponseError, httpx.TransportError, ConnectionError) as exc:
                logger.warning("capabilities of %s unknown: %s", model, exc)
                return frozenset()
            self._capabilities[model] = found
        return self._capabilities[model]

    def transient(self, exc: BaseException) -> bool:
        return is_transient(exc)

    def translate(self, exc: BaseException, model: str) -> StudioError | None:
        return translate_ollama_error(exc, model, self.base_url)

    async def close(self, model: Any) -> None:
        """Close the sync and async httpx clients `ChatOllama` built (it never does)."""
        for attr in ("_client", "_async_client"):
            client = getattr(model, attr, None)
            inner = getattr(client, "_client", None)
            if isinstance(inner, httpx.AsyncClient):
                await inner.aclose()
            elif isinstance(inner, httpx.Client):
                inner.close()
