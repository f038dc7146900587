"""The launch kit's `studio run` options (`--niche`, `--audience`, `--keyword`, `--trends`) as
`settings.launch`, checked before a thread exists."""

from __future__ import annotations

from pathlib import Path

from pydantic import TypeAdapter, ValidationError

from graph.launch_settings import LaunchSettings, parse_trends_csv

_LAUNCH: TypeAdapter[LaunchSettings] = TypeAdapter(LaunchSettings)
_FLAGS = {"niche": "--niche", "audience": "--audience", "keywords": "--keyword"}


def launch_options(
    niche: str | None, audience: str | None, keywords: list[str], trends: Path | None
) -> LaunchSettings:
    """`settings.launch` from the options given (empty when none was); ValueError names the
    option and, for a trend CSV, the bad row (`--trends figures.csv: row 2 (line 3): ...`)."""
    options: dict[str, object] = {}
    if niche is not None:
        options["niche"] = " ".join(niche.split())
    if audience is not None:
        options["audience"] = " ".join(audience.split())
    if keywords:
        options["keywords"] = [" ".join(k.split()) for k in keywords]
    if trends is not None:
        try:
            text = trends.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            reason = "not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else exc.strerror
            raise ValueError(f"--trends {trends}: cannot read it ({reason})") from None
        try:
            options["figures"] = parse_trends_csv(text)
        except ValueError as exc:
            raise ValueError(f"--trends {trends}: {exc}") from None
    try:
        return _LAUNCH.validate_python(options)
    except ValidationError as exc:
        error = exc.errors()[0]
        key = str(error["loc"][0]) if error["loc"] else ""
        raise ValueError(f"{_FLAGS.get(key, key)}: {error['msg']}") from None
