"""Entry points for `langgraph dev` / LangGraph Studio (named in `langgraph.json`).

`langgraph dev` keeps its own thread and run records (in `.langgraph_api/` under its working
directory) but checkpoints through `make_saver`, so every thread Studio runs lands in our
Postgres: the same `checkpoints` tables the studio CLI and API read and resume.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from engine.media_lab import build_backend, media_services
from engine.settings import Settings
from engine.studio import studio_context
from graph.builder import StudioGraph, build_graph
from graph.context import set_default_context
from graph.media import MediaGraph, build_media_graph, set_default_services
from store.checkpointer import StudioSaver
from store.database import Database
from store.media_presets import builtin_versions


def make_graph() -> StudioGraph:
    """The studio graph without a checkpointer: `langgraph dev` refuses graphs that bring one.

    Its context schema is dropped too: the server passes every run a plain dict (the run's
    `context`, else a copy of its `configurable`), which LangGraph would otherwise try to turn
    into a `StudioContext` and fail. Nodes then fall back to the default `make_saver` registers.
    """
    return build_graph().copy(update={"context_schema": None})


def make_media_graph() -> MediaGraph:
    """The Media Lab's `media` graph, likewise without checkpointer or context schema: its
    nodes use the services `make_saver` registers (the embedded backend, or ComfyUI)."""
    return build_media_graph().copy(update={"context_schema": None})


@asynccontextmanager
async def make_saver() -> AsyncIterator[StudioSaver]:
    """Our Postgres checkpointer for `langgraph dev` (`checkpointer.path` in `langgraph.json`).

    Opens the configured Postgres (`DATABASE_URL`, else the embedded one under `STUDIO_HOME`),
    applies our migrations, and registers the process default `StudioContext` on it, since runs
    started from Studio bring no context of their own. The server enters this once at startup.
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
