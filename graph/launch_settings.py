"""A thread's format and the launch kit's settings: the part of `ThreadSettings` they add; and
the script the kit goes on with (read by its gates and its team)."""

from __future__ import annotations

import csv
import io
import re
from typing import Annotated, Any, Literal, get_args

from pydantic import AfterValidator, ConfigDict, Field, with_config
from typing_extensions import TypedDict

Format = Literal["images", "launch", "video"]
"""What a session makes: a set of images (the default) or a video's launch kit. A new format
is one more name here and a branch in `graph.launch.entry_for`."""
FORMATS: tuple[str, ...] = get_args(Format)

Provider = Literal["simulated", "manual"]
"""Where the A/B test's observations come from: the seeded simulator, or figures the person
posts (`POST /threads/{id}/experiment/observations`, JSON or CSV)."""

_Text = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")]
_STRICT = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


@with_config(_STRICT)
class TrendFigure(TypedDict, total=False):
    """One row of search/view figures the person supplies for the trend step."""

    keyword: _Text
    searches: Annotated[int, Field(ge=0)]
    views: Annotated[int, Field(ge=0)]


MAX_FIGURES = 50
"""The most trend rows a kit takes (JSON `figures` or a CSV)."""
MAX_FIGURE = 10**12
_COLUMNS = {
    "keyword": "keyword",
    "query": "keyword",
    "search term": "keyword",
    "searches": "searches",
    "search volume": "searches",
    "monthly searches": "searches",
    "views": "views",
}
"""Header names a trend CSV may use (case, spaces and underscores aside) -> the field."""


def _figure(value: str, column: str, where: str) -> int | None:
    text = re.sub(r"[\s,_]", "", value)
    if not text:
        return None
    if not text.isdigit() or int(text) > MAX_FIGURE:
        raise ValueError(f"{where}: {column} must be a whole number of at least 0; got {value!r}")
    return int(text)


def parse_trends_csv(text: str) -> list[TrendFigure]:
    """Trend figures from a CSV the person supplies: a header with `keyword` and `searches`
    and/or `views` (other columns ignored), one keyword a row. A bad row is a ValueError
    naming it (`row 2 (line 3): ...`), as the A/B test's observation CSVs do."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = next(reader, [])
    fields = [_COLUMNS.get(re.sub(r"[\s_]+", " ", h.strip().lower())) for h in header]
    if "keyword" not in fields or not {"searches", "views"} & set(fields):
        raise ValueError(
            "line 1: the header needs keyword and searches and/or views (keyword,searches,views)"
        )
    rows: list[TrendFigure] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate((r for r in reader if any(c.strip() for c in r)), start=1):
        where = f"row {number} (line {reader.line_num})"
        cells = {f: c.strip() for f, c in zip(fields, raw, strict=False) if f}
        keyword = " ".join(cells.get("keyword", "").split())
        if not keyword:
            raise ValueError(f"{where}: the keyword is empty")
        if len(keyword) > 200 or not keyword.isprintable():
            raise ValueError(f"{where}: the keyword must be printable text up to 200 characters")
        if keyword.lower() in seen:
            raise ValueError(f"{where}: {keyword!r} is already row {seen[keyword.lower()]}")
        seen[keyword.lower()] = number
        row: TrendFigure = {"keyword": keyword}
        for column in ("searches", "views"):
            value = _figure(cells.get(column, ""), column, where)
            if value is not None:
                row[column] = value
        if len(row) == 1:
            raise ValueError(f"{where}: {keyword!r} has no searches or views")
        rows.append(row)
    if not rows:
        raise ValueError("the CSV has no data rows (keyword,searches,views)")
    if len(rows) > MAX_FIGURES:
        raise ValueError(f"at most {MAX_FIGURES} keywords; got {len(rows)}")
    return rows


def _checked_csv(text: str) -> str:
    parse_trends_csv(text)
    return text


@with_config(_STRICT)
class LaunchSettings(TypedDict, total=False):
    """The launch kit's options (`settings.launch`); every one has a default."""

    topic: _Text
    """What the video is about; default: the brief after "launch a video about"."""
    niche: _Text
    """The channel's niche ("home coffee", "budget travel")."""
    audience: _Text
    """Who watches ("beginners on a budget")."""
    keywords: Annotated[list[_Text], Field(max_length=20)]
    """Keywords the person knows are searched (no figures: the trend step names them)."""
    figures: Annotated[list[TrendFigure], Field(max_length=MAX_FIGURES)]
    """Search/view figures per keyword the person supplies; the only numbers trends show."""
    figures_csv: Annotated[str, Field(max_length=200_000), AfterValidator(_checked_csv)]
    """The same figures as a CSV (`keyword,searches,views`, e.g. a search tool's export);
    a bad row is refused naming it. Its rows join `figures`."""
    provider: Provider
    timeout_hours: Annotated[float, Field(gt=0, le=24 * 90)]
    """The A/B test stops at this age (default 72)."""
    poll_seconds: Annotated[float, Field(ge=1, le=24 * 3600)]
    """How often the simulator reports (default 5)."""


def chosen_script(launch: dict[str, Any]) -> dict[str, Any]:
    """The script the person chose at the scripts gate, else the first one written."""
    scripts: dict[str, dict[str, Any]] = {s["id"]: s for s in launch.get("scripts") or []}
    return scripts.get(str(launch.get("chosen_script"))) or next(iter(scripts.values()))
