"""This process's memory of who a bearer token is: token hash -> the caller and their user row,
so a request with a personal access token (or the home's owner token) costs no statement.

It is an optimisation that fails closed, kept only while it can be told of every change:

- every change that can make a cached answer wrong (a token revoked; a user disabled,
  re-enabled, reset, given another role or other limits) sends `NOTIFY studio_people` in its
  own statement (`people.accounts`), so it reaches every process on the database when it
  commits, and calls `changed()`, which empties the caches of this process at once;
- each cache `LISTEN`s on a connection of its own and empties itself on every notification;
  while that connection is not listening (not yet, lost, reconnecting) nothing is cached and
  nothing cached is used: every request asks Postgres, as without the cache;
- an entry lives at most `TTL_S` seconds, in case a notification is lost without the
  connection noticing (a half-open socket), and never past its token's expiry;
- a lookup that began before an invalidation does not store its (possibly stale) answer
  (`generation`).

Thread tokens and share links are not cached (they are checked in Postgres every time).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg

from people.identity import Caller
from store.database import Pool

logger = logging.getLogger("studio.people")

CHANNEL = "studio_people"
"""Payload `what id` (`token <token_id>`, `user <user_id>`): something a cached caller
depends on changed (every cache empties itself whatever it names)."""
TTL_S = 5.0
"""The longest an entry is used: the bound on a change whose notification was lost."""
MAX_ENTRIES = 10_000

_caches: weakref.WeakSet[CallerCache] = weakref.WeakSet()


def notify_sql(what: str, id_sql: str) -> str:
    """A select-list item that notifies every process (at commit) that `what` `id_sql`
    changed; for a statement `WITH changed AS (UPDATE … RETURNING *) SELECT changed.*, <it>`."""
    return f"pg_notify('{CHANNEL}', '{what} ' || {id_sql}) AS notified"


def changed() -> None:
    """Something a cached caller depends on changed in this process: forget every cached
    caller here now (the other processes hear the notification)."""
    for cache in list(_caches):
        cache.invalidate()


@dataclass
class Entry:
    """A bearer token's caller and their user's limits (`users` columns, for the request
    rate and runs); `last_used_at` is what this process last wrote (or read) for the token."""

    caller: Caller
    user: dict[str, Any]
    token_id: str
    expires_at: datetime | None
    last_used_at: datetime | None
    stored_at: float


class CallerCache:
    """token hash -> `Entry`, valid while `listening` (see the module)."""

    def __init__(self, pool: Pool, *, ttl_s: float = TTL_S) -> None:
        self.pool = pool
        self.ttl_s = ttl_s
        self.generation = 0
        """Bumped by every invalidation: a lookup stores its answer only if it is unchanged."""
        self.listening = False
        self._entries: dict[str, Entry] = {}
        self._task: asyncio.Task[None] | None = None
        _caches.add(self)

    async def start(self) -> None:
        """Start listening (returns once it listens, or after its first failed try: then the
        cache stays off until the listener connects)."""
        started = asyncio.Event()
        self._task = asyncio.create_task(self._listen(started))
        await started.wait()

    async def close(self) -> None:
        self._off()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def get(self, hashed: str) -> Entry | None:
        if not self.listening:
            return None
        entry = self._entries.get(hashed)
        if entry is None:
            return None
        stale = time.monotonic() - entry.stored_at > self.ttl_s
        if stale or (entry.expires_at is not None and entry.expires_at <= datetime.now(UTC)):
            self._entries.pop(hashed, None)
            return None
        return entry

    def put(self, hashed: str, entry: Entry, generation: int) -> None:
        """Keep `entry`, unless the cache was invalidated since `generation` was read (the
        answer may predate the change) or it is not listening."""
        if not self.listening or generation != self.generation:
            return
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()
        self._entries[hashed] = entry

    def invalidate(self) -> None:
        self.generation += 1
        self._entries.clear()

    def _off(self) -> None:
        self.listening = False
        self.invalidate()

    async def _listen(self, started: asyncio.Event) -> None:
        delay = 0.1
        while True:
            try:
                async with await self._connect() as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self.invalidate()  # whatever happened while not listening
                    self.listening = True
                    started.set()
                    delay = 0.1
                    async for _note in conn.notifies():
                        self.invalidate()
            except psycopg.Error as exc:
                logger.warning("caller cache: listener lost (%s); not caching meanwhile", exc)
            finally:
                self._off()
            started.set()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        conninfo, kwargs = self.pool.conninfo, self.pool.kwargs
        if not isinstance(conninfo, str) or not isinstance(kwargs, dict):
            raise TypeError("the caller cache needs a pool with a fixed conninfo and kwargs")
        name = f"studio people pid={os.getpid()}"
        return await psycopg.AsyncConnection.connect(
            conninfo, **{**kwargs, "autocommit": True, "application_name": name}
        )
