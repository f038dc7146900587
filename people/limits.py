"""Per-user limits, held on the shared Postgres so that every studio process counts the same:

- `rate_per_minute`: API requests that change something (every method but GET/HEAD/OPTIONS),
  per one-minute window (a shared counter row per user and minute);
- `concurrent_runs`: runs pending or running at once (counted from `runs.user_id`);
- `daily_generations`: images the user's threads stored and Media Lab jobs the user started today
  (UTC), from the `generation_ledger` (migration 0023: triggers count each as it is made; deleting
  a thread or job gives nothing back, so usage and the limit are one number).

The defaults are generous: one person working never meets them; a script creating hundreds of
threads in seconds does. An admin overrides them per user (`users.rate_per_minute` …; NULL:
the default, 0: no limit). Past a limit a call gets `LimitReached` (429, `Retry-After`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row

from people.errors import LimitReached
from store.database import Connection, Pool

DEFAULT_RATE_PER_MINUTE = 120
DEFAULT_CONCURRENT_RUNS = 10
DEFAULT_DAILY_GENERATIONS = 1000
RUN_RETRY_S = 30
"""What `Retry-After` says when the concurrent-run cap is full (a run's end is not known)."""


@dataclass(frozen=True)
class UserLimits:
    """One user's limits (0: no limit)."""

    rate_per_minute: int = DEFAULT_RATE_PER_MINUTE
    concurrent_runs: int = DEFAULT_CONCURRENT_RUNS
    daily_generations: int = DEFAULT_DAILY_GENERATIONS

    def for_user(self, user: dict[str, Any] | None) -> UserLimits:
        """These defaults with the user's overrides (columns of `users`) applied."""
        if user is None:
            return self

        def pick(key: str, default: int) -> int:
            value = user.get(key)
            return default if value is None else int(value)

        return UserLimits(
            pick("rate_per_minute", self.rate_per_minute),
            pick("concurrent_runs", self.concurrent_runs),
            pick("daily_generations", self.daily_generations),
        )


async def _one(pool: Pool | Connection, query: str, params: Any) -> dict[str, Any]:
    if isinstance(pool, psycopg.AsyncConnection):
        async with pool.cursor(row_factory=dict_row) as cur:
            await cur.execute(query, params)
            row = await cur.fetchone()
    else:
        async with pool.connection() as conn:
            async with conn.cursor(row_factory=dict_row) as cur:
                await cur.execute(query, params)
                row = await cur.fetchone()
    assert row is not None
    return row


_SPEND = """
    WITH pruned AS (
        DELETE FROM request_windows
        WHERE user_id = %(key)s AND window_start < date_trunc('minute', now())
    )
    INSERT INTO request_windows (user_id, window_start, requests)
    VALUES (%(key)s, date_trunc('minute', now()), 1)
    ON CONFLICT (user_id, window_start)
        DO UPDATE SET requests = request_windows.requests + 1
    RETURNING requests,
        ceil(extract(epoch FROM date_trunc('minute', now()) + interval '1 minute' - now()))::int
            AS left_s
"""


async def spend_request(pool: Pool, key: str, limit: int) -> int:
    """Count one request against `key`'s current minute; `LimitReached` past `limit`. Returns
    the requests counted this minute. Atomic across processes (one upsert)."""
    if limit <= 0:
        return 0
    row = await _one(pool, _SPEND, {"key": key})
    if row["requests"] > limit:
        wait = max(1, int(row["left_s"]))
        raise LimitReached(
            f"Request limit reached: {limit} changes a minute; it frees up in {wait} s",
            retry_after=wait,
            limit="rate_per_minute",
        )
    return int(row["requests"])


async def requests_this_minute(pool: Pool, key: str) -> int:
    row = await _one(
        pool,
        "SELECT coalesce(sum(requests), 0)::int AS n FROM request_windows"
        " WHERE user_id = %s AND window_start = date_trunc('minute', now())",
        [key],
    )
    return int(row["n"])


async def running_runs(conn: Pool | Connection, user_id: str) -> int:
    row = await _one(
        conn,
        "SELECT count(*)::int AS n FROM runs WHERE user_id = %s"
        " AND status IN ('pending', 'running')",
        [user_id],
    )
    return int(row["n"])


async def lock_user(conn: Connection, user_id: str) -> None:
    """Serialise run starts of one user across processes until `conn`'s transaction ends."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('studio-runs:' || %s, 0))", [user_id]
    )


async def check_runs(conn: Pool | Connection, user_id: str, limit: int) -> None:
    """`LimitReached` when the user already has `limit` runs pending or running. Called with
    `lock_user` held in the transaction that inserts the run, it holds across processes."""
    if limit <= 0:
        return
    if await running_runs(conn, user_id) >= limit:
        raise LimitReached(
            f"Run limit reached: {limit} runs at once; one must finish (or be cancelled) first",
            retry_after=RUN_RETRY_S,
            limit="concurrent_runs",
        )


async def generations_today(pool: Pool | Connection, user_id: str) -> int:
    """Images stored and Media Lab jobs started today (UTC), as the ledger counted them."""
    row = await _one(
        pool,
        "SELECT coalesce(sum(used), 0)::int AS n FROM generation_ledger"
        " WHERE user_id = %s AND day = (now() AT TIME ZONE 'UTC')::date",
        [user_id],
    )
    return int(row["n"])


def seconds_to_midnight(now: datetime | None = None) -> int:
    now = now or datetime.now(UTC)
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1, int((midnight - now).total_seconds()))


async def check_generations(pool: Pool | Connection, user_id: str, limit: int) -> None:
    """`LimitReached` when the user generated `limit` images and Media Lab jobs today (UTC): no
    new run or job starts until midnight UTC. A run already going finishes within its budget."""
    if limit <= 0:
        return
    if await generations_today(pool, user_id) >= limit:
        wait = seconds_to_midnight()
        raise LimitReached(
            f"Daily generation limit reached: {limit} images and media jobs today; it frees up"
            " at 00:00 UTC"
            f" (in {wait // 3600} h {wait % 3600 // 60} min)",
            retry_after=wait,
            limit="daily_generations",
        )


async def usage(pool: Pool, user_id: str, limits: UserLimits) -> dict[str, Any]:
    """What the user spent against each limit (0: no limit), for `GET /me` and the admin."""
    return {
        "rate_per_minute": {
            "used": await requests_this_minute(pool, user_id),
            "limit": limits.rate_per_minute,
        },
        "concurrent_runs": {
            "used": await running_runs(pool, user_id),
            "limit": limits.concurrent_runs,
        },
        "daily_generations": {
            "used": await generations_today(pool, user_id),
            "limit": limits.daily_generations,
            "resets_in_s": seconds_to_midnight(),
        },
    }
