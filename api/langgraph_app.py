"""Entry points for `langgraph dev` / LangGraph Studio (named in `langgraph.json`).

`langgraph dev` keeps its own thread and run records (in `.langgraph_api/` under its working
directory) but checkpoints through `make_saver`, so every thread Studio runs lands in our
Postgres: the same `checkpoints` tables the studio CLI and API read and resume.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any, ClassVar

from langchain_core.runnables import RunnableConfig
from langgraph.graph.state import CompiledStateGraph

from engine.media_lab import build_backend, media_services
from engine.settings import Settings
from engine.studio import studio_context
from graph.builder import StudioGraph, build_graph
from graph.context import StudioContext, default_context, set_default_context
from graph.media import MediaGraph, build_media_graph, default_services, set_default_services
from graph.media_state import MediaServices
from store.checkpointer import StudioSaver
from store.database import Database
from store.media_presets import builtin_versions


class _Defaulted(CompiledStateGraph[Any, Any, Any, Any]):
    """A compiled graph whose runs bring the registered default context when they bring none
    of `kind` (`langgraph dev` passes a plain dict: the run's `context`, else a copy of its
    `configurable`). Every run, `invoke`, `astream_events` and the server's streams alike,
    goes through `stream`/`astream`, so this is the one place the fallback is applied: the
    nodes, the subgraphs (which inherit the run's runtime) and `get_runtime()` all see it."""

    kind: ClassVar[type]
    fallback: ClassVar[Callable[[], Any]]

    def _context(self, context: Any) -> Any:
        return context if isinstance(context, self.kind) else type(self).fallback()

    def stream(
        self, input: Any, config: RunnableConfig | None = None, *, context: Any = None, **kw: Any
    ) -> Iterator[Any]:
        return super().stream(input, config, context=self._context(context), **kw)

    def astream(
        self, input: Any, config: RunnableConfig | None = None, *, context: Any = None, **kw: Any
    ) -> AsyncIterator[Any]:
        return super().astream(input, config, context=self._context(context), **kw)


class DevStudioGraph(_Defaulted):
    kind = StudioContext
    fallback = staticmethod(default_context)


class DevMediaGraph(_Defaulted):
    kind = MediaServices
    fallback = staticmethod(default_services)


def _as(cls: type[_Defaulted], graph: CompiledStateGraph[Any, Any, Any, Any]) -> Any:
    """`graph` as a `cls`, without a context schema (LangGraph would try to build the schema
    from the server's dict and fail), rebuilt as `Pregel.copy` rebuilds a graph."""
    attrs = {k: v for k, v in vars(graph).items() if k != "__orig_class__"}
    return cls(**{**attrs, "context_schema": None})


def make_graph() -> StudioGraph:
    """The studio graph without a checkpointer (`langgraph dev` refuses graphs that bring one);
    its runs get the `StudioContext` that `make_saver` registers."""
    graph: StudioGraph = _as(DevStudioGraph, build_graph())
    return graph


def make_media_graph() -> MediaGraph:
    """The Media Lab's `media` graph, likewise: its runs get the services `make_saver`
    registers (the embedded backend, or ComfyUI)."""
    graph: MediaGraph = _as(DevMediaGraph, build_media_graph())
    return graph


@asynccontextmanager
async def make_saver() -> AsyncIterator[StudioSaver]:
    """Our Postgres checkpointer for `langgraph dev` (`checkpointer.path` in `langgraph.json`).

    Opens the configured Postgres (`DATABASE_URL`, else the embedded one under `STUDIO_HOME`),
    applies our migrations, and registers the process default `StudioContext` (and the Media
    Lab's services) on it, since runs started from Studio bring no context of their own. The
    server enters this once at startup.
    """
    settings = Settings()
    async with (
        Database(settings.database_url, settings.home) as database,
        studio_context(settings, database) as context,
    ):
        set_default_context(context)
        media = media_services(context.assets, build_backend(settings))
        await media.presets.merge_builtins(builtin_versions())
        set_default_services(media)
        try:
            yield database.saver
        finally:
            set_default_context(None)
            set_default_services(None)
