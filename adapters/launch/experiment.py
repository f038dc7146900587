"""The A/B test as plain, checkpoint-safe data: open it, add observations, decide, end it.

Times are ISO 8601 strings in UTC; "now" always comes from the caller (the context's clock), so
a test's deadline survives restarts and tests move time on instead of sleeping.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from adapters.launch.stats import AUTO_CONFIDENCE, MANUAL_CONFIDENCE, analyse, rounded

TIMEOUT_HOURS = 72.0
POLL_SECONDS = 5.0
MAX_ROWS = 1000
MAX_COUNT = 10**9
KEPT_BATCHES = 200
"""Batches kept in the state for the record (the counts always hold every batch)."""


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def when(text: str) -> datetime:
    return datetime.fromisoformat(text)


def open_test(
    now: datetime,
    variants: list[str],
    *,
    provider: str = "simulated",
    timeout_hours: float = TIMEOUT_HOURS,
    poll_seconds: float = POLL_SECONDS,
    seed: int = 7,
    polls_seed: int | None = None,
) -> dict[str, Any]:
    """A running test of `variants`, ending by `timeout_hours` from `now` at the latest. A
    simulated test's CTRs come from `seed`, its polls from `polls_seed` (the thread's)."""
    simulated = provider == "simulated"
    test: dict[str, Any] = {
        "status": "running",
        "provider": provider,
        "simulated": simulated,
        "variants": list(variants),
        "started_at": iso(now),
        "deadline": iso(now + timedelta(hours=timeout_hours)),
        "timeout_hours": timeout_hours,
        "poll_seconds": poll_seconds,
        "next_poll_at": iso(now + timedelta(seconds=poll_seconds)) if simulated else None,
        "polls": 0,
        "seed": seed,
        "polls_seed": seed if polls_seed is None else polls_seed,
        "counts": {v: [0, 0] for v in variants},
        "batches": [],
        "batch_count": 0,
        "winner": None,
        "ended_at": None,
        "end_reason": None,
        "error": "",
    }
    return {**test, "analysis": rounded(analyse(_rows(test)))}


def _rows(test: Mapping[str, Any]) -> list[tuple[str, int, int]]:
    return [(v, int(n), int(c)) for v, (n, c) in test["counts"].items()]


def observe(
    test: Mapping[str, Any], rows: Iterable[Mapping[str, Any]], source: str, now: datetime
) -> dict[str, Any]:
    """The test with a batch of (already checked) rows added and its statistics redone."""
    counts = {v: list(nc) for v, nc in test["counts"].items()}
    kept = []
    for row in rows:
        n, c = counts[str(row["variant"])]
        counts[str(row["variant"])] = [n + int(row["impressions"]), c + int(row["clicks"])]
        kept.append({k: row[k] for k in ("variant", "impressions", "clicks")})
    polled = source == "simulated"
    batch = {"at": iso(now), "source": source, "rows": kept}
    updated = {
        **test,
        "counts": counts,
        "batches": [*test["batches"], batch][-KEPT_BATCHES:],
        "batch_count": int(test.get("batch_count", 0)) + 1,
        "polls": int(test["polls"]) + (1 if polled else 0),
        "error": "",
    }
    if test.get("simulated"):
        updated["next_poll_at"] = iso(now + timedelta(seconds=float(test["poll_seconds"])))
    updated["analysis"] = rounded(analyse(_rows(updated)))
    return updated


def expired(test: Mapping[str, Any], now: datetime) -> bool:
    return now >= when(str(test["deadline"]))


def due(test: Mapping[str, Any], now: datetime) -> bool:
    """Whether a timer should wake the test now: its deadline, or the simulator's next poll."""
    if test.get("status") != "running":
        return False
    polling = bool(test.get("next_poll_at")) and now >= when(str(test["next_poll_at"]))
    return expired(test, now) or polling


def confidence(test: Mapping[str, Any]) -> float:
    return float(test["analysis"]["confidence"])


def leader(test: Mapping[str, Any]) -> str | None:
    found = test["analysis"].get("leader")
    return str(found) if found else None


def auto_winner(test: Mapping[str, Any]) -> str | None:
    """The leader, once confidence reaches `AUTO_CONFIDENCE`."""
    return leader(test) if confidence(test) >= AUTO_CONFIDENCE else None


def refuse_declare(test: Mapping[str, Any], variant: str | None) -> str | None:
    """Why a person may not declare `variant` (default: the leader) the winner now, or None."""
    lead = leader(test)
    shown = confidence(test)
    if lead is None:
        return "There are no observations yet; nothing can be declared."
    if variant and variant != lead:
        return f"Only the leader can be declared: {lead} leads, not {variant}."
    if shown < MANUAL_CONFIDENCE:
        return (
            f"Confidence is {shown:.1%}; a winner can be declared by hand from "
            f"{MANUAL_CONFIDENCE:.0%} (automatically at {AUTO_CONFIDENCE:.0%})."
        )
    return None


