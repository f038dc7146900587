"""The CLI's client of the run engine, in process: it registers threads, submits, follows and
stops runs exactly as the HTTP API does (the run manager, the per-thread claim, the runs
table and the event log), acting as the home's owner (`people/home_token.py`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adapters.errors import Conflict, InvalidInput, StudioError
from engine.eventlog import Record
from engine.manager import Engine, RunManager, open_engine
from engine.media_lab import MediaLab
from engine.resume import check_resume, offered
from engine.settings import Settings
from engine.studio import Studio, ThreadView, open_studio
from graph.state import valid_settings
from people import audit as trail
from people.accounts import caller_of
from people.audit import audited, run_action
from people.bootstrap import ensure_home_admin
from people.home_token import home_owner_hash
from people.identity import Caller
from store.database import Pool
from store.deletion import is_deleted_sql

_REGISTER = """
    INSERT INTO threads AS t (thread_id, title, status, phase, owner_hash, owner_id)
    SELECT %(thread_id)s, %(title)s, 'idle', 'created', %(owner)s,
           (SELECT a.user_id FROM access_tokens a WHERE a.token_hash = %(owner)s)
    WHERE NOT {deleted}
    ON CONFLICT (thread_id) DO UPDATE SET
        owner_hash = COALESCE(t.owner_hash, EXCLUDED.owner_hash),
        owner_id = COALESCE(t.owner_id, EXCLUDED.owner_id),
        title = COALESCE(t.title, EXCLUDED.title)
    RETURNING thread_id, (xmax = 0) AS inserted
