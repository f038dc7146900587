"""Accounts over HTTP: sign-in (link, password, cookie), personal access tokens with the
unmodified langgraph-sdk, roles, an ownership check of every route, disabled users, limits."""

from __future__ import annotations

import asyncio
import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_client

from people import accounts
from people.home_token import home_token
from store.database import Pool
from tests.api_helpers import NEON, Served, serve

pytestmark = pytest.mark.anyio


def start(**settings: Any) -> dict[str, Any]:
    return {"input": {"messages": [{"role": "user", "content": NEON}], "settings": settings}}


async def person(served: Served, name: str, role: str = "creator") -> str:
    """A new user's personal access token (made as the home's admin would)."""
    pool: Pool = served.studio.threads.pool
    row = await accounts.add_user(pool, name, role)
    _, token = await accounts.create_token(pool, row["user_id"], "tests")
    return token


def admin(served: Served, tmp_path: Path) -> httpx.AsyncClient:
    return served.http(home_token(tmp_path))


async def test_a_link_signs_a_browser_in_and_a_password_signs_it_in_again(
    database: Any, tmp_path: Path
) -> None:
    async with serve(database, tmp_path) as served:
        async with admin(served, tmp_path) as root:
            me = (await root.get("/me")).json()
            assert me["role"] == "admin" and me["via"] == "local"
            made = await root.post("/users", json={"name": "ada", "role": "creator"})
            assert made.status_code == 201, made.text
            link = made.json()["signin_url"]
            assert "/auth/link?code=sl_" in link
        path = link[link.index("/auth/link") :]
        async with served.http() as browser:
            assert (await browser.get("/me")).status_code == 401
            opened = await browser.get(path)
            assert opened.status_code == 303 and opened.headers["location"] == "/?set-password=1"
            cookie = opened.headers["set-cookie"]
            assert "studio_session=sss_" in cookie and "HttpOnly" in cookie
            assert "samesite=lax" in cookie.lower() and "Secure" not in cookie  # plain http
            me = (await browser.get("/me")).json()
            assert (me["name"], me["role"], me["via"]) == ("ada", "creator", "session")
            assert me["usage"]["daily_generations"]["used"] == 0
            async with served.http() as second:
                again = await second.get(path)
            assert again.status_code == 401, "a link works once"

            origin = {"Origin": served.url}
            short = await browser.put("/me/password", json={"password": "short"}, headers=origin)
            assert short.status_code == 422 and "password" in short.json()["error"]["message"]
            elsewhere = {"Origin": "https://evil.example"}
            forged = await browser.put(
                "/me/password", json={"password": "a long password"}, headers=elsewhere
            )
            assert forged.status_code == 403, "another site's page cannot act with the cookie"
            async with admin(served, tmp_path) as root:  # D5: the attempt is in the trail
                trail = (await root.get("/audit", params={"action": "request.refused"})).json()
            attempt = trail["items"][0]
            assert attempt["actor"]["name"] == "ada" and attempt["outcome"] == "refused"
            assert attempt["target"] == "PUT /me/password"
            ok = await browser.put(
                "/me/password", json={"password": "a long password"}, headers=origin
            )
            assert ok.status_code == 204
            made = await browser.post("/threads", json={}, headers=origin)
            assert made.status_code == 200, made.text
            out = await browser.post("/auth/signout", headers=origin)
            assert out.status_code == 204
            assert (await browser.get("/me")).status_code == 401
            assert (await browser.get(f"/threads/{made.json()['thread_id']}")).status_code == 401

        async with served.http() as other:
            wrong = await other.post("/auth/signin", json={"name": "ada", "password": "nope nope"})
            assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "unauthorized"
            signed = await other.post(
                "/auth/signin", json={"name": "ADA", "password": "a long password"}
            )
            assert signed.status_code == 200 and signed.json()["name"] == "ada"
            listed = (await other.post("/threads/search", json={})).json()
            assert [t["thread_id"] for t in listed] == [made.json()["thread_id"]]
            for _ in range(accounts.MAX_FAILURES):
                await other.post("/auth/signin", json={"name": "ada", "password": "guess 1234"})
            held = await other.post(
                "/auth/signin", json={"name": "ada", "password": "a long password"}
            )
            assert held.status_code == 429 and int(held.headers["retry-after"]) > 0
            assert held.json()["error"]["retryable"] is True
        async with admin(served, tmp_path) as root:  # the trail has each, in one vocabulary
            trail = (await root.get("/audit", params={"action": "user", "limit": 100})).json()
            seen = [(e["action"], e["outcome"]) for e in trail["items"]]
            assert ("user.added", "ok") in seen and ("user.password_changed", "ok") in seen
            assert ("user.signed_in", "ok") in seen and ("user.signed_in", "refused") in seen
            assert not [a for a, _ in seen if "_" in a.split(".")[0]]


