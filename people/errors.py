"""Typed errors of accounts and limits (the HTTP edge maps them: 403 and 429)."""

from __future__ import annotations

from adapters.errors import StudioError


class Forbidden(StudioError):
    """The caller is known but their role (or grant) does not allow this."""

    code = "forbidden"


class LimitReached(StudioError):
    """A per-user limit (request rate, concurrent runs, daily generations) or the sign-in
    throttle: try again after `retry_after` seconds."""

    code = "too_many_requests"
    retryable = True

    def __init__(self, message: str, *, retry_after: int, limit: str) -> None:
        super().__init__(message)
        self.retry_after = max(1, retry_after)
        self.limit = limit
