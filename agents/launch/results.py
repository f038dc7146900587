"""The A/B test's opening and closing legs, and the results package the API and export share."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage
from langgraph.runtime import Runtime

from adapters.launch import experiment, simulator
from graph.context import StudioContext, thread_of
from graph.emit import phase
from graph.launch_settings import chosen_script
from graph.state import StudioState


async def open_experiment(state: StudioState, runtime: Runtime[StudioContext]) -> dict[str, Any]:
    """Start the test of the chosen variants: its deadline is stored now, from the clock."""
    context = runtime.context
    launch = state["launch"]
    options = (state.get("settings") or {}).get("launch") or {}
    if (launch.get("experiment") or {}).get("status") == "running":
        return {"launch": {"stage": "experiment_gate"}}  # a resumed leg: it is already open
    seed = int((state.get("settings") or {}).get("seed", 7))
    test = experiment.open_test(
        context.clock(),
        list(launch["tested"]),
        provider=options.get("provider", "simulated"),
        timeout_hours=float(options.get("timeout_hours", experiment.TIMEOUT_HOURS)),
        poll_seconds=float(options.get("poll_seconds", experiment.POLL_SECONDS)),
        seed=seed,
        polls_seed=simulator.thread_seed(thread_of(runtime), seed),
    )
    data = "simulated data (the seeded simulator)" if test["simulated"] else "the figures you post"
    text = (
        f"The A/B test is on: {', '.join(test['variants'])}, on {data}. A winner is declared "
        f"at 95% confidence (by hand from 90%); it stops by {test['deadline']} at the latest."
    )
    return {
        "launch": {"experiment": test, "stage": "experiment_gate"},
        "messages": [AIMessage(text, name="manager")],
        **phase("experimenting", "the A/B test is running"),
    }


def package(values: dict[str, Any]) -> dict[str, Any]:
    """The launch kit's results: the winning script and thumbnail, every variant with its stats,
    the test's duration, confidence and method, and whether the data was simulated."""
    launch = values.get("launch") or {}
    test = launch.get("experiment")
    thumbs = {t["variant"]: t for t in launch.get("thumbnails") or []}
    script = chosen_script(launch) if launch.get("scripts") else None
    if not test:
        return {
            "status": "not_started",
            "stage": launch.get("stage"),
            "script": script,
            "thumbnails": list(thumbs.values()),
        }
    shown = experiment.view(test)
    winner = test.get("winner")
    stats = {v["variant"]: v for v in shown["variants"]}
    return {
        "status": test["status"],
        "stage": launch.get("stage"),
        "winner": winner,
        "winning_content": (
            {"script": script, "thumbnail": {**thumbs[winner], "stats": stats.get(winner)}}
            if winner in thumbs
            else None
        ),
        "leader": shown["leader"],
        "variants": [
            {**thumbs.get(v, {"variant": v}), "stats": stats.get(v)} for v in test["variants"]
        ],
        "confidence": shown["confidence"],
        "method": shown["method"],
        "simulated": shown["simulated"],
        "data": shown["data"],
        "provider": shown["provider"],
        "started_at": shown["started_at"],
        "ended_at": shown["ended_at"],
        "deadline": shown["deadline"],
        "duration_hours": shown["hours"],
        "end_reason": shown["end_reason"],
        "impressions": shown["impressions"],
        "clicks": shown["clicks"],
        "tokens_by_role": launch.get("tokens") or {},
        "trends": launch.get("trends"),
    }


ENDINGS = {
    "winner": "{winner} won at {confidence:.1%} confidence",
    "declared": "{winner} was declared the winner by hand at {confidence:.1%} confidence",
    "timeout": "the test reached its {limit:g}-hour limit without a winner (leader: {leader}, "
    "{confidence:.1%} confidence)",
    "stopped": "you stopped the test (leader: {leader}, {confidence:.1%} confidence)",
}


def ending(test: dict[str, Any]) -> str:
    """How an ended A/B test ended, in words (`ENDINGS` by its `end_reason`)."""
    reason = str(test.get("end_reason") or "stopped")
    return ENDINGS.get(reason, ENDINGS["stopped"]).format(
        winner=test.get("winner"),
        leader=test["analysis"].get("leader") or "none",
        confidence=float(test["analysis"]["confidence"]),
        limit=float(test["timeout_hours"]),
    )


