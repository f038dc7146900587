"""`studio audit`: the audit trail in the terminal, newest first (the CLI acts as the home's
admin; the trail is for admins only)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.console import Console

from adapters.errors import InvalidInput, StudioError
from engine.settings import Settings
from people import accounts
from people.audit import AuditQuery, family_names, query, time_bound
from people.bootstrap import ensure_home_admin
from store.database import Database


def audit_command(
    thread: Annotated[
        str | None, typer.Option("--thread", help="Only this thread's entries.")
    ] = None,
    actor: Annotated[
        str | None, typer.Option("--actor", help="Only this person's (a user name or id).")
    ] = None,
    action: Annotated[
        str | None,
        typer.Option(
            "--action",
            help=f"An action (gate.answered) or a family: {family_names()}.",
        ),
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="From this date or time (2026-12-06).")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Up to this date (its whole day) or time.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many entries.")] = 50,
    cursor: Annotated[
        str | None, typer.Option("--cursor", help="Older entries: the cursor a page ended with.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the page as JSON.")] = False,
) -> None:
    """The audit trail, newest first: who did what, when, to what, and how it ended (ok,
    refused, failed), from the browser, API clients and this CLI alike."""
    settings = Settings()
    settings.home.mkdir(parents=True, exist_ok=True)

    async def main() -> dict[str, Any]:
        filters = AuditQuery(
            thread=thread,
            actor=actor,
            action=action,
            since=time_bound(since, "--since"),
            until=time_bound(until, "--until", end=True),
        )
        async with Database(settings.database_url, settings.home) as db:
            admin = await ensure_home_admin(db.pool, settings.home)
            if admin.user["role"] != "admin" or admin.user["disabled_at"] is not None:
                who = accounts.caller_of(admin.user, "local").name
                raise InvalidInput(f"the audit trail is for admins; this home acts as {who}")
            page = await query(db.pool, filters, cursor=cursor, limit=limit)
            return {"items": page.items, "next_cursor": page.next_cursor}

    try:
        page = asyncio.run(main())
    except StudioError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(2 if isinstance(exc, InvalidInput) else 1) from None
    if as_json:
        typer.echo(json.dumps(page))
        return
    print_trail(page["items"], page["next_cursor"])


def entry_line(entry: dict[str, Any]) -> str:
    """One entry on one line: time (UTC), who, action, outcome, target, detail, request id."""
    who = entry["actor"]
    actor = f"{who['name']} ({who['role']}, {who['via']})" if who else "-"
    detail = describe(entry["detail"])
    request = f"  [request {entry['request_id']}]" if entry["request_id"] else ""
    at = datetime.fromisoformat(entry["at"]).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    return (
        f"{at}Z  {actor:<26} {entry['action']:<18} "
        f"{entry['outcome']:<8} {entry['target'] or '-'}{'  ' + detail if detail else ''}{request}"
    )


def describe(detail: dict[str, Any]) -> str:
    if not detail:
        return ""
    if detail.get("scrubbed"):
        return "(thread deleted: what was written is erased)"
    return json.dumps(detail, ensure_ascii=False, separators=(", ", ": "))[:300]


def print_trail(items: list[dict[str, Any]], next_cursor: str | None) -> None:
    console = Console()
    for entry in items:
        console.print(entry_line(entry), soft_wrap=True, markup=False, highlight=False)
    if not items:
        console.print("No entries match.", markup=False)
    if next_cursor:
        console.print(f"older entries: --cursor {next_cursor}", markup=False, highlight=False)
