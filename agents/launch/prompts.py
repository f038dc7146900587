"""The launch kit's prompts, in the studio's `## Section` shape (the offline model reads them)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from agents.prompts import role_header


def _bullets(items: Sequence[str]) -> str:
    return "\n".join(f"- {item}" for item in items) if items else "- (none)"


def _launch(launch: dict[str, Any]) -> str:
    return _bullets([f"{k}: {launch[k]}" for k in ("topic", "niche", "audience") if launch.get(k)])


def _figures(launch: dict[str, Any]) -> list[str]:
    """One row per keyword, the person's own keywords first: with its figures when the data has
    a row for it (a keyword given both ways is listed once), else `(no figures)`."""
    rows: dict[str, str] = {}
    for f in launch.get("figures") or []:
        parts = [f"{n}={f[n]}" for n in ("searches", "views") if n in f]
        rows.setdefault(f["keyword"].lower(), f"{f['keyword']}: {', '.join(parts) or 'no figures'}")
    named = {k.lower(): f"{k} (no figures)" for k in launch.get("keywords") or []}
    first = [rows.pop(k, row) for k, row in named.items()]
    return first + list(rows.values())


def trends(launch: dict[str, Any], directions: Sequence[str]) -> list[BaseMessage]:
    """Turn the topic into angles and hooks (the planner's job)."""
    body = (
        f"## Launch\n{_launch(launch)}\n\n"
        f"## Trend data\n{_bullets(_figures(launch))}\n\n"
        f"## Direction from the person\n{_bullets(list(directions))}\n\n"
        "## Task (launch_trends)\nTurn the topic into 3 angles a video could take, each with "
        "the hook line that opens it and why it works for this audience. Name a keyword only "
        "when the trend data lists it; never state numbers the data does not give."
    )
    return [SystemMessage(role_header("planner")), HumanMessage(body)]


def scripts(
    launch: dict[str, Any], directions: Sequence[str], feedback: Sequence[str]
) -> list[BaseMessage]:
    """Write 2-4 script variants from the angles (Saga's job)."""
    angles = [
        f"{a['angle']} | {a['hook']} | {a.get('keyword', '')}"
        for a in (launch.get("trends") or {}).get("angles", [])
    ]
    body = (
        f"## Launch\n{_launch(launch)}\n\n"
        f"## Angles\n{_bullets(angles)}\n\n"
        f"## Direction from the person\n{_bullets(list(directions))}\n\n"
        f"## Feedback\n{_bullets(list(feedback))}\n\n"
        "## Task (launch_scripts)\nWrite 3 script variants, one per angle: a short title (at "
        "most 40 characters, it goes on the thumbnail), the hook, an outline of beats, a call "
        "to action and the length in seconds. Follow the feedback and the direction."
    )
    return [SystemMessage(role_header("story")), HumanMessage(body)]
