"""Timing against a server that injects known delays, and every timeout.

Bounds are one-sided where the machine can only make things slower, and
loose on the other side, so these tests do not flake on a busy machine.
"""

from __future__ import annotations

import asyncio
import socket

import pytest

from prober.client import ChatRequest, Endpoint, StreamingClient, Timeouts
from prober.measurement import Measurement
from tests.replay import Script, chunk, replay_server, sse, usage_chunk

SLACK_S = 0.25
# Timeouts count from the call (connecting included); e2e counts from the
# request start, after the connection is ready.
CONNECT_SLACK_S = 0.05


async def _measure(script: Script, timeouts: Timeouts | None = None) -> Measurement:
    async with replay_server(script) as server, StreamingClient() as client:
        return await client.complete(
            Endpoint(server.base_url), ChatRequest(model="m", prompt="p"), timeouts
        )


async def test_ttft_itl_and_speed_follow_injected_delays() -> None:
    steps: list[bytes | float] = [0.3, sse(chunk(role="assistant"), done=False)]
    steps += [0.2, sse(chunk("a"), done=False)]
    for _ in range(4):
        steps += [0.05, sse(chunk("bb"), done=False)]
    steps += [sse(chunk(finish="stop"), usage_chunk(10, 9))]
    m = await _measure(Script(steps))

    assert m.ok
    # Role chunk at 0.3 s does not count; the first token comes at 0.5 s.
    assert 0.5 <= m.ttft_s < 0.5 + SLACK_S
    assert m.ttfa_s == m.ttft_s
    # 4 gaps of 0.05 s between token chunks, 9 tokens: ITL = 0.2 / 8.
    assert 0.2 / 8 <= m.itl_s < (0.2 + SLACK_S) / 8
    assert 0.05 <= m.chunk_gap_p50_s < 0.05 + SLACK_S
    assert m.chunk_gap_max_s >= m.chunk_gap_p95_s >= m.chunk_gap_p50_s
    assert m.output_tokens_per_s is not None and m.output_tokens_per_s > 0
    assert m.e2e_s >= m.ttft_s + 0.2


async def test_reasoning_counts_for_ttft_not_ttfa() -> None:
    steps: list[bytes | float] = [
        0.1,
        sse(chunk(reasoning_content="thinking"), done=False),
        0.3,
        sse(chunk("answer", finish="stop"), usage_chunk(3, 5)),
    ]
    m = await _measure(Script(steps))
    assert m.ok
    assert 0.1 <= m.ttft_s < 0.1 + SLACK_S
    assert m.ttfa_s - m.ttft_s >= 0.3


async def test_headers_phase_and_request_start() -> None:
    script = Script([sse(chunk("x", finish="stop"))], header_delay_s=0.2)
    m = await _measure(script)
    assert m.ok
    assert 0.2 <= m.headers_s < 0.2 + SLACK_S
    assert m.connect_s is not None and m.connect_s >= 0
    assert m.ttft_s >= m.headers_s


async def test_first_token_timeout_even_with_keepalives() -> None:
    steps: list[bytes | float] = [b": keep-alive\n\n", 0.3] * 10
    timeouts = Timeouts(first_token_s=0.5, total_s=10)
    m = await _measure(Script(steps), timeouts)
    assert m.error_type == "first_token_timeout"
    assert m.ttft_s is None
    assert 0.5 - CONNECT_SLACK_S <= m.e2e_s < 0.5 + SLACK_S


async def test_first_token_timeout_on_slow_headers() -> None:
    script = Script([sse(chunk("late"))], header_delay_s=2.0)
    m = await _measure(script, Timeouts(first_token_s=0.3, total_s=10))
    assert m.error_type == "first_token_timeout"
    assert m.status_code is None


