"""The CLI's live view of the event log: persona tokens in colour, phases, progress bars,
assets, notices, errors (the same events `GET /threads/{id}/stream` sends a browser)."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn

from engine.eventlog import Record
from graph.state import PERSONAS

COLOURS = {
    "planner": "bright_blue",
    "style": "magenta",
    "composition": "cyan",
    "story": "yellow",
    "director": "green",
    "critic": "red",
    "consistency": "bright_black",
    "manager": "white",
}


class LiveView:
    """Renders events as they arrive; one instance per CLI command."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.speaking: str | None = None
        self.streamed: set[str] = set()
        self.progress: Progress | None = None
        self.jobs: dict[str, TaskID] = {}
        self.bars: dict[str, TaskID] = {}
        """The newest bar of each deliverable (an `asset` event of an older log has no job id)."""

    def _label(self, role: str) -> str:
        if role == "person":  # the person's own words, typed at a gate
            return "[bold]You[/]"
        colour = COLOURS.get(role, "white")
        return f"[bold {colour}]{PERSONAS.get(role, role)}[/] [dim]({role})[/]"

    def _end_line(self) -> None:
        if self.speaking is not None:
            self.console.print()
            self.speaking = None

    def _stop_progress(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress, self.jobs, self.bars = None, {}, {}

    def show(self, record: Record) -> dict[str, Any]:
        """Render one event of the log's `studio` channel; returns its data."""
        data: dict[str, Any] = json.loads(record.data)
        handler = getattr(self, f"_on_{record.event}", None)
        if handler is not None:
            handler(data)
        return data

    def close(self) -> None:
        self._end_line()
        self._stop_progress()

    def _on_token(self, data: dict[str, Any]) -> None:
        key = f"{data.get('id')}"
        if self.speaking != key:
            self._end_line()
            self.console.print(f"{self._label(data['role'])} ", end="")
            self.speaking = key
        self.streamed.add(key)
        self.console.print(data["text"], end="", markup=False, highlight=False)

    def _on_message(self, data: dict[str, Any]) -> None:
        if str(data.get("id")) in self.streamed:
            self._end_line()
            return
        self._end_line()
        self.console.print(f"{self._label(data['role'])} ", end="")
        self.console.print(data["text"], markup=False, highlight=False)

    def _on_phase(self, data: dict[str, Any]) -> None:
        self._end_line()
        if data["phase"] != "generating":
            self._stop_progress()
        shown = data.get("detail")
        detail = f" - {shown}" if shown and shown != data["phase"] else ""
        self.console.rule(f"[dim]{data['phase']}{detail}[/]", style="dim")

    def _on_progress(self, data: dict[str, Any]) -> None:
        self._end_line()
        if self.progress is None:
            self.progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.percentage:>3.0f}%"),
                console=self.console,
                transient=False,
            )
            self.progress.start()
        what = str(data.get("deliverable") or "media")
        job = str(data.get("job_id") or what)  # events logged before jobs carried their id
        if job not in self.jobs:
            self.jobs[job] = self.progress.add_task(f"generating {what}", total=1.0)
            self.bars[what] = self.jobs[job]
        self.progress.update(self.jobs[job], completed=float(data.get("fraction") or 0.0))

    def _on_asset(self, data: dict[str, Any]) -> None:
        """A stored output: its bar is full, and the line says what was saved where (the
        file, else the asset id)."""
        what = str(data.get("deliverable") or "media")
        bar = self.jobs.get(str(data.get("job_id"))) or self.bars.get(what)
        if self.progress is not None and bar is not None:
            self.progress.update(bar, completed=1.0)
        where = data.get("path") or (f"asset {data['asset_id']}" if data.get("asset_id") else "")
        line = f"[green]saved[/] {what}" + (f" -> {where}" if where else "")
        (self.progress.console if self.progress is not None else self.console).print(line)

    def _on_notice(self, data: dict[str, Any]) -> None:
        self._end_line()
        self.console.print(f"[yellow]! {data['text']}[/]")

    def _on_gate(self, data: dict[str, Any]) -> None:
        self._end_line()
        self._stop_progress()
        self.console.print(
            f"[bold]Waiting for you at the {data['gate']} gate:[/] {data.get('message', '')}"
        )
