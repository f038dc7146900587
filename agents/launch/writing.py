"""The launch kit's words: the trend step (angles and hooks) and Saga's script variants."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage
from langgraph.runtime import Runtime

from adapters.offline.model import OfflineChatModel
from agents.calls import overrides, structured
from agents.launch import prompts
from agents.launch.schemas import LaunchTrends, ScriptBatch
from graph import directions
from graph.context import StudioContext
from graph.emit import phase
from graph.state import StudioState

SCRIPT_IDS = ("script-a", "script-b", "script-c", "script-d")


def direction_words(state: StudioState) -> list[str]:
    """The person's pinned directions for the whole kit, as words (oldest first)."""
    return [
        ("avoid " if d["negative"] else "") + d["text"]
        for d in directions.for_state(state)
        if d["scope"] == "*"
    ]


def tokens_by_role(state: StudioState, role: str, tokens: int) -> dict[str, int]:
    """The launch kit's token count per role, with `tokens` more for `role`."""
    counted = dict((state.get("launch") or {}).get("tokens") or {})
    counted[role] = int(counted.get(role, 0)) + tokens
    return counted


def _source(context: StudioContext, state: StudioState, launch: dict[str, Any]) -> str:
    if launch.get("figures") or launch.get("keywords"):
        return "your data"
    model = context.models.for_role("planner", overrides(state))
    return "craft knowledge" if isinstance(model, OfflineChatModel) else "model suggestion"


def _with_evidence(angle: dict[str, Any], launch: dict[str, Any], source: str) -> dict[str, Any]:
    """An angle with the evidence behind it: the person's own rows for its keyword, or where
    it came from. A keyword the data does not name is dropped (nothing is invented)."""
    figures = {f["keyword"].lower(): f for f in launch.get("figures") or []}
    known = {k.lower() for k in launch.get("keywords") or []} | set(figures)
    keyword = str(angle.get("keyword") or "").strip()
    if keyword.lower() not in known:
        keyword = ""
    row = figures.get(keyword.lower())
    evidence = "your data" if keyword else ("craft knowledge" if source == "your data" else source)
    out = {**angle, "keyword": keyword, "evidence": evidence}
    if row:
        out["figures"] = {k: row[k] for k in ("searches", "views") if k in row}
    return out


async def research(state: StudioState, runtime: Runtime[StudioContext]) -> dict[str, Any]:
    """Turn the topic into angles and hooks: from the person's data when they gave some, else
    from the model (offline: the built-in craft knowledge). Never a figure the data lacks."""
    context = runtime.context
    launch = state["launch"]
    source = _source(context, state, launch)
    answer, tokens = await structured(
        context, state, "planner", LaunchTrends, prompts.trends(launch, direction_words(state))
    )
    angles = [_with_evidence(a.model_dump(), launch, source) for a in answer.angles[:4]]
    lines = []
    for a in angles:
        cited = ", ".join(f"{k} {v:,}" for k, v in (a.get("figures") or {}).items())
        basis = f"{a['evidence']}: {a['keyword']}" if a["keyword"] else a["evidence"]
        lines.append(f'{a["angle"]}: "{a["hook"]}" ({basis}{"; " + cited if cited else ""})')
    text = f"Angles for {launch['topic']}: " + "; ".join(lines) + "."
    return {
        "launch": {
            "trends": {"source": source, "angles": angles},
            "tokens": tokens_by_role(state, "planner", tokens),
            "stage": "scripts",
        },
        "usage": {"tokens": tokens},
        "messages": [AIMessage(text, name="planner")],
        **phase("scripting", "Saga is writing the scripts"),
    }


async def write_scripts(state: StudioState, runtime: Runtime[StudioContext]) -> dict[str, Any]:
    """Saga writes 2-4 script variants (hook, outline, call to action, length) from the angles,
    following the person's feedback and directions."""
    context = runtime.context
    launch = state["launch"]
    feedback = [f for f in launch.get("feedback") or [] if f]
    prompt = prompts.scripts(launch, direction_words(state), feedback)
    answer, tokens = await structured(context, state, "story", ScriptBatch, prompt)
    round_no = int(launch.get("script_round", 0)) + 1
    scripts = [
        {"id": SCRIPT_IDS[i], "round": round_no, **s.model_dump()}
        for i, s in enumerate(answer.scripts[: len(SCRIPT_IDS)])
    ]
    listing = "; ".join(
        f'{s["id"]} "{s["title"]}" ({s["length_seconds"] // 60}:{s["length_seconds"] % 60:02d},'
        f" opens: {s['hook']})"
        for s in scripts
    )
    said = "Revised for your note. " if feedback else ""
    return {
        "launch": {
            "scripts": scripts,
            "script_round": round_no,
            "feedback": [],
            "tokens": tokens_by_role(state, "story", tokens),
            "stage": "script_gate",
        },
        "usage": {"tokens": tokens},
        "messages": [AIMessage(f"{said}{len(scripts)} scripts: {listing}.", name="story")],
        **phase("awaiting_script", "pick a script"),
    }
