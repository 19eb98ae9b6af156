"""One streamed chat completion over geventhttpclient, timed like a probe.

Locust's ``FastHttpUser`` runs on gevent, where prober's aiohttp client cannot
run, so this module is the gevent transport for the same measurement: the
bytes go through prober's :class:`~prober.sse.SSEDecoder`,
:class:`~prober.completion.CompletionReader` and
:func:`~prober.measurement.summarize`, and end-of-stream rules and error
kinds are the ones :mod:`prober.client` applies. The tests replay prober's
stream cases through both and expect the same records.

Two things differ from a probe, both because geventhttpclient has no hook
for them:

* *request start* is taken just before the request is handed to the
  connection pool, so a new connection's TCP and TLS set-up counts in TTFT
  (the first request of each user; later ones reuse the connection);
* a timeout before the response headers is ``connect_timeout`` if it came
  sooner than the first-token timeout could have, else
  ``first_token_timeout`` (so ``connect_s`` must be below ``first_token_s``).

geventhttpclient's ``read(n)`` waits until ``n`` bytes have arrived, which
would hold a small event back behind the next ones; :func:`_read_some`
returns what one socket read brings, stamped before anything is decoded.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass

from geventhttpclient import HTTPClient
from geventhttpclient._parser import HTTPParseError
from geventhttpclient.response import HTTPConnectionClosed, HTTPSocketPoolResponse

from prober.client import Timeouts
from prober.completion import CompletionReader, StreamFault
from prober.measurement import Measurement, summarize
from prober.outcome import ErrorType
from prober.sse import SSEDecoder, SSEError

__all__ = ["Exchange", "stream_chat"]

log = logging.getLogger(__name__)

_MAX_EVENT_BYTES = 1 << 20
_MAX_RESPONSE_BYTES = 32 << 20
_DRAIN_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class Exchange:
    measurement: Measurement
    received_bytes: int


class _Expired(Exception):
    """A deadline of the request passed; carries which one."""

    def __init__(self, kind: ErrorType) -> None:
        super().__init__(str(kind))
        self.kind = kind


class _Call:
    """State of one request while it runs."""

    __slots__ = ("begin_ns", "end_ns", "timeouts", "reader", "received", "headers")

    def __init__(self, timeouts: Timeouts) -> None:
        self.begin_ns = time.perf_counter_ns()
        self.end_ns: int | None = None
        self.timeouts = timeouts
        self.reader = CompletionReader()
        self.received = 0
        self.headers = False

    def budget(self) -> tuple[float, ErrorType]:
        """Seconds the next read may wait, and what it means if it cannot."""
        elapsed_s = (time.perf_counter_ns() - self.begin_ns) / 1e9
        limits = self.timeouts
        total_left = limits.total_s - elapsed_s
        if self.reader.first_token_ns is None:
            left, kind = limits.first_token_s - elapsed_s, ErrorType.FIRST_TOKEN_TIMEOUT
        else:
            left, kind = limits.stall_s, ErrorType.STALL_TIMEOUT
        if total_left <= left:
            left, kind = total_left, ErrorType.TOTAL_TIMEOUT
        if left <= 0:
            raise _Expired(kind)
        return left, kind


def stream_chat(
    client: HTTPClient,
    path: str,
    body: bytes,
    headers: Mapping[str, str],
    timeouts: Timeouts,
    prompt_chars: int,
) -> Exchange:
    """POST ``body`` to ``path`` and measure the answer; never raises for the
    target's failures (gevent's ``GreenletExit`` passes through)."""
    call = _Call(timeouts)
    measurement = Measurement(ok=False)
    try:
        response = client.request("POST", path, body=body, headers=dict(headers))
    except (OSError, HTTPParseError, HTTPConnectionClosed) as exc:
        _fail(measurement, *_classify_before_headers(exc, call))
        return _finish(call, measurement, prompt_chars)

    call.headers = True
    measurement.status_code = response.status_code
    try:
        _read_response(call, measurement, response)
    except _Expired as expired:
        _fail(measurement, expired.kind, f"{expired.kind} while reading")
    except StreamFault as fault:
        _fail(measurement, fault.error_type, fault.message)
    except SSEError as exc:
        _fail(measurement, ErrorType.PROTOCOL_ERROR, str(exc))
    except (OSError, HTTPParseError, HTTPConnectionClosed) as exc:
        message = f"connection lost mid-response: {exc or type(exc).__name__}"
        _fail(measurement, ErrorType.STREAM_ERROR, message)
    finally:
        # A response not read to its end closes its connection here, so a
        # half-read stream is never handed to the next request.
        response.release()
    return _finish(call, measurement, prompt_chars)


def _read_response(
    call: _Call, measurement: Measurement, response: HTTPSocketPoolResponse
) -> None:
    status = response.status_code
    media_type = _media_type(response)
    if status >= 400:
        _read_error(call, measurement, response)
    elif status >= 300 or status < 200:
        raise StreamFault(ErrorType.PROTOCOL_ERROR, f"unexpected HTTP {status}")
    elif media_type == "application/json":
        _read_body(call, response)
    elif media_type == "text/html":
        raise StreamFault(
            ErrorType.PROTOCOL_ERROR, "HTML page instead of an event stream"
        )
    else:
        _read_stream(call, response)


def _read_stream(call: _Call, response: HTTPSocketPoolResponse) -> None:
    decoder = SSEDecoder(_MAX_EVENT_BYTES)
    reader = call.reader
    now = time.perf_counter_ns()
    while True:
        chunk = _read_some(response, call)
        now = time.perf_counter_ns()
        if not chunk:
            break
        _count(call, len(chunk))
        for event in decoder.feed(chunk, now):
            reader.feed_event(event)
        if reader.done:
            break
    call.end_ns = now
    _drain(response, call)

    reader.end_of_stream(decoder)


def _read_body(call: _Call, response: HTTPSocketPoolResponse) -> None:
    parts: list[bytes] = []
    first_ns: int | None = None
    while chunk := _read_some(response, call):
        first_ns = first_ns or time.perf_counter_ns()
        _count(call, len(chunk))
        parts.append(chunk)
    call.end_ns = time.perf_counter_ns()
    try:
        body = json.loads(b"".join(parts))
    except ValueError:
        raise StreamFault(
            ErrorType.PROTOCOL_ERROR, "response body is not valid JSON"
        ) from None
    call.reader.feed_body(body, first_ns or call.end_ns)


def _read_error(
    call: _Call, measurement: Measurement, response: HTTPSocketPoolResponse
) -> None:
    _drain(response, call)
    call.end_ns = time.perf_counter_ns()
    status = response.status_code
    if status == 429:
        kind = ErrorType.RATE_LIMITED
    elif status >= 500:
        kind = ErrorType.HTTP_5XX
    else:
        kind = ErrorType.HTTP_4XX
    _fail(measurement, kind, f"HTTP {status}")


def _read_some(response: HTTPSocketPoolResponse, call: _Call) -> bytes:
    """Body bytes that have arrived, after at most one socket read; empty at
    the end of the body. Raises ``_Expired`` when the read times out."""
    buffered = response._body_buffer
    while not buffered:
        sock = response._sock
        if response.message_complete or sock is None:
            return b""
        timeout_s, kind = call.budget()
        sock.settimeout(timeout_s)
        try:
            data = sock.recv(response.block_size)
        except TimeoutError:
            raise _Expired(kind) from None
        # Feeding b"" tells the parser the peer closed: that completes a body
        # delimited by the close, and raises HTTPParseError for a cut one.
        response.feed(data)
        if not data:
            break
    chunk = bytes(buffered)
    del buffered[:]
    return chunk


def _drain(response: HTTPSocketPoolResponse, call: _Call) -> None:
    """Read what is left of a short answer so its connection can be reused;
    a long or failing remainder just closes the connection on release."""
    left = _DRAIN_BYTES
    try:
        while left > 0 and (chunk := _read_some(response, call)):
            left -= len(chunk)
    except (_Expired, OSError, HTTPParseError, HTTPConnectionClosed):
        log.debug("response not drained; its connection is closed")


def _count(call: _Call, size: int) -> None:
    call.received += size
    if call.received > _MAX_RESPONSE_BYTES:
        raise StreamFault(
            ErrorType.PROTOCOL_ERROR,
            f"response larger than {_MAX_RESPONSE_BYTES} bytes",
        )


def _media_type(response: HTTPSocketPoolResponse) -> str:
    value = response.get("content-type") or ""
    if isinstance(value, list):
        value = value[0]
    return value.split(";", 1)[0].strip().lower()


def _classify_before_headers(exc: BaseException, call: _Call) -> tuple[ErrorType, str]:
    if isinstance(exc, TimeoutError):
        elapsed_s = (time.perf_counter_ns() - call.begin_ns) / 1e9
        if elapsed_s < call.timeouts.first_token_s:
            return ErrorType.CONNECT_TIMEOUT, "no connection within the connect timeout"
        return ErrorType.FIRST_TOKEN_TIMEOUT, "no response headers in time"
    if isinstance(exc, HTTPParseError):
        return ErrorType.PROTOCOL_ERROR, f"malformed HTTP response: {exc}"
    return ErrorType.CONNECTION_ERROR, str(exc) or type(exc).__name__


def _fail(measurement: Measurement, kind: ErrorType, message: str) -> None:
    measurement.ok = False
    measurement.error_type = kind
    measurement.error_message = message


def _finish(call: _Call, measurement: Measurement, prompt_chars: int) -> Exchange:
    end_ns = call.end_ns or time.perf_counter_ns()
    summarize(measurement, call.reader, call.begin_ns, end_ns, prompt_chars)
    if measurement.error_type is None:
        if call.reader.first_token_ns is None:
            _fail(measurement, ErrorType.EMPTY_RESPONSE, "no generated text")
        else:
            measurement.ok = True
    return Exchange(measurement, call.received)
