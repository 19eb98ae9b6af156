"""Provider-style responses and the record each one must produce.

Each case is what some provider or gateway really sends (or a misbehaviour
seen in the wild), with the fields the client must report for it. ``ANY``
means "present, value not checked"; a missing key is not checked at all.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from tests.replay import CLOSE, Script, chunk, sse, usage_chunk

ANY = object()


@dataclass
class Case:
    name: str
    script: Script
    expect: dict[str, Any] = field(default_factory=dict)


def _openai_basic() -> bytes:
    return sse(
        chunk(role="assistant", content=""),
        chunk("Hello"),
        chunk(" world"),
        chunk("!", finish="stop"),
        usage_chunk(12, 3),
    )


def _with_comments() -> bytes:
    return (
        b": OPENROUTER PROCESSING\n\n"
        + sse(chunk(role="assistant"), done=False)
        + b": keep-alive\n\n"
        + sse(chunk("a"), chunk("b", finish="stop"), usage_chunk(5, 2))
    )


def _deepseek_reasoning() -> bytes:
    return sse(
        chunk(role="assistant", content=None, reasoning_content=""),
        chunk(reasoning_content="Let me think."),
        chunk(reasoning_content=" The answer is 4."),
        chunk("4"),
        chunk(".", finish="stop"),
        usage_chunk(
            20,
            40,
            prompt_cache_hit_tokens=16,
            completion_tokens_details={"reasoning_tokens": 35},
        ),
    )


def _openrouter_reasoning() -> bytes:
    return sse(
        chunk(role="assistant", content="", reasoning="hmm"),
        chunk("ok", finish="stop"),
        usage_chunk(3, 7),
    )


def _tool_calls() -> bytes:
    call = {
        "index": 0,
        "id": "call_1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": ""},
    }
    more = {"index": 0, "function": {"arguments": '{"city": "Paris"}'}}
    return sse(
        chunk(role="assistant", content=None),
        chunk(tool_calls=[call]),
        chunk(tool_calls=[more]),
        chunk(finish="tool_calls"),
        usage_chunk(30, 12),
    )


def _several_tokens_per_chunk() -> bytes:
    return sse(
        chunk(role="assistant"),
        chunk("def flatten(items):\n"),
        chunk("    return [x for sub in items for x in sub]\n"),
        chunk("", finish="stop"),
        usage_chunk(40, 21),
    )


def _running_usage() -> bytes:
    # Some servers repeat usage as a running total on every chunk.
    return sse(
        chunk("a", usage={"prompt_tokens": 9, "completion_tokens": 1}),
        chunk("b", usage={"prompt_tokens": 9, "completion_tokens": 2}),
        chunk("c", finish="stop", usage={"prompt_tokens": 9, "completion_tokens": 3}),
    )


def _no_usage() -> bytes:
    return sse(chunk(role="assistant"), chunk("abcdefgh"), chunk("ijkl", finish="stop"))


def _error_in_stream() -> bytes:
    error = {"error": {"message": "Upstream overloaded", "type": "server_error"}}
    return sse(chunk(role="assistant"), chunk("partial"), error, done=False)


def _event_error() -> bytes:
    return sse(chunk("x"), done=False) + (
        b'event: error\ndata: {"message": "rate limit reached upstream"}\n\n'
    )


def _cut_mid_stream() -> list[Any]:
    return [sse(chunk(role="assistant"), chunk("one"), chunk("two"), done=False), CLOSE]


def _finish_without_done() -> bytes:
    return sse(
        chunk("all"), chunk(" done", finish="stop"), usage_chunk(4, 2), done=False
    )


def _non_streaming_body() -> bytes:
    body = {
        "id": "chatcmpl-2",
        "object": "chat.completion",
        "model": "test-model",
        "system_fingerprint": "fp_abc",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "pong"},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 8, "completion_tokens": 1, "total_tokens": 9},
    }
    return json.dumps(body).encode()


_HTML_502 = (
    b"<html><head><title>502 Bad Gateway</title></head>"
    b"<body><center><h1>502 Bad Gateway</h1></center><hr>nginx</body></html>"
)


def _multibyte() -> bytes:
    return sse(
        chunk(role="assistant"),
        chunk("日本語の"),
        chunk("テキスト 🚀"),
        chunk("✓", finish="stop"),
        usage_chunk(5, 6),
    )


def _multiline_data() -> bytes:
    # A JSON object split over two data lines: joined with LF, still valid.
    return (
        b'data: {"choices": [{"index": 0,\ndata: "delta": {"content": "hi"}}]}\n\n'
        b'data: {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}\n\n'
        b"data: [DONE]\n\n"
    )


CASES: list[Case] = [
    Case(
        "openai-basic",
        Script([_openai_basic()]),
        {
            "ok": True,
            "error_type": None,
            "status_code": 200,
            "input_tokens": 12,
            "output_tokens": 3,
            "tokens_source": "usage",
            "finish_reason": "stop",
            "response_model": "test-model",
            "token_chunks": 3,
            "answer": "Hello world!",
        },
    ),
    Case(
        "comments-and-keepalives",
        Script([_with_comments()]),
        {"ok": True, "output_tokens": 2, "answer": "ab", "token_chunks": 2},
    ),
    Case(
        "crlf-line-ends",
        Script([_openai_basic().replace(b"\n", b"\r\n")]),
        {"ok": True, "answer": "Hello world!", "output_tokens": 3},
    ),
    Case(
        "cr-line-ends",
        Script([_openai_basic().replace(b"\n", b"\r")]),
        {"ok": True, "answer": "Hello world!", "output_tokens": 3},
    ),
    Case(
        "data-without-space",
        Script([_openai_basic().replace(b"data: ", b"data:")]),
        {"ok": True, "answer": "Hello world!"},
    ),
    Case(
        "byte-order-mark",
        Script([b"\xef\xbb\xbf" + _openai_basic()]),
        {"ok": True, "answer": "Hello world!"},
    ),
    Case(
        "named-message-events",
        Script([_openai_basic().replace(b"data: ", b"event: message\ndata: ")]),
        {"ok": True, "answer": "Hello world!"},
    ),
    Case(
        "multi-line-data",
        Script([_multiline_data()]),
        {"ok": True, "answer": "hi", "tokens_source": "estimate"},
    ),
    Case(
        "multibyte-utf8",
        Script([_multibyte()]),
        {"ok": True, "answer": "日本語のテキスト 🚀✓", "output_tokens": 6},
    ),
    Case(
        "deepseek-reasoning",
        Script([_deepseek_reasoning()]),
        {
            "ok": True,
            "answer": "4.",
            "output_tokens": 40,
            "reasoning_tokens": 35,
            "cached_input_tokens": 16,
            "token_chunks": 4,
        },
    ),
    Case(
        "openrouter-reasoning-field",
        Script([_openrouter_reasoning()]),
        {"ok": True, "answer": "ok", "output_tokens": 7, "token_chunks": 2},
    ),
    Case(
        "tool-call-deltas",
        Script([_tool_calls()]),
        {
            "ok": True,
            "answer": "",
            "finish_reason": "tool_calls",
            "output_tokens": 12,
            "ttfa_s": None,
            "token_chunks": 2,
        },
    ),
    Case(
        "several-tokens-per-chunk",
        Script([_several_tokens_per_chunk()]),
        {"ok": True, "output_tokens": 21, "token_chunks": 2},
    ),
    Case(
        "usage-as-running-total",
        Script([_running_usage()]),
        {"ok": True, "output_tokens": 3, "input_tokens": 9, "tokens_source": "usage"},
    ),
    Case(
        "no-usage",
        Script([_no_usage()]),
        {
            "ok": True,
            "tokens_source": "estimate",
            "output_tokens": 3,
            "reasoning_tokens": None,
            "cached_input_tokens": None,
        },
    ),
    Case(
        "error-object-in-200-stream",
        Script([_error_in_stream()]),
        {
            "ok": False,
            "error_type": "stream_error",
            "status_code": 200,
            "error_message": "Upstream overloaded",
            "ttft_s": ANY,
        },
    ),
    Case(
        "error-event-in-200-stream",
        Script([_event_error()]),
        {
            "ok": False,
            "error_type": "stream_error",
            "error_message": "rate limit reached upstream",
        },
    ),
    Case(
        "connection-closed-mid-stream",
        Script(_cut_mid_stream()),
        {"ok": False, "error_type": "stream_error", "ttft_s": ANY, "answer": "onetwo"},
    ),
    Case(
        "finish-reason-without-done",
        Script([_finish_without_done()]),
        {"ok": True, "output_tokens": 2, "answer": "all done"},
    ),
    Case(
        "stream-ignored-json-body",
        Script([_non_streaming_body()], content_type="application/json"),
        {
            "ok": True,
            "answer": "pong",
            "output_tokens": 1,
            "token_chunks": 1,
            "itl_s": None,
            "output_tokens_per_s": None,
            "system_fingerprint": "fp_abc",
            "finish_reason": "stop",
        },
    ),
    Case(
        "gateway-html-502",
        Script([_HTML_502], status=502, content_type="text/html"),
        {
            "ok": False,
            "error_type": "http_5xx",
            "status_code": 502,
            "error_message": "HTTP 502: 502 Bad Gateway",
            "ttft_s": None,
        },
    ),
    Case(
        "html-page-with-200",
        Script([b"<html><body>Please log in</body></html>"], content_type="text/html"),
        {"ok": False, "error_type": "protocol_error", "status_code": 200},
    ),
    Case(
        "rate-limited-seconds",
        Script(
            [b'{"error": {"message": "Too many requests"}}'],
            status=429,
            content_type="application/json",
            headers={
                "Retry-After": "7",
                "x-ratelimit-remaining-requests": "0",
                "x-ratelimit-remaining-tokens": "1200",
            },
        ),
        {
            "ok": False,
            "error_type": "rate_limited",
            "status_code": 429,
            "retry_after_s": 7.0,
            "ratelimit_remaining_requests": 0,
            "ratelimit_remaining_tokens": 1200,
            "error_message": "HTTP 429: Too many requests",
        },
    ),
    Case(
        "rate-limited-ms",
        Script(
            [b"slow down"],
            status=429,
            content_type="text/plain",
            headers={"retry-after-ms": "1500"},
        ),
        {"ok": False, "error_type": "rate_limited", "retry_after_s": 1.5},
    ),
    Case(
        "unauthorized",
        Script(
            [b'{"error": {"message": "Invalid API key"}}'],
            status=401,
            content_type="application/json",
        ),
        {"ok": False, "error_type": "http_4xx", "status_code": 401},
    ),
    Case(
        "service-unavailable-json",
        Script(
            [b'{"error": {"message": "model is overloaded"}}'],
            status=503,
            content_type="application/json",
        ),
        {
            "ok": False,
            "error_type": "http_5xx",
            "status_code": 503,
            "error_message": "HTTP 503: model is overloaded",
        },
    ),
    Case(
        "malformed-chunk",
        Script([sse(chunk("a"), "{not json", chunk("b", finish="stop"))]),
        {"ok": False, "error_type": "protocol_error", "ttft_s": ANY},
    ),
    Case(
        "role-and-finish-only",
        Script([sse(chunk(role="assistant", content=""), chunk(finish="stop"))]),
        {"ok": False, "error_type": "empty_response", "ttft_s": None},
    ),
    Case(
        "not-sse-at-all",
        Script([b"this is not an event stream\n"], content_type="text/plain"),
        {"ok": False, "error_type": "protocol_error"},
    ),
    Case(
        "finish-reason-error",
        Script([sse(chunk("partial"), chunk(finish="error"), done=False)]),
        {"ok": False, "error_type": "stream_error"},
    ),
]