async def test_a_personal_token_drives_the_unmodified_sdk_and_dies_when_revoked(
    database: Any, tmp_path: Path
) -> None:
    async with serve(database, tmp_path) as served:
        ada = await person(served, "ada")
        async with served.http(ada) as client:
            made = await client.post("/me/tokens", json={"name": "laptop script"})
            assert made.status_code == 201
            pat = made.json()["token"]
            assert pat.startswith("spat_") and made.json()["prefix"] == pat[:9]
            listed = (await client.get("/me/tokens")).json()
            assert {t["name"] for t in listed} == {"tests", "laptop script"}
            assert pat not in str(listed)
        sdk = get_client(url=served.url, headers={"Authorization": f"Bearer {pat}"})
        try:
            thread = await sdk.threads.create(metadata={"graph_id": "studio"})
            tid = thread["thread_id"]
            result = await sdk.runs.wait(tid, "studio", input=start(auto_approve=True)["input"])
            assert isinstance(result, dict) and result.get("messages")
            found = await sdk.threads.search()
            assert [t["thread_id"] for t in found] == [tid]
        finally:
            await sdk.aclose()
        async with served.http(pat) as client:
            listed = (await client.get("/me/tokens")).json()
            mine = next(t for t in listed if t["name"] == "laptop script")
            assert mine["last_used_at"] is not None
            assert (await client.delete(f"/me/tokens/{mine['token_id']}")).status_code == 204
            revoked = await client.get(f"/threads/{tid}")
            assert revoked.status_code == 401 and "revoked" in revoked.json()["error"]["message"]
        async with served.http(ada) as client:
            assert (await client.get(f"/threads/{tid}")).status_code == 200, "ada's other token"


async def test_roles_and_shares_to_a_signed_in_viewer(database: Any, tmp_path: Path) -> None:
    async with serve(database, tmp_path) as served:
        ada, bob, vic = (
            await person(served, "ada"),
            await person(served, "bob"),
            await person(served, "vic", "viewer"),
        )
        async with served.http(ada) as client:
            tid = (await client.post("/threads", json={})).json()["thread_id"]
            shared = await client.post(
                f"/threads/{tid}/grants", json={"role": "direct", "user": "vic"}
            )
            assert shared.status_code == 201 and shared.json()["user_id"]
            nobody = await client.post(f"/threads/{tid}/grants", json={"user": "nobody"})
            assert nobody.status_code == 422 and "user" in nobody.json()["error"]["message"]
            assert (await client.get("/users")).status_code == 403, "only admins list people"
        async with served.http(vic) as viewer:
            assert (await viewer.post("/threads", json={})).status_code == 403
            assert (await viewer.get(f"/threads/{tid}")).status_code == 200
            listed = (await viewer.post("/threads/search", json={})).json()
            assert [t["thread_id"] for t in listed] == [tid]
            acted = await viewer.post(f"/threads/{tid}/runs", json=start())
            assert acted.status_code == 403, "a viewer never directs, even with a direct grant"
        async with served.http(bob) as stranger:
            assert (await stranger.get(f"/threads/{tid}")).status_code == 404
            assert (await stranger.post("/threads/search", json={})).json() == []
        async with admin(served, tmp_path) as root:
            assert (await root.get(f"/threads/{tid}")).status_code == 200, "admins see every thread"
            everyone = (await root.get("/users")).json()
            assert {u["name"] for u in everyone} >= {"ada", "bob", "vic"}
            assert all("password_hash" not in u and "usage" in u for u in everyone)
            me = (await root.get("/me")).json()
            demote = await root.patch(f"/users/{me['user_id']}", json={"role": "viewer"})
            assert demote.status_code == 422, "an admin cannot demote themself"


