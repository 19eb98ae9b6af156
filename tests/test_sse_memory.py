"""The SSE decoder keeps memory bounded whatever a server sends: endless lines,
endless comments, giant data fields, floods of tiny events or random bytes
either decode within the cap or end with the decoder's own overflow error;
through the client, an oversized line ends the probe as a protocol error."""

from __future__ import annotations

import multiprocessing
import random
import tracemalloc
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prober.client import ChatRequest, Endpoint, Limits, StreamingClient
from prober.outcome import ErrorType
from prober.sse import SSEDecoder, SSEError, SSEOverflow
from tests.replay import Script, replay_server

CAP = 16 << 10
STREAM_BYTES = 1 << 20
# The decoder holds one event and one partial line, each capped, plus what
# one read decodes into: its lines and the events they complete, about 17
# bytes of objects per byte read when the read is all tiny events. A decoder
# that buffers without end holds the whole 1 MiB stream, more than the limit
# at any read size used here (at most 16 KiB: 6 x 16 + 20 x 16 = 416 KiB).
READ_SIZES = [1024, 4096, 16384]


def peak_limit(read_size: int) -> int:
    return 6 * CAP + 20 * read_size


def _pattern(kind: str, rng: random.Random) -> bytes:
    if kind == "endless_line":
        return b"data: " + b"x" * 4096
    if kind == "endless_comment_line":
        return b":" + b"c" * 4096
    if kind == "comments":
        return b": keep-alive\n" * 64
    if kind == "giant_data":
        return b"data: " + b"y" * 1000 + b"\n"
    if kind == "tiny_events":
        return b"data:a\n\n" * 256
    if kind == "tiny_data_lines":
        return b"data:ab\n" * 256
    if kind == "fields_without_data":
        return b"event: e\nid: 1\nretry: 5\n\n" * 64
    return rng.randbytes(4096)


def _chunks(kind: str, seed: int, size: int) -> Iterator[bytes]:
    rng = random.Random(seed)
    pending = b""
    sent = 0
    while sent < STREAM_BYTES:
        while len(pending) < size:
            pending += _pattern(kind, rng)
        chunk, pending = pending[:size], pending[size:]
        sent += len(chunk)
        yield chunk


def _drain(kind: str, seed: int, size: int) -> tuple[int, str | None]:
    """Feed the whole stream; return the peak traced memory and the name of
    the error's class. Runs in a process of its own: tracemalloc counts every
    thread's allocations, and threads other tests leave behind would count."""
    decoder = SSEDecoder(max_event_bytes=CAP)
    chunks = _chunks(kind, seed, size)
    tracemalloc.start()
    tracemalloc.reset_peak()
    error: str | None = None
    try:
        for number, chunk in enumerate(chunks):
            decoder.feed(chunk, number)
        decoder.close()
    except SSEError as exc:
        error = type(exc).__name__
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return peak, error


KINDS = [
    "endless_line",
    "endless_comment_line",
    "comments",
    "giant_data",
    "tiny_events",
    "tiny_data_lines",
    "fields_without_data",
    "random",
]
OVERFLOWS = {"endless_line", "endless_comment_line", "giant_data", "tiny_data_lines"}
OVERFLOW = SSEOverflow.__name__
_pool: ProcessPoolExecutor | None = None


@pytest.fixture(scope="module", autouse=True)
def _measuring_process() -> Iterator[None]:
    global _pool
    with ProcessPoolExecutor(
        1, mp_context=multiprocessing.get_context("spawn")
    ) as pool:
        _pool = pool
        yield
    _pool = None


def _measure(kind: str, seed: int, size: int) -> tuple[int, str | None]:
    assert _pool is not None
    return _pool.submit(_drain, kind, seed, size).result(timeout=60)


@pytest.mark.timeout(120)
@settings(
    max_examples=10,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    kind=st.sampled_from(KINDS),
    seed=st.integers(0, 2**32),
    size=st.sampled_from(READ_SIZES),
)
def test_memory_stays_bounded(kind: str, seed: int, size: int) -> None:
    peak, error = _measure(kind, seed, size)
    assert peak < peak_limit(size), (kind, size, peak)
    if kind in OVERFLOWS:
        assert error == OVERFLOW, (kind, error)
    elif kind != "random":
        assert error is None, (kind, error)


@pytest.mark.parametrize("size", READ_SIZES)
@pytest.mark.parametrize("kind", KINDS)
def test_every_shape_is_bounded(kind: str, size: int) -> None:
    # Each shape at every read size, whatever Hypothesis draws above.
    peak, error = _measure(kind, 7, size)
    assert peak < peak_limit(size), (kind, size, peak)
    assert (kind in OVERFLOWS) == (error == OVERFLOW), (kind, error)


async def test_oversized_line_ends_the_probe_as_a_protocol_error() -> None:
    head = b'data: {"choices":[{"delta":{"content":"'
    script = Script([head, *[b"z" * 8192] * 64])
    limits = Limits(max_event_bytes=CAP)
    async with replay_server(script) as server, StreamingClient(limits) as client:
        measurement = await client.complete(
            Endpoint(server.base_url), ChatRequest(model="m", prompt="hi")
        )
    assert measurement.error_type == ErrorType.PROTOCOL_ERROR
    assert measurement.error_message is not None
    assert f"longer than {CAP} bytes" in measurement.error_message


async def test_endless_comments_end_the_probe_at_the_response_cap() -> None:
    # Keep-alive comments only, faster than any timeout: the size cap ends it.
    script = Script([b": keep-alive\n" * 4096] * 64)
    limits = Limits(max_event_bytes=CAP, max_response_bytes=1 << 20)
    async with replay_server(script) as server, StreamingClient(limits) as client:
        measurement = await client.complete(
            Endpoint(server.base_url), ChatRequest(model="m", prompt="hi")
        )
    assert measurement.error_type == ErrorType.PROTOCOL_ERROR
    assert measurement.error_message == f"response larger than {1 << 20} bytes"
