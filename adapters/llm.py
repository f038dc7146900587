"""Chat models per role: LangChain `BaseChatModel`s, so Ollama and the offline model are alike."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from langchain_core.language_models import BaseChatModel

from adapters.errors import StudioError

ModelFactory = Callable[[str], BaseChatModel]
"""Builds the chat model for a model name (an Ollama tag, or the offline model's label)."""


class ModelServer(Protocol):
    """The server behind a set of models (Ollama); the built-in offline model has none."""

    retry_attempts: int
    """Attempts per call when a failure is transient (1: no retry)."""
    retry_backoff_s: float
    """First pause between attempts; it doubles each time (with jitter)."""

    async def installed(self) -> list[str]:
        """Names of the models the server has."""
        ...

    async def check(self, assignments: Mapping[str, str]) -> None:
        """Raise `ModelNotFound` when an assigned model is not installed."""
        ...

    async def capabilities(self, model: str) -> frozenset[str]:
        """What `model` can do (`vision`, `tools`, ...); empty when unknown."""
        ...

    def transient(self, exc: BaseException) -> bool:
        """Whether a failed call is worth retrying at once."""
        ...

    def translate(self, exc: BaseException, model: str) -> StudioError | None:
        """The `StudioError` for a failed call; None when `exc` is not the server's."""
        ...

    async def close(self, model: Any) -> None:
        """Release what a model built by this server holds (HTTP clients)."""
        ...


@dataclass(frozen=True)
class RetryPlan:
    """How often and how patiently one model call is retried on transient failures."""

    attempts: int = 1
    backoff_s: float = 0.5


class RoleModels:
    """One chat model per role, from a default assignment that a thread may override."""

    def __init__(
        self,
        factory: ModelFactory,
        assignments: Mapping[str, str],
        *,
        label: str,
        server: ModelServer | None = None,
    ) -> None:
        self._factory = factory
        self._assignments = dict(assignments)
        self._cache: dict[str, BaseChatModel] = {}
        self._server = server
        self.label = label
        """Human-readable: which backend serves the personas (shown at startup and in /info)."""

    @property
    def retry(self) -> RetryPlan:
        """The retry plan for transient failures of one call (no retries without a server)."""
        if self._server is None:
            return RetryPlan()
        return RetryPlan(max(1, self._server.retry_attempts), self._server.retry_backoff_s)

    def model_name(self, role: str, overrides: Mapping[str, str] | None = None) -> str:
        """The model name a role uses, after the thread's overrides."""
        if overrides and overrides.get(role):
            return overrides[role]
        return self._assignments.get(role) or next(iter(self._assignments.values()), "default")

    def for_role(self, role: str, overrides: Mapping[str, str] | None = None) -> BaseChatModel:
        """The chat model for `role` (cached per model name)."""
        name = self.model_name(role, overrides)
        if name not in self._cache:
            self._cache[name] = self._factory(name)
        return self._cache[name]

    async def installed(self) -> list[str]:
        """The model names a client may assign (Ollama's `/api/tags`; else the built-in one)."""
        if self._server is None:
            return sorted(set(self._assignments.values()))
        return await self._server.installed()

    async def check(self, overrides: Mapping[str, str] | None) -> None:
        """Reject a thread's assignment up front when it names a model that is not installed.

        The built-in offline model answers to any name, so without a server nothing is checked.
        """
        if self._server is not None and overrides:
            await self._server.check({k: v for k, v in overrides.items() if v})

    async def accepts_images(self, role: str, overrides: Mapping[str, str] | None = None) -> bool:
        """Whether the role's model takes images (Ollama reports `vision` in `/api/show`)."""
        if self._server is None:
            return False
        return "vision" in await self._server.capabilities(self.model_name(role, overrides))

    def transient(self, exc: BaseException) -> bool:
        """Whether a failed call is worth retrying at once (connection, 5xx, broken stream)."""
        return self._server is not None and self._server.transient(exc)

    def translate(self, exc: BaseException, model: str) -> StudioError | None:
        """The `StudioError` for a failed call of `model`; None for errors of our own."""
        if isinstance(exc, StudioError):
            return exc
        return None if self._server is None else self._server.translate(exc, model)

    async def aclose(self) -> None:
        """Close the HTTP clients the models opened; the models are rebuilt if used again."""
        models, self._cache = list(self._cache.values()), {}
        if self._server is not None:
            for model in models:
                await self._server.close(model)

    @classmethod
    def offline(cls, seed: int = 7, *, token_delay_s: float = 0.0) -> RoleModels:
        """The built-in offline model for every role (the embedded default)."""
        from adapters.offline.model import OfflineChatModel

        def factory(name: str) -> BaseChatModel:
            return OfflineChatModel(seed=seed, token_delay_s=token_delay_s, model_name=name)

        return cls(factory, {"default": "studio-offline-1"}, label="built-in offline model")


def ollama_models(
    base_url: str,
    assignments: Mapping[str, str],
    *,
    timeout_s: float,
    num_ctx: int | None = 8192,
    retry_attempts: int = 3,
    retry_backoff_s: float = 1.0,
) -> RoleModels:
    """Every role speaks through `ChatOllama` with its assigned model.

    Args:
        base_url: The Ollama server, e.g. `http://127.0.0.1:11434`.
        assignments: Model name per role id (the defaults; threads may override them).
        timeout_s: Per-request timeout; `ChatOllama` would otherwise wait forever.
        num_ctx: Context window sent as `options.num_ctx` (Ollama's own default is too small
            for a discussion); None leaves it to the model.
        retry_attempts: Attempts per call on connection errors, 5xx and broken streams.
        retry_backoff_s: First pause between those attempts (doubling, with jitter).
    """
    from langchain_ollama import ChatOllama

    from adapters.ollama import NO_KEEPALIVE, OllamaServer, timeout_for

    def factory(name: str) -> BaseChatModel:
        return ChatOllama(
            model=name,
            base_url=base_url,
            num_ctx=num_ctx,
            client_kwargs={"timeout": timeout_for(timeout_s), "limits": NO_KEEPALIVE},
        )

    server = OllamaServer(base_url, timeout_s, retry_attempts, retry_backoff_s)
    return RoleModels(factory, assignments, label=f"Ollama at {base_url}", server=server)
