"""The audit trail: who did what, when, to what, under which request, and how it ended.

Entries are appended to `audit_log` (migrations/0019_audit.sql), which refuses UPDATE, DELETE
and TRUNCATE; deleting a thread only scrubs what the person wrote from its entries' `detail`
(`scrub_thread`). The outcome is `ok`, `refused` (the studio said no: bad input, not allowed,
a conflict, a wrong password) or `failed` (it tried and could not).

Actions are lower-case words joined by `.` (or `_`); the first word is the family the trail's
filter takes. Recorded from the HTTP routes and the CLI alike: `thread.created` (also a copy or
branch), `thread.updated`, `thread.deleted`, `run.created`, `run.interjected`, `run.cancelled`,
`run.deleted`, `gate.answered` (with the answer; the A/B test's observe, declare and stop
too), `settings.changed`, `grant.created`, `grant.revoked`, `link.signed`, `export.downloaded`
(a thread's zip, a library file or zip, `studio export`); `request.refused` (a change refused
before its route ran: `api/http/audit_trail.py`); `user.signed_in` (a wrong password is
`refused`), `user.added`, `user.disabled`, `user.enabled`, `user.reset`, `user.role_changed`,
`user.limits_changed`, `user.password_changed`, `token.created`, `token.revoked`;
`media.job.submitted`, `media.job.cancelled`, `media.job.retried`.

Writing an entry never undoes or fails the person's action: that has happened by then. When
the entry cannot be written (the database is away) it goes to the error log in full instead.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from adapters.errors import InvalidInput, StudioError
from adapters.interrupts import keyed_answer
from people.identity import Caller
from store.database import Connection, Pool
from telemetry.context import request_id as current_request_id

logger = logging.getLogger("studio.audit")

Outcome = Literal["ok", "refused", "failed"]
Db = Pool | Connection
"""The shared pool, or a connection whose transaction the entry joins (a thread's deletion)."""

MAX_TEXT = 2000
"""Characters of one string kept in `detail` (a long interjection is clipped, and says so)."""
MAX_ITEMS = 50
SCRUBBED: dict[str, Any] = {"scrubbed": True}

_written: ContextVar[list[str] | None] = ContextVar("studio_audit_written", default=None)
"""The actions recorded in the current context, while something watches (`watching`)."""

_FIELDS = (
    "actor_id",
    "actor_name",
    "actor_role",
    "via",
    "action",
    "target",
    "thread_id",
    "request_id",
    "outcome",
    "detail",
)
_INSERT = f"""
    INSERT INTO audit_log ({", ".join(_FIELDS)})
    VALUES ({", ".join(f"%({name})s" for name in _FIELDS)})
"""
_INSERT_FROM = f"""
    INSERT INTO audit_log ({", ".join(_FIELDS)})
    SELECT {", ".join(f"%(audit_{name})s" for name in _FIELDS)} FROM {{source}}
"""


async def record(
    db: Db,
    *,
    actor: Caller | None,
    action: str,
    target: str | None,
    outcome: str,
    request_id: str | None = None,
    detail: Mapping[str, Any] | None = None,
    thread_id: str | None = None,
) -> None:
    """Append one entry. `actor` None is the studio itself or an unknown caller; `request_id`
    defaults to the current request's (`telemetry.context`); `thread_id` names the thread the
    action concerns, for the trail's thread filter (a thread's deletion scrubs its entries)."""
    params = _params(actor, action, target, outcome, request_id, detail, thread_id)
    if (seen := _written.get()) is not None:
        seen.append(action)
    try:
        if isinstance(db, psycopg.AsyncConnection):
            await db.execute(_INSERT, params)
        else:
            async with db.connection() as conn:
                await conn.execute(_INSERT, params)
    except psycopg.OperationalError as exc:  # the database is away; a bad entry (a bug) raises
        entry = {k: v.obj if isinstance(v, Jsonb) else v for k, v in params.items()}
        logger.error("audit entry not written (%s): %s", exc, json.dumps(entry, default=str))
        if isinstance(db, psycopg.AsyncConnection):
            raise  # the caller's transaction is theirs: it rolls back, entry and action alike


def _params(
    actor: Caller | None,
    action: str,
    target: str | None,
    outcome: str,
    request_id: str | None,
    detail: Mapping[str, Any] | None,
    thread_id: str | None,
) -> dict[str, Any]:
    return {
        "actor_id": actor.user_id if actor else None,
        "actor_name": actor.name if actor else None,
        "actor_role": actor.role if actor else None,
        "via": actor.via if actor else None,
        "action": action,
        "target": target,
        "thread_id": thread_id,
        "request_id": request_id or current_request_id.get(),
        "outcome": outcome,
        "detail": Jsonb(_clip(dict(detail or {}))),
    }


@contextmanager
def watching() -> Iterator[list[str]]:
    """Collect the actions recorded in this context and the tasks it starts (the HTTP edge
    uses it to see whether a refused request left an entry)."""
    seen: list[str] = []
    token = _written.set(seen)
    try:
        yield seen
    finally:
        _written.reset(token)


@dataclass
class Pending:
    """An action being audited: what `audited` records when the block ends. The block may
    fill in what it learns (the run's id, the answer as the studio understood it), and may
    write the `ok` entry itself in the transaction that does the action (`write`)."""

    target: str | None
    thread_id: str | None
    detail: dict[str, Any] = field(default_factory=dict)
    action: str = ""
    actor: Caller | None = None
    written: bool = False
    """The `ok` entry went in the action's own transaction: `audited` adds none when the block
    ends (it still records `refused` / `failed` if the block raises)."""

    async def write(self, conn: Connection) -> None:
        """The `ok` entry, now, in `conn`'s transaction (the one that does the action): no
        round trip of its own, and the action and its entry commit (or roll back) together."""
        await record(
            conn,
            actor=self.actor,
            action=self.action,
            target=self.target,
            thread_id=self.thread_id,
            outcome="ok",
            detail=self.detail,
        )
        self.written = True

    def insert_from(self, source: str) -> tuple[str, dict[str, Any]]:
        """The `ok` entry as a statement for a data-modifying `WITH` of the statement that
        does the action: it inserts one entry per row of `source` (that statement's CTE of
        what it did: no row, no entry), and its parameters (named `audit_…`). Once that
        statement returned its rows, `wrote()` says whether the entry went in."""
        fields = _params(
            self.actor, self.action, self.target, "ok", None, self.detail, self.thread_id
        )
        return _INSERT_FROM.format(source=source), {f"audit_{k}": v for k, v in fields.items()}

    def wrote(self, done: bool) -> None:
        """Whether the statement of `insert_from` inserted the entry (it did its action)."""
        if done:
            self.written = True
            if (seen := _written.get()) is not None:
                seen.append(self.action)


@asynccontextmanager
async def audited(
    db: Db,
    *,
    actor: Caller | None,
    action: str,
    target: str | None = None,
    thread_id: str | None = None,
    detail: Mapping[str, Any] | None = None,
) -> AsyncIterator[Pending]:
    """Record the block's action when it ends: `ok` (unless the block wrote it in its own
    transaction: `Pending.write`), or `refused` / `failed` (with the error's code and message)
    when it raises; the exception goes on."""
    pending = Pending(target, thread_id, dict(detail or {}), action, actor)
    try:
        yield pending
    except Exception as exc:
        error = {"code": getattr(exc, "code", type(exc).__name__), "message": str(exc)[:500]}
        await record(
            db,
            actor=actor,
            action=pending.action,
            target=pending.target,
            thread_id=pending.thread_id,
            outcome=outcome_of(exc),
            detail={**pending.detail, "error": error},
        )
        raise
    if pending.written:
        return
    await record(
        db,
        actor=actor,
        action=pending.action,
        target=pending.target,
        thread_id=pending.thread_id,
        outcome="ok",
        detail=pending.detail,
    )


def outcome_of(exc: BaseException) -> Outcome:
    """`refused` for what the caller can fix (a non-retryable studio error, an HTTP 4xx),
    `failed` for the rest."""
    if isinstance(exc, StudioError):
        return "failed" if exc.retryable else "refused"
    status = getattr(exc, "status_code", None)
    return "refused" if isinstance(status, int) and 400 <= status < 500 else "failed"


def _answer(resume: Any) -> dict[str, Any]:
    """The answer as the person gave it: a resume keyed by the one gate it answers
    (`{interrupt_id: answer}`, as the CLI and the page send it) is recorded as that answer
    and the gate's `interrupt_id`, so the trail reads the same however the gate was named."""
    if (keyed := keyed_answer(resume)) is not None:
        return {"answer": keyed[1], "interrupt_id": keyed[0]}
    return {"answer": resume}


def run_action(
    *, input: Mapping[str, Any] | None, command: Mapping[str, Any] | None, busy: bool
) -> tuple[str, dict[str, Any]]:
    """What a new run is, for the trail: `gate.answered` (with the answer), `run.cancelled`
    (the person's stop), `run.interjected` (a message while the thread is busy) or
    `run.created`; and its detail. One rule for the HTTP routes and the CLI."""
    if command and "resume" in command:
        return "gate.answered", _answer(command["resume"])
    if input and input.get("stop_requested"):
        return "run.cancelled", {"how": "stop requested"}
    texts = [_message_text(m) for m in (input or {}).get("messages") or []]
    detail: dict[str, Any] = {"message": "\n".join(t for t in texts if t)} if texts else {}
    if input and isinstance(input.get("settings"), Mapping):
        detail["settings"] = dict(input["settings"])
    if command:
        detail["command"] = sorted(command)
    if input is None and command is None:
        detail["retry"] = True
    return ("run.interjected" if busy and texts else "run.created"), detail


def _message_text(message: Any) -> str:
    if isinstance(message, Mapping):
        content = message.get("content", "")
    elif isinstance(message, (list, tuple)) and len(message) == 2:
        content = message[1]
    else:
        content = getattr(message, "content", message)
    return content if isinstance(content, str) else json.dumps(content, default=str)


async def scrub_thread(conn: Connection, thread_id: str) -> int:
    """In `conn`'s transaction (the thread's deletion): replace the `detail` of the thread's
    entries with `{"scrubbed": true}`, the one change the table allows; returns how many."""
    await conn.execute("SELECT set_config('studio.audit_scrub', %s, true)", [thread_id])
    cursor = await conn.execute(
        "UPDATE audit_log SET detail = %s WHERE thread_id = %s AND detail <> %s",
        [Jsonb(SCRUBBED), thread_id, Jsonb(SCRUBBED)],
    )
    return cursor.rowcount


ACTIONS = (
    "thread.created",
    "thread.updated",
    "thread.deleted",
    "run.created",
    "run.interjected",
    "run.cancelled",
    "run.deleted",
    "gate.answered",
    "settings.changed",
    "grant.created",
    "grant.revoked",
    "link.signed",
    "export.downloaded",
    "user.signed_in",
    "user.added",
    "user.disabled",
    "user.enabled",
    "user.reset",
    "user.role_changed",
    "user.password_changed",
    "user.limits_changed",
    "token.created",
    "token.revoked",
    "media.job.submitted",
    "media.job.cancelled",
    "media.job.retried",
    "request.refused",
)
"""Every action the trail records (tests/test_audit.py holds it to what the code writes)."""
FAMILIES = frozenset(a.rsplit(".", n)[0] for a in ACTIONS for n in range(1, a.count(".") + 1))
"""`run`, `media`, `media.job`…: a filter for a family matches each of its actions."""


def known_action(value: str) -> str:
    """`value` when the trail has such an action or family, else a 422 that lists them (a
    typo such as `gate.answerd` must not read as "nothing happened")."""
    if value in ACTIONS or value in FAMILIES:
        return value
    raise InvalidInput(
        f"action: no such action or family; got {value[:60]!r}. Families: {family_names()} "
        "(an action is family.what: gate.answered, run.cancelled, user.signed_in…)"
    )


def family_names() -> str:
    return ", ".join(sorted(f for f in FAMILIES if "." not in f))


@dataclass(frozen=True)
class AuditQuery:
    """Filters of the trail; all optional, combined with AND."""

    thread: str | None = None
    actor: str | None = None
    """A user id or name."""
    action: str | None = None
    """An action (`gate.answered`), or a family: `run` is `run.created`, `run.cancelled`…;
    `token` is `token_created`, `token_revoked` (a whole word before a `.` or `_`)."""
    since: datetime | None = None
    """Entries at or after this time."""
    until: datetime | None = None
    """Entries before this time."""

    def __post_init__(self) -> None:
        if self.action is not None:
            known_action(self.action)


def time_bound(value: str | None, field: str, *, end: bool = False) -> datetime | None:
    """A filter's time: an ISO 8601 date-time (no zone: UTC) or a date. A date as `until`
    means the end of that day, so `since=D&until=D` is the whole day D."""
    if value is None or value == "":
        return None
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            at = datetime(day.year, day.month, day.day, tzinfo=UTC)
            if end and day == date.max:
                return None  # the end of the last day there is: no bound
            return at + timedelta(days=1) if end else at
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            f"{field}: a date (2026-12-06) or an ISO 8601 time; got {value[:40]!r}"
        ) from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True)
