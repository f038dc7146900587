"""Share grants (one thread, one role, revocable) and signed URLs for media and streams:
no bearer token ever in a URL or a log line."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

import pytest

from tests.api_helpers import NEON, read_sse, serve

pytestmark = pytest.mark.anyio


def start(**settings: Any) -> dict[str, Any]:
    return {"input": {"messages": [{"role": "user", "content": NEON}], "settings": settings}}


async def test_grants_reach_one_thread_with_their_role_only(database, tmp_path: Path) -> None:
    async with serve(database, tmp_path) as served:
        tid, token = await served.new_thread()
        other_tid, _ = await served.new_thread()  # another owner
        mine, _ = await served.new_thread()  # the same owner's
        async with served.http(token) as owner:
            view = (await owner.post(f"/threads/{tid}/grants", json={"role": "view"})).json()
            direct = await owner.post(f"/threads/{tid}/grants", json={"role": "direct"})
            assert direct.status_code == 201
            direct = direct.json()
            assert view["token"].startswith("sg_") and view["role"] == "view"
            listed = (await owner.get(f"/threads/{tid}/grants")).json()
            assert {g["grant_id"] for g in listed} == {view["grant_id"], direct["grant_id"]}
            assert all("token" not in g and "token_hash" not in g for g in listed)
            bad = await owner.post(f"/threads/{tid}/grants", json={"role": "admin"})
            assert bad.status_code == 422

        async with served.http(view["token"]) as viewer:
            assert (await viewer.get(f"/threads/{tid}")).status_code == 200
            assert (await viewer.get(f"/threads/{tid}/state")).status_code == 200
            assert (await viewer.get(f"/threads/{tid}/outputs")).status_code == 200
            assert (await viewer.get(f"/threads/{tid}/export")).status_code == 200
            assert (await viewer.post(f"/threads/{tid}/history", json={})).status_code == 200
            assert (await viewer.post(f"/threads/{tid}/links")).status_code == 200
            for method, path, body in [
                ("POST", f"/threads/{tid}/runs", start()),
                ("PATCH", f"/threads/{tid}/settings", {"models": {"critic": "gemma3:27b"}}),
                ("DELETE", f"/threads/{tid}", None),
                ("POST", f"/threads/{tid}/copy", {}),
                ("POST", f"/threads/{tid}/grants", {"role": "direct"}),
                ("GET", f"/threads/{tid}/grants", None),
            ]:
                refused = await viewer.request(method, path, json=body)
                assert refused.status_code == 403, (method, path)
                assert refused.json()["error"]["code"] == "forbidden"
            # never another thread, not even the same owner's; never the list of threads
            assert (await viewer.get(f"/threads/{mine}")).status_code == 404
            assert (await viewer.get(f"/threads/{other_tid}")).status_code == 404
            assert (await viewer.post("/threads/search", json={})).json() == []

        async with served.http(direct["token"]) as director:
            ran = await director.post(f"/threads/{tid}/runs/wait", json=start(auto_approve=True))
            assert ran.status_code == 200
            patched = await director.patch(
                f"/threads/{tid}/settings", json={"models": {"critic": "gemma3:27b"}}
            )
            assert patched.status_code == 200
            assert (await director.delete(f"/threads/{tid}")).status_code == 403
            assert (await director.get(f"/threads/{tid}/grants")).status_code == 403
            assert (await director.get(f"/threads/{mine}")).status_code == 404
            made = await director.post("/threads", json={})
            assert made.status_code == 403, "a grant never makes (or owns) a thread"

        async with served.http(view["token"]) as viewer:  # the images of the run, by bearer
            items = (await viewer.get(f"/threads/{tid}/outputs")).json()["items"]
            assert items and (await viewer.get(items[0]["url"])).status_code == 200

        async with served.http(token) as owner:
            gone = await owner.delete(f"/threads/{tid}/grants/{view['grant_id']}")
            assert gone.status_code == 204
            assert (await owner.delete(f"/threads/{tid}/grants/nope")).status_code == 404
            listed = (await owner.get(f"/threads/{tid}/grants")).json()
            assert [g["revoked_at"] is not None for g in listed].count(True) == 1
        async with served.http(view["token"]) as revoked:  # a token that is no longer valid
            assert (await revoked.get(f"/threads/{tid}")).status_code == 401
            assert (await revoked.get(items[0]["url"])).status_code == 401
        async with served.http(direct["token"]) as director:  # the other grant still works
            assert (await director.get(f"/threads/{tid}")).status_code == 200


async def test_signed_urls_are_short_lived_scoped_and_revocable(database, tmp_path) -> None:
    async with serve(database, tmp_path) as served:
        tid, token = await served.new_thread()
        other_tid, stranger = await served.new_thread()
        async with served.http(token) as owner:
            await owner.post(f"/threads/{tid}/runs/wait", json=start(auto_approve=True))
            items = (await owner.get(f"/threads/{tid}/outputs")).json()["items"]
            link = (await owner.post(f"/threads/{tid}/links")).json()
            grant = (await owner.post(f"/threads/{tid}/grants", json={"role": "view"})).json()
        async with served.http(stranger) as other:
            await other.post(f"/threads/{other_tid}/runs/wait", json=start(auto_approve=True))
            theirs = (await other.get(f"/threads/{other_tid}/outputs")).json()["items"]
        async with served.http(grant["token"]) as viewer:
            granted = (await viewer.post(f"/threads/{tid}/links")).json()
        assert token not in link["query"] and "access_token" not in link["query"]
        assert (link["access"], granted["access"]) == ("owner", "view")  # what a page may offer
        asset = items[0]["url"]
        params = {k: v[0] for k, v in parse_qs(link["query"]).items()}
        async with served.http() as anonymous:
            assert (await anonymous.get(f"{asset}?{link['query']}")).status_code == 200
            assert (await anonymous.get(f"{asset}?{granted['query']}")).status_code == 200
            async with anonymous.stream("GET", link["stream"]) as stream:
                assert stream.status_code == 200
            # another owner's image with this thread's signature: not found
            assert (await anonymous.get(f"{theirs[0]['url']}?{link['query']}")).status_code == 404
            # the signature reads; it does not act, nor reach another thread's stream
            assert (await anonymous.get(f"/threads/{tid}?{link['query']}")).status_code == 401
            assert (await anonymous.post(f"/threads/{tid}/runs?{link['query']}")).status_code in (
                401,
                422,
            )
            assert (
                await anonymous.get(f"/threads/{other_tid}/stream?{link['query']}")
            ).status_code == 404
            tampered = {
                **params,
                "sig": params["sig"][:-2] + ("AA" if params["sig"][-2:] != "AA" else "BB"),
            }
            later = {**params, "exp": str(int(params["exp"]) + 3600)}
            expired = {**params, "exp": str(int(time.time()) - 1)}
            elsewhere = {**params, "t": other_tid}
            for forged in (tampered, later, expired, elsewhere):
                assert (await anonymous.get(f"{asset}?{urlencode(forged)}")).status_code == 401
                stream = f"/threads/{tid}/stream?{urlencode(forged)}"
                assert (await anonymous.get(stream)).status_code == 401
            assert (await anonymous.get(f"{asset}?access_token={token}")).status_code == 401
        async with served.http(token) as owner:
            await owner.delete(f"/threads/{tid}/grants/{grant['grant_id']}")
        async with served.http() as anonymous:  # a revoked grant's signed URLs die with it
            assert (await anonymous.get(f"{asset}?{granted['query']}")).status_code == 404
            assert (await anonymous.get(granted["stream"])).status_code == 404
            assert (await anonymous.get(f"{asset}?{link['query']}")).status_code == 200


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


async def test_no_bearer_token_reaches_a_log(database, tmp_path, caplog) -> None:
    """A UI-like session (create, run, outputs, links, images, stream, share, export) with the
    access log on: the owner's and the grant's tokens appear in no log line."""
    caplog.set_level(logging.DEBUG)
    access = logging.getLogger("uvicorn.access")
    lines = Lines()
    async with serve(database, tmp_path) as served:
        level = access.level
        access.setLevel(logging.INFO)
        access.addHandler(lines)
        try:
            tid, token = await served.new_thread()
            async with served.http(token) as owner:
                await owner.post(f"/threads/{tid}/runs/wait", json=start(auto_approve=True))
                items = (await owner.get(f"/threads/{tid}/outputs")).json()["items"]
                link = (await owner.post(f"/threads/{tid}/links")).json()
                grant = (await owner.post(f"/threads/{tid}/grants", json={"role": "view"})).json()
                await owner.get(f"/threads/{tid}/export")
            async with served.http() as browser:
                for item in items:
                    assert (await browser.get(f"{item['url']}?{link['query']}")).status_code == 200
                async with browser.stream("GET", link["stream"]) as stream:
                    assert stream.status_code == 200
                await browser.get(f"/threads/{tid}/stream?access_token={token}")  # refused
            async with served.http(grant["token"]) as viewer:
                await viewer.get(f"/threads/{tid}/state")
        finally:
            access.removeHandler(lines)
            access.setLevel(level)
    logged = lines.lines + [r.getMessage() for r in caplog.records]
    assert any("/assets/" in line and "sig=" in line for line in lines.lines), "log captured"
    for secret in (token, grant["token"]):
        leaks = [line for line in logged if secret in line and "access_token" not in line]
        assert not leaks, leaks


async def test_a_disabled_owners_grants_stop_for_the_people_they_name(
    database: Any, tmp_path: Path
) -> None:
    """D12: after `studio users disable ada`, vic (named in ada's view grant) still read ada's
    thread with her own token; README: their threads' tokens and share links stop at once."""
    async with serve(database, tmp_path) as served:
        ada, vic = await served.person("ada"), await served.person("vic", "viewer")
        async with served.http(ada) as owner:
            tid = (await owner.post("/threads", json={})).json()["thread_id"]
            await owner.post(f"/threads/{tid}/runs/wait", json=start(auto_approve=True))
            shared = await owner.post(
                f"/threads/{tid}/grants", json={"role": "view", "user": "vic"}
            )
            assert shared.status_code == 201, shared.text
            asset = (await owner.get(f"/threads/{tid}/outputs")).json()["items"][0]["url"]
        async with served.http(vic) as viewer:
            assert (await viewer.get(f"/threads/{tid}")).status_code == 200
            assert [t["thread_id"] for t in (await viewer.post("/threads/search", json={})).json()]
            link = (await viewer.post(f"/threads/{tid}/links")).json()
        async with served.http() as anonymous:
            assert (await anonymous.get(f"{asset}?{link['query']}")).status_code == 200
        async with served.http(served.admin_token) as root:
            ada_id = next(u for u in (await root.get("/users")).json() if u["name"] == "ada")
            off = await root.patch(f"/users/{ada_id['user_id']}", json={"disabled": True})
            assert off.status_code == 200, off.text
            assert (await root.get(f"/threads/{tid}")).status_code == 200, "admins still read"
        async with served.http(vic) as viewer:
            for path in (f"/threads/{tid}", f"/threads/{tid}/state", f"/threads/{tid}/outputs"):
                assert (await viewer.get(path)).status_code == 404, path
            assert (await viewer.get(asset)).status_code == 404
            assert (await viewer.post("/threads/search", json={})).json() == []
        async with served.http() as anonymous:  # a signed URL made before stops too
            assert (await anonymous.get(f"{asset}?{link['query']}")).status_code == 404
            assert (await anonymous.get(link["stream"])).status_code == 404
        async with served.http(served.admin_token) as root:
            await root.patch(f"/users/{ada_id['user_id']}", json={"disabled": False})
        async with served.http(vic) as viewer:  # enabled again: the grant holds again
            assert (await viewer.get(f"/threads/{tid}")).status_code == 200


async def test_no_server_file_path_reaches_an_http_client(database: Any, tmp_path: Path) -> None:
    """D21: `GET /threads/{id}` and `/state`, also with a view share link, held
    `"path": "/tmp/.../assets/70/70ba...png"` for every output (the server's home and layout);
    clients have `url` and `asset_id`. Streams, history and a run's result neither."""
    home = str(tmp_path)
    async with serve(database, tmp_path) as served:
        tid, token = await served.new_thread()
        async with served.http(token) as owner:
            body = {
                "input": {"messages": [{"role": "user", "content": NEON}]},
                "stream_mode": ["values", "updates", "custom"],
            }
            body["input"]["settings"] = {"auto_approve": True}
            streamed = await read_sse(owner, "POST", f"/threads/{tid}/runs/stream", json=body)
            assert streamed and all(home not in json.dumps(e.data) for e in streamed)
            runs = (await owner.get(f"/threads/{tid}/runs")).json()
            grant = (await owner.post(f"/threads/{tid}/grants", json={"role": "view"})).json()
        internal = (await served.studio.graph.aget_state(served.studio.config(tid))).values
        assert internal["generations"][0]["path"].startswith(home), "the graph keeps its paths"
        async with served.http(grant["token"]) as viewer:
            shown = {
                "thread": await viewer.get(f"/threads/{tid}"),
                "state": await viewer.get(f"/threads/{tid}/state"),
                "history": await viewer.post(f"/threads/{tid}/history", json={}),
                "join": await viewer.get(f"/threads/{tid}/runs/{runs[0]['run_id']}/join"),
            }
            for name, answer in shown.items():
                assert answer.status_code == 200, (name, answer.text)
                assert home not in answer.text and '"path":"/' not in answer.text, name
            replayed = await read_sse(viewer, "GET", f"/threads/{tid}/stream", limit=400)
            assert replayed and all(home not in json.dumps(e.data) for e in replayed)
            made = shown["thread"].json()["values"]["generations"][0]
            assert made["asset_id"] and "path" not in made
            outputs = (await viewer.get(f"/threads/{tid}/outputs")).json()["items"]
            assert outputs and all(home not in json.dumps(item) for item in outputs)


def test_a_logged_events_server_paths_are_hidden_however_its_json_is_spaced() -> None:
    """Events converted from jsonb by an old migration read back as `"path": "/…"` (with a
    space); the stream's quick check must not miss them."""
    from api.http.views import hide_paths_text

    spaced = '{"asset_id": "a1", "path": "/home/studio/assets/a1.png", "url": "/assets/a1"}'
    assert json.loads(hide_paths_text(spaced)) == {"asset_id": "a1", "url": "/assets/a1"}
    relative = '{"path":"assets/a1.png"}'
    assert hide_paths_text(relative) == relative  # not a server path
