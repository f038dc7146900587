"""Typed Media Lab errors. All are `InvalidInput` (422 at the API edge) and name what was wrong."""

from __future__ import annotations

from adapters.errors import GenerationFailed, InvalidInput


class MediaInvalidInput(InvalidInput):
    """A Media Lab parameter or input is out of bounds; `field` names it (`target_fps`, `refs[1]`).

    The message starts with the field name, as the API's other 422s do (`field: problem`).
    """

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class UploadRejected(MediaInvalidInput):
    """An upload failed a check by content; `limit` names the check that failed.

    Limits: `type` (not PNG/JPEG/WebP/MP4/WebM/MOV by content), `corrupt` (does not decode),
    `decompression_bomb`, `max_bytes`, `max_pixels`, `max_duration_s`, `max_frames`, `max_fps`.
    """

    def __init__(self, limit: str, problem: str) -> None:
        super().__init__(limit, problem)
        self.limit = limit


class ReferenceUnreadable(MediaInvalidInput):
    """A reference (or blend source) is missing or does not decode; deterministic, not retried.

    `field` is `refs[i]` / `srcs[i]` with the 0-based position of the first bad one.
    """


class MediaFailed(GenerationFailed):
    """The processing itself failed (a backend error, a bad chunk on disk)."""
