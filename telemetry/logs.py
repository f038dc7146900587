"""Log lines as text (the default) or JSON (`STUDIO_LOG_FORMAT=json`), with context, no secrets.

Every line carries the context of what caused it (`telemetry.context`: request, thread, run,
node, iteration, user), and whatever looks like a secret is replaced by `[redacted]` before it
is written, in either format: bearer tokens and `Authorization` headers, `access_token`,
`token`, `sig` and similar query parameters, passwords (fields, `password=` pairs, the password
of a URL such as a `DATABASE_URL`), API keys.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from telemetry import context

LogFormat = Literal["text", "json"]
REDACTED = "[redacted]"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"

SECRET_NAMES = (
    "access_token|refresh_token|id_token|token|sig|signature|password|passwd|secret"
    "|api_key|apikey|x-api-key|authorization|studio_session"
)
"""Names whose value is a secret, as a query parameter, a `name=value` pair, a JSON or dict
field or a header (compared case-insensitively)."""
_SECRET_KEY = re.compile(
    rf"^(?:{SECRET_NAMES}|cookie)$|(?:^|_)(?:token|password|secret|api_key)$", re.IGNORECASE
)
"""A field name whose value is redacted whole (`token_hash` and `tokens` are not secrets)."""
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # Authorization: Bearer abc / 'authorization': 'Basic abc' / X-Api-Key: abc
    (
        re.compile(
            r"""(?P<k>\b(?:proxy-)?authorization\b['"]?\s*[:=]\s*['"]?|\bx-api-key\b['"]?\s*[:=]\s*['"]?)"""
            r"""(?P<v>(?:bearer\s+|basic\s+)?[^\s'",;&]+)""",
            re.IGNORECASE,
        ),
        rf"\g<k>{REDACTED}",
    ),
    # a Cookie header: every cookie in it
    (
        re.compile(r"""(?P<k>\b(?:set-)?cookie\b['"]?\s*[:=]\s*['"]?)[^'"\n]+""", re.IGNORECASE),
        rf"\g<k>{REDACTED}",
    ),
    # a bare bearer credential anywhere
    (re.compile(r"(?P<k>\bbearer\s+)[A-Za-z0-9._~+/=-]+", re.IGNORECASE), rf"\g<k>{REDACTED}"),
    # ?access_token=...&sig=... and password=... pairs
    (
        re.compile(
            rf"(?P<k>(?<![A-Za-z0-9_-])(?:{SECRET_NAMES})=)(?P<v>[^\s&'\",;)}}]+)",
            re.IGNORECASE,
        ),
        rf"\g<k>{REDACTED}",
    ),
    # "token": "..." / 'password': '...' in JSON or a dict's repr (the quotes kept)
    (
        re.compile(
            rf"""(?P<k>['"](?:{SECRET_NAMES})['"]\s*:\s*)(?:(?P<q>['"])(?:(?!(?P=q)).)*(?P=q)|[^\s,}}]+)""",
            re.IGNORECASE,
        ),
        rf"\g<k>\g<q>{REDACTED}\g<q>",
    ),
    # a one-time sign-in link's code in a URL (`/auth/link?code=sl_...`)
    (re.compile(r"(?P<k>[?&]code=)[^\s&'\",;)]+"), rf"\g<k>{REDACTED}"),
    # the studio's own credentials wherever they appear: thread tokens (`st_`), personal
    # access tokens (`spat_`), grants (`sg_`), sessions (`sss_`), sign-in codes (`sl_`)
    (re.compile(r"\b(?:st|sg|spat|sss|sl)_[A-Za-z0-9_-]{20,}"), REDACTED),
    # the password in scheme://user:password@host
    (re.compile(r"(?P<k>\b[a-z][a-z0-9+.-]*://[^:/\s@]*:)[^@\s/]+(?=@)"), rf"\g<k>{REDACTED}"),
]