async def test_stall_timeout_keeps_partial_timings() -> None:
    steps: list[bytes | float] = [sse(chunk("a"), chunk("b"), done=False), 3.0]
    m = await _measure(Script(steps), Timeouts(stall_s=0.4, total_s=10))
    assert m.error_type == "stall_timeout"
    assert m.ttft_s is not None
    assert m.answer == "ab"
    assert m.e2e_s >= 0.4 - CONNECT_SLACK_S


async def test_slow_but_steady_stream_is_not_a_stall() -> None:
    steps: list[bytes | float] = []
    for _ in range(6):
        steps += [sse(chunk("t"), done=False), 0.15]
    steps.append(sse(chunk(finish="stop")))
    m = await _measure(Script(steps), Timeouts(stall_s=0.4, total_s=10))
    assert m.ok, m.error_message


async def test_total_timeout() -> None:
    steps: list[bytes | float] = []
    for _ in range(20):
        steps += [sse(chunk("t"), done=False), 0.1]
    m = await _measure(Script(steps), Timeouts(stall_s=5, total_s=0.5))
    assert m.error_type == "total_timeout"
    assert 0.5 - CONNECT_SLACK_S <= m.e2e_s < 0.5 + SLACK_S


async def test_connection_refused() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with StreamingClient() as client:
        m = await client.complete(
            Endpoint(f"http://127.0.0.1:{port}/v1"), ChatRequest(model="m", prompt="p")
        )
    assert m.error_type == "connection_error"
    assert m.status_code is None and m.ttft_s is None


async def test_connect_timeout_against_a_full_backlog() -> None:
    # A listening socket that never accepts: once its backlog is full, the
    # kernel drops new SYNs and connecting hangs until the connect timeout.
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    fillers = []
    try:
        for _ in range(4):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
            fillers.append(filler)
        await asyncio.sleep(0.05)
        async with StreamingClient() as client:
            m = await client.complete(
                Endpoint(f"http://127.0.0.1:{port}/v1"),
                ChatRequest(model="m", prompt="p"),
                Timeouts(connect_s=0.5, first_token_s=5, total_s=10),
            )
    finally:
        for filler in fillers:
            filler.close()
        server.close()
    assert m.error_type == "connect_timeout"


async def test_caller_cancellation_still_propagates() -> None:
    steps: list[bytes | float] = [sse(chunk("a"), done=False), 5.0]
    async with replay_server(Script(steps)) as server, StreamingClient() as client:
        task = asyncio.create_task(
            client.complete(
                Endpoint(server.base_url), ChatRequest(model="m", prompt="p")
            )
        )
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_request_carries_nonce_usage_option_and_key() -> None:
    async with replay_server(Script([sse(chunk("x", finish="stop"))])) as server:
        async with StreamingClient() as client:
            endpoint = Endpoint(server.base_url, api_key="sk-test-0123456789abcdef")
            for _ in range(2):
                await client.complete(endpoint, ChatRequest(model="m", prompt="hello"))
        first, second = (r["body"] for r in server.requests)
    assert first["stream"] is True
    assert first["stream_options"] == {"include_usage": True}
    content = first["messages"][0]["content"]
    assert content.startswith("nonce: ") and content.endswith("\n\nhello")
    assert content != second["messages"][0]["content"]
    auth = server.requests[0]["headers"]["Authorization"]
    assert auth == "Bearer sk-test-0123456789abcdef"


async def test_echoed_key_never_reaches_the_record() -> None:
    key = "canary-key-7f3a9c21e8d4"
    body = (
        '{"error": {"message": "Incorrect API key provided: canary-key-7f3a9c21e8d4. '
        'Header was Authorization: Bearer canary-key-7f3a9c21e8d4"}}'
    )
    script = Script([body.encode()], status=401, content_type="application/json")
    async with replay_server(script) as server, StreamingClient() as client:
        m = await client.complete(
            Endpoint(server.base_url, api_key=key), ChatRequest(model="m", prompt="p")
        )
    assert m.error_type == "http_4xx"
    assert key not in str(m.fields())
    assert "[redacted]" in (m.error_message or "")
