"""Chat models per role: LangChain `BaseChatModel`s, so Ollama and the offline model are alike."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from langchain_core.language_models import BaseChatModel

ModelFactory = Callable[[str], BaseChatModel]
"""Builds the chat model for a model name (an Ollama tag, or the offline model's label)."""


class RoleModels:
    """One chat model per role, from a default assignment that a thread may override."""

    def __init__(
        self, factory: ModelFactory, assignments: Mapping[str, str], *, label: str
    ) -> None:
        self._factory = factory
        self._assignments = dict(assignments)
        self._cache: dict[str, BaseChatModel] = {}
        self.label = label
        """Human-readable: which backend serves the personas (shown at startup and in /info)."""

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

    @classmethod
    def offline(cls, seed: int = 7, *, token_delay_s: float = 0.0) -> RoleModels:
        """The built-in offline model for every role (the embedded default)."""
        from adapters.offline.model import OfflineChatModel

        def factory(name: str) -> BaseChatModel:
            return OfflineChatModel(seed=seed, token_delay_s=token_delay_s, model_name=name)

        return cls(factory, {"default": "studio-offline-1"}, label="built-in offline model")

    @classmethod
    def single(cls, model: BaseChatModel, *, label: str = "custom model") -> RoleModels:
        """Every role speaks through `model` (tests, benchmarks)."""
        return cls(lambda _name: model, {"default": "single"}, label=label)


def ollama_models(base_url: str, assignments: Mapping[str, str], *, timeout_s: float) -> RoleModels:
    """Every role speaks through `ChatOllama` with its assigned model."""
    from langchain_ollama import ChatOllama

    def factory(name: str) -> BaseChatModel:
        return ChatOllama(model=name, base_url=base_url, client_kwargs={"timeout": timeout_s})

    return RoleModels(factory, assignments, label=f"Ollama at {base_url}")
