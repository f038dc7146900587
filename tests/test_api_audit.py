"""The audit trail over HTTP: who may read it, what each mutating call leaves in it (actor,
outcome, request id), and a thread's deletion scrubbing what the person wrote."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from people import accounts
from people.home_token import home_token
from tests.api_helpers import NEON, Served, serve

pytestmark = pytest.mark.anyio


def say(text: str, **settings: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"messages": [{"role": "user", "content": text}]}
    if settings:
        body["settings"] = settings
    return body


async def person(served: Served, name: str, role: str) -> str:
    """A user with `role` and a personal access token; returns the token."""
    pool = served.studio.threads.pool
    user = await accounts.add_user(pool, name, role)
    _, token = await accounts.create_token(pool, user["user_id"], f"{name}'s test token")
    return token


async def new_thread_as(served: Served, token: str) -> tuple[str, str]:
    async with served.http(token) as client:
        response = await client.post("/threads", json={"metadata": {"title": "audit test"}})
        assert response.status_code == 200, response.text
        thread = response.json()
        return thread["thread_id"], thread["token"]


async def trail(served: Served, admin: str, **filters: str) -> list[dict[str, Any]]:
    async with served.http(admin) as client:
        response = await client.get("/audit", params={**filters, "limit": 500})
        assert response.status_code == 200, response.text
        return list(reversed(response.json()["items"]))  # oldest first, for reading


async def wait_for_gate(client: Any, tid: str) -> dict[str, Any]:
    for _ in range(600):
        state = (await client.get(f"/threads/{tid}/state")).json()
        runs = (await client.get(f"/threads/{tid}/runs")).json()
        if state.get("interrupts") and all(r["status"] not in ("pending", "running") for r in runs):
            return state
        await asyncio.sleep(0.05)
    raise AssertionError("the thread never stopped at a gate")


async def test_only_admins_read_the_audit_trail(database, tmp_path: Path) -> None:
    async with serve(database, tmp_path) as served:
        creator = await person(served, "cat", "creator")
        viewer = await person(served, "vic", "viewer")
        tid, thread_token = await new_thread_as(served, creator)
        admin = home_token(tmp_path)
        for token, status in (
            (None, 401),
            ("spat_not-a-token", 401),
            (creator, 403),
            (viewer, 403),
            (thread_token, 403),
            (admin, 200),
        ):
            async with served.http(token) as client:
                response = await client.get("/audit")
                assert response.status_code == status, (token, response.text)
                if status != 200:
                    assert "items" not in response.json()
        async with served.http(admin) as client:
            assert (await client.get("/audit", params={"limit": 0})).status_code == 422
            bad = await client.get("/audit", params={"cursor": "garbage"})
            assert bad.status_code == 422 and "cursor" in bad.json()["error"]["message"]
            bad = await client.get("/audit", params={"since": "yesterday"})
            assert bad.status_code == 422 and "since" in bad.json()["error"]["message"]
            bad = await client.get("/audit", params={"action": "DROP TABLE"})
            assert bad.status_code == 422 and "action" in bad.json()["error"]["message"]
            typo = await client.get("/audit", params={"action": "zzz"})  # was 200, no items
            assert typo.status_code == 422, typo.text
            assert "action: no such action or family" in typo.json()["error"]["message"]
        created = await trail(served, admin, thread=tid)
        assert [(e["action"], e["actor"]["name"], e["outcome"]) for e in created] == [
            ("thread.created", "cat", "ok")
        ]


async def test_every_request_has_an_id_and_its_entries_carry_it(database, tmp_path) -> None:
    async with serve(database, tmp_path) as served:
        creator = await person(served, "cat", "creator")
        async with served.http(creator, **{"X-Request-ID": "trace-42.a"}) as client:
            response = await client.post("/threads", json={"metadata": {"title": "x"}})
            assert response.headers["X-Request-ID"] == "trace-42.a"
            tid = response.json()["thread_id"]
        async with served.http(None, **{"X-Request-ID": "bad id with spaces"}) as client:
            refused = await client.get("/audit")
            assert refused.status_code == 401
            fresh = refused.headers["X-Request-ID"]
            assert fresh != "bad id with spaces" and len(fresh) == 32
        async with served.http() as client:
            one, two = (await client.get("/ok")), (await client.get("/ok"))
            assert one.headers["X-Request-ID"] != two.headers["X-Request-ID"]
        [entry] = await trail(served, home_token(tmp_path), thread=tid)
        assert entry["request_id"] == "trace-42.a"


async def test_each_action_is_recorded_with_its_actor_and_outcome(database, tmp_path) -> None:
    async with serve(database, tmp_path, token_delay_s=0.003, interject_grace_s=30) as served:
        creator = await person(served, "cat", "creator")
        admin = home_token(tmp_path)
        tid, _ = await new_thread_as(served, creator)
        async with served.http(creator) as client:
            started = await client.post(f"/threads/{tid}/runs", json={"input": say(NEON)})
            assert started.status_code == 200
            # while it runs: an interjection
            said = await client.post(
                f"/threads/{tid}/runs",
                json={"input": say("more rain, please"), "multitask_strategy": "interrupt"},
            )
            assert said.status_code == 200, said.text
            await wait_for_gate(client, tid)
            refused = await client.post(
                f"/threads/{tid}/runs", json={"command": {"resume": {"action": "dance"}}}
            )
            assert refused.status_code == 422
            answered = await client.post(
                f"/threads/{tid}/runs/wait",
                json={"command": {"resume": {"action": "approve"}}},
            )
            assert answered.status_code == 200
            settings = await client.patch(
                f"/threads/{tid}/settings", json={"models": {}, "budgets": {"max_iterations": 2}}
            )
            assert settings.status_code == 200, settings.text
            grant = (await client.post(f"/threads/{tid}/grants", json={"role": "view"})).json()
            assert (
                await client.delete(f"/threads/{tid}/grants/{grant['grant_id']}")
            ).status_code == 204
            assert (await client.post(f"/threads/{tid}/links")).status_code == 200
            assert (await client.get(f"/threads/{tid}/export")).status_code == 200
            run = (
                await client.post(f"/threads/{tid}/runs", json={"input": say("once more")})
            ).json()
            cancel = await client.post(f"/threads/{tid}/runs/{run['run_id']}/cancel?wait=true")
            assert cancel.status_code == 202
        entries = await trail(served, admin, thread=tid)
        seen = [(e["action"], e["outcome"]) for e in entries]
        assert {e["actor"]["name"] for e in entries} == {"cat"}
        assert seen[0] == ("thread.created", "ok")
        for expected in (
            ("run.created", "ok"),
            ("run.interjected", "ok"),
            ("gate.answered", "refused"),
            ("gate.answered", "ok"),
            ("settings.changed", "ok"),
            ("grant.created", "ok"),
            ("grant.revoked", "ok"),
            ("link.signed", "ok"),
            ("export.downloaded", "ok"),
            ("run.cancelled", "ok"),
        ):
            assert expected in seen, (expected, seen)
        by_action = {(e["action"], e["outcome"]): e for e in entries}
        assert by_action[("gate.answered", "ok")]["detail"]["answer"] == {"action": "approve"}
        assert by_action[("gate.answered", "refused")]["detail"]["answer"] == {"action": "dance"}
        assert by_action[("run.interjected", "ok")]["detail"]["message"] == "more rain, please"
        assert by_action[("grant.created", "ok")]["detail"]["role"] == "view"
        assert all(e["request_id"] for e in entries)

        # deleting the thread: recorded, and what the person wrote is scrubbed from the trail
        async with served.http(creator) as client:
            assert (await client.delete(f"/threads/{tid}")).status_code == 204
        after = await trail(served, admin, thread=tid)
        assert len(after) == len(entries) + 1
        assert (after[-1]["action"], after[-1]["outcome"]) == ("thread.deleted", "ok")
        assert all(e["detail"] == {"scrubbed": True} for e in after[:-1])
        assert [e["action"] for e in after[:-1]] == [e["action"] for e in entries], (
            "who and what stay"
        )


async def test_refused_calls_are_recorded_too(database, tmp_path) -> None:
    async with serve(database, tmp_path) as served:
        cat = await person(served, "cat", "creator")
        dan = await person(served, "dan", "creator")
        tid, _ = await new_thread_as(served, cat)
        async with served.http(cat) as client:
            gone = await client.delete(f"/threads/{tid}/grants/no-such-grant")
            assert gone.status_code == 404
        async with served.http(dan) as client:  # not dan's thread: 404 (before any route)
            assert (await client.delete(f"/threads/{tid}")).status_code == 404
            bad = await client.post(f"/threads/{tid}/runs", json={"input": "not an object"})
            assert bad.status_code in (404, 422)
            # no credential: 401, left out (the throttle and the rate deal with those)
        async with served.http(None) as client:
            assert (await client.delete(f"/threads/{tid}")).status_code == 401
        entries = await trail(served, home_token(tmp_path), thread=tid)
        assert [(e["action"], e["outcome"], e["actor"]["name"]) for e in entries] == [
            ("thread.created", "ok", "cat"),
            ("grant.revoked", "refused", "cat"),  # once: the route recorded it
            ("request.refused", "refused", "dan"),
            ("request.refused", "refused", "dan"),
        ]
        assert entries[1]["detail"]["error"]["code"] == "not_found"
        assert entries[2]["target"] == "DELETE /threads/{thread_id}"
        assert entries[2]["detail"] == {
            "method": "DELETE",
            "route": "/threads/{thread_id}",
            "status": 404,
        }
        assert entries[3]["detail"]["route"] == "/threads/{thread_id}/runs"


async def test_filters_and_pages_over_http(database, tmp_path) -> None:
    async with serve(database, tmp_path) as served:
        cat = await person(served, "cat", "creator")
        dan = await person(served, "dan", "creator")
        made = [(await new_thread_as(served, cat))[0] for _ in range(7)]
        made += [(await new_thread_as(served, dan))[0] for _ in range(4)]
        admin = home_token(tmp_path)
        assert len(await trail(served, admin, actor="dan")) == 4
        assert len(await trail(served, admin, actor="cat", action="thread")) == 7
        assert await trail(served, admin, action="gate") == []
        assert len(await trail(served, admin, since="2000-01-01", until="2999-12-31")) >= 11
        seen: list[str] = []
        cursor = None
        async with served.http(admin) as client:
            while True:
                params = {"action": "thread.created", "limit": 3}
                if cursor:
                    params["cursor"] = cursor
                page = (await client.get("/audit", params=params)).json()
                seen += [e["thread_id"] for e in page["items"]]
                cursor = page["next_cursor"]
                if cursor is None:
                    break
        assert seen == list(reversed(made))


async def test_the_ab_tests_controls_and_run_deletion_are_audited(database, tmp_path) -> None:
    from tests.test_launch_api import MANUAL, at_test, join

    async with serve(database, tmp_path) as served:
        cat = await person(served, "cat", "creator")
        tid, _ = await new_thread_as(served, cat)
        async with served.http(cat) as client:
            await at_test(client, tid, "face-focused, product-demo", **MANUAL)
            url = f"/threads/{tid}/experiment"
            rows = [
                {"variant": "face-focused", "impressions": 3000, "clicks": 300},
                {"variant": "product-demo", "impressions": 3000, "clicks": 258},
            ]
            posted = await client.post(f"{url}/observations", json={"rows": rows})
            await join(client, tid, posted.json()["run_id"])
            refused = await client.post(f"{url}/declare", json={})
            assert refused.status_code == 409
            assert refused.json()["error"]["code"] == "declare_refused"
            stopped = await client.post(f"{url}/stop")
            assert stopped.status_code == 202
            await join(client, tid, stopped.json()["run_id"])
            runs = (await client.get(f"/threads/{tid}/runs")).json()
            assert (
                await client.delete(f"/threads/{tid}/runs/{runs[-1]['run_id']}")
            ).status_code == 204
            gone = await client.delete(f"/threads/{tid}/runs/no-such-run")
            assert gone.status_code == 404
        entries = await trail(served, home_token(tmp_path), thread=tid)
        tests = [e for e in entries if e["detail"].get("gate") == "experiment"]
        assert [(e["detail"]["answer"]["action"], e["outcome"]) for e in tests] == [
            ("observe", "ok"),
            ("declare", "refused"),
            ("stop", "ok"),
        ]
        assert tests[0]["detail"]["answer"]["rows"] == rows
        assert tests[1]["detail"]["error"]["code"] == "declare_refused"
        deleted = [(e["outcome"]) for e in entries if e["action"] == "run.deleted"]
        assert deleted == ["ok", "refused"]
