"""Media Lab requests said in a studio thread: "upscale hero-b 2x", "enhance the thumbnail 4x".

The interjection node recognises them (`parse`), answers as Pixel and emits a `media_request`
event; the run engine turns that event into a Media Lab job on the deliverable's current image
(the job's result joins the thread's outputs, with its lineage)."""

from __future__ import annotations

import re
from dataclasses import dataclass

_ASK = re.compile(
    r"^\s*(?:please\s+)?(?:upscale|enhance|upres)\s+(?:the\s+)?(?P<what>[\w-]+)"
    r"(?:\s+(?:by\s+)?(?P<factor>[24])\s*x)?\s*[.!]?\s*$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class MediaAsk:
    """What the person asked of the Media Lab, about one deliverable."""

    kind: str
    deliverable: str
    factor: int = 2


def parse(text: str, deliverables: list[str]) -> MediaAsk | None:
    """The Media Lab request `text` is, if it is one and names a deliverable of the plan."""
    found = _ASK.match(text)
    if found is None:
        return None
    what = found["what"].lower()
    if what not in deliverables:
        return None
    return MediaAsk("upscale", what, int(found["factor"] or 2))
