"""`studio users add|list|disable|enable|reset`: the studio's people, from this machine.

The CLI acts as the home's admin (its owner token, `people/bootstrap.py`): on a fresh studio,
`studio users add NAME --role admin` makes NAME that first admin."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import typer

from adapters.errors import InvalidInput, StudioError
from engine.settings import Settings
from people import accounts
from people.audit import record
from people.bootstrap import ensure_home_admin
from people.identity import Caller
from people.limits import usage
from store.database import Database, Pool

users_app = typer.Typer(
    help="The studio's people: each has one role (admin: everything; creator: starts and "
    "directs their own threads; viewer: reads what is shared with them). The CLI acts as this "
    "home's admin.",
    no_args_is_help=True,
)

RoleOption = Annotated[
    str, typer.Option("--role", help="admin, creator or viewer.", show_default=True)
]
JsonOut = Annotated[bool, typer.Option("--json", help="Print JSON.")]


SERVED_AT = "served-at"
"""The file in STUDIO_HOME where `studio serve` notes the address it serves this home at."""


def signin_url(settings: Settings, code: str) -> str:
    """Where a one-time code signs in: under STUDIO_PUBLIC_URL, else the address `studio serve`
    last served this home at, else its default address."""
    try:
        served = (settings.home / SERVED_AT).read_text().strip()
    except OSError:
        served = ""
    base = settings.public_url or served or "http://127.0.0.1:8000"
    return accounts.link_url(base, code)


async def _record(pool: Pool, actor: Caller, action: str, target: str, **detail: Any) -> None:
    await record(pool, actor=actor, action=action, target=target, outcome="ok", detail=detail)


def _run(
    body: Callable[[Settings, Pool, Caller], Awaitable[None]], name: str | None = None
) -> None:
    settings = Settings()
    settings.home.mkdir(parents=True, exist_ok=True)

    async def main() -> None:
        async with Database(settings.database_url, settings.home) as db:
            admin = await ensure_home_admin(db.pool, settings.home, name)
            await body(settings, db.pool, accounts.caller_of(admin.user, "local"))

    try:
        asyncio.run(main())
    except StudioError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None


@users_app.command("add")
def add(name: str, role: RoleOption = "creator") -> None:
    """Add a user and print a one-time sign-in link for them (they choose a password after)."""
    try:
        checked = accounts.check_role(role)
    except InvalidInput as exc:
        typer.echo(f"error: --{exc.message}", err=True)
        raise typer.Exit(2) from None

    async def body(settings: Settings, pool: Pool, admin: Caller) -> None:
        existing = await accounts.user_by_name(pool, name)
        if existing is not None and existing["user_id"] == admin.user_id:
            row = existing  # the fresh studio's first admin: this very name
        else:
            row = await accounts.add_user(pool, name, checked)
            await _record(pool, admin, "user.added", row["user_id"], name=row["name"], role=checked)
        code = await accounts.create_link(pool, row["user_id"])
        typer.echo(f"added {row['name']} ({row['role']})")
        typer.echo(f"one-time sign-in link (24 h): {signin_url(settings, code)}")

    _run(body, name if checked == "admin" else None)


@users_app.command("list")
def list_users(as_json: JsonOut = False) -> None:
    """Every user: name, role, state, and today's use against their limits."""

    async def body(settings: Settings, pool: Pool, admin: Caller) -> None:
        base = settings.user_limits
        rows = []
        for user in await accounts.list_users(pool):
            spent = await usage(pool, user["user_id"], base.for_user(user))
            rows.append({**accounts.user_json(user), "usage": spent})
        if as_json:
            typer.echo(json.dumps(rows))
            return
        for row in rows:
            state = "disabled" if row["disabled"] else "active"
            you = "  (this home's admin: the CLI)" if row["user_id"] == admin.user_id else ""
            runs, images = row["usage"]["concurrent_runs"], row["usage"]["daily_generations"]
            spent_text = (
                f"runs {runs['used']}/{runs['limit'] or '-'}"
                f"  generations today {images['used']}/{images['limit'] or '-'}"
            )
            typer.echo(f"{row['name']:<24} {row['role']:<8} {state:<9} {spent_text}{you}")

    _run(body)


def _set_disabled(name: str, disabled: bool) -> None:
    async def body(settings: Settings, pool: Pool, admin: Caller) -> None:
        row = await accounts.named(pool, name)
        if disabled and row["user_id"] == admin.user_id:
            raise InvalidInput("name: this home's admin (the CLI) cannot be disabled")
        await accounts.set_disabled(pool, row["user_id"], disabled)
        action = "user.disabled" if disabled else "user.enabled"
        await _record(pool, admin, action, row["user_id"], name=row["name"])
        typer.echo(f"{row['name']}: {'disabled' if disabled else 'enabled'}")

    _run(body)


@users_app.command("disable")
def disable(name: str) -> None:
    """Disable a user: their sessions end and their tokens stop working at once; their
    running threads finish, and stay readable by admins."""
    _set_disabled(name, True)


@users_app.command("enable")
def enable(name: str) -> None:
    """Enable a disabled user again (their tokens work again; they sign in again)."""
    _set_disabled(name, False)


@users_app.command("reset")
def reset(name: str) -> None:
    """Forget a user's password, end their sessions, and print a one-time sign-in link with
    which they choose a new one."""

    async def body(settings: Settings, pool: Pool, admin: Caller) -> None:
        row = await accounts.named(pool, name)
        code = await accounts.reset(pool, row["user_id"])
        await _record(pool, admin, "user.reset", row["user_id"], name=row["name"])
        typer.echo(f"{row['name']}: password cleared, sessions ended")
        typer.echo(f"one-time sign-in link (24 h): {signin_url(settings, code)}")

    _run(body)
