"""What the chunks of an OpenAI-style chat completion mean for measurement.

:class:`CompletionReader` takes decoded events (or one JSON body, when a
server ignores ``stream: true``) and keeps exactly what timing and accounting
need: when generated text first and last arrived, when visible answer text
first arrived, the gaps between token-bearing chunks, the last ``usage`` seen,
the finish reason and the response's metadata.

The rules that naive clients get wrong, and that this module owns:

* a chunk counts as a token only if it carries generated text: ``content``,
  ``reasoning_content`` or ``reasoning`` text, or a tool-call delta; a
  role-only first chunk or an empty ``content`` does not count;
* reasoning text counts for time to first token but not for time to first
  answer token;
* ``usage`` may come in a final chunk whose ``choices`` list is empty, or be
  repeated as a running total on every chunk: the last one wins, never a sum;
* an ``error`` object or an ``event: error`` inside a 200 stream is a failure
  (:class:`StreamFault`), however the stream ends.
"""

from __future__ import annotations

import json
from typing import Any

from prober.outcome import ErrorType
from prober.sse import SSEDecoder, SSEEvent

__all__ = ["CompletionReader", "StreamFault", "Usage"]

DONE = "[DONE]"
_MAX_ANSWER_CHARS = 200_000


class StreamFault(Exception):
    """The stream itself reports or shows a failure."""

    def __init__(self, error_type: ErrorType, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message


class Usage:
    """Token counts from a ``usage`` object; ``None`` where not reported."""

    __slots__ = ("input", "output", "cached_input", "reasoning")

    def __init__(self, raw: dict[str, Any]) -> None:
        self.input = _int_or_none(raw.get("prompt_tokens"))
        self.output = _int_or_none(raw.get("completion_tokens"))
        prompt_details = raw.get("prompt_tokens_details") or {}
        cached = _int_or_none(prompt_details.get("cached_tokens"))
        if cached is None:
            # DeepSeek reports cache hits under its own key.
            cached = _int_or_none(raw.get("prompt_cache_hit_tokens"))
        self.cached_input = cached
        output_details = raw.get("completion_tokens_details") or {}
        self.reasoning = _int_or_none(output_details.get("reasoning_tokens"))


class CompletionReader:
    """Accumulates one chat completion, chunk by chunk."""

    __slots__ = (
        "first_token_ns",
        "first_answer_ns",
        "last_token_ns",
        "token_chunk_ns",
        "answer_parts",
        "answer_chars",
        "reasoning_chars",
        "tool_call_chars",
        "usage",
        "finish_reason",
        "response_model",
        "system_fingerprint",
        "done",
        "events",
    )

    def __init__(self) -> None:
        self.first_token_ns: int | None = None
        self.first_answer_ns: int | None = None
        self.last_token_ns: int | None = None
        self.token_chunk_ns: list[int] = []
        self.answer_parts: list[str] = []
        self.answer_chars = 0
        self.reasoning_chars = 0
        self.tool_call_chars = 0
        self.usage: Usage | None = None
        self.finish_reason: str | None = None
        self.response_model: str | None = None
        self.system_fingerprint: str | None = None
        self.done = False
        self.events = 0

    @property
    def answer(self) -> str:
        return "".join(self.answer_parts)

    @property
    def finished(self) -> bool:
        """True once the server said the answer is complete."""
        return self.done or self.finish_reason is not None

    def feed_event(self, event: SSEEvent) -> None:
        """Take one SSE event; raise :class:`StreamFault` on a failure."""
        self.events += 1
        data = event.data
        if event.event == "error":
            raise StreamFault(ErrorType.STREAM_ERROR, _error_text(data))
        if data == DONE:
            self.done = True
            return
        if not data.strip():
            return
        try:
            chunk = json.loads(data)
        except ValueError:
            raise StreamFault(
                ErrorType.PROTOCOL_ERROR, "stream chunk is not valid JSON"
            ) from None
        if not isinstance(chunk, dict):
            raise StreamFault(ErrorType.PROTOCOL_ERROR, "stream chunk is not an object")
        self._take_chunk(chunk, event.arrived_ns, "delta")

    def end_of_stream(self, decoder: SSEDecoder) -> None:
        """The stream closed: take the event still in ``decoder`` and raise
        :class:`StreamFault` unless the server said the answer was complete."""
        tail = decoder.close()
        if tail is not None and not self.done:
            self.feed_event(tail)
        if self.events == 0 and decoder.comments == 0:
            raise StreamFault(ErrorType.PROTOCOL_ERROR, "no server-sent events")
        if not self.finished:
            raise StreamFault(
                ErrorType.STREAM_ERROR, "stream ended before a finish reason or [DONE]"
            )

    def feed_body(self, body: Any, arrived_ns: int) -> None:
        """Take a whole non-streamed completion, timed as one chunk."""
        if not isinstance(body, dict):
            raise StreamFault(
                ErrorType.PROTOCOL_ERROR, "response body is not an object"
            )
        self.events += 1
        self._take_chunk(body, arrived_ns, "message")
        if self.finish_reason is None and self.first_token_ns is not None:
            self.finish_reason = "stop"

    def _take_chunk(self, chunk: dict[str, Any], arrived_ns: int, key: str) -> None:
        error = chunk.get("error")
        if error:
            raise StreamFault(ErrorType.STREAM_ERROR, _error_text(error))
        self._take_metadata(chunk)

        choices = chunk.get("choices")
        if not choices or not isinstance(choices, list):
            return
        carried = answered = False
        for choice in choices:
            if not isinstance(choice, dict):
                continue
            delta = choice.get(key)
            if isinstance(delta, dict):
                text_kinds = self._take_delta(delta)
                carried = carried or text_kinds > 0
                answered = answered or text_kinds > 1
            text = choice.get("text")
            if isinstance(text, str) and text:
                self._keep_answer(text)
                carried = answered = True
            finish = choice.get("finish_reason")
            if finish:
                self.finish_reason = str(finish)
        if carried:
            self._stamp(arrived_ns, answered)
        if self.finish_reason == "error":
            raise StreamFault(ErrorType.STREAM_ERROR, "finish_reason is 'error'")

    def _take_metadata(self, chunk: dict[str, Any]) -> None:
        usage = chunk.get("usage")
        if not usage and isinstance(chunk.get("x_groq"), dict):
            usage = chunk["x_groq"].get("usage")
        if isinstance(usage, dict) and usage:
            self.usage = Usage(usage)
        model = chunk.get("model")
        if model and isinstance(model, str):
            self.response_model = model
        fingerprint = chunk.get("system_fingerprint")
        if fingerprint and isinstance(fingerprint, str):
            self.system_fingerprint = fingerprint

    def _take_delta(self, delta: dict[str, Any]) -> int:
        """Return 0 for no generated text, 1 for hidden text, 2 for answer text."""
        kind = 0
        reasoning = delta.get("reasoning_content") or delta.get("reasoning")
        if isinstance(reasoning, str) and reasoning:
            self.reasoning_chars += len(reasoning)
            kind = 1
        calls = delta.get("tool_calls") or delta.get("function_call")
        if calls:
            self.tool_call_chars += len(json.dumps(calls))
            kind = 1
        content = delta.get("content")
        if isinstance(content, str) and content:
            self._keep_answer(content)
            kind = 2
        return kind

    def _keep_answer(self, text: str) -> None:
        room = _MAX_ANSWER_CHARS - self.answer_chars
        if room > 0:
            self.answer_parts.append(text[:room])
        self.answer_chars += len(text)

    def _stamp(self, arrived_ns: int, answered: bool) -> None:
        if self.first_token_ns is None:
            self.first_token_ns = arrived_ns
        if answered and self.first_answer_ns is None:
            self.first_answer_ns = arrived_ns
        self.last_token_ns = arrived_ns
        self.token_chunk_ns.append(arrived_ns)


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value)


def _error_text(error: Any) -> str:
    """The human part of an error payload: its message, else the raw text."""
    if isinstance(error, str):
        try:
            error = json.loads(error)
        except ValueError:
            return error
    if isinstance(error, dict):
        inner = error.get("error", error)
        if isinstance(inner, dict):
            message = inner.get("message") or inner.get("msg") or inner.get("detail")
            if message:
                return str(message)
        elif inner:
            return str(inner)
    return str(error)
