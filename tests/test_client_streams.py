"""Every kind of provider stream, replayed by a real server, gives the right
record; and cutting the same bytes anywhere changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from prober.client import ChatRequest, Endpoint, StreamingClient
from prober.completion import CompletionReader, StreamFault
from prober.measurement import Measurement
from prober.sse import SSEDecoder
from tests.replay import Script, replay_server
from tests.stream_cases import ANY, CASES, Case


def _check(measurement: Measurement, expect: dict[str, object]) -> None:
    values = measurement.fields()
    values["answer"] = measurement.answer
    values["token_chunks"] = measurement.token_chunks
    for key, wanted in expect.items():
        if wanted is ANY:
            assert values[key] is not None, key
        else:
            assert values[key] == wanted, (key, values[key], wanted)


def _invariants(m: Measurement) -> None:
    """What must hold for every record, whatever the stream."""
    assert (m.error_type is None) == m.ok
    assert m.e2e_s is not None and m.e2e_s >= 0
    if m.ttft_s is not None:
        assert 0 <= m.ttft_s <= m.e2e_s
    if m.ttfa_s is not None:
        assert m.ttft_s is not None and m.ttft_s <= m.ttfa_s <= m.e2e_s
    for name in ("itl_s", "output_tokens_per_s", "chunk_gap_p50_s"):
        value = getattr(m, name)
        assert value is None or value >= 0, name
    if m.output_tokens is not None:
        assert m.tokens_source in ("usage", "estimate")
    if m.error_message is not None:
        assert len(m.error_message) <= 240


async def _measure(script: Script) -> Measurement:
    async with replay_server(script) as server, StreamingClient() as client:
        return await client.complete(
            Endpoint(server.base_url), ChatRequest(model="test-model", prompt="hi")
        )


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_stream_kind_gives_expected_record(case: Case) -> None:
    measurement = await _measure(case.script)
    _invariants(measurement)
    _check(measurement, case.expect)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_stream_kind_byte_by_byte(case: Case) -> None:
    steps = []
    for step in case.script.steps:
        if isinstance(step, bytes):
            steps.extend(bytes([b]) for b in step)
        else:
            steps.append(step)
    script = Script(
        steps,
        status=case.script.status,
        content_type=case.script.content_type,
        headers=case.script.headers,
    )
    measurement = await _measure(script)
    _invariants(measurement)
    _check(measurement, case.expect)


def _outcome(parts: list[bytes]) -> tuple[object, ...]:
    """Decode and interpret ``parts`` without a network: a comparable summary."""
    decoder = SSEDecoder()
    reader = CompletionReader()
    try:
        for index, part in enumerate(parts):
            for event in decoder.feed(part, index + 1):
                reader.feed_event(event)
        tail = decoder.close()
        if tail is not None and not reader.done:
            reader.feed_event(tail)
    except StreamFault as fault:
        return ("fault", fault.error_type, reader.answer)
    usage = reader.usage
    return (
        reader.answer,
        len(reader.token_chunk_ns),
        reader.finish_reason,
        reader.done,
        usage.output if usage else None,
        reader.reasoning_chars,
        reader.tool_call_chars,
    )


_SSE_CASES = [
    c
    for c in CASES
    if c.script.status == 200
    and c.script.content_type == "text/event-stream"
    and all(isinstance(step, bytes) for step in c.script.steps)
]


@pytest.mark.parametrize("case", _SSE_CASES, ids=[c.name for c in _SSE_CASES])
def test_cut_at_every_position_decodes_the_same(case: Case) -> None:
    data = b"".join(step for step in case.script.steps if isinstance(step, bytes))
    whole = _outcome([data])
    for cut in range(len(data) + 1):
        assert _outcome([data[:cut], data[cut:]]) == whole, cut


@pytest.mark.parametrize(
    ("ahead_s", "low", "high"), [(120, 100.0, 120.0), (-60, 0.0, 0.0)]
)
async def test_retry_after_as_an_http_date_becomes_seconds_from_now(
    ahead_s: int, low: float, high: float
) -> None:
    # RFC 9110 allows Retry-After as an IMF-fixdate; a date already past
    # means "now", never a negative wait.
    when = datetime.now(UTC) + timedelta(seconds=ahead_s)
    script = Script(
        [b'{"error": {"message": "Too many requests"}}'],
        status=429,
        content_type="application/json",
        headers={"Retry-After": format_datetime(when, usegmt=True)},
    )

    measurement = await _measure(script)

    assert measurement.error_type == "rate_limited"
    assert measurement.retry_after_s is not None
    assert low <= measurement.retry_after_s <= high