async def test_a_disabled_users_credentials_stop_and_admins_still_read_their_threads(
    database: Any, tmp_path: Path
) -> None:
    async with serve(database, tmp_path, token_delay_s=0.002) as served:
        ada = await person(served, "ada")
        async with served.http(ada) as client:
            made = (await client.post("/threads", json={})).json()
            tid, thread_token = made["thread_id"], made["token"]
            run = (await client.post(f"/threads/{tid}/runs", json=start(auto_approve=True))).json()
            share = (await client.post(f"/threads/{tid}/grants", json={"role": "view"})).json()
        async with admin(served, tmp_path) as root:
            ada_id = next(u for u in (await root.get("/users")).json() if u["name"] == "ada")
            off = await root.patch(f"/users/{ada_id['user_id']}", json={"disabled": True})
            assert off.status_code == 200 and off.json()["disabled"] is True
            for token in (ada, thread_token, share["token"]):
                async with served.http(token) as gone:
                    refused = await gone.get(f"/threads/{tid}")
                    assert refused.status_code == 401
                    assert "disabled" in refused.json()["error"]["message"]
            joined = await root.get(f"/threads/{tid}/runs/{run['run_id']}/join", timeout=120)
            assert joined.status_code == 200
            finished = (await root.get(f"/threads/{tid}/runs/{run['run_id']}")).json()
            assert finished["status"] in ("success", "interrupted"), finished
            assert (await root.get(f"/threads/{tid}/state")).status_code == 200
            await root.patch(f"/users/{ada_id['user_id']}", json={"disabled": False})
        async with served.http(ada) as client:
            assert (await client.get(f"/threads/{tid}")).status_code == 200


async def test_limits_answer_429_with_retry_after_across_processes(
    database: Any, tmp_path: Path
) -> None:
    async with (
        serve(database, tmp_path, limit_rate_per_minute=6) as one,
        serve(database, tmp_path, limit_rate_per_minute=6) as two,
    ):
        ada = await person(one, "ada")
        answers = []
        for served in (one, two, one, two, one, two, one, two):
            async with served.http(ada) as client:
                answers.append(await client.post("/threads", json={}))
        assert [a.status_code for a in answers] == [200] * 6 + [429] * 2
        refused = answers[-1]
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        error = refused.json()["error"]
        assert error["code"] == "too_many_requests" and error["retryable"] is True
        assert "frees up in" in error["message"]
        async with one.http(ada) as client:
            me = (await client.get("/me")).json()  # reads are not counted, and show the usage
            assert me["usage"]["rate_per_minute"] == {"used": 8, "limit": 6}
        async with admin(one, tmp_path) as root:
            row = next(u for u in (await root.get("/users")).json() if u["name"] == "ada")
            lifted = await root.patch(
                f"/users/{row['user_id']}", json={"limits": {"rate_per_minute": 0}}
            )
            assert lifted.json()["limits"]["rate_per_minute"] == 0
        async with two.http(ada) as client:
            assert (await client.post("/threads", json={})).status_code == 200, "0: no limit"
        async with admin(one, tmp_path) as root:  # D18: 3e9 was a 500 (integer out of range)
            bad = {
                "limits.daily_generations": {"limits": {"daily_generations": 3_000_000_000}},
                "limits.rate_per_minute": {"limits": {"rate_per_minute": "5"}},
                "limits.concurrent_runs": {"limits": {"concurrent_runs": True}},
                "disabled": {"disabled": "yes"},
            }
            for field, body in bad.items():
                refused = await root.patch(f"/users/{row['user_id']}", json=body)
                assert refused.status_code == 422, (body, refused.text)
                assert field in refused.json()["error"]["message"], refused.text
            kept = next(u for u in (await root.get("/users")).json() if u["name"] == "ada")
            assert kept["limits"]["rate_per_minute"] == 0 and kept["disabled"] is False
            trail = (await root.get("/audit", params={"action": "user"})).json()["items"]
            changed = next(e for e in trail if e["action"] == "user.limits_changed")
            assert changed["detail"] == {"name": "ada", "rate_per_minute": 0}  # D6: who, by name


async def test_a_stop_goes_through_past_the_request_rate(database: Any, tmp_path: Path) -> None:
    """D23: past 120 changes a minute, Stop (a run's cancel, a `stop_requested` message) was
    refused with 429 too; the README says a stop is never refused."""
    async with serve(database, tmp_path, token_delay_s=0.05, limit_rate_per_minute=3) as served:
        ada = await person(served, "ada")
        async with served.http(ada) as client:
            tid = (await client.post("/threads", json={})).json()["thread_id"]
            running = await client.post(f"/threads/{tid}/runs", json=start())
            assert running.status_code == 200, running.text
            assert (await client.post("/threads", json={})).status_code == 200  # the third
            refused = await client.post("/threads", json={})
            assert refused.status_code == 429, refused.text
            said = {"input": {"messages": [{"role": "user", "content": "more rain"}]}}
            late = await client.post(f"/threads/{tid}/runs", json=said)
            assert late.status_code == 429, late.text  # new work: refused
            rid = running.json()["run_id"]
            stop = await client.post(f"/threads/{tid}/runs/{rid}/cancel")
            assert stop.status_code in (200, 202, 204), stop.text
            await client.get(f"/threads/{tid}/runs/{rid}/join")
            smuggled = {"input": {**said["input"], "stop_requested": True}}
            refused = await client.post(f"/threads/{tid}/runs", json=smuggled)
            assert refused.status_code == 429, "words with a stop are new work"
            stopping = {"input": {"messages": [], "stop_requested": True}}
            asked = await client.post(f"/threads/{tid}/runs", json=stopping)
            assert asked.status_code == 200, asked.text