def end(test: Mapping[str, Any], now: datetime, reason: str, winner: str | None) -> dict[str, Any]:
    """The test, ended: `reason` is winner (auto), declared (by hand), timeout or stopped."""
    status = {"timeout": "timed_out", "stopped": "stopped"}.get(reason, "winner")
    if reason == "timeout":  # it ran until its deadline, however late the timer noticed
        now = min(now, when(str(test["deadline"])))
    return {
        **test,
        "status": status,
        "winner": winner,
        "ended_at": iso(now),
        "end_reason": reason,
        "next_poll_at": None,
        "error": "",
    }


def hours(test: Mapping[str, Any], now: datetime | None = None) -> float:
    """How long the test ran (or has run by `now`), in hours."""
    ended = test.get("ended_at")
    stop = when(str(ended)) if ended else (now or when(str(test["started_at"])))
    return round((stop - when(str(test["started_at"]))).total_seconds() / 3600, 3)


def view(test: Mapping[str, Any], now: datetime | None = None) -> dict[str, Any]:
    """What the dashboard, the API and the export show of the test."""
    return {
        "status": test["status"],
        "provider": test["provider"],
        "simulated": bool(test["simulated"]),
        "data": "simulated" if test["simulated"] else "observed",
        "variants": test["analysis"]["variants"],
        "leader": test["analysis"].get("leader"),
        "confidence": test["analysis"]["confidence"],
        "impressions": test["analysis"]["impressions"],
        "clicks": test["analysis"]["clicks"],
        "method": test["analysis"]["method"],
        "thresholds": {"auto": AUTO_CONFIDENCE, "manual": MANUAL_CONFIDENCE},
        "can_declare": test["status"] == "running" and refuse_declare(test, None) is None,
        "winner": test.get("winner"),
        "end_reason": test.get("end_reason"),
        "started_at": test["started_at"],
        "deadline": test["deadline"],
        "ended_at": test.get("ended_at"),
        "hours": hours(test, now),
        "polls": test["polls"],
        "batches": test.get("batch_count", len(test["batches"])),
        "error": test.get("error", ""),
    }


def check_rows(rows: Any, variants: list[str]) -> list[dict[str, Any]]:
    """Rows `{variant, impressions, clicks}` (added to the totals), or ValueError naming the row
    (1-based) and what is wrong with it."""
    if not isinstance(rows, list) or not rows:
        raise ValueError("rows: give at least one row {variant, impressions, clicks}")
    if len(rows) > MAX_ROWS:
        raise ValueError(f"rows: at most {MAX_ROWS} rows at a time; got {len(rows)}")
    checked = []
    for number, row in enumerate(rows, start=1):
        checked.append(_check_row(row, variants, f"row {number}"))
    return checked


def _count(row: Mapping[str, Any], key: str, where: str) -> int:
    value = row.get(key)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
        raise ValueError(
            f"{where}: {key} must be a whole number from 0 to {MAX_COUNT}; got {value!r}"
        )
    return value


def _check_row(row: Any, variants: list[str], where: str) -> dict[str, Any]:
    if not isinstance(row, Mapping):
        raise ValueError(f"{where}: expected {{variant, impressions, clicks}}")
    variant = str(row.get("variant", "")).strip()
    if variant not in variants:
        raise ValueError(
            f"{where}: unknown variant {variant!r}; the test has {', '.join(variants)}"
        )
    impressions = _count(row, "impressions", where)
    clicks = _count(row, "clicks", where)
    if clicks > impressions:
        raise ValueError(f"{where}: clicks ({clicks}) exceed impressions ({impressions})")
    return {"variant": variant, "impressions": impressions, "clicks": clicks}


def parse_csv(text: str, variants: list[str]) -> list[dict[str, Any]]:
    """Rows from a CSV with a `variant,impressions,clicks` header (other columns ignored); a bad
    row is a ValueError naming it (`row 2 (line 3): ...`)."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = [c for c in ("variant", "impressions", "clicks") if c not in header]
    if missing:
        raise ValueError(
            f"line 1: the header needs {', '.join(missing)} (variant,impressions,clicks)"
        )
    rows = []
    for number, raw in enumerate(reader, start=1):
        row = {str(k).strip().lower(): (v or "").strip() for k, v in raw.items() if k}
        if not any(row.values()):
            continue
        rows.append(_check_row(row, variants, f"row {number} (line {reader.line_num})"))
    if not rows:
        raise ValueError("the CSV has no data rows")
    if len(rows) > MAX_ROWS:
        raise ValueError(f"at most {MAX_ROWS} rows at a time; got {len(rows)}")
    return rows
