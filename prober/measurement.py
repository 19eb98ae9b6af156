"""The outcome of one streamed request, and how its figures are derived.

Definitions (shared with the database, metrics and reports):

* TTFT: request start to the first chunk carrying generated text.
* TTFA: as TTFT, counting visible answer text only.
* end-to-end: request start to the end of the stream.
* ITL: (last token-bearing chunk - first) / (output tokens - 1), per token,
  because one chunk may carry several tokens.
* chunk gaps: the raw gaps between token-bearing chunks, kept apart from ITL.
* output speed: (output tokens - 1) / (end-to-end - TTFT).

ITL, chunk gaps and output speed need at least two token-bearing chunks; with
fewer they are ``None``, never zero. Without ``usage`` the token counts are
estimated from text length (about four characters a token) and
``tokens_source`` says ``estimate``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from prober.completion import CompletionReader
from prober.outcome import ErrorType

__all__ = ["Measurement", "estimate_tokens", "summarize"]

_NS = 1e-9
_CHARS_PER_TOKEN = 4.0


@dataclass(slots=True)
class Measurement:
    """Everything measured about one request; ``None`` means not known."""

    ok: bool
    error_type: ErrorType | None = None
    status_code: int | None = None
    error_message: str | None = None
    retry_after_s: float | None = None
    ttft_s: float | None = None
    ttfa_s: float | None = None
    e2e_s: float | None = None
    itl_s: float | None = None
    chunk_gap_p50_s: float | None = None
    chunk_gap_p95_s: float | None = None
    chunk_gap_max_s: float | None = None
    input_tokens: int | None = None
    cached_input_tokens: int | None = None
    output_tokens: int | None = None
    reasoning_tokens: int | None = None
    tokens_source: str | None = None
    output_tokens_per_s: float | None = None
    finish_reason: str | None = None
    response_model: str | None = None
    system_fingerprint: str | None = None
    dns_s: float | None = None
    connect_s: float | None = None
    headers_s: float | None = None
    ratelimit_remaining_requests: int | None = None
    ratelimit_remaining_tokens: int | None = None
    token_chunks: int = 0
    answer: str = ""

    def fields(self) -> dict[str, Any]:
        """The record fields, answer excluded, error type as its string."""
        values = asdict(self)
        values.pop("answer")
        values.pop("token_chunks")
        if self.error_type is not None:
            values["error_type"] = str(self.error_type)
        return values


def estimate_tokens(chars: int) -> int | None:
    """Token count guessed from a character count; ``None`` for no text."""
    if chars <= 0:
        return None
    return max(1, math.ceil(chars / _CHARS_PER_TOKEN))


def summarize(
    measurement: Measurement,
    reader: CompletionReader,
    start_ns: int,
    end_ns: int,
    prompt_chars: int,
) -> Measurement:
    """Fill ``measurement``'s timing and token fields from ``reader``."""
    m = measurement
    m.e2e_s = (end_ns - start_ns) * _NS
    m.token_chunks = len(reader.token_chunk_ns)
    m.finish_reason = reader.finish_reason
    m.response_model = reader.response_model
    m.system_fingerprint = reader.system_fingerprint
    m.answer = reader.answer
    if reader.first_token_ns is not None:
        m.ttft_s = (reader.first_token_ns - start_ns) * _NS
    if reader.first_answer_ns is not None:
        m.ttfa_s = (reader.first_answer_ns - start_ns) * _NS

    _take_tokens(m, reader, prompt_chars)
    _take_gaps(m, reader.token_chunk_ns)
    _take_rates(m, reader, end_ns)
    return m


def _take_tokens(m: Measurement, reader: CompletionReader, prompt_chars: int) -> None:
    usage = reader.usage
    if usage is not None and usage.output is not None:
        m.tokens_source = "usage"
        m.input_tokens = usage.input
        m.output_tokens = usage.output
        m.cached_input_tokens = usage.cached_input
        m.reasoning_tokens = usage.reasoning
        return
    generated = reader.answer_chars + reader.reasoning_chars + reader.tool_call_chars
    m.output_tokens = estimate_tokens(generated)
    m.input_tokens = estimate_tokens(prompt_chars)
    if reader.reasoning_chars:
        m.reasoning_tokens = estimate_tokens(reader.reasoning_chars)
    if m.output_tokens is not None or m.input_tokens is not None:
        m.tokens_source = "estimate"


def _take_gaps(m: Measurement, stamps: list[int]) -> None:
    if len(stamps) < 2:
        return
    gaps = sorted(b - a for a, b in zip(stamps, stamps[1:], strict=False))
    m.chunk_gap_p50_s = _quantile(gaps, 0.50) * _NS
    m.chunk_gap_p95_s = _quantile(gaps, 0.95) * _NS
    m.chunk_gap_max_s = gaps[-1] * _NS


def _take_rates(m: Measurement, reader: CompletionReader, end_ns: int) -> None:
    tokens = m.output_tokens
    first, last = reader.first_token_ns, reader.last_token_ns
    if tokens is None or tokens < 2 or first is None or last is None:
        return
    if len(reader.token_chunk_ns) < 2:
        return
    m.itl_s = (last - first) * _NS / (tokens - 1)
    generating_s = (end_ns - first) * _NS
    if generating_s > 0:
        m.output_tokens_per_s = (tokens - 1) / generating_s


def _quantile(ordered: list[int], q: float) -> float:
    """Linear-interpolated quantile of a sorted list (numpy's default method)."""
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
