"""Ask the person at a gate, in the terminal, and return their answer (an `action` and its
fields)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.prompt import Prompt
from rich.table import Table


def show_gate(console: Console, value: dict[str, Any]) -> None:
    """Print what the gate is about: the question, the specs, or the outputs."""
    gate = value.get("gate")
    if gate == "stage":
        show_stage(console, value)
        return
    if gate in ("clarify", "consensus"):
        console.print(f"[bold]{value.get('question')}[/]")
    if gate == "plan":
        table = Table(title="Plan", show_lines=False)
        for column in ("deliverable", "size", "steps/cfg", "seed", "light", "weather", "prompt"):
            table.add_column(column, overflow="fold")
        for spec in value.get("specs", []):
            table.add_row(
                spec["deliverable"],
                f"{spec['width']}x{spec['height']}",
                "sketch" if spec.get("sketch") else f"{spec['steps']}/{spec['cfg']}",
                str(spec["seed"]),
                spec["lighting"],
                spec["weather"],
                spec["prompt"][:160],
            )
        console.print(table)
        review = value.get("review") or {}
        if review.get("reasons"):
            console.print("Lens: " + "; ".join(review["reasons"]))
    if gate == "output":
        table = Table(title="Outputs")
        for column in ("deliverable", "asset", "iteration", "score", "notes", "path"):
            table.add_column(column, overflow="fold")
        for item in value.get("outputs", []):
            table.add_row(
                item["deliverable"],
                item["asset_id"],
                str(item["iteration"]),
                str(item.get("score")),
                "; ".join(item.get("reasons", [])[:2]),
                item["path"],
            )
        console.print(table)
        if value.get("stop_reason"):
            console.print(f"[yellow]Note: {value['stop_reason'].replace('_', ' ')}[/]")


def show_stage(console: Console, value: dict[str, Any]) -> None:
    """A video stage: its output in lines, the files it made, what made them, Lens's review."""
    out, stage = value.get("output") or {}, value.get("stage")
    console.print(f"[bold]{stage}[/] version {value.get('version')}")
    for scene in out.get("scenes") or []:
        console.print(
            f"  {scene['id']} {scene['title']} ({scene['seconds']:g} s, {scene['move']})",
            markup=False,
        )
    for line in out.get("lines") or []:
        console.print(
            f"  [{line['start']:.2f}-{line['end']:.2f} s] {line['scene']}: {line['text']}",
            markup=False,
        )
    files = [(k, v) for k, v in out.items() if isinstance(v, dict) and "path" in v]
    for group in ("keyframes", "clips"):
        files += list((out.get(group) or {}).items())
    for name, ref in files:
        console.print(f"  {name}: {ref['path']}", markup=False, highlight=False)
    console.print(f"  made by: {'; '.join(value.get('made_by') or [])}", markup=False)
    findings = (value.get("review") or {}).get("findings") or []
    console.print(
        f"  Lens (measured): {'; '.join(findings) or 'everything within target'}", markup=False
    )


def ask_gate(console: Console, value: dict[str, Any]) -> dict[str, Any] | None:
    """Prompt for an action and what it needs; `None` when input ends (leave it paused)."""
    show_gate(console, value)
    actions = list(value.get("actions", []))
    try:
        action = Prompt.ask("Action", choices=actions, default=actions[0], console=console)
        decision: dict[str, Any] = {"action": action}
        if action == "answer":
            decision["answer"] = Prompt.ask("Your answer", console=console)
        if action in ("revise", "regenerate"):
            decision["feedback"] = Prompt.ask("Feedback", console=console)
            deliverable = Prompt.ask(
                "Only one deliverable? (id, or empty for all)",
                default="",
                show_default=False,
                console=console,
            )
            if deliverable:
                decision["deliverable"] = deliverable
        if action == "pick":
            decision["asset_id"] = Prompt.ask("Asset id", console=console)
    except EOFError:
        return None
    return decision
