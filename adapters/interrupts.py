"""LangGraph's resume by interrupt id, as plain data: one rule for the engine and the trail."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

INTERRUPT_ID = re.compile(r"[0-9a-f]{32}")
"""What an interrupt's id looks like (LangGraph: an xxh3-128 hex digest)."""


def is_id_map(resume: Any) -> bool:
    """LangGraph's rule: a dict whose keys all look like interrupt ids resumes by id."""
    return (
        isinstance(resume, dict)
        and bool(resume)
        and all(isinstance(k, str) and INTERRUPT_ID.fullmatch(k) for k in resume)
    )


def keyed_answer(resume: Any) -> tuple[str, dict[str, Any]] | None:
    """`(interrupt_id, answer)` when `resume` answers one gate by its id
    (`{interrupt_id: answer}`, as the CLI and the page send it), else None."""
    if not is_id_map(resume) or len(resume) != 1:
        return None
    ((key, value),) = resume.items()
    return (key, dict(value)) if isinstance(value, Mapping) else None
