"""Accounts over HTTP: sign in and out (`/auth/*`), who am I and my tokens (`/me`), and the
admin's people (`/users`)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import BaseModel, ConfigDict, Field

from adapters.errors import InvalidInput, NotFound
from api.http import callers
from api.http.deps import CallerDep, ServicesDep, require_role
from api.http.media_access import may_use_media_lab
from people import accounts, limits
from people.audit import record
from people.identity import Caller, Role
from people.limits import UserLimits

router = APIRouter(tags=["accounts"])
AdminDep = Annotated[Caller, Depends(require_role("admin"))]
MAX_TOKEN_DAYS = 365


async def audit(
    request: Request,
    actor: Caller | None,
    action: str,
    target: str | None,
    outcome: str = "ok",
    detail: dict[str, Any] | None = None,
) -> None:
    """Append to the audit trail (`people.audit`)."""
    svc = callers._services(request)
    await record(
        svc.studio.threads.pool,
        actor=actor,
        action=action,
        target=target,
        outcome=outcome,
        detail=detail,
    )


async def me_json(svc: ServicesDep, caller: Caller) -> dict[str, Any]:
    body: dict[str, Any] = {**callers.caller_json(caller)}
    if caller.scoped:
        body["usage"] = None
        return body
    pool = svc.studio.threads.pool
    user = await accounts.user_by_id(pool, caller.user_id)
    assert user is not None
    mine = svc.settings.user_limits.for_user(user)
    return {
        **body,
        "user": accounts.user_json(user),
        "usage": await limits.usage(pool, caller.user_id, mine),
    }


# --- signing in ---------------------------------------------------------------------------


class SignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=accounts.MAX_PASSWORD)


@router.post("/auth/signin")
async def sign_in(body: SignIn, request: Request, svc: ServicesDep) -> Response:
    """Sign in with a name and password: sets the session cookie (HttpOnly, SameSite=Lax,
    Secure over https). Failed tries are throttled per name and address (429)."""
    pool = svc.studio.threads.pool
    try:
        user = await accounts.sign_in(
            pool, body.name, body.password, callers.client_address(request)
        )
    except Exception as exc:
        await audit(
            request, None, "user.signed_in", body.name[:64], "refused", {"why": type(exc).__name__}
        )
        raise
    caller = accounts.caller_of(user, "session")
    await audit(request, caller, "user.signed_in", user["user_id"], "ok", {"with": "password"})
    token = await accounts.create_session(pool, user["user_id"])
    response = JSONResponse(await me_json(svc, caller))
    callers.set_session_cookie(request, response, token)
    return response


@router.get("/auth/link")
async def sign_in_with_link(
    request: Request, svc: ServicesDep, code: str = Query(min_length=1, max_length=200)
) -> Response:
    """A one-time sign-in link (printed by `studio serve`, `studio users add|reset`, or made
    by an admin): signs this browser in and opens the studio; spent once used."""
    pool = svc.studio.threads.pool
    try:
        user = await accounts.use_link(pool, code)
    except Exception:
        await audit(request, None, "user.signed_in", None, "refused", {"with": "link"})
        raise
    await audit(
        request,
        accounts.caller_of(user, "session"),
        "user.signed_in",
        user["user_id"],
        "ok",
        {"with": "link"},
    )
    token = await accounts.create_session(pool, user["user_id"])
    target = "/?set-password=1" if user["password_hash"] is None else "/"
    response = RedirectResponse(target, status_code=303)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    callers.set_session_cookie(request, response, token)
    return response


@router.post("/auth/signout", status_code=204)
async def sign_out(request: Request, svc: ServicesDep) -> Response:
    """End this browser's session (and clear its cookie)."""
    session = request.cookies.get(callers.COOKIE)
    if session:
        await accounts.end_session(svc.studio.threads.pool, session)
    response = Response(status_code=204)
    callers.clear_session_cookie(request, response)
    return response


