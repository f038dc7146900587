"""Hardening of the HTTP API (issue 19): what an attacker or a careless client can send."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.api_helpers import NEON, serve

pytestmark = pytest.mark.anyio


def start(text: str = NEON, **settings: Any) -> dict[str, Any]:
    return {"input": {"messages": [{"role": "user", "content": text}], "settings": settings}}


async def count(pool: Any, table: str, thread_id: str) -> int:
    async with pool.connection() as conn:
        cursor = await conn.execute(
            f"SELECT count(*) AS n FROM {table} WHERE thread_id = %s", [thread_id]
        )
        row = await cursor.fetchone()
        return int(row["n"])


# -- 1. a deleted thread stays deleted ---------------------------------------------------------


async def test_a_deleted_thread_never_comes_back(database, tmp_path: Path) -> None:
    async with serve(database, tmp_path) as served:
        tid, token = await served.new_thread()
        kept, kept_token = await served.new_thread()
        async with served.http(token) as owner, served.http(kept_token) as neighbour:
            await owner.post(f"/threads/{tid}/runs/wait", json=start(auto_approve=True))
            await neighbour.post(f"/threads/{kept}/runs/wait", json=start(auto_approve=True))
            outputs = (await owner.get(f"/threads/{tid}/outputs")).json()["items"]
            assert outputs
            files = [
                rec.path
                for o in outputs
                if (rec := await served.studio.context.assets.get(o["asset_id"]))
            ]
            assert all(path.is_file() for path in files)
            assert (await owner.delete(f"/threads/{tid}")).status_code == 204

            for table in (
                "threads",
                "runs",
                "events",
                "assets",
                "checkpoints",
                "checkpoint_writes",
            ):
                assert await count(database.pool, table, tid) == 0, table
            for output in outputs:
                assert (await owner.get(output["url"])).status_code == 404
            theirs = (await neighbour.get(f"/threads/{kept}/outputs")).json()["items"]
            assert theirs
            for output in theirs:  # files the other thread shares (same image) are kept
                assert (await neighbour.get(output["url"])).status_code == 200
            neighbour_files = {
                rec.path
                for o in theirs
                if (rec := await served.studio.context.assets.get(o["asset_id"]))
            }
            assert not any(path.is_file() for path in set(files) - neighbour_files)

        async with served.http(served.admin_token) as admin, served.http(token) as owner:
            for body in ({"thread_id": tid}, {"thread_id": tid, "if_exists": "do_nothing"}):
                again = await admin.post("/threads", json=body)  # not even an admin
                assert again.status_code == 409, again.text
                assert "deleted" in again.json()["error"]["message"]
            assert (await admin.get(f"/threads/{tid}")).status_code == 404
            assert (await admin.get(f"/threads/{tid}/outputs")).status_code == 404
            # the thread's own token died with it
            assert (await owner.get(f"/threads/{tid}")).status_code == 401


# -- 4. settings are checked at the edge, with the graph's own schema ---------------------------

BAD_SETTINGS = [
    ({"max_rounds": "three"}, "settings.max_rounds"),
    ({"budgets": "lots"}, "settings.budgets"),
    ({"budgets": {"max_iterations": 2, "max_tokens": 1e30}}, "settings.budgets.max_tokens"),
    ({"seed": 1e30}, "settings.seed"),
    ({"score_threshold": [1]}, "settings.score_threshold"),
    ({"drift_threshold": float("nan")}, "NaN is not a JSON number"),
    ({"auto_approve": "yes"}, "settings.auto_approve"),
    ({"models": {"painter": "llama3.2"}}, "settings.models.painter"),
    ({"deliverables": ["hero 16:9"] * 9}, "settings.deliverables"),
    ({"deliverables": ["x" * 61]}, "settings.deliverables.0"),
    ({"colour": "red"}, "settings.colour"),
]


async def test_bad_settings_are_refused_and_never_brick_a_thread(database, tmp_path) -> None:
    async with serve(database, tmp_path) as served:
        tid, token = await served.new_thread()
        async with served.http(token) as client:
            headers = {"Content-Type": "application/json"}
            for settings, field in BAD_SETTINGS:
                text = json.dumps(start(**settings))  # NaN goes as the bare `NaN` token
                refused = await client.post(f"/threads/{tid}/runs", content=text, headers=headers)
                assert refused.status_code == 422, (settings, refused.text)
                assert field in refused.json()["error"]["message"], refused.json()
                text = json.dumps(settings)
                patched = await client.patch(
                    f"/threads/{tid}/settings", content=text, headers=headers
                )
                assert patched.status_code == 422, (settings, patched.text)
                assert field.removeprefix("settings.") in patched.json()["error"]["message"]
            huge = '{"input": {"messages": [], "settings": {"seed": 1e400}}}'
            infinite = await client.post(f"/threads/{tid}/runs", content=huge, headers=headers)
            assert infinite.status_code == 422
            assert (await client.get(f"/threads/{tid}/runs")).json() == []

            # settings stored before they were checked (thread metadata, or straight into the
            # graph's state) are read through the same schema: the thread still runs
            bad = {"max_rounds": "three", "budgets": "lots", "score_threshold": [1]}
            await client.patch(f"/threads/{tid}", json={"metadata": {"settings": bad}})
            config = served.studio.config(tid)
            await served.studio.graph.aupdate_state(config, {"settings": bad})
            state = await served.studio.graph.aget_state(config)
            assert state.values["settings"] == {}, "the reducer keeps only valid settings"
            done = await client.post(
                f"/threads/{tid}/runs/wait",
                json={"input": {"messages": [{"role": "user", "content": NEON}]}},
            )
            assert done.status_code == 200, done.text
            assert "__error__" not in done.json() and done.json()["__interrupt__"]
            good = await client.post(
                f"/threads/{tid}/runs/wait",
                json=start("warmer light", max_rounds=2, budgets={"max_iterations": 1}),
            )
            assert good.status_code == 200 and "__error__" not in good.json(), good.text


def test_the_graph_reads_stored_settings_through_the_schema() -> None:
    from graph.budgets import SessionDefaults, limits

    defaults = SessionDefaults(
        max_rounds=3,
        score_threshold=7.0,
        drift_threshold=0.5,
        max_iterations=3,
        max_generations=24,
        max_seconds=3600.0,
        max_tokens=200_000,
        generator_wait_s=600.0,
    )
    stored: Any = {
        "max_rounds": "three",
        "budgets": {"max_iterations": 1, "max_tokens": "many"},
        "score_threshold": [1],
        "seed": 1e30,
    }
    lim = limits({"messages": [], "settings": stored}, defaults)
    assert (lim.max_rounds, lim.score_threshold) == (3, 7.0)
    assert (lim.max_iterations, lim.max_tokens) == (1, 200_000)


BAD_RUNS = [
    ({"input": {}}, "input"),
    ({"input": {"settings": None}}, "input"),
    ({"input": {"phase": "approved", "messages": []}}, "input.phase"),
    ({"input": {"messages": "hello"}}, "input.messages"),
    ({"input": {"messages": [{"content": "no role"}]}}, "input.messages.0"),
    ({"input": {"messages": [{"role": "tool", "content": "x"}]}}, "input.messages.0"),
    ({"command": {}}, "command"),
    ({"command": {"goto": 5}}, "command.goto"),
    ({"command": {"goto": "nowhere"}}, "command.goto"),
    ({"command": {"goto": []}}, "command.goto"),
    ({"command": {"update": {"plan": "x"}}}, "command.update.plan"),
    ({"command": {"update": {}}}, "command.update"),
    ({"command": {"resume": {"action": "approve"}, "surprise": 1}}, "command.surprise"),
]


async def test_malformed_run_bodies_are_422_not_failed_runs(database, tmp_path) -> None:
    async with serve(database, tmp_path) as served:
        tid, token = await served.new_thread()
        async with served.http(token) as client:
            for body, field in BAD_RUNS:
                refused = await client.post(f"/threads/{tid}/runs", json=body)
                assert refused.status_code == 422, (body, refused.text)
                assert field in refused.json()["error"]["message"], (body, refused.json())
            no_input = await client.post(f"/threads/{tid}/runs", json={})
            assert no_input.status_code == 422
            assert (await client.get(f"/threads/{tid}/runs")).json() == []
            finished = await client.post(
                f"/threads/{tid}/runs/wait",
                json={"input": {"messages": [{"type": "human", "content": NEON}]}},
            )
            assert "__error__" not in finished.json()
            jump = await client.post(
                f"/threads/{tid}/runs/wait", json={"command": {"goto": "finalize"}}
            )
            assert jump.status_code == 200 and "__error__" not in jump.json(), jump.text


# -- 3. one request cannot stall the server ------------------------------------------------------


async def test_bodies_and_messages_have_limits_named_in_the_answer(database, tmp_path) -> None:
    async with serve(database, tmp_path, max_body_bytes=65_536) as served:
        tid, token = await served.new_thread()
        async with served.http(token) as client:
            huge = start("x" * 70_000)
            declared = await client.post(f"/threads/{tid}/runs", json=huge)
            assert declared.status_code == 413
            assert "STUDIO_MAX_BODY_BYTES" in declared.json()["error"]["message"]

            async def chunks() -> Any:  # no Content-Length: counted as it arrives
                for _ in range(20):
                    yield b" " * 8192

            streamed = await client.post(
                f"/threads/{tid}/runs",
                content=chunks(),
                headers={"Content-Type": "application/json"},
            )
            assert streamed.status_code == 413

            too_long = await client.post(f"/threads/{tid}/runs", json=start("y" * 10_001))
            assert too_long.status_code == 422
            message = too_long.json()["error"]["message"]
            assert "input.messages.0.content" in message and "10000 characters" in message
            answer = {"command": {"resume": {"action": "revise", "feedback": "z" * 10_001}}}
            assert (await client.post(f"/threads/{tid}/runs", json=answer)).status_code == 422
            many = {"input": {"messages": ["hi"] * 21}}
            assert (await client.post(f"/threads/{tid}/runs", json=many)).status_code == 422
            fat = {"metadata": {f"k{i}": "v" * 1000 for i in range(40)}}
            for _ in range(2):  # each PATCH is small; what they add up to is bounded too
                patched = await client.patch(f"/threads/{tid}", json=fat)
                fat = {"metadata": {f"j{i}": "v" * 1000 for i in range(40)}}
            assert patched.status_code == 422 and "metadata" in patched.json()["error"]["message"]
            assert (await client.get(f"/threads/{tid}/runs")).json() == []
            longest = await client.post(f"/threads/{tid}/runs/wait", json=start("y" * 10_000))
            assert longest.status_code == 200 and "__error__" not in longest.json()


def test_the_cli_refuses_what_the_api_refuses() -> None:
    from adapters.errors import InvalidInput
    from engine.studio import Studio

    with pytest.raises(InvalidInput, match="brief: String should have at most 10000 characters"):
        Studio.start_payload("y" * 10_001)
    with pytest.raises(InvalidInput, match="settings: max_rounds"):
        Studio.start_payload(NEON, {"max_rounds": 0})
    with pytest.raises(InvalidInput, match="message: "):
        Studio.say_payload("y" * 10_001)


async def test_one_run_cannot_fill_the_event_log(database, tmp_path) -> None:
    budget = 65_536
    async with serve(database, tmp_path, max_run_log_bytes=budget) as served:
        tid, token = await served.new_thread()
        async with served.http(token) as client:
            done = await client.post(
                f"/threads/{tid}/runs/wait",
                json={**start(auto_approve=True), "stream_mode": ["values", "messages-tuple"]},
            )
            assert "__error__" not in done.json()
            assert done.json()["phase"] == "approved"
        async with database.pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT channel, event, length(data::text) AS n FROM events WHERE thread_id = %s",
                [tid],
            )
            rows = await cursor.fetchall()
        bulky = sum(r["n"] for r in rows if r["event"] in ("token", "progress", "values"))
        assert bulky <= budget + 200_000, "past the budget, no more tokens, progress or values"
        notices = [r for r in rows if r["event"] == "notice"]
        assert notices, "the run said that its log was cut"
        kinds = {r["event"] for r in rows}
        assert {"message", "phase", "asset", "done", "end"} <= kinds, "essential events stay"


# -- 5. malformed input is a 422, never a 500 ------------------------------------------------------


async def test_hostile_json_urls_and_ids_are_422_not_500(database, tmp_path) -> None:
    async with serve(database, tmp_path) as served:
        tid, token = await served.new_thread()
        admin = {"Authorization": f"Bearer {served.admin_token}"}
        headers = {"Content-Type": "application/json", **admin}
        async with served.http() as client:
            for text in (
                '{"metadata": {"x": NaN}}',
                '{"metadata": {"x": Infinity}}',
                '{"metadata": {"x": -Infinity}}',
                '{"metadata": {"x": 1e999}}',
                '{"metadata": {"x": "a\\u0000b"}}',
                '{"metadata": {"a\\u0000": 1}}',
                '{"metadata": {"x": "\\ud800"}}',
                b'{"metadata": {"x": "\xff"}}',
            ):
                refused = await client.post("/threads", content=text, headers=headers)
                assert refused.status_code == 422, (text, refused.text)
                assert refused.json()["error"]["code"] == "invalid_input"
            pair = await client.post(
                "/threads", content='{"metadata": {"x": "\\ud83d\\ude00"}}', headers=headers
            )
            assert pair.status_code == 200, "a surrogate pair is a character"

        async with served.http(token) as client:
            for url in (
                "/threads/%00",
                f"/threads/{tid}/outputs?deliverable=a%00b",
                f"/threads/{tid}/timeline?agent=%00",
            ):
                assert (await client.get(url)).status_code == 422, url
            for url in (
                f"/threads/{tid}/outputs?deliverable=%ED%A0%80",
                f"/threads/{tid}/timeline?agent=%ED%A0%80",
                "/threads/%ED%A0%80",
            ):
                assert (await client.get(url)).status_code in (200, 404), url
            for url in (
                f"/threads/{tid}/runs?offset={2**64}",
                f"/threads/{tid}/runs?offset=-1",
                f"/threads/{tid}/outputs?iteration={2**40}",
                f"/threads/{tid}/timeline?offset={2**64}",
            ):
                assert (await client.get(url)).status_code == 422, url
            search = await client.post("/threads/search", json={"offset": 2**64})
            assert search.status_code == 422
            huge_id = {"Last-Event-ID": "9" * 30}
            assert (await client.get(f"/threads/{tid}/stream", headers=huge_id)).status_code == 422

            for bad in ("café", "线程", "a\tb", "a/b", "../x", " x", "-x", "x" * 201, ""):
                made = await client.post("/threads", json={"thread_id": bad}, headers=admin)
                assert made.status_code == 422, (bad, made.text)
                assert "thread_id" in made.json()["error"]["message"]
            safe = "Brief-2026_01.a"
            made = await client.post("/threads", json={"thread_id": safe}, headers=admin)
            assert made.status_code == 200
            run = await client.post(f"/threads/{safe}/runs", json=start(), headers=admin)
            assert run.status_code == 200
            assert run.headers["content-location"] == f"/threads/{safe}/runs/{run.json()['run_id']}"

            await client.post(f"/threads/{tid}/runs/wait", json=start())
            unknown = await client.get(f"/threads/{tid}/state/1ef00000-0000-6000-8000-000000000000")
            assert unknown.status_code == 404
            history = (await client.get(f"/threads/{tid}/history?limit=2")).json()
            known = history[1]["checkpoint_id"]
            assert (await client.get(f"/threads/{tid}/state/{known}")).status_code == 200
            older = await client.get(f"/threads/{tid}/history", params={"before": known})
            assert older.status_code == 200 and older.json()
            for before in ("nope", {"configurable": "x"}, {"checkpoint_id": 5}, 7):
                bad_before = await client.post(
                    f"/threads/{tid}/history", json={"limit": 2, "before": before}
                )
                assert bad_before.status_code == 422, (before, bad_before.text)
            assert (await client.get(f"/threads/{tid}/history?before=nope")).status_code == 422


# -- 2. idempotency keys belong to their caller and their request ---------------------------------


async def test_idempotency_keys_are_scoped_bound_sealed_and_expire(database, tmp_path) -> None:
    async with serve(database, tmp_path) as served:
        key = {"Idempotency-Key": "create-1"}
        caller_a, caller_b = await served.person("ann"), await served.person("ben")
        async with served.http(caller_a) as a, served.http(caller_b) as b:
            first = await a.post("/threads", json={"metadata": {"n": 1}}, headers=key)
            again = await a.post("/threads", json={"metadata": {"n": 1}}, headers=key)
            assert again.headers["idempotent-replayed"] == "true"
            assert again.json() == first.json() and again.json()["token"].startswith("st_")
            theirs = await b.post("/threads", json={"metadata": {"n": 1}}, headers=key)
            assert "idempotent-replayed" not in theirs.headers
            assert theirs.json()["thread_id"] != first.json()["thread_id"]
            assert theirs.json()["token"] != first.json()["token"]
            other_body = await a.post("/threads", json={"metadata": {"n": 2}}, headers=key)
            assert other_body.status_code == 422
            assert "another request body" in other_body.json()["error"]["message"]
            for bad in (b"\xe9", b"x" * 256, b"two words"):
                headers = {"Idempotency-Key": bad}
                assert (await a.post("/threads", json={}, headers=headers)).status_code == 422
        async with served.http() as anonymous:
            refused = await anonymous.post("/threads", json={}, headers=key)
            assert refused.status_code == 422 and "credential" in refused.text

        async with database.pool.connection() as conn:
            stored = await (await conn.execute("SELECT body FROM idempotency_keys")).fetchall()
            assert stored and all(
                first.json()["token"].encode() not in bytes(r["body"]) for r in stored
            )
            await conn.execute("UPDATE idempotency_keys SET created_at = now() - interval '2 days'")
        async with served.http(caller_a) as a:
            expired = await a.post("/threads", json={"metadata": {"n": 1}}, headers=key)
            assert "idempotent-replayed" not in expired.headers
            assert expired.json()["thread_id"] != first.json()["thread_id"]

        tid, token = first.json()["thread_id"], first.json()["token"]
        async with served.http(token) as owner:
            run_key = {"Idempotency-Key": "run-1"}
            one = await owner.post(f"/threads/{tid}/runs", json=start(), headers=run_key)
            two = await owner.post(f"/threads/{tid}/runs", json=start(), headers=run_key)
            assert one.json()["run_id"] == two.json()["run_id"]
            changed = await owner.post(f"/threads/{tid}/runs", json=start("rain"), headers=run_key)
            assert changed.status_code == 422
        async with database.pool.connection() as conn:
            await conn.execute("UPDATE runs SET created_at = now() - interval '2 days'")
        async with served.http(token) as owner:
            later = await owner.post(f"/threads/{tid}/runs", json=start("rain"), headers=run_key)
            assert later.status_code == 200 and later.json()["run_id"] != one.json()["run_id"]


# -- 7. DNS rebinding: only the host names the studio serves ------------------------------------


async def test_host_header_is_checked_against_the_allowed_names(database, tmp_path) -> None:
    async with serve(database, tmp_path) as served:
        async with served.http() as client:
            for host in ("evil.example", "evil.example:8000", "127.0.0.1.evil.example", "[::2]"):
                refused = await client.get("/ok", headers={"Host": host})
                assert refused.status_code == 403, host
                assert "STUDIO_ALLOWED_HOSTS" in refused.json()["error"]["message"]
                made = await client.post("/threads", json={}, headers={"Host": host})
                assert made.status_code == 403
            for host in ("localhost:8000", "127.0.0.1", "LOCALHOST.", "[::1]:8000"):
                assert (await client.get("/ok", headers={"Host": host})).status_code == 200, host
    allowed = "studio.example.org,*.lan"
    async with serve(database, tmp_path, allowed_hosts=allowed) as served:
        async with served.http() as client:
            for host, status in (
                ("studio.example.org", 200),
                ("pi.lan:8000", 200),
                ("localhost", 403),
                ("lan", 403),
            ):
                assert (await client.get("/ok", headers={"Host": host})).status_code == status


# -- 8. the OpenAPI document tells the truth -------------------------------------------------------


async def test_openapi_documents_every_error_in_one_shape(database, tmp_path) -> None:
    async with serve(database, tmp_path) as served:
        tid, token = await served.new_thread()
        async with served.http(token) as client:
            document = (await client.get("/openapi.json")).json()
            assert "HTTPValidationError" not in document["components"]["schemas"]
            for path, operations in document["paths"].items():
                for method, operation in operations.items():
                    for status in ("401", "403", "404", "409", "413", "422", "429"):
                        content = operation["responses"][status]["content"]
                        ref = content["application/json"]["schema"]["$ref"]
                        assert ref.endswith("/ErrorBody"), (method, path, status)

            invalid = await client.post("/threads/search", json={"limit": "many"})
            assert invalid.status_code == 422
            assert isinstance(invalid.json()["detail"], str), "one shape: detail is the message"
            assert set(invalid.json()["error"]) == {"code", "message", "retryable"}

            run = (await client.post(f"/threads/{tid}/runs", json=start())).json()
            cancel = f"/threads/{tid}/runs/{run['run_id']}/cancel?wait=1"
            cancelled = await client.post(cancel)
            assert cancelled.status_code == 202
            assert cancelled.headers["content-type"] == "application/json"
            assert cancelled.json()["run_id"] == run["run_id"]

            for method, url in (
                ("GET", f"/threads/{tid}/runs/stream"),
                ("DELETE", f"/threads/{tid}/runs/wait"),
                ("PATCH", "/threads/search"),
                ("GET", "/assistants/search"),
            ):
                answer = await client.request(method, url)
                assert answer.status_code == 405, (method, url)
                assert answer.headers["allow"] == "POST"
            admin = {"Authorization": f"Bearer {served.admin_token}"}
            made = await client.post("/threads", json={"thread_id": "search"}, headers=admin)
            assert made.status_code == 422
