"""The deliverables a person asked for, read exactly: a settings list (`"hero 16:9"`) or the
counts and formats a brief names ("two hero banners and one thumbnail"). Every planner (the
built-in model, and the guard on an LLM planner) and every edge that validates input uses this
one parser: `parse_deliverables` raises a readable `ValueError`; `deliverables_in` never raises.
"""

from adapters.deliverables.brief import Request, deliverables_in, without_deliverables
from adapters.deliverables.formats import (
    ASPECTS,
    DEFAULTS,
    FORMATS,
    MAX_DELIVERABLES,
    Requested,
    nearest_aspect,
    slug,
)
from adapters.deliverables.settings import (
    REQUIRED,
    describe,
    parse_deliverables,
    read_deliverables,
    required_in,
    required_line,
)

__all__ = [
    "ASPECTS",
    "DEFAULTS",
    "FORMATS",
    "MAX_DELIVERABLES",
    "REQUIRED",
    "Request",
    "Requested",
    "deliverables_in",
    "describe",
    "nearest_aspect",
    "parse_deliverables",
    "read_deliverables",
    "required_in",
    "required_line",
    "slug",
    "without_deliverables",
]