async def test_concurrent_runs_and_daily_generations_are_capped(
    database: Any, tmp_path: Path
) -> None:
    async with serve(
        database, tmp_path, token_delay_s=0.01, limit_concurrent_runs=1, limit_daily_generations=2
    ) as served:
        ada = await person(served, "ada")
        async with served.http(ada) as client:
            first = (await client.post("/threads", json={})).json()["thread_id"]
            second = (await client.post("/threads", json={})).json()["thread_id"]
            running = await client.post(f"/threads/{first}/runs", json=start())
            assert running.status_code == 200
            refused = await client.post(f"/threads/{second}/runs", json=start())
            assert refused.status_code == 429, refused.text
            assert refused.json()["error"]["message"].startswith("Run limit reached")
            assert refused.headers["retry-after"]
            stop = await client.post(f"/threads/{first}/runs/{running.json()['run_id']}/cancel")
            assert stop.status_code in (200, 202, 204)
            await client.get(f"/threads/{first}/runs/{running.json()['run_id']}/join")
            pool: Pool = served.studio.threads.pool
            async with pool.connection() as conn:
                for n in range(2):
                    await conn.execute(
                        "INSERT INTO assets (thread_id, job_id, sha256, path, content_type,"
                        " width, height, bytes, deliverable, iteration, attempt, seed, generator)"
                        " VALUES (%s, %s, 'x', 'p', 'image/png', 1, 1, 1, 'd', 1, 1, 1, 'g')",
                        [second, f"job-{uuid.uuid4()}-{n}"],
                    )
            daily = await client.post(f"/threads/{second}/runs", json=start())
            assert daily.status_code == 429 and "00:00 UTC" in daily.json()["error"]["message"]
            assert int(daily.headers["retry-after"]) <= 24 * 3600
            me = (await client.get("/me")).json()
            assert me["usage"]["daily_generations"]["used"] == 2


async def test_a_trusted_proxy_header_is_honoured_only_when_set(
    database: Any, tmp_path: Path
) -> None:
    async with serve(database, tmp_path) as served:
        async with served.http(**{"X-Forwarded-User": "mallory"}) as client:
            assert (await client.get("/me")).status_code == 401
    async with serve(database, tmp_path, trusted_user_header="X-Forwarded-User") as served:
        async with served.http(**{"X-Forwarded-User": "carol"}) as client:
            me = (await client.get("/me")).json()
            assert (me["name"], me["role"], me["via"]) == ("carol", "creator", "proxy")
            bad = await client.get("/me", headers={"X-Forwarded-User": "../etc"})
            assert bad.status_code == 422


# --- every route, every wrong credential ---------------------------------------------------

PUBLIC = {
    "/ok",
    "/info",
    "/",
    "/t/{thread_id}",
    "/ui/{name}",
    "/models",
    "/local/owner",
    "/auth/signin",
    "/auth/link",
    "/auth/signout",
    "/metrics",
    "/openapi.json",
    "/docs",
    "/docs/oauth2-redirect",
    "/redoc",
}
"""Routes anyone may call: health, the page and its files, the public assistant description,
sign-in itself, the Prometheus scrape, the API docs."""


def _routes(app: Any) -> list[tuple[str, str]]:
    """Every operation the API documents (the page's own routes are public), but the public."""
    out: list[tuple[str, str]] = []
    for path, operations in app.openapi()["paths"].items():
        if path in PUBLIC or path.startswith("/assistants"):
            continue
        out.extend((method.upper(), path) for method in operations if method != "head")
    return out


def _fill(path: str, ids: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: ids.get(m.group(1), str(uuid.uuid4())), path)