async def report_results(state: StudioState, runtime: Runtime[StudioContext]) -> dict[str, Any]:
    """Close the kit: the winner's thumbnail is approved in the asset store, the others are
    superseded, and the manager says how it ended."""
    context = runtime.context
    launch = state["launch"]
    test = launch["experiment"]
    winner = test.get("winner")
    thumbs = {t["variant"]: t["asset_id"] for t in launch.get("thumbnails") or []}
    if winner in thumbs:
        await context.assets.record_verdict(thread_of(runtime), [thumbs[winner]], "approved")
        others = [a for v, a in thumbs.items() if v != winner]
        await context.assets.record_verdict(thread_of(runtime), others, "superseded")
    reason = str(test.get("end_reason") or "stopped")
    said = ending(test)
    data = "simulated data" if test["simulated"] else "observed data"
    text = (
        f"Launch kit done: {said}, after {experiment.hours(test):g} h on {data}. "
        "The results and the export carry the winning script and thumbnail with every "
        "variant's figures."
    )
    stop_reason = {"winner": "winner", "declared": "winner_declared", "timeout": "timeout"}
    outcome = "approved" if winner else ("interrupted" if reason == "stopped" else "completed")
    return {
        "launch": {"stage": "done"},
        "messages": [AIMessage(text, name="manager")],
        "outcome": outcome,
        "stop_reason": stop_reason.get(reason, "stopped_by_person"),
        **phase(outcome, reason),
    }


def export_files(values: dict[str, Any]) -> list[tuple[str, bytes]]:
    """The launch kit's files for the export zip: `launch/results.json` (the results package,
    saying whether the data was simulated), `launch/script.md` (the chosen script) and each
    thumbnail as `launch/<variant>.png` (the winner's also as `launch/winner.png`). Blocking."""
    import json
    from pathlib import Path

    results = package(values)
    out = [("launch/results.json", json.dumps(results, indent=2, default=str).encode())]
    script = results.get("script") or (results.get("winning_content") or {}).get("script")
    script = script or (
        chosen_script(values["launch"]) if values["launch"].get("scripts") else None
    )
    if script:
        beats = "\n".join(f"{i}. {b}" for i, b in enumerate(script["outline"], start=1))
        text = (
            f"# {script['title']}\n\nHook: {script['hook']}\n\n{beats}\n\n"
            f"Call to action: {script['call_to_action']}\n\nLength: {script['length_seconds']} s\n"
        )
        out.append(("launch/script.md", text.encode()))
    for thumb in (values.get("launch") or {}).get("thumbnails") or []:
        path = Path(thumb["path"])
        if path.is_file():
            data = path.read_bytes()
            out.append((f"launch/{thumb['variant']}.png", data))
            if thumb["variant"] == results.get("winner"):
                out.append(("launch/winner.png", data))
    return out


def export_readme(values: dict[str, Any]) -> list[str]:
    """The export README's lines on the launch kit: how the test ended (on simulated data or
    not) and each file `export_files` writes under `launch/`. Blocking (checks the files)."""
    from pathlib import Path

    launch = values.get("launch") or {}
    test = launch.get("experiment")
    winner = (test or {}).get("winner")
    if not test:
        said = f"the A/B test has not started (stage: {launch.get('stage') or 'scripts'})"
    elif test["status"] == "running":
        said = "the A/B test is still running; these are its figures so far"
    else:
        said = ending(test)
    data = ""
    if test:
        data = (
            " The test ran on simulated data (the seeded simulator), not real viewers."
            if test["simulated"]
            else " The test ran on the figures you posted."
        )
    rows = ["| launch/results.json | every variant's figures, confidence, method, and whether "
            "the data was simulated |"]  # fmt: skip
    if launch.get("scripts"):
        title = chosen_script(launch)["title"]
        rows.append(f"| launch/script.md | the chosen script: {title} |")
    for thumb in launch.get("thumbnails") or []:
        if Path(thumb["path"]).is_file():
            won = " (the winner)" if thumb["variant"] == winner else ""
            rows.append(f"| launch/{thumb['variant']}.png | thumbnail, {thumb['variant']}{won} |")
            if won:
                rows.append(f"| launch/winner.png | the winning thumbnail ({winner}) |")
    return [
        f"Launch kit: {said}.{data}",
        "",
        "| file | what it is |",
        "| --- | --- |",
        *rows,
        "",
    ]
