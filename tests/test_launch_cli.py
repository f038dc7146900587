"""The launch kit from the `studio` CLI: real processes on a real Postgres, a private home."""

from __future__ import annotations

import json
from pathlib import Path

from tests.test_cli import env, studio  # noqa: F401 (env is a fixture)

BRIEF = "launch a video about home espresso for beginners"


def test_launch_run_auto_approve_ends_with_a_winner_and_its_results(
    env: dict[str, str],  # noqa: F811
    tmp_path: Path,
) -> None:
    done = studio(env, "run", BRIEF, "--auto-approve", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)  # stdout carries exactly one JSON object
    assert result["phase"] == "approved" and result["status"] == "idle"
    assert result["stop_reason"] == "winner"
    assert "Saga" in done.stderr and "Lens" in done.stderr  # the live view went to stderr
    assert "simulated" in done.stderr
    out = tmp_path / "kit"
    exported = studio(env, "export", result["thread_id"], "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    results = json.loads((out / "launch" / "results.json").read_text())
    assert results["status"] == "winner" and results["simulated"] is True
    assert results["confidence"] >= 0.95 and "mSPRT" in results["method"]
    winner = results["winning_content"]
    assert winner["thumbnail"]["variant"] == results["winner"]
    assert winner["script"]["title"] in (out / "launch" / "script.md").read_text()
    assert (out / "launch" / "winner.png").read_bytes()[:4] == b"\x89PNG"
    assert len(results["variants"]) == 3
    readme = (out / "README.md").read_text()  # it describes what the folder holds
    assert "No images yet" not in readme
    assert f"Launch kit: {results['winner']} won at " in readme and "simulated data" in readme
    for name in ("results.json", "script.md", "winner.png", f"{results['winner']}.png"):
        assert f"| launch/{name} |" in readme and (out / "launch" / name).is_file()
    assert winner["script"]["title"] in readme
    late = studio(env, "resume", result["thread_id"], "--action", "declare", "--deliverable", "x")
    assert late.returncode == 1, late.stderr  # not silently ignored
    assert f"the A/B test already ended ({results['winner']} won)" in late.stderr
    assert "--action declare was not sent" in late.stderr


def test_launch_options_from_the_command_line(env: dict[str, str], tmp_path: Path) -> None:  # noqa: F811
    figures = tmp_path / "figures.csv"
    figures.write_text("keyword,searches,views\nespresso grinder,12000,\nlatte art,x,\n")
    bad = studio(env, "run", BRIEF, "--trends", str(figures), "--json")
    assert bad.returncode == 2, bad.stderr
    assert bad.stderr.strip() == (
        f"error: --trends {figures}: row 2 (line 3): searches must be a whole number of at "
        "least 0; got 'x'"
    )
    wrong = studio(env, "run", "a neon street", "--format", "images", "--niche", "coffee")
    assert wrong.returncode == 2
    assert "are for --format launch" in wrong.stderr
    missing = studio(env, "run", BRIEF, "--trends", str(tmp_path / "nope.csv"))
    assert missing.returncode == 2 and "cannot read it" in missing.stderr
    assert json.loads(studio(env, "threads", "--json").stdout) == []  # nothing was started
    figures.write_text("keyword,searches,views\nespresso grinder,12000,\nlatte art,,52000\n")
    first = studio(
        env,
        "run",
        "home espresso",
        "--niche",
        "home coffee",
        "--audience",
        "students on a budget",
        "--keyword",
        "cheap espresso",
        "--trends",
        str(figures),
        "--json",
    )
    assert first.returncode == 0, first.stderr
    at_gate = json.loads(first.stdout)
    assert at_gate["phase"] == "awaiting_script"  # the options chose the launch format
    assert "searches 12,000" in first.stderr  # the person's figure, cited
    assert "students on a budget" in first.stderr or "your data" in first.stderr
