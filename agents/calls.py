"""How a node talks to its role's model: persona speech (streamed) and structured answers.

Failures, in one place:
- transient ones (server unreachable, 5xx, an error line mid-stream) are retried with backoff
  (`tenacity`), the whole message each time, so a broken stream is never half-kept;
- what remains becomes a `StudioError`: `ServiceUnavailable` is retried by the graph's
  `RetryPolicy`, then ends the run with the thread saved and resumable;
- a missing model silences one persona only: `speak` returns a gap note instead of raising,
  and `structured` uses the caller's `fallback` when it has one (Lens does; the planner and
  Pixel have none, so their failures end the run clearly).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import Any, TypeVar

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from pydantic import BaseModel
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from adapters.errors import ModelNotFound, StructuredOutputError, StudioError
from agents.prompts import GAP
from graph.context import StudioContext
from graph.emit import notice
from graph.state import PERSONAS, StudioState

Schema = TypeVar("Schema", bound=BaseModel)
T = TypeVar("T")


def overrides(state: StudioState) -> dict[str, str]:
    """The thread's model assignment (role id -> model name)."""
    return dict((state.get("settings") or {}).get("models") or {})


def _tokens(message: Any) -> int:
    usage = getattr(message, "usage_metadata", None) or {}
    return int(usage.get("total_tokens", 0))


async def call_model(
    context: StudioContext, state: StudioState, role: str, call: Callable[[], Awaitable[T]]
) -> T:
    """Run one model call with retries on transient failures; raise a `StudioError` after."""
    models = context.models
    name = models.model_name(role, overrides(state))
    plan = models.retry

    def announce(retry_state: RetryCallState) -> None:
        outcome = retry_state.outcome
        failure = outcome.exception() if outcome is not None else None
        wait = retry_state.next_action.sleep if retry_state.next_action else 0.0
        error = models.translate(failure, name) if failure is not None else None
        # the first clause says what failed; the advice after it is for when retries run out
        why = error.message.split(";")[0] if error is not None else str(failure)
        # clients drop the tokens they already showed for this message: it starts over
        notice(
            f"{PERSONAS.get(role, role)}'s message failed ({why}); retrying in {wait:.1f}s.",
            level="warning",
            code="message_retry",
        )

    retrying = AsyncRetrying(
        stop=stop_after_attempt(plan.attempts),
        wait=wait_exponential(multiplier=plan.backoff_s, max=30.0) + wait_random(0, plan.backoff_s),
        retry=retry_if_exception(models.transient),
        before_sleep=announce,
        reraise=True,
    )
    try:
        async for attempt in retrying:
            with attempt:
                return await call()
    except Exception as exc:
        error = models.translate(exc, name)
        if error is None or error is exc:
            raise
        raise error from exc
    raise AssertionError("unreachable: tenacity either returns or re-raises")


def gap_note(role: str, error: StudioError) -> AIMessage:
    """The chat note that stands in for a persona whose model is missing."""
    who = PERSONAS.get(role, role)
    return AIMessage(
        content=f"{who} cannot take part right now: {error.message}. The others carry on.",
        name=role,
        additional_kwargs={GAP: error.code},
    )


async def speak(
    context: StudioContext, state: StudioState, role: str, prompt: Sequence[BaseMessage]
) -> tuple[AIMessage, int]:
    """One persona turn. Tokens reach clients through the graph's `messages` stream, tagged
    with the persona; the finished message is returned named by role id. A missing model
    yields a gap note (and a notice) instead of an error, so the session goes on."""
    model = context.models.for_role(role, overrides(state))
    config: Any = {"tags": [f"persona:{role}"], "metadata": {"persona": role}}
    try:
        reply = await call_model(context, state, role, lambda: model.ainvoke(list(prompt), config))
    except ModelNotFound as exc:
        notice(exc.message, level="warning", code=exc.code)
        return gap_note(role, exc), 0
    text = reply.content if isinstance(reply.content, str) else str(reply.content)
    return AIMessage(content=text.strip(), name=role, id=reply.id), _tokens(reply)


async def structured(
    context: StudioContext,
    state: StudioState,
    role: str,
    schema: type[Schema],
    prompt: Sequence[BaseMessage],
    *,
    fallback: Callable[[StudioError], Schema] | None = None,
) -> tuple[Schema, int]:
    """A structured answer validated against `schema`; one retry carries the validation error.

    Structured calls are tagged `nostream` so clients never see raw JSON tokens. Without a
    `fallback`, a missing model or a hopeless answer raises; with one, its value is used and
    the person is told why.
    """
    model = context.models.for_role(role, overrides(state))
    runnable = model.with_structured_output(schema, method="json_schema", include_raw=True)
    config: Any = {"tags": ["nostream", f"persona:{role}"], "metadata": {"persona": role}}
    messages = list(prompt)
    tokens, error = 0, ""
    try:
        for _attempt in range(2):
            call = partial(runnable.ainvoke, messages, config=config)
            result: Any = await call_model(context, state, role, call)
            tokens += _tokens(result.get("raw"))
            parsed = result.get("parsed")
            if isinstance(parsed, schema):
                return parsed, tokens
            error = str(result.get("parsing_error") or "the answer did not match the schema")
            messages = [
                *list(prompt),
                HumanMessage(
                    f"Your previous answer was invalid: {error[:500]}. Answer again with JSON "
                    "that matches the schema exactly."
                ),
            ]
        raise StructuredOutputError(
            f"{PERSONAS.get(role, role)} could not produce a valid "
            f"{schema.model_config.get('title') or schema.__name__} "
            f"({error[:200]}); try again or assign a stronger model to this role"
        )
    except (ModelNotFound, StructuredOutputError) as exc:
        if fallback is None:
            raise
        notice(exc.message, level="warning", code=exc.code)
        return fallback(exc), tokens
