"""The launch kit over HTTP: observations (JSON and CSV, 422 naming a bad row), declare-winner
rules, results, and the timers that wake a test (a deadline after a restart, simulator polls)."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.api_helpers import Served, serve
from tests.launch_helpers import ESPRESSO, T0, Clock

pytestmark = pytest.mark.anyio
MANUAL: dict[str, Any] = {"format": "launch", "launch": {"provider": "manual"}}


def with_clock(served: Served, clock: Clock) -> None:
    served.studio.context = dataclasses.replace(served.studio.context, clock=clock)


async def wait(client: Any, tid: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(f"/threads/{tid}/runs/wait", json=body)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def join(client: Any, tid: str, run_id: str) -> None:
    response = await client.get(f"/threads/{tid}/runs/{run_id}/join")
    assert response.status_code == 200, response.text


async def at_test(client: Any, tid: str, tested: str = "", **settings: Any) -> None:
    start = {"messages": [{"role": "user", "content": ESPRESSO}]}
    await wait(client, tid, {"input": {**start, "settings": settings}})
    await wait(client, tid, {"command": {"resume": {"action": "approve"}}})
    await wait(client, tid, {"command": {"resume": {"action": "approve", "answer": tested}}})
    state = (await client.get(f"/threads/{tid}/state")).json()
    assert state["interrupts"][0]["value"]["gate"] == "experiment"


async def test_observations_add_up_from_json_and_csv_and_a_bad_row_is_named(
    database: Any, tmp_path: Path
) -> None:
    async with serve(database, tmp_path) as served:
        tid, token = await served.new_thread()
        async with served.http(token) as client:
            await at_test(client, tid, **MANUAL)
            rows = [{"variant": "face-focused", "impressions": 1000, "clicks": 80}]
            posted = await client.post(
                f"/threads/{tid}/experiment/observations", json={"rows": rows}
            )
            assert posted.status_code == 202, posted.text
            await join(client, tid, posted.json()["run_id"])
            csv = "variant,impressions,clicks\nproduct-demo,500,20\nbold-text,10,50\n"
            bad = await client.post(
                f"/threads/{tid}/experiment/observations",
                content=csv,
                headers={"Content-Type": "text/csv"},
            )
            assert bad.status_code == 422
            assert (
                "row 2 (line 3): clicks (50) exceed impressions (10)"
                in bad.json()["error"]["message"]
            )
            unknown = await client.post(
                f"/threads/{tid}/experiment/observations",
                json={"rows": [{"variant": "cat-video", "impressions": 1, "clicks": 0}]},
            )
            assert unknown.status_code == 422 and "row 1: unknown variant" in unknown.text
            good = csv.replace("10,50", "400,44")
            posted = await client.post(
                f"/threads/{tid}/experiment/observations",
                content=good,
                headers={"Content-Type": "text/csv"},
            )
            assert posted.status_code == 202 and posted.json()["source"] == "csv"
            await join(client, tid, posted.json()["run_id"])
            shown = (await client.get(f"/threads/{tid}/experiment")).json()
            by = {v["variant"]: v for v in shown["variants"]}
            assert (by["face-focused"]["impressions"], by["face-focused"]["clicks"]) == (1000, 80)
            assert (by["bold-text"]["impressions"], by["bold-text"]["clicks"]) == (400, 44)
            assert shown["impressions"] == 1900 and shown["data"] == "observed"
            assert shown["leader"] == "bold-text" and len(shown["thumbnails"]) == 3
        async with served.http() as stranger:  # the thread's routes need its token
            assert (await stranger.get(f"/threads/{tid}/results")).status_code in (401, 404)


async def test_declare_is_refused_below_90_percent_then_the_results_carry_the_winner(
    database: Any, tmp_path: Path
) -> None:
    async with serve(database, tmp_path) as served:
        tid, token = await served.new_thread()
        async with served.http(token) as client:
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
            assert "from 90%" in refused.json()["error"]["message"]
            rows[1]["clicks"] = 252  # totals 600/6000 vs 510/6000: 90.8% confidence
            posted = await client.post(f"{url}/observations", json={"rows": rows})
            await join(client, tid, posted.json()["run_id"])
            typo = await client.post(f"{url}/declare", json={"winner": "face-focused"})
            assert typo.status_code == 422 and "winner" in typo.text
            wrong = await client.post(f"{url}/declare", json={"variant": "product-demo"})
            assert wrong.status_code == 409 and "Only the leader" in wrong.text
            # README's field for declare is `deliverable`, as the gate's own answer names it
            declared = await client.post(f"{url}/declare", json={"deliverable": "face-focused"})
            assert declared.status_code == 202, declared.text
            await join(client, tid, declared.json()["run_id"])
            results = (await client.get(f"/threads/{tid}/results")).json()
            assert results["status"] == "winner" and results["winner"] == "face-focused"
            assert results["end_reason"] == "declared" and 0.9 <= results["confidence"] < 0.95
            assert results["simulated"] is False and "mSPRT" in results["method"]
            winning = results["winning_content"]
            assert winning["script"]["title"] and winning["thumbnail"]["variant"] == "face-focused"
            assert winning["thumbnail"]["stats"]["ctr"] == 0.1
            assert {v["variant"] for v in results["variants"]} == {"face-focused", "product-demo"}
            assert results["tokens_by_role"]["story"] > 0
            zipped = await client.get(f"/threads/{tid}/export")
            assert zipped.status_code == 200
            archive = zipfile.ZipFile(io.BytesIO(zipped.content))
            names = {n[n.index("launch/") :]: n for n in archive.namelist() if "launch/" in n}
            assert {"launch/results.json", "launch/script.md", "launch/winner.png"} <= set(names)
            exported = json.loads(archive.read(names["launch/results.json"]))
            assert exported["winner"] == "face-focused" and exported["simulated"] is False
            ended = await client.post(f"{url}/stop")
            assert ended.status_code == 409  # nothing left to stop
            again = await client.post(f"{url}/declare", json={"deliverable": "face-focused"})
            assert again.status_code == 409 and "has ended (winner)" in again.text


async def test_the_deadline_ends_the_test_after_a_restart(database: Any, tmp_path: Path) -> None:
    clock = Clock()
    settings: dict[str, Any] = {
        "format": "launch",
        "launch": {"provider": "manual", "timeout_hours": 72},
    }
    async with serve(database, tmp_path) as served:
        with_clock(served, clock)
        tid, token = await served.new_thread()
        async with served.http(token) as client:
            await at_test(client, tid, **settings)
    later = Clock(T0)
    later.advance(hours=73)
    async with serve(database, tmp_path) as served:  # a new process, 73 hours on
        with_clock(served, later)
        async with served.http(token) as client:
            for _ in range(100):  # the timer sweep runs every second
                results = (await client.get(f"/threads/{tid}/results")).json()
                if results["status"] != "running":
                    break
                await asyncio.sleep(0.1)
            assert results["status"] == "timed_out" and results["end_reason"] == "timeout"
            assert results["duration_hours"] == 72 and results["winner"] is None


async def test_the_simulator_is_polled_by_the_timers_until_a_winner(
    database: Any, tmp_path: Path
) -> None:
    clock = Clock()
    async with serve(database, tmp_path) as served:
        with_clock(served, clock)
        tid, token = await served.new_thread()
        async with served.http(token) as client:
            await at_test(client, tid, format="launch")
            posted = await client.post(f"/threads/{tid}/experiment/observations", json={"rows": []})
            assert posted.status_code == 409 and "simulated" in posted.text
            for _ in range(600):
                clock.advance(seconds=5)
                results = (await client.get(f"/threads/{tid}/results")).json()
                if results["status"] != "running":
                    break
                await asyncio.sleep(0.1)
            assert results["status"] == "winner" and results["confidence"] >= 0.95
            assert results["simulated"] is True and results["data"] == "simulated"


async def test_trend_figures_come_as_a_csv_in_the_run_input_and_a_bad_row_is_named(
    database: Any, tmp_path: Path
) -> None:
    start = {"messages": [{"role": "user", "content": ESPRESSO}]}
    csv = (
        "Keyword,Searches,Views\n"
        'espresso grinder,"12,000",\n'
        "latte art at home,4400,910000\n"
        "budget espresso machine,lots,\n"
    )
    async with serve(database, tmp_path) as served:
        tid, token = await served.new_thread()
        async with served.http(token) as client:
            launch = {"figures_csv": csv, "niche": "home coffee"}
            bad = await client.post(
                f"/threads/{tid}/runs/wait",
                json={"input": {**start, "settings": {"format": "launch", "launch": launch}}},
            )
            assert bad.status_code == 422, bad.text
            message = bad.json()["error"]["message"]
            assert "launch.figures_csv: row 3 (line 4): searches must be a whole number" in message
            assert "'lots'" in message
            launch["figures_csv"] = csv.replace("lots", "8100")
            await wait(
                client,
                tid,
                {"input": {**start, "settings": {"format": "launch", "launch": launch}}},
            )
            state = (await client.get(f"/threads/{tid}/state")).json()
            kit = state["values"]["launch"]
            assert kit["niche"] == "home coffee" and kit["audience"] == "beginners"
            assert kit["figures"][0] == {"keyword": "espresso grinder", "searches": 12000}
            assert len(kit["figures"]) == 3
            angles = kit["trends"]["angles"]
            assert kit["trends"]["source"] == "your data"
            cited = [a for a in angles if a.get("figures")]
            assert cited and all(a["evidence"] == "your data" for a in cited)
            supplied = {
                (f["keyword"], k, v) for f in kit["figures"] for k, v in f.items() if k != "keyword"
            }
            for angle in cited:  # every number shown is one the person gave, for its keyword
                assert {(angle["keyword"], k, v) for k, v in angle["figures"].items()} <= supplied
            gate = state["interrupts"][0]["value"]
            assert gate["gate"] == "script"