# --- me -------------------------------------------------------------------------------------


@router.get("/me")
async def who_am_i(caller: CallerDep, svc: ServicesDep) -> dict[str, Any]:
    """Who you are (name, role, how you signed in), your usage against your limits, and
    whether the Media Lab is open to you (`media_lab`)."""
    return {
        **await me_json(svc, caller),
        "media_lab": may_use_media_lab(caller, svc.settings.media_lab),
    }


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    password: str = Field(min_length=accounts.MIN_PASSWORD, max_length=accounts.MAX_PASSWORD)
    current_password: str | None = Field(None, max_length=accounts.MAX_PASSWORD)
    """Needed when you have a password (unless you are the local person on this machine)."""


def _user_caller(caller: Caller) -> Caller:
    if caller.scoped:
        raise InvalidInput("authorization: a thread's token or share link has no account")
    return caller


@router.put("/me/password", status_code=204)
async def change_password(
    body: PasswordChange, request: Request, caller: CallerDep, svc: ServicesDep
) -> Response:
    """Set or change your password."""
    _user_caller(caller)
    pool = svc.studio.threads.pool
    user = await accounts.user_by_id(pool, caller.user_id)
    assert user is not None
    if user["password_hash"] is not None and caller.via != "local":
        if not accounts.password_matches(user["password_hash"], body.current_password or ""):
            raise InvalidInput("current_password: not your current password")
    await accounts.set_password(pool, caller.user_id, body.password)
    await audit(request, caller, "user.password_changed", caller.user_id)
    return Response(status_code=204)


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=accounts.TOKEN_NAME_MAX)
    expires_in_days: int | None = Field(None, ge=1, le=MAX_TOKEN_DAYS)
    """Days until it stops working; none: until revoked."""


@router.get("/me/tokens")
async def my_tokens(caller: CallerDep, svc: ServicesDep) -> list[dict[str, Any]]:
    """Your personal access tokens: name, first characters, created, last used; never the
    token."""
    rows = await accounts.list_tokens(svc.studio.threads.pool, _user_caller(caller).user_id)
    return [accounts.token_json(row) for row in rows]


@router.post("/me/tokens", status_code=201)
async def new_token(
    body: TokenCreate, request: Request, caller: CallerDep, svc: ServicesDep
) -> dict[str, Any]:
    """A personal access token for API clients (`Authorization: Bearer spat_…`, the
    langgraph-sdk's `headers`). The response's `token` is shown this once."""
    _user_caller(caller)
    expires = timedelta(days=body.expires_in_days) if body.expires_in_days else None
    row, token = await accounts.create_token(
        svc.studio.threads.pool, caller.user_id, body.name, expires_in=expires
    )
    await audit(request, caller, "token.created", row["token_id"], detail={"name": row["name"]})
    return {**accounts.token_json(row), "token": token}


@router.delete("/me/tokens/{token_id}", status_code=204)
async def revoke_my_token(
    token_id: str, request: Request, caller: CallerDep, svc: ServicesDep
) -> Response:
    """Revoke one of your tokens: it stops working at once."""
    _user_caller(caller)
    if await accounts.revoke_token(svc.studio.threads.pool, caller.user_id, token_id) is None:
        raise NotFound("Token not found")
    await audit(request, caller, "token.revoked", token_id)
    return Response(status_code=204)


# --- people (admin) -------------------------------------------------------------------------


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64)
    role: Role = "creator"


MAX_USER_LIMIT = 1_000_000
"""The highest per-user limit an admin may set (0 is "no limit"); the columns are `integer`."""


class LimitsPatch(BaseModel):
    """Strict: a limit is a whole number as JSON has it (not "5", not true)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    rate_per_minute: int | None = Field(None, ge=0, le=MAX_USER_LIMIT)
    concurrent_runs: int | None = Field(None, ge=0, le=MAX_USER_LIMIT)
    daily_generations: int | None = Field(None, ge=0, le=MAX_USER_LIMIT)


class UserPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role | None = None
    disabled: bool | None = Field(None, strict=True)  # true or false, not "yes"
    limits: LimitsPatch | None = None
    """Per-user overrides: a number (0: no limit), or null for the studio's default."""


