"""`OfflineChatModel`: the studio's built-in chat model, a real LangChain `BaseChatModel`.

It reads the same prompts an Ollama model gets and answers from craft knowledge in each
persona's voice: prose for discussion tasks, JSON for a `format` schema (bound exactly the way
`ChatOllama.with_structured_output` binds it). Same seed and messages, same answer.
"""

from __future__ import annotations

import asyncio
import math
import re
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from operator import itemgetter
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.output_parsers import JsonOutputParser, PydanticOutputParser
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable, RunnableMap, RunnablePassthrough
from langchain_core.utils.function_calling import convert_to_json_schema
from pydantic import BaseModel
from typing_extensions import is_typeddict

from adapters.offline import structured
from adapters.offline.personas import speak
from adapters.offline.reading import read
from adapters.offline.scene import rng_for

WORDS_PER_TOKEN = 0.75
_PIECE = re.compile(r"\S+\s*|\s+")
"""A streamed piece: one word with the whitespace after it (pieces join back exactly)."""


def estimate_tokens(text: str) -> int:
    """An honest approximation: ~0.75 words per token, ~4 characters per token for dense JSON."""
    if not text:
        return 0
    return max(1, math.ceil(max(len(text.split()) / WORDS_PER_TOKEN, len(text) / 4)))


def _text(message: BaseMessage) -> str:
    return message.content if isinstance(message.content, str) else str(message.content)


def _cut(text: str, stop: list[str] | None) -> str:
    """Truncate at the first stop sequence, as a server would."""
    cuts = [text.find(s) for s in stop or [] if s and s in text]
    return text[: min(cuts)] if cuts else text


class OfflineChatModel(BaseChatModel):
    """The built-in offline model: an expert system that speaks as each studio persona."""

    seed: int = 7
    """Changes the wording (never the craft facts); same seed + same messages = same answer."""
    token_delay_s: float = 0.0
    """Optional pause per streamed token, for demos and cancellation tests."""
    model_name: str = "studio-offline-1"

    @property
    def _llm_type(self) -> str:
        return "studio-offline"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name, "seed": self.seed}

    def respond(self, messages: Sequence[BaseMessage], schema: Any = None) -> str:
        """The full answer text for `messages`; JSON when `schema` (Ollama's `format`) is set."""
        prompt = read(messages)
        if schema is not None or structured.title_for(prompt, None):
            return structured.answer(prompt, schema, self.seed)
        rng = rng_for(self.seed, self.model_name, *(_text(m) for m in messages))
        return speak(prompt, rng)

    def _usage(self, messages: Sequence[BaseMessage], text: str) -> UsageMetadata:
        used = sum(estimate_tokens(_text(m)) + 4 for m in messages)  # ~4 tokens of role framing
        out = estimate_tokens(text)
        return UsageMetadata(input_tokens=used, output_tokens=out, total_tokens=used + out)

    def _metadata(self) -> dict[str, Any]:
        return {
            "model_name": self.model_name,
            "model_provider": "studio-offline",
            "done_reason": "stop",
        }

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        text = _cut(self.respond(messages, kwargs.get("format")), stop)
        message = AIMessage(
            content=text,
            usage_metadata=self._usage(messages, text),
            response_metadata=self._metadata(),
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return self._generate(messages, stop, **kwargs)  # pure CPU, milliseconds: no thread hop

    def _pieces(
        self, messages: list[BaseMessage], stop: list[str] | None, kwargs: Any
    ) -> tuple[list[str], ChatGenerationChunk]:
        text = _cut(self.respond(messages, kwargs.get("format")), stop)
        final = ChatGenerationChunk(
            message=AIMessageChunk(
                content="",
                usage_metadata=self._usage(messages, text),
                response_metadata=self._metadata(),
            )
        )
        return _PIECE.findall(text), final

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        pieces, final = self._pieces(messages, stop, kwargs)
        for piece in pieces:
            if self.token_delay_s > 0:
                time.sleep(self.token_delay_s)
            yield ChatGenerationChunk(message=AIMessageChunk(content=piece))
        yield final

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        pieces, final = self._pieces(messages, stop, kwargs)
        for piece in pieces:
            if self.token_delay_s > 0:
                await asyncio.sleep(self.token_delay_s)
            yield ChatGenerationChunk(message=AIMessageChunk(content=piece))
        yield final

    def with_structured_output(
        self,
        schema: dict[str, Any] | type,
        *,
        method: str = "json_schema",
        include_raw: bool = False,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, dict[str, Any] | BaseModel]:
        """Bind `format` (a JSON schema, or "json") and parse, exactly as ChatOllama does.

        Tool calling is not offered: the offline model answers JSON only through `format`.
        """
        if kwargs:
            raise ValueError(f"Received unsupported arguments {sorted(kwargs)}")
        is_pydantic = isinstance(schema, type) and issubclass(schema, BaseModel)
        if method == "json_schema":
            if is_pydantic:
                response_format: Any = schema.model_json_schema()  # type: ignore[union-attr]
            elif is_typeddict(schema):
                response_format = convert_to_json_schema(schema)
            else:
                response_format = dict(schema)  # type: ignore[arg-type]
        elif method == "json_mode":
            response_format = "json"
        else:
            raise ValueError(
                f"method={method!r} is not supported by the offline model; use 'json_schema' "
                "or 'json_mode'"
            )
        llm = self.bind(
            format=response_format,
            ls_structured_output_format={
                "kwargs": {"method": method},
                "schema": schema if is_pydantic else response_format,
            },
        )
        parser: Runnable[Any, Any] = (
            PydanticOutputParser(pydantic_object=schema) if is_pydantic else JsonOutputParser()
        )
        if not include_raw:
            return llm | parser
        parse = RunnablePassthrough.assign(
            parsed=itemgetter("raw") | parser, parsing_error=lambda _: None
        )
        fallback = RunnablePassthrough.assign(parsed=lambda _: None)
        return RunnableMap(raw=llm) | parse.with_fallbacks(
            [fallback], exception_key="parsing_error"
        )
