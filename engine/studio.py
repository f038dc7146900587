"""The running studio: database, graph and context built once from `Settings`, plus what the
run engine needs of it (a run's stream parts, checked inputs). Runs themselves, for the CLI
and the HTTP API alike, go through the run manager (`engine/manager.py`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, cast

from langchain_core.runnables import RunnableConfig
from langgraph.runtime import RunControl
from langgraph.types import Durability, StateSnapshot, StreamMode

from adapters.assets import AssetStore
from adapters.errors import InvalidInput, StudioError
from adapters.images import ImageGenerator
from adapters.llm import RoleModels, ollama_models
from adapters.media.kit import MediaKit
from adapters.media.speech import HttpSpeech
from adapters.renderer import Renderer
from adapters.threads import ThreadRegistry
from engine.events import STREAM_MODES
from engine.inputs import checked_settings, checked_text, video_brief_problem
from engine.media_lab import MEDIA_ASSISTANT, build_backend, media_services
from engine.settings import Settings
from graph.budgets import SessionDefaults
from graph.builder import StudioGraph, build_graph
from graph.context import StudioContext
from graph.media import build_media_graph
from graph.media_state import MediaServices
from graph.state import ROLES, ThreadSettings
from store.database import Database
from telemetry import generation, runs

logger = logging.getLogger("studio")


@dataclass(frozen=True)
class ThreadView:
    """Where a thread stands, for people and scripts."""

    thread_id: str
    status: str
    """`idle` (finished or resumable), `interrupted` (waiting at a gate), `error`, `busy`;
    decided by `engine.runner.thread_status`."""
    phase: str
    values: dict[str, Any]
    interrupts: list[dict[str, Any]] = field(default_factory=list)
    next: tuple[str, ...] = ()


def work_left(snapshot: StateSnapshot) -> tuple[str, ...]:
    """The nodes a resume without input would still run. LangGraph's `snapshot.next` leaves
    out tasks whose writes are already saved, so a process killed after a step's tasks
    finished but before the step's checkpoint shows `next == ()` although the run is not
    over: those tasks count here (resuming applies their writes and goes on)."""
    return tuple(snapshot.next) or tuple(t.name for t in snapshot.tasks if not t.interrupts)


def build_images(settings: Settings) -> ImageGenerator:
    """ComfyUI when `COMFYUI_URL` is set (a pool when it lists several servers), else the
    built-in renderer."""
    urls = settings.comfyui_urls
    if len(urls) > 1:
        from adapters.comfyui import ComfyUIPool

        return ComfyUIPool.from_urls(urls, token=settings.comfyui_token)
    if urls:
        from adapters.comfyui import ComfyUIImageGenerator

        return ComfyUIImageGenerator(urls[0], token=settings.comfyui_token)
    return Renderer(stage_delay_s=settings.render_stage_delay_s)


def build_models(settings: Settings) -> RoleModels:
    """Ollama when `OLLAMA_URL` is set, else the built-in offline model."""
    if settings.ollama_url:
        return ollama_models(
            settings.ollama_url,
            settings.default_models,
            timeout_s=settings.llm_timeout_s,
            num_ctx=settings.llm_num_ctx,
            retry_attempts=settings.llm_retry_attempts,
            retry_backoff_s=settings.llm_retry_backoff_s,
        )
    return RoleModels.offline(settings.offline_seed, token_delay_s=settings.offline_token_delay_s)


def defaults_from(settings: Settings) -> SessionDefaults:
    """The session defaults `settings` read, on their own (no other setting reaches a run)."""
    return SessionDefaults(**settings.model_dump(include=set(SessionDefaults.model_fields)))


class Studio:
    """One process's studio: the compiled graph on Postgres and the run-scoped context."""

    def __init__(
        self,
        graph: StudioGraph,
        context: StudioContext,
        threads: ThreadRegistry,
        labels: Mapping[str, str],
        *,
        media: MediaServices | None = None,
    ) -> None:
        self.graph = graph
        self.context = context
        self.media = media or media_services(context.assets)
        """The Media Lab's backend and stores: the `media` graph's runs get them."""
        self.media_graph = build_media_graph(checkpointer=graph.checkpointer)
        """Media Lab jobs are runs of this graph (assistant `media`) on the same engine."""
        generation.instrument(context.images)  # every generation job counted and traced
        self.threads = threads
        self.labels = dict(labels)
        """What serves each need: `database`, `models`, `images` (shown at startup)."""

    async def check(self) -> dict[str, Any]:
        """What each service can do now: the models (installed, assigned, missing) and the
        image generator (version, devices, runnable templates). Unreachable ones are reported,
        not raised, so one report shows everything that needs fixing."""
        models = self.context.models
        report: dict[str, Any] = {"database": {"detail": self.labels.get("database")}}
        assigned: dict[str, str] = {role: models.model_name(role) for role in ROLES}
        try:
            installed = await models.installed()
            await models.check(assigned)
            report["models"] = {"ok": True, "assigned": assigned, "installed": installed}
        except StudioError as exc:
            report["models"] = {"ok": False, "assigned": assigned, "error": exc.message}
        report["models"]["detail"] = self.labels.get("models")
        try:
            report["images"] = {"ok": True, **await self.context.images.describe()}
        except StudioError as exc:
            report["images"] = {"ok": False, "error": exc.message}
        # the generator's own description first (the renderer says what it is)
        report["images"].setdefault("detail", self.labels.get("images"))
        return report

    def graph_for(self, assistant_id: str | None) -> Any:
        """The compiled graph a run of `assistant_id` executes (`studio` unless `media`)."""
        return self.media_graph if assistant_id == MEDIA_ASSISTANT else self.graph

    @staticmethod
    def config(thread_id: str) -> RunnableConfig:
        return {"configurable": {"thread_id": thread_id}, "recursion_limit": 200}

    def parts(
        self,
        thread_id: str,
        payload: Any,
        *,
        modes: list[StreamMode] | None = None,
        run_id: str | None = None,
        durability: Durability = "sync",
        control: RunControl | None = None,
        checkpoint_id: str | None = None,
        assistant_id: str | None = None,
    ) -> AsyncIterator[dict[str, Any]]:
        """The graph's `astream(version="v2")` parts for one run on a thread; `run_id` lands in
        the checkpoints' metadata (restart recovery and rollback find a run's checkpoints by it).
        `checkpoint_id`: run from that checkpoint of the thread (time travel: its new
        checkpoints branch off there; the ones after it stay in the history).
        """
        config = self.config(thread_id)
        if checkpoint_id is not None:
            config["configurable"].update(checkpoint_id=checkpoint_id, checkpoint_ns="")
        if run_id is not None:
            config["metadata"] = {"run_id": run_id}
        config["callbacks"] = runs.callbacks()  # node timings, model calls, spans, log context
        media = assistant_id == MEDIA_ASSISTANT
        parts = self.graph_for(assistant_id).astream(
            payload,
            config,
            context=self.media if media else self.context,
            stream_mode=modes or STREAM_MODES,
            version="v2",
            subgraphs=True,  # the video subgraph's tokens, progress and assets stream live
            durability=durability,
            control=control,
        )
        return cast(AsyncIterator[dict[str, Any]], parts)

    async def fork(self, thread_id: str, checkpoint_id: str, *, run_id: str) -> str:
        """A copy of the thread's checkpoint `checkpoint_id` as its newest (LangGraph's
        `__copy__` update, metadata `source: fork`), without the writes that took the thread on
        from there; a run from a past checkpoint starts from it, so a gate there asks again
        (and a resume answers it anew) instead of replaying the answer it had."""
        config = self.config(thread_id)
        config["configurable"].update(checkpoint_id=checkpoint_id, checkpoint_ns="")
        config["metadata"] = {"run_id": run_id}
        forked = await self.graph.aupdate_state(config, None, as_node="__copy__")
        return str(forked["configurable"]["checkpoint_id"])

    @staticmethod
    def start_payload(
        brief: str, settings: ThreadSettings | None = None, *, field: str = "brief"
    ) -> dict[str, Any]:
        """A run's input, checked as the HTTP API checks it (`InvalidInput` naming the limit)."""
        payload: dict[str, Any] = {"messages": [{"role": "user", "content": brief}]}
        checked_text(brief, field)
        if settings:
            payload["settings"] = dict(checked_settings(settings))
        if field == "brief" and (problem := video_brief_problem(brief, settings)):
            raise InvalidInput(f"brief: {problem}")  # before any work, as the API's 422
        return payload

    @staticmethod
    def say_payload(message: str, settings: ThreadSettings | None = None) -> dict[str, Any]:
        return Studio.start_payload(message, settings, field="message")