async def _user_with_usage(
    svc: ServicesDep, row: dict[str, Any], base: UserLimits
) -> dict[str, Any]:
    pool = svc.studio.threads.pool
    return {
        **accounts.user_json(row),
        "usage": await limits.usage(pool, row["user_id"], base.for_user(row)),
    }


@router.get("/users")
async def people(admin: AdminDep, svc: ServicesDep) -> list[dict[str, Any]]:
    """Every user with their role, state, limits and usage (admin)."""
    base = svc.settings.user_limits
    rows = await accounts.list_users(svc.studio.threads.pool)
    return [await _user_with_usage(svc, row, base) for row in rows]


@router.post("/users", status_code=201)
async def add_person(
    body: UserCreate, request: Request, admin: AdminDep, svc: ServicesDep
) -> dict[str, Any]:
    """Add a user (admin). The response's `signin_url` is a one-time link for them."""
    pool = svc.studio.threads.pool
    row = await accounts.add_user(pool, body.name, body.role)
    code = await accounts.create_link(pool, row["user_id"])
    await audit(
        request,
        admin,
        "user.added",
        row["user_id"],
        detail={"name": row["name"], "role": row["role"]},
    )
    url = accounts.link_url(str(request.base_url), code)
    return {**accounts.user_json(row), "signin_url": url}


async def _target(svc: ServicesDep, user_id: str) -> dict[str, Any]:
    row = await accounts.user_by_id(svc.studio.threads.pool, user_id)
    if row is None:
        raise NotFound("User not found")
    return row


@router.patch("/users/{user_id}")
async def change_person(
    user_id: str, body: UserPatch, request: Request, admin: AdminDep, svc: ServicesDep
) -> dict[str, Any]:
    """Change a user's role, disable or enable them, or override their limits (admin). A
    disabled user's sessions end and their tokens stop working; their running threads finish
    and stay readable by admins. An admin cannot disable or demote themself."""
    pool = svc.studio.threads.pool
    row = await _target(svc, user_id)
    if user_id == admin.user_id and (body.disabled or (body.role and body.role != "admin")):
        raise InvalidInput("user_id: you cannot disable or demote yourself; another admin can")
    if body.role is not None and body.role != row["role"]:
        row = await accounts.set_role(pool, user_id, body.role)
        named = {"name": row["name"], "role": body.role}
        await audit(request, admin, "user.role_changed", user_id, detail=named)
    if body.disabled is not None and body.disabled != (row["disabled_at"] is not None):
        row = await accounts.set_disabled(pool, user_id, body.disabled)
        action = "user.disabled" if body.disabled else "user.enabled"
        await audit(request, admin, action, user_id, detail={"name": row["name"]})
    if body.limits is not None:
        given = body.limits.model_dump(exclude_unset=True)
        row = await accounts.set_limits(pool, user_id, given)
        await audit(
            request, admin, "user.limits_changed", user_id, detail={"name": row["name"], **given}
        )
    return await _user_with_usage(svc, row, svc.settings.user_limits)


@router.post("/users/{user_id}/reset")
async def reset_person(
    user_id: str, request: Request, admin: AdminDep, svc: ServicesDep
) -> dict[str, Any]:
    """Forget a user's password and end their sessions (admin); `signin_url` is a one-time
    link with which they sign in and choose a new one."""
    row = await _target(svc, user_id)
    code = await accounts.reset(svc.studio.threads.pool, user_id)
    await audit(request, admin, "user.reset", user_id, detail={"name": row["name"]})
    return {**accounts.user_json(row), "signin_url": accounts.link_url(str(request.base_url), code)}