""".format(deleted=is_deleted_sql("%(thread_id)s"))
"""The thread in the registry, owned by the home's token and its user (the home's admin,
`people/bootstrap.py`) unless it has an owner already (a thread an HTTP client made stays that
client's; the CLI may still drive it: it is local)."""
CLI_MODES = ["values"]
"""What a CLI run logs for protocol clients that join it (LangGraph Server's default)."""


class ThreadBusy(StudioError):
    """Another process (or this one) is running the thread; a new input must wait."""

    code = "thread_busy"


def busy_message(thread_id: str) -> str:
    return (
        f"thread {thread_id} is busy: a run is in progress. Follow it with "
        f'`studio resume {thread_id}`, interject with `studio say {thread_id} "..."`, '
        f"or stop it with `studio resume {thread_id} --action stop`."
    )


@dataclass(frozen=True)
class LocalClient:
    """One CLI process's view of the studio: the studio and its run engine."""

    studio: Studio
    engine: Engine
    owner_hash: str
    caller: Caller | None = None
    """Who the CLI acts as (the home's admin): the audit trail's actor for what it does."""

    @property
    def manager(self) -> RunManager:
        return self.engine.manager

    async def register(self, thread_id: str, *, title: str) -> None:
        """Enter the thread in the registry, owned by the home (visible to `studio serve`)."""
        async with self.studio.threads.pool.connection() as conn:
            cursor = await conn.execute(
                _REGISTER, {"thread_id": thread_id, "title": title, "owner": self.owner_hash}
            )
            row = await cursor.fetchone()
            if row is None:
                raise InvalidInput(f"thread {thread_id!r} was deleted; a deleted id is not reused")
        if row["inserted"]:
            await self.audit("thread.created", thread_id, detail={"title": title, "via": "cli"})

    async def audit(
        self,
        action: str,
        thread_id: str,
        *,
        outcome: str = "ok",
        target: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Append to the audit trail as the CLI's person (`people.audit`)."""
        await trail.record(
            self.studio.threads.pool,
            actor=self.caller,
            action=action,
            target=target or f"thread/{thread_id}",
            thread_id=thread_id,
            outcome=outcome,
            detail=detail,
        )

    async def view(self, thread_id: str) -> ThreadView:
        """Where the thread stands; from now on this process takes over its runs if the
        process executing them dies."""
        self.manager.adopt(thread_id)
        view = await self.manager.view(thread_id)
        for item in view.interrupts:  # Media Lab results that joined since the gate asked
            item["value"] = await offered(self.studio, thread_id, item["value"])
        return view

    async def exists(self, view: ThreadView) -> bool:
        return bool(view.values) or await self.manager.busy(view.thread_id)

    async def submit(
        self,
        thread_id: str,
        *,
        input: dict[str, Any] | None = None,
        command: dict[str, Any] | None = None,
        strategy: str = "reject",
        checkpoint_id: str | None = None,
    ) -> dict[str, Any]:
        """Queue a run on the thread (as `POST /threads/{id}/runs` does); `reject` (a new
        input) raises `ThreadBusy` while another run is queued or running."""
        if input is not None and "settings" not in input:
            row = await self.studio.threads.get(thread_id) or {}
            if stored := valid_settings((row.get("metadata") or {}).get("settings")):
                input = {**input, "settings": stored}  # as PATCH …/settings stored them
        kwargs: dict[str, Any] = {
            "input": input,
            "command": command,
            "stream_mode": CLI_MODES,
            "stream_resumable": False,
            "durability": "sync",
            "on_disconnect": "continue",
        }
        if checkpoint_id is not None:
            kwargs["checkpoint_id"] = checkpoint_id
        self.manager.adopt(thread_id)
        busy = await self.engine.store.any_unfinished(thread_id)
        action, detail = run_action(input=input, command=command, busy=busy)
        detail.update(strategy=strategy, via="cli")
        pool = self.studio.threads.pool
        target = f"thread/{thread_id}"
        async with audited(
            pool,
            actor=self.caller,
            action=action,
            target=target,
            thread_id=thread_id,
            detail=detail,
        ) as entry:
            try:
                run = await self.manager.submit(
                    thread_id,
                    assistant_id="studio",
                    kwargs=kwargs,
                    metadata={"source": "cli"},
                    strategy=strategy,
                )
            except Conflict:
                raise ThreadBusy(busy_message(thread_id)) from None
            entry.target = f"thread/{thread_id}/run/{run['run_id']}"
        return run

    async def answer(
        self, thread_id: str, interrupt_id: str | None, decision: dict[str, Any]
    ) -> dict[str, Any]:
        """Answer the gate of `interrupt_id` (the one the person was shown). The resume is
        keyed by that id and checked first: once that gate was answered elsewhere (a browser
        on the same thread), `Conflict` names the gate waiting now and nothing is answered."""
        resume = {interrupt_id: decision} if interrupt_id else decision
        busy = self.engine.store.any_unfinished
        await check_resume(self.studio, thread_id, resume, busy=lambda: busy(thread_id))
        return await self.submit(thread_id, command={"resume": resume})

    async def current_run(self, thread_id: str) -> dict[str, Any] | None:
        """The run executing on the thread (else the next queued one), in any process."""
        unfinished = await self.engine.store.unfinished(thread_id)
        running = [r for r in unfinished if r["status"] == "running"]
        return (running or unfinished)[0] if unfinished else None

    async def follow(self, thread_id: str, run_id: str) -> AsyncIterator[Record]:
        """The run's studio events from its start, then live, until it ends (wherever it
        executes; if that process dies, this one resumes it)."""
        self.manager.adopt(thread_id)
        await self.manager.sweep()  # a run its dead process left: resume it here, now
        log = self.engine.log
        async for record in log.follow(thread_id, 0, channels=("studio", "control"), run_id=run_id):
            if record.channel == "control":
                return
            yield record

    async def stop(self, thread_id: str) -> list[str]:
        """Stop the thread's runs at the next safe point, from any process (their ComfyUI
        jobs are cancelled); returns the runs stopped."""
        stopped = await self.manager.stop(thread_id)
        for run_id in stopped:
            target = f"thread/{thread_id}/run/{run_id}"
            await self.audit("run.cancelled", thread_id, target=target, detail={"via": "cli"})
        return stopped


@asynccontextmanager
async def open_local(settings: Settings) -> AsyncIterator[LocalClient]:
    """The studio and its run engine for one CLI command: it executes the runs it submits
    (unless another process holds the thread) and takes over those of the threads it works
    on when their process dies; other threads' runs are left to their own processes."""
    async with (
        open_studio(settings) as studio,
        open_engine(studio, settings, adopt=()) as engine,
    ):
        who = await local_caller(studio.threads.pool, settings.home)
        await MediaLab.open(engine.manager, studio.media, settings)  # "upscale hero-b 2x"
        yield LocalClient(studio, engine, home_owner_hash(settings.home), who)
        # a Media Lab job asked for in this command runs in this process: let it finish
        if engine.manager.runner.on_media_request is not None:
            await engine.manager.runner.on_media_request.settle()


async def local_caller(pool: Pool, home: Path) -> Caller:
    """Who the CLI acts as: the home's admin (made on a fresh studio, `people/bootstrap.py`)."""
    admin = await ensure_home_admin(pool, home)
    return caller_of(admin.user, "local")
