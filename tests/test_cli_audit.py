"""The CLI leaves the same audit trail as the HTTP API (it acts as the home's admin), and
`studio audit` reads it: real processes on a real Postgres."""

from __future__ import annotations

import json
from pathlib import Path

from tests.test_cli import NEON, env, studio

__all__ = ["env"]


def trail(env: dict[str, str], *args: str) -> list[dict]:
    done = studio(env, "audit", "--json", "--limit", "1000", *args)
    assert done.returncode == 0, done.stderr
    return list(reversed(json.loads(done.stdout)["items"]))


def test_cli_sessions_are_audited_and_studio_audit_reads_them(
    env: dict[str, str], tmp_path: Path
) -> None:
    first = json.loads(studio(env, "run", NEON, "--json").stdout)
    tid = first["thread_id"]
    refused = studio(env, "resume", tid, "--action", "pick", "--json")
    assert refused.returncode == 2
    approved = studio(env, "resume", tid, "--action", "approve", "--json")
    assert approved.returncode == 0, approved.stderr
    steered = studio(env, "say", tid, "more fog please", "--auto-approve", "--json")
    assert steered.returncode == 0, steered.stderr
    forked = studio(env, "fork", tid, "--json")
    assert forked.returncode == 0, forked.stderr
    exported = studio(env, "export", tid, "--out", str(tmp_path / "out"))
    assert exported.returncode == 0, exported.stderr

    entries = trail(env, "--thread", tid)
    actions = [(e["action"], e["outcome"]) for e in entries]
    assert actions[:4] == [
        ("thread.created", "ok"),
        ("run.created", "ok"),
        ("gate.answered", "refused"),
        ("gate.answered", "ok"),
    ], actions
    assert ("run.created", "ok") in actions[4:] or ("run.interjected", "ok") in actions[4:]
    assert actions[-1] == ("export.downloaded", "ok")
    assert {(e["actor"]["role"], e["actor"]["via"]) for e in entries} == {("admin", "local")}
    assert entries[2]["detail"]["answer"] == {"action": "pick"}
    assert entries[3]["detail"]["answer"] == {"action": "approve"}
    assert any(e["detail"].get("message") == "more fog please" for e in entries)
    assert entries[1]["detail"]["message"] == NEON
    assert all(e["request_id"] is None for e in entries), "no HTTP request behind the CLI"
    copies = trail(env, "--action", "thread.created")
    assert any(e["detail"].get("copied_from", {}).get("thread_id") == tid for e in copies)

    # the plain listing: one line per entry, newest first
    shown = studio(env, "audit", "--thread", tid)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert len(lines) == len(entries)
    assert "export.downloaded" in lines[0] and "thread.created" in lines[-1]
    assert "refused" in lines[-3] and '"pick"' in lines[-3]
    bad = studio(env, "audit", "--since", "last tuesday")
    assert bad.returncode == 2 and "--since" in bad.stderr
    typo = studio(env, "audit", "--action", "gate.answerd")  # D4: was "No entries match."
    assert typo.returncode == 2 and "no such action" in typo.stderr, typo
    assert "Families: export, gate, grant" in typo.stderr
    family = studio(env, "audit", "--thread", tid, "--action", "gate")
    assert family.returncode == 0 and "gate.answered" in family.stdout, family.stderr
