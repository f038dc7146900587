"""What the format subgraphs that work in legs share: the retry policy and the thread keys."""

from __future__ import annotations

from typing import Annotated, NotRequired

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages
from langgraph.types import RetryPolicy
from typing_extensions import TypedDict

from adapters.errors import ServiceUnavailable
from graph.state import (
    Direction,
    ThreadSettings,
    Usage,
    add_usage,
    advance_phase,
    merge_settings,
)

RETRY = RetryPolicy(max_attempts=3, initial_interval=1.0, retry_on=ServiceUnavailable)
"""For the nodes that call a model or a renderer: a service that is down may come back."""


class LegInput(TypedDict):
    """What a leg reads from the thread (directions are read, never written, here)."""

    brief: NotRequired[str]
    settings: NotRequired[Annotated[ThreadSettings, merge_settings]]
    directions: NotRequired[list[Direction]]
    phase: NotRequired[Annotated[str, advance_phase]]


class LegOutput(TypedDict):
    """What a leg hands back: its own new messages and usage (they start empty each leg, so
    the thread's reducers add exactly this leg's), and the phase."""

    messages: NotRequired[Annotated[list[AnyMessage], add_messages]]
    usage: NotRequired[Annotated[Usage, add_usage]]
    phase: NotRequired[Annotated[str, advance_phase]]
