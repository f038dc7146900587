"""Text for people: shortened at a boundary, never mid-word."""

from __future__ import annotations


def clipped(text: str, limit: int) -> str:
    """`text` within `limit` characters, cut after its last whole item ("; ") or word, with
    an ellipsis, never mid-word."""
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    cut = head.rfind("; ")
    cut = cut if cut > limit // 2 else head.rfind(" ")
    return (head[:cut] if cut > 0 else head).rstrip(" ;,") + "…"