def scrub(text: str) -> str:
    """`text` with every secret it seems to carry replaced by `[redacted]`."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def scrub_value(value: Any, key: str = "") -> Any:
    """A JSON-safe copy of `value` with secrets redacted: values under secret-looking keys
    whole, strings by `scrub`."""
    if key and _SECRET_KEY.search(key) and value not in (None, ""):
        return REDACTED
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, bool | int | float) or value is None:
        return value
    if isinstance(value, Mapping):
        return {str(k): scrub_value(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [scrub_value(v) for v in value]
    return scrub(str(value))


_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {
    "message",
    "asctime",
    "taskName",
    "color_message",  # uvicorn's copy of the message with terminal colours
}
"""Attributes every `LogRecord` has (or that only repeat it); the rest came as `extra=`."""
QUIET = {"pgserver": logging.WARNING}
"""Libraries whose INFO lines are their own business (pgserver logs whole `initdb` outputs)."""


class ContextFilter(logging.Filter):
    """Stamp each record with the context it was logged in (`record.context`); attach it to
    handlers, so records from every logger (uvicorn's too) get it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "context"):
            record.context = context.current()
        return True


def _context_of(record: logging.LogRecord) -> dict[str, Any]:
    found = getattr(record, "context", None)
    return dict(found) if isinstance(found, dict) else context.current()


RUN_FIELDS = ("thread_id", "run_id", "node", "iteration", "user")
"""What every JSON line logged during a run has (null when not known, e.g. between nodes)."""


class TextFormatter(logging.Formatter):
    """The human format (`time LEVEL logger message`), then the context as `key=value`,
    secrets redacted."""

    def __init__(self, fmt: str | None = TEXT_FORMAT, datefmt: str | None = None) -> None:
        super().__init__(fmt, datefmt)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        where = " ".join(f"{k}={v}" for k, v in _context_of(record).items())
        if where:
            head, newline, rest = line.partition("\n")  # after the message, before a traceback
            line = f"{head} [{where}]{newline}{rest}"
        return scrub(line)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: `ts` (UTC, ISO 8601), `level`, `logger`, `message`, the
    context fields (`request_id`, `thread_id`, `run_id`, `node`, `iteration`, `user`, the ones
    that are set), any `extra=` fields, `exc` (the traceback) and, for uvicorn's access log,
    `http` (`client`, `method`, `path`, `status`)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": scrub(record.getMessage()),
        }
        found = _context_of(record)
        if "run_id" in found:
            line.update(dict.fromkeys(RUN_FIELDS))
        line.update(found)
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key != "context" and key not in line:
                line[key] = scrub_value(value, key)
        if record.name == "uvicorn.access" and isinstance(record.args, tuple):
            line["http"] = _access(record.args)
        if record.exc_info:
            line["exc"] = scrub(self.formatException(record.exc_info))
        elif record.exc_text:
            line["exc"] = scrub(record.exc_text)
        if record.stack_info:
            line["stack"] = scrub(self.formatStack(record.stack_info))
        return json.dumps(line, ensure_ascii=False, default=str)


def _access(args: tuple[Any, ...]) -> dict[str, Any]:
    """uvicorn's access record args: `(client, method, path with query, http version, status)`."""
    if len(args) != 5:
        return {}
    client, method, path, _version, status = args
    return {
        "client": str(client),
        "method": str(method),
        "path": scrub(str(path)),
        "status": status,
    }


def formatter(log_format: LogFormat) -> logging.Formatter:
    return JsonFormatter() if log_format == "json" else TextFormatter()


def configure(
    log_format: LogFormat = "text", *, level: int = logging.INFO, filename: Path | None = None
) -> logging.Handler:
    """Send the root logger's records to stderr (or `filename`), formatted as `log_format`,
    with context and without secrets. Replaces the handler an earlier call installed."""
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "studio", False):
            root.removeHandler(old)
            old.close()
    handler: logging.Handler = (
        logging.FileHandler(filename, encoding="utf-8")
        if filename is not None
        else logging.StreamHandler(sys.stderr)
    )
    handler.studio = True  # type: ignore[attr-defined]
    handler.setFormatter(formatter(log_format))
    handler.addFilter(ContextFilter())
    root.addHandler(handler)
    root.setLevel(level)
    for name, quiet in QUIET.items():
        logging.getLogger(name).setLevel(quiet)
    return handler


def uvicorn_log_config(log_format: LogFormat, *, level: str = "INFO") -> dict[str, Any]:
    """A `logging.config.dictConfig` for `uvicorn.run(log_config=...)`: uvicorn's loggers and
    ours (`studio`, the root) all write to stderr in `log_format`, with context, no secrets.
    Each uvicorn worker process applies it for itself."""
    kind = "Json" if log_format == "json" else "Text"
    handler = {
        "class": "logging.StreamHandler",
        "formatter": "studio",
        "filters": ["context"],
        "stream": "ext://sys.stderr",
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": "telemetry.logs.ContextFilter"}},
        "formatters": {"studio": {"()": f"telemetry.logs.{kind}Formatter"}},
        "handlers": {"studio": handler},
        "loggers": {
            "uvicorn": {"handlers": ["studio"], "level": level, "propagate": False},
            "uvicorn.error": {"level": level},
            "uvicorn.access": {"handlers": ["studio"], "level": level, "propagate": False},
            **{name: {"level": logging.getLevelName(quiet)} for name, quiet in QUIET.items()},
        },
        "root": {"handlers": ["studio"], "level": level},
    }