class AuditPage:
    items: list[dict[str, Any]]
    next_cursor: str | None
    """Pass it back as `cursor` for the next (older) page; None on the last page."""


async def query(
    db: Db, filters: AuditQuery, *, cursor: str | None = None, limit: int = 50
) -> AuditPage:
    """The trail, newest first (by id: a stable order, so pages neither repeat nor skip an
    entry while others are appended), filtered."""
    where: list[sql.Composable] = []
    params: dict[str, Any] = {"limit": limit + 1}
    if filters.thread is not None:
        where.append(sql.SQL("thread_id = %(thread)s"))
        params["thread"] = filters.thread
    if filters.actor is not None:
        where.append(sql.SQL("(actor_id = %(actor)s OR actor_name = %(actor)s)"))
        params["actor"] = filters.actor
    if filters.action is not None:
        where.append(
            sql.SQL(
                "(action = %(action)s OR starts_with(action, %(dotted)s)"
                " OR starts_with(action, %(joined)s))"
            )
        )
        params.update(action=filters.action, dotted=filters.action + ".")
        params["joined"] = filters.action + "_"
    if filters.since is not None:
        where.append(sql.SQL("at >= %(since)s"))
        params["since"] = filters.since
    if filters.until is not None:
        where.append(sql.SQL("at < %(until)s"))
        params["until"] = filters.until
    if cursor is not None:
        where.append(sql.SQL("id < %(before)s"))
        params["before"] = decode_cursor(cursor)
    statement = sql.SQL("SELECT * FROM audit_log {} ORDER BY id DESC LIMIT %(limit)s").format(
        sql.SQL("WHERE ") + sql.SQL(" AND ").join(where) if where else sql.SQL("")
    )
    if isinstance(db, psycopg.AsyncConnection):
        rows = await _fetch(db, statement, params)
    else:
        async with db.connection() as conn:
            rows = await _fetch(conn, statement, params)
    page = rows[:limit]
    more = len(rows) > limit
    return AuditPage([entry_json(r) for r in page], encode_cursor(page[-1]["id"]) if more else None)