async def test_every_route_refuses_every_wrong_credential(database: Any, tmp_path: Path) -> None:
    async with serve(database, tmp_path) as served:
        ada = await person(served, "ada")
        bob = await person(served, "bob")
        vic = await person(served, "vic", "viewer")
        async with served.http(ada) as client:
            made = (await client.post("/threads", json={})).json()
            tid = made["thread_id"]
            done = await client.post(f"/threads/{tid}/runs/wait", json=start(auto_approve=True))
            assert done.status_code == 200
            run_id = (await client.get(f"/threads/{tid}/runs")).json()[0]["run_id"]
            outputs = (await client.get(f"/threads/{tid}/outputs")).json()["items"]
            asset_id = outputs[0]["asset_id"]
            grant = (await client.post(f"/threads/{tid}/grants", json={})).json()
            token_id = (await client.get("/me/tokens")).json()[0]["token_id"]
            revoked = (await client.post("/me/tokens", json={"name": "old"})).json()
            await client.delete(f"/me/tokens/{revoked['token_id']}")
            assert (await client.get(f"/assets/{asset_id}")).status_code == 200
        ids = {
            "thread_id": tid,
            "run_id": run_id,
            "asset_id": asset_id,
            "grant_id": grant["grant_id"],
            "token_id": token_id,
            "user_id": str(uuid.uuid4()),
        }
        routes = _routes(served.app)
        assert ("GET", "/threads/{thread_id}/state") in routes and ("POST", "/threads") in routes
        credentials = {"none": None, "revoked": revoked["token"], "bob": bob, "vic": vic}
        checked = 0
        for name, token in credentials.items():
            async with served.http(token) as caller:
                for method, path in routes:
                    url = _fill(path, ids)
                    kwargs: dict[str, Any] = {} if method in ("GET", "DELETE") else {"json": {}}
                    response = await caller.request(method, url, **kwargs)
                    checked += 1
                    where = (
                        f"{name}: {method} {path} -> {response.status_code} {response.text[:200]}"
                    )
                    if name in ("none", "revoked"):
                        assert response.status_code == 401, where
                    elif "{" not in path:  # the caller's own things (lists, new things): no leak
                        assert response.status_code < 500, where
                    else:  # someone else's thing, by id
                        assert response.status_code in (403, 404), where
                    for secret in (tid, made["token"], asset_id, run_id):
                        assert secret not in response.text, where
        assert checked >= 4 * 30
        guessed = f"/assets/{uuid.uuid4()}"
        async with admin(served, tmp_path) as root:
            assert (await root.get(guessed)).status_code == 404
        async with served.http(grant["token"]) as shared:
            assert (await shared.get(f"/threads/{tid}")).status_code == 200
            assert (await shared.get(f"/assets/{asset_id}")).status_code == 200
            async with served.http(ada) as client:
                other = (await client.post("/threads", json={})).json()["thread_id"]
            assert (await shared.get(f"/threads/{other}")).status_code == 404
            assert (await shared.post("/threads", json={})).status_code == 403
            assert (await shared.get("/me/tokens")).status_code == 422


async def test_many_requests_at_once_spend_exactly_the_limit(database: Any, tmp_path: Path) -> None:
    async with serve(database, tmp_path, limit_rate_per_minute=10) as served:
        ada = await person(served, "ada")
        async with served.http(ada) as client:
            answers = await asyncio.gather(
                *[client.post("/threads/search", json={}) for _ in range(25)]
            )
        assert sorted(a.status_code for a in answers) == [200] * 10 + [429] * 15


async def test_the_run_cap_holds_across_two_processes_at_once(
    database: Any, tmp_path: Path
) -> None:
    limits = {"limit_concurrent_runs": 1, "token_delay_s": 0.01}
    async with (
        serve(database, tmp_path, **limits) as one,
        serve(database, tmp_path, **limits) as two,
    ):
        ada = await one.person("ada")
        async with one.http(ada) as a, two.http(ada) as b:
            first = (await a.post("/threads", json={})).json()["thread_id"]
            second = (await b.post("/threads", json={})).json()["thread_id"]
            answers = await asyncio.gather(
                a.post(f"/threads/{first}/runs", json=start()),
                b.post(f"/threads/{second}/runs", json=start()),
            )
            assert sorted(r.status_code for r in answers) == [200, 429]
            for client, tid, answer in zip((a, b), (first, second), answers, strict=True):
                if answer.status_code == 200:
                    run = answer.json()["run_id"]
                    await client.post(f"/threads/{tid}/runs/{run}/cancel?wait=1")