async def log_capabilities(context: StudioContext) -> None:
    """Say at startup what the image server can run (a missing model shows up here, not at the
    first generation). An unreachable server is a warning: the discussion can go on."""
    try:
        described = await context.images.describe()
    except StudioError as exc:
        logger.warning("image generator not reachable at startup: %s", exc.message)
        return
    if described.get("error"):  # a pool with some servers down: the others carry on
        logger.warning("image generator: %s", described["error"])
    templates = described.get("templates") or {}
    runnable = [name for name, t in templates.items() if t["runnable"]]
    logger.info(
        "image generator %s %s: runs %s",
        described.get("generator"),
        described.get("version", ""),
        ", ".join(runnable) or "nothing",
    )
    for name, t in templates.items():
        for line in t["missing"]:
            logger.warning("template %s: %s", name, line)


def build_media(settings: Settings) -> MediaKit:
    """Video's voice and animator: eSpeak NG (bundled) unless `TTS_URL` names a TTS server."""
    if settings.tts_url:
        speech = HttpSpeech(settings.tts_url, model=settings.tts_model, voice=settings.tts_voice)
        logger.info("voice: TTS server at %s (%s)", settings.tts_url, settings.tts_model)
        return MediaKit(speech=speech)
    logger.info("voice: eSpeak NG (embedded, from its wheel); animation: built-in camera moves")
    return MediaKit()


@asynccontextmanager
async def studio_context(settings: Settings, database: Database) -> AsyncIterator[StudioContext]:
    """The run context on the configured services; their clients are closed on exit."""
    context = StudioContext(
        models=build_models(settings),
        images=build_images(settings),
        assets=AssetStore(database.pool, settings.home / "assets"),
        defaults=defaults_from(settings),
        generation_slots=asyncio.Semaphore(settings.generation_concurrency),
        media=build_media(settings),
    )
    try:
        yield context
    finally:
        await context.models.aclose()
        closer = getattr(context.images, "aclose", None)
        if closer is not None:
            await closer()


@asynccontextmanager
async def open_studio(settings: Settings) -> AsyncIterator[Studio]:
    """Start everything the studio needs on its configured (or embedded) services."""
    async with (
        Database(settings.database_url, settings.home) as database,
        studio_context(settings, database) as context,
    ):
        labels = {
            "database": database.label,
            "models": context.models.label,
            "images": getattr(context.images, "label", context.images.name),
        }
        logger.info("studio ready: %s", labels)
        await log_capabilities(context)
        yield Studio(
            build_graph(checkpointer=database.saver),
            context,
            ThreadRegistry(database.pool),
            labels,
            media=media_services(context.assets, build_backend(settings)),
        )