async def _fetch(conn: Connection, statement: sql.Composed, params: Any) -> list[dict[str, Any]]:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(statement, params)
        return await cur.fetchall()


def entry_json(row: Mapping[str, Any]) -> dict[str, Any]:
    actor = None
    if row["actor_id"] is not None:
        actor = {
            "id": row["actor_id"],
            "name": row["actor_name"],
            "role": row["actor_role"],
            "via": row["via"],
        }
    return {
        "id": str(row["id"]),
        "at": row["at"].isoformat(),
        "actor": actor,
        "action": row["action"],
        "target": row["target"],
        "thread_id": row["thread_id"],
        "request_id": row["request_id"],
        "outcome": row["outcome"],
        "detail": row["detail"],
    }


_CURSOR_PREFIX = "audit:"


def encode_cursor(entry_id: int) -> str:
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{entry_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The entry id a cursor stands for; `InvalidInput` naming `cursor` for anything else."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        number = text.removeprefix(_CURSOR_PREFIX)
        if text.startswith(_CURSOR_PREFIX) and number.isascii() and number.isdigit():
            if (entry_id := int(number)) < 2**63:
                return entry_id
    except (ValueError, UnicodeDecodeError):
        pass
    raise InvalidInput("cursor: not a cursor this API returned")


def _clip(value: Any, depth: int = 0) -> Any:
    """`value` made JSON-safe and bounded: long strings and lists are cut (saying so)."""
    if isinstance(value, str):
        return value if len(value) <= MAX_TEXT else value[:MAX_TEXT] + "… (clipped)"
    if isinstance(value, bool | int | float) or value is None:
        return value
    if depth > 6:
        return "… (nested too deep)"
    if isinstance(value, Mapping):
        items = list(value.items())[:MAX_ITEMS]
        return {str(k): _clip(v, depth + 1) for k, v in items}
    if isinstance(value, list | tuple | set | frozenset):
        return [_clip(v, depth + 1) for v in list(value)[:MAX_ITEMS]]
    return _clip(str(value), depth)
