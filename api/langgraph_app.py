"""Entry points for `langgraph dev` / LangGraph Studio (named in `langgraph.json`)."""

from __future__ import annotations

from graph.builder import StudioGraph, build_graph


def make_graph() -> StudioGraph:
    """The studio graph without a checkpointer: `langgraph dev` refuses graphs that bring one."""
    return build_graph()
