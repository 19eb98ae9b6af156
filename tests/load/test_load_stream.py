"""The gevent transport measures exactly as prober's client does.

Every provider stream case prober's client is tested against is replayed to
:func:`loadtests.stream.stream_chat` and must give the same record; timeouts
and connection failures get the same error types.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest
from geventhttpclient import HTTPClient
from geventhttpclient.url import URL

from loadtests.stream import stream_chat
from prober.client import ChatRequest, Timeouts, request_body
from prober.measurement import Measurement
from tests.load.threaded_replay import replay_in_thread
from tests.replay import Script, chunk, sse, usage_chunk
from tests.stream_cases import CASES, Case
from tests.test_client_streams import _check, _invariants

SLACK_S = 0.25
PATH = "/v1/chat/completions"
HEADERS = {"Content-Type": "application/json", "Accept-Encoding": "identity"}


def _client(url: str, timeouts: Timeouts) -> HTTPClient:
    return HTTPClient.from_url(
        URL(url),
        concurrency=1,
        connection_timeout=timeouts.connect_s,
        network_timeout=timeouts.first_token_s,
    )


def _measure_all(scripts: list[Script], timeouts: Timeouts) -> Iterator[Measurement]:
    """Each script in turn over one client, so connections are reused."""
    body = request_body(ChatRequest(model="test-model", prompt="hi"))
    with replay_in_thread(*scripts) as server:
        client = _client(server.url, timeouts)
        try:
            for _ in scripts:
                exchange = stream_chat(client, PATH, body, HEADERS, timeouts, 2)
                yield exchange.measurement
        finally:
            client.close()


def _measure(script: Script, timeouts: Timeouts | None = None) -> Measurement:
    [measurement] = _measure_all([script], timeouts or Timeouts())
    return measurement


def _bytewise(script: Script) -> Script:
    steps: list[bytes | float | str] = []
    for step in script.steps:
        steps.extend([bytes([b]) for b in step] if isinstance(step, bytes) else [step])
    return Script(steps, script.status, script.content_type, script.headers)


@pytest.mark.parametrize("bytewise", [False, True], ids=["whole", "bytewise"])
def test_every_stream_case_gives_the_same_record(bytewise: bool) -> None:
    scripts = [_bytewise(c.script) if bytewise else c.script for c in CASES]
    measured = list(_measure_all(scripts, Timeouts(total_s=30)))
    for case, measurement in zip(CASES, measured, strict=True):
        _check_case(case, measurement)


def _check_case(case: Case, measurement: Measurement) -> None:
    try:
        _invariants(measurement)
        # The load test keeps no error text or rate-limit headers per request.
        expect = {
            key: value
            for key, value in case.expect.items()
            if key not in ("error_message", "retry_after_s")
            and not key.startswith("ratelimit_")
        }
        _check(measurement, expect)
    except AssertionError as exc:
        raise AssertionError(f"case {case.name}: {exc}") from exc


def test_the_request_is_sent_as_given() -> None:
    body = request_body(ChatRequest(model="m", prompt="p"))
    script = Script([sse(chunk("x", finish="stop"))])
    with replay_in_thread(script) as server:
        client = _client(server.url, Timeouts())
        headers = {**HEADERS, "Authorization": "Bearer k"}
        stream_chat(client, PATH, body, headers, Timeouts(), 1)
        client.close()
    [request] = server.requests
    assert request["headers"]["Authorization"] == "Bearer k"
    assert request["body"] == json.loads(body)
    assert request["body"]["messages"][0]["content"].startswith("nonce: ")


def test_ttft_and_speed_follow_injected_delays() -> None:
    steps: list[bytes | float | str] = [0.3, sse(chunk(role="assistant"), done=False)]
    steps += [0.2, sse(chunk("a"), done=False)]
    for _ in range(4):
        steps += [0.05, sse(chunk("bb"), done=False)]
    steps += [sse(chunk(finish="stop"), usage_chunk(10, 9))]
    m = _measure(Script(steps))

    assert m.ok
    assert 0.5 <= m.ttft_s < 0.5 + SLACK_S  # the role chunk does not count
    assert 0.2 / 8 <= m.itl_s < (0.2 + SLACK_S) / 8
    assert m.e2e_s >= m.ttft_s + 0.2


def test_reasoning_counts_for_ttft_not_ttfa() -> None:
    steps: list[bytes | float | str] = [
        0.1,
        sse(chunk(reasoning_content="thinking"), done=False),
        0.3,
        sse(chunk("answer", finish="stop"), usage_chunk(3, 5)),
    ]
    m = _measure(Script(steps))
    assert m.ok
    assert 0.1 <= m.ttft_s < 0.1 + SLACK_S
    assert m.ttfa_s - m.ttft_s >= 0.3


def test_first_token_timeout_even_with_keepalives() -> None:
    steps: list[bytes | float | str] = [b": keep-alive\n\n", 0.3] * 10
    m = _measure(Script(steps), Timeouts(first_token_s=0.5, total_s=10))
    assert m.error_type == "first_token_timeout"
    assert m.ttft_s is None
    assert 0.5 <= m.e2e_s < 0.5 + SLACK_S


def test_first_token_timeout_on_slow_headers() -> None:
    script = Script([sse(chunk("late"))], header_delay_s=2.0)
    m = _measure(script, Timeouts(connect_s=0.1, first_token_s=0.3, total_s=10))
    assert m.error_type == "first_token_timeout"
    assert m.status_code is None


def test_stall_timeout_keeps_partial_timings() -> None:
    steps: list[bytes | float | str] = [sse(chunk("a"), chunk("b"), done=False), 3.0]
    m = _measure(Script(steps), Timeouts(stall_s=0.4, total_s=10))
    assert m.error_type == "stall_timeout"
    assert m.ttft_s is not None and m.answer == "ab"
    assert m.e2e_s >= 0.4


def test_slow_but_steady_stream_is_not_a_stall() -> None:
    steps: list[bytes | float | str] = []
    for _ in range(6):
        steps += [sse(chunk("t"), done=False), 0.15]
    steps.append(sse(chunk(finish="stop")))
    m = _measure(Script(steps), Timeouts(stall_s=0.4, total_s=10))
    assert m.ok, m.error_message


def test_total_timeout() -> None:
    steps: list[bytes | float | str] = []
    for _ in range(20):
        steps += [sse(chunk("t"), done=False), 0.1]
    m = _measure(Script(steps), Timeouts(stall_s=5, total_s=0.5))
    assert m.error_type == "total_timeout"
    assert 0.5 <= m.e2e_s < 0.5 + SLACK_S


def test_connection_refused() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = _client(f"http://127.0.0.1:{port}", Timeouts())
    body = request_body(ChatRequest(model="m", prompt="p"))
    m = stream_chat(client, PATH, body, HEADERS, Timeouts(), 1).measurement
    assert m.error_type == "connection_error"
    assert m.status_code is None and m.ttft_s is None


def test_connect_timeout_against_a_full_backlog() -> None:
    # A listening socket that never accepts: once its backlog is full, the
    # kernel drops new SYNs and connecting hangs until the connect timeout.
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    fillers = []
    timeouts = Timeouts(connect_s=0.5, first_token_s=5, total_s=10)
    try:
        for _ in range(4):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
            fillers.append(filler)
        client = _client(f"http://127.0.0.1:{port}", timeouts)
        body = request_body(ChatRequest(model="m", prompt="p"))
        m = stream_chat(client, PATH, body, HEADERS, timeouts, 1).measurement
    finally:
        for filler in fillers:
            filler.close()
        server.close()
    assert m.error_type == "connect_timeout"


def test_connection_is_reused_after_a_complete_stream() -> None:
    scripts = [Script([sse(chunk("x", finish="stop"))])] * 3
    body = request_body(ChatRequest(model="m", prompt="p"))
    with replay_in_thread(*scripts) as server:
        client = _client(server.url, Timeouts())
        for _ in scripts:
            assert stream_chat(
                client, PATH, body, HEADERS, Timeouts(), 1
            ).measurement.ok
        # geventhttpclient has no public count of its pooled connections.
        sockets = client._connection_pool._socket_queue.qsize()
        client.close()
    assert sockets == 1
