"""How a node talks to its role's model: persona speech (streamed) and structured answers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from pydantic import BaseModel

from adapters.errors import StructuredOutputError
from graph.context import StudioContext
from graph.state import StudioState

Schema = TypeVar("Schema", bound=BaseModel)


def _overrides(state: StudioState) -> dict[str, str]:
    return dict((state.get("settings") or {}).get("models") or {})


def _tokens(message: Any) -> int:
    usage = getattr(message, "usage_metadata", None) or {}
    return int(usage.get("total_tokens", 0))


async def speak(
    context: StudioContext, state: StudioState, role: str, prompt: Sequence[BaseMessage]
) -> tuple[AIMessage, int]:
    """One persona turn. Tokens reach clients through the graph's `messages` stream, tagged
    with the persona; the finished message is returned named by role id."""
    model = context.models.for_role(role, _overrides(state))
    reply = await model.ainvoke(
        list(prompt), config={"tags": [f"persona:{role}"], "metadata": {"persona": role}}
    )
    text = reply.content if isinstance(reply.content, str) else str(reply.content)
    return AIMessage(content=text.strip(), name=role, id=reply.id), _tokens(reply)


async def structured(
    context: StudioContext,
    state: StudioState,
    role: str,
    schema: type[Schema],
    prompt: Sequence[BaseMessage],
) -> tuple[Schema, int]:
    """A structured answer validated against `schema`; one retry carries the validation error.

    Structured calls are tagged `nostream` so clients never see raw JSON tokens."""
    model = context.models.for_role(role, _overrides(state))
    runnable = model.with_structured_output(schema, method="json_schema", include_raw=True)
    config: Any = {"tags": ["nostream", f"persona:{role}"], "metadata": {"persona": role}}
    messages = list(prompt)
    tokens, error = 0, ""
    for _attempt in range(2):
        result: Any = await runnable.ainvoke(messages, config=config)
        tokens += _tokens(result.get("raw"))
        parsed = result.get("parsed")
        if isinstance(parsed, schema):
            return parsed, tokens
        error = str(result.get("parsing_error") or "the answer did not match the schema")
        messages = [
            *list(prompt),
            HumanMessage(
                f"Your previous answer was invalid: {error[:500]}. Answer again with JSON that "
                "matches the schema exactly."
            ),
        ]
    raise StructuredOutputError(
        f"{role} could not produce a valid {schema.__name__} ({error[:200]}); "
        "try again or assign a stronger model to this role"
    )
