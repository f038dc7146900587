"""The CLI's live view: a stored output fills its progress bar and says what was saved (the
file, else the asset id), never "-> None"."""

from __future__ import annotations

import io
import json
from typing import Any

from rich.console import Console

from api.cli.live import LiveView
from engine.eventlog import Record


def view() -> tuple[LiveView, io.StringIO]:
    out = io.StringIO()
    return LiveView(Console(file=out, width=200, force_terminal=False)), out


def show(live: LiveView, event: str, **data: Any) -> None:
    live.show(Record(0, None, "studio", event, json.dumps(data)))


def test_a_saved_thumbnail_fills_its_bar_and_names_its_file() -> None:
    live, out = view()
    for variant in ("face-focused", "bold-text"):
        show(live, "progress", deliverable=variant, job_id=f"t:launch:{variant}:1", fraction=0.0)
    show(live, "asset", asset_id="2aa876d0ff", deliverable="face-focused",
         job_id="t:launch:face-focused:1", path="/home/assets/2a/2aa876d0ff.png")  # fmt: skip
    assert live.progress is not None
    done = {t.description: t.completed for t in live.progress.tasks}
    assert done == {"generating face-focused": 1.0, "generating bold-text": 0.0}
    show(live, "asset", asset_id="9075ad4d11", deliverable="bold-text")  # an older log: no job id
    assert all(t.completed == 1.0 for t in live.progress.tasks)
    live.close()
    text = out.getvalue()
    assert "saved face-focused -> /home/assets/2a/2aa876d0ff.png" in text
    assert "saved bold-text -> asset 9075ad4d11" in text and "None" not in text
    assert "100%" in text and " 0%" not in text


def test_an_asset_without_a_bar_is_still_named() -> None:
    live, out = view()
    show(live, "asset", deliverable="video:animation", asset_id="abc", path="/a/b.mp4")
    assert live.progress is None
    assert "saved video:animation -> /a/b.mp4" in out.getvalue()
