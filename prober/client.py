"""One streamed chat completion, timed where the bytes arrive.

The story of a request, in order:

1. The prompt gets a unique nonce line so no provider cache can serve it.
2. aiohttp's tracing hooks stamp DNS, connect, the moment the connection is
   ready, and the moment the request is about to be written (aiohttp's
   headers-sent signal fires before it serializes the headers); that last
   moment is the *request start* every duration counts from.
3. Response headers arrive: error statuses are read (bounded) and classified;
   a JSON body means the server ignored ``stream: true`` and is timed as one
   chunk; anything else is read as server-sent events.
4. Each read is stamped with ``perf_counter_ns()`` before any decoding, then
   decoded (:mod:`prober.sse`) and interpreted (:mod:`prober.completion`).
5. A watchdog enforces the first-token, stall and total timeouts with one
   timer, re-armed lazily, so a healthy stream costs no timer work per chunk.

Failures never raise: every outcome is a :class:`~prober.measurement.Measurement`
whose ``error_type`` is one of :class:`~prober.outcome.ErrorType`. Lower-layer
exceptions are translated in one place, :func:`_classify`. Nothing is retried:
the error is the measurement.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import re
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import aiohttp

from prober.completion import CompletionReader, StreamFault
from prober.measurement import Measurement, summarize
from prober.outcome import ErrorType
from prober.redact import redact, shorten
from prober.sse import SSEDecoder, SSEError

__all__ = [
    "ChatRequest",
    "Endpoint",
    "StreamingClient",
    "Timeouts",
    "make_nonce",
    "with_nonce",
]

log = logging.getLogger(__name__)

_ERROR_BODY_LIMIT = 64 * 1024
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_TAGS = re.compile(r"<[^>]+>")


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Limits of one request, in seconds; each maps to its own error type."""

    connect_s: float = 10.0
    first_token_s: float = 60.0
    stall_s: float = 30.0
    total_s: float = 300.0


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where to send a request: an OpenAI-compatible base URL and its key."""

    base_url: str
    api_key: str | None = field(default=None, repr=False)

    @property
    def chat_url(self) -> str:
        return self.base_url.rstrip("/") + "/chat/completions"


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """A single-message chat completion to stream."""

    model: str
    prompt: str
    max_tokens: int = 2048
    temperature: float = 0.3
    stream: bool = True
    extra: dict[str, Any] = field(default_factory=dict)
    # The body as made by request_body, when the caller encoded it already:
    # a 128K-token prompt takes milliseconds to encode, which a caller does
    # in a worker thread rather than on the event loop timing other requests.
    body: bytes | None = None


@dataclass(frozen=True, slots=True)
class Limits:
    """Size caps that keep a misbehaving server from exhausting memory."""

    max_event_bytes: int = 1 << 20
    max_response_bytes: int = 32 << 20


def make_nonce() -> str:
    return secrets.token_hex(8)


def with_nonce(prompt: str, nonce: str | None = None) -> str:
    """The prompt as sent: a nonce line first, so caches cannot answer it."""
    return f"nonce: {nonce or make_nonce()}\n\n{prompt}"


def request_body(request: ChatRequest, nonce: str | None = None) -> bytes:
    payload: dict[str, Any] = {
        "model": request.model,
        "messages": [{"role": "user", "content": with_nonce(request.prompt, nonce)}],
        "max_tokens": request.max_tokens,
        "temperature": request.temperature,
        "stream": request.stream,
    }
    if request.stream:
        payload["stream_options"] = {"include_usage": True}
    payload.update(request.extra)
    return json.dumps(payload).encode()


class _Call:
    """Mutable state of one request, shared with the tracing hooks."""

    __slots__ = (
        "begin_ns",
        "dns_start_ns",
        "dns_end_ns",
        "create_start_ns",
        "ready_ns",
        "sent_ns",
        "headers_ns",
        "last_byte_ns",
        "end_ns",
        "reader",
        "measurement",
        "watchdog",
    )

    def __init__(self) -> None:
        self.begin_ns = time.perf_counter_ns()
        self.dns_start_ns: int | None = None
        self.dns_end_ns: int | None = None
        self.create_start_ns: int | None = None
        self.ready_ns: int | None = None
        self.sent_ns: int | None = None
        self.headers_ns: int | None = None
        self.last_byte_ns: int | None = None
        self.end_ns: int | None = None
        self.reader = CompletionReader()
        self.measurement = Measurement(ok=False)
        self.watchdog: _Watchdog | None = None

    @property
    def start_ns(self) -> int:
        if self.sent_ns is not None:
            return self.sent_ns
        return self.ready_ns if self.ready_ns is not None else self.begin_ns

    def fail(self, error_type: ErrorType, message: str) -> None:
        self.measurement.ok = False
        self.measurement.error_type = error_type
        self.measurement.error_message = message


class _Watchdog:
    """Cancels the request's task when a timeout passes.

    One timer at a time, armed at the nearest possible deadline; when it fires
    early (tokens arrived meanwhile) it re-arms at the new deadline, so a
    healthy stream costs no timer work per chunk.
    """

    __slots__ = ("_call", "_task", "_timeouts", "_handle", "fired", "_loop")

    def __init__(self, call: _Call, timeouts: Timeouts) -> None:
        self._call = call
        self._timeouts = timeouts
        self._loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None, "the client must run inside a task"
        self._task = task
        self.fired: ErrorType | None = None
        self._handle: asyncio.TimerHandle | None = None
        self._arm(time.perf_counter_ns())

    def rearm(self) -> None:
        """Re-arm now: the first token moved the deadline earlier (stall)."""
        self.stop()
        self._arm(time.perf_counter_ns())

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _deadline(self) -> tuple[int, ErrorType]:
        call, limits = self._call, self._timeouts
        total = call.begin_ns + int(limits.total_s * 1e9)
        first = call.reader.first_token_ns
        if first is None:
            due = call.begin_ns + int(limits.first_token_s * 1e9)
            kind = (
                ErrorType.FIRST_TOKEN_TIMEOUT
                if call.ready_ns is not None
                else ErrorType.CONNECT_TIMEOUT
            )
        else:
            last = call.last_byte_ns or first
            due = last + int(limits.stall_s * 1e9)
            kind = ErrorType.STALL_TIMEOUT
        if total <= due:
            return total, ErrorType.TOTAL_TIMEOUT
        return due, kind

    def _arm(self, now_ns: int) -> None:
        due, _ = self._deadline()
        self._handle = self._loop.call_later(max(0, due - now_ns) / 1e9, self._check)

    def _check(self) -> None:
        now = time.perf_counter_ns()
        due, kind = self._deadline()
        if now < due:
            self._arm(now)
            return
        self._handle = None
        self.fired = kind
        self._task.cancel()


class StreamingClient:
    """Streams chat completions and measures them.

    Use as an async context manager; one client serves any number of
    concurrent requests to any number of endpoints.
    """

    def __init__(
        self, limits: Limits | None = None, user_agent: str = "prober"
    ) -> None:
        self._limits = limits or Limits()
        self._user_agent = user_agent
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> StreamingClient:
        trace = aiohttp.TraceConfig()
        trace.on_dns_resolvehost_start.append(_on_dns_start)
        trace.on_dns_resolvehost_end.append(_on_dns_end)
        trace.on_connection_create_start.append(_on_create_start)
        trace.on_connection_create_end.append(_on_ready)
        trace.on_connection_reuseconn.append(_on_ready)
        trace.on_request_headers_sent.append(_on_sent)
        connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=60)
        self._session = aiohttp.ClientSession(
            connector=connector,
            trace_configs=[trace],
            timeout=aiohttp.ClientTimeout(total=None),
            headers={"User-Agent": self._user_agent},
        )
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def complete(
        self,
        endpoint: Endpoint,
        request: ChatRequest,
        timeouts: Timeouts | None = None,
    ) -> Measurement:
        """Send ``request`` to ``endpoint`` and measure it; never raises for
        the target's failures (only for cancellation by the caller)."""
        timeouts = timeouts or Timeouts()
        call = _Call()
        body = request.body if request.body is not None else request_body(request)
        watchdog = call.watchdog = _Watchdog(call, timeouts)
        task = asyncio.current_task()
        assert task is not None
        try:
            await self._exchange(call, endpoint, body, timeouts)
        except asyncio.CancelledError:
            if watchdog.fired is None or task.uncancel() > 0:
                raise
            call.fail(watchdog.fired, _timeout_message(watchdog.fired, timeouts))
        except StreamFault as fault:
            call.fail(fault.error_type, fault.message)
        except (aiohttp.ClientError, OSError, SSEError, ValueError) as exc:
            call.fail(*_classify(exc, call))
        finally:
            watchdog.stop()
        return self._finish(call, endpoint, len(request.prompt))

    async def _exchange(
        self, call: _Call, endpoint: Endpoint, body: bytes, timeouts: Timeouts
    ) -> None:
        assert self._session is not None, "use StreamingClient as a context manager"
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        if endpoint.api_key:
            headers["Authorization"] = f"Bearer {endpoint.api_key}"
        client_timeout = aiohttp.ClientTimeout(
            total=None,
            connect=timeouts.connect_s,
            sock_connect=timeouts.connect_s,
            sock_read=None,
        )
        async with self._session.post(
            endpoint.chat_url,
            data=body,
            headers=headers,
            timeout=client_timeout,
            allow_redirects=False,
            trace_request_ctx=call,
        ) as response:
            call.headers_ns = time.perf_counter_ns()
            call.last_byte_ns = call.headers_ns
            self._take_headers(call, response)
            await self._read_response(call, response)

    def _take_headers(self, call: _Call, response: aiohttp.ClientResponse) -> None:
        m = call.measurement
        m.status_code = response.status
        remaining = response.headers.get("x-ratelimit-remaining-requests")
        m.ratelimit_remaining_requests = _parse_int(remaining)
        remaining = response.headers.get("x-ratelimit-remaining-tokens")
        m.ratelimit_remaining_tokens = _parse_int(remaining)

    async def _read_response(
        self, call: _Call, response: aiohttp.ClientResponse
    ) -> None:
        status = response.status
        if status >= 400:
            await self._read_error(call, response)
        elif status >= 300 or status < 200:
            raise StreamFault(ErrorType.PROTOCOL_ERROR, f"unexpected HTTP {status}")
        elif response.content_type == "application/json":
            await self._read_body(call, response)
        elif response.content_type == "text/html":
            raise StreamFault(
                ErrorType.PROTOCOL_ERROR, "HTML page instead of an event stream"
            )
        else:
            await self._read_stream(call, response)

    async def _read_stream(self, call: _Call, response: aiohttp.ClientResponse) -> None:
        decoder = SSEDecoder(self._limits.max_event_bytes)
        reader = call.reader
        content = response.content
        cap = self._limits.max_response_bytes
        received = 0
        waiting_first = True
        while True:
            chunk = await content.readany()
            now = time.perf_counter_ns()
            if not chunk:
                break
            call.last_byte_ns = now
            received += len(chunk)
            if received > cap:
                raise StreamFault(
                    ErrorType.PROTOCOL_ERROR, f"response larger than {cap} bytes"
                )
            for event in decoder.feed(chunk, now):
                reader.feed_event(event)
            if waiting_first and reader.first_token_ns is not None:
                waiting_first = False
                assert call.watchdog is not None
                call.watchdog.rearm()
            if reader.done:
                break
        call.end_ns = now
        reader.end_of_stream(decoder)

    async def _read_body(self, call: _Call, response: aiohttp.ClientResponse) -> None:
        raw, first_ns = await self._read_bounded(
            call, response, self._limits.max_response_bytes
        )
        call.end_ns = call.last_byte_ns
        try:
            body = json.loads(raw)
        except ValueError:
            raise StreamFault(
                ErrorType.PROTOCOL_ERROR, "response body is not valid JSON"
            ) from None
        call.reader.feed_body(body, first_ns or time.perf_counter_ns())

    async def _read_error(self, call: _Call, response: aiohttp.ClientResponse) -> None:
        raw, _ = await self._read_bounded(call, response, _ERROR_BODY_LIMIT, cut=True)
        call.end_ns = call.last_byte_ns
        status = response.status
        message = _error_message(raw.decode("utf-8", "replace"), response.content_type)
        if status == 429:
            call.measurement.retry_after_s = _retry_after(response.headers)
            kind = ErrorType.RATE_LIMITED
        elif status >= 500:
            kind = ErrorType.HTTP_5XX
        else:
            kind = ErrorType.HTTP_4XX
        call.fail(kind, f"HTTP {status}: {message}" if message else f"HTTP {status}")

    async def _read_bounded(
        self,
        call: _Call,
        response: aiohttp.ClientResponse,
        cap: int,
        cut: bool = False,
    ) -> tuple[bytes, int | None]:
        parts: list[bytes] = []
        size = 0
        first_ns: int | None = None
        while True:
            chunk = await response.content.readany()
            now = time.perf_counter_ns()
            if not chunk:
                break
            call.last_byte_ns = now
            first_ns = first_ns or now
            parts.append(chunk)
            size += len(chunk)
            if size > cap:
                if cut:
                    break
                raise StreamFault(
                    ErrorType.PROTOCOL_ERROR, f"response larger than {cap} bytes"
                )
        return b"".join(parts)[:cap], first_ns

    def _finish(
        self, call: _Call, endpoint: Endpoint, prompt_chars: int
    ) -> Measurement:
        m = call.measurement
        end = call.end_ns or time.perf_counter_ns()
        summarize(m, call.reader, call.start_ns, end, prompt_chars)
        if m.error_type is None:
            if call.reader.first_token_ns is None:
                call.fail(ErrorType.EMPTY_RESPONSE, "no generated text")
            else:
                m.ok = True
        _take_phases(m, call)
        _redact_texts(m, endpoint)
        return m


def _redact_texts(m: Measurement, endpoint: Endpoint) -> None:
    """Every text the provider chose that becomes a column loses the key: a
    provider may echo it in an error, a model name or a finish reason."""
    secrets_ = (endpoint.api_key,) if endpoint.api_key else ()
    if m.error_message:
        m.error_message = shorten(redact(m.error_message, secrets_))
    for name in _PROVIDER_TEXTS:
        value = getattr(m, name)
        if value:
            setattr(m, name, redact(value, secrets_))


_PROVIDER_TEXTS = ("finish_reason", "response_model", "system_fingerprint")


def _take_phases(m: Measurement, call: _Call) -> None:
    dns_s = None
    if call.dns_start_ns is not None and call.dns_end_ns is not None:
        dns_s = (call.dns_end_ns - call.dns_start_ns) / 1e9
        m.dns_s = dns_s
    if call.create_start_ns is not None and call.ready_ns is not None:
        m.connect_s = max(
            0.0, (call.ready_ns - call.create_start_ns) / 1e9 - (dns_s or 0)
        )
    if call.headers_ns is not None:
        m.headers_s = (call.headers_ns - call.start_ns) / 1e9


def _classify(exc: BaseException, call: _Call) -> tuple[ErrorType, str]:
    """Translate a lower-layer exception into the closed set of error types."""
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return ErrorType.CONNECT_TIMEOUT, "no connection within the connect timeout"
    if isinstance(exc, SSEError):
        return ErrorType.PROTOCOL_ERROR, str(exc)
    if isinstance(exc, aiohttp.ClientResponseError):
        return ErrorType.PROTOCOL_ERROR, f"malformed HTTP response: {exc.message}"
    if isinstance(exc, aiohttp.InvalidURL):
        return ErrorType.CONNECTION_ERROR, f"invalid URL: {exc}"
    text = str(exc) or type(exc).__name__
    if call.headers_ns is not None:
        return ErrorType.STREAM_ERROR, f"connection lost mid-response: {text}"
    if isinstance(exc, ValueError):
        return ErrorType.PROTOCOL_ERROR, text
    return ErrorType.CONNECTION_ERROR, text


def _timeout_message(kind: ErrorType, timeouts: Timeouts) -> str:
    seconds = {
        ErrorType.CONNECT_TIMEOUT: timeouts.connect_s,
        ErrorType.FIRST_TOKEN_TIMEOUT: timeouts.first_token_s,
        ErrorType.STALL_TIMEOUT: timeouts.stall_s,
        ErrorType.TOTAL_TIMEOUT: timeouts.total_s,
    }[kind]
    return f"{kind} after {seconds:g} s"


def _error_message(text: str, content_type: str) -> str:
    """The useful part of an error body: JSON message, HTML title, or text."""
    if content_type == "application/json" or text.lstrip().startswith("{"):
        try:
            payload = json.loads(text)
        except ValueError:
            payload = None
        if isinstance(payload, dict):
            error = payload.get("error", payload)
            if isinstance(error, dict):
                message = error.get("message") or error.get("detail")
                if message:
                    return str(message)
            elif error:
                return str(error)
    if "<" in text and ">" in text:
        title = _TITLE.search(text)
        if title:
            return title.group(1).strip()
        text = _TAGS.sub(" ", text)
    return text.strip()


def _retry_after(headers: Any) -> float | None:
    """Seconds to wait from ``retry-after-ms``, or ``Retry-After`` in seconds
    or as an HTTP date (RFC 9110, section 10.2.3)."""
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _parse_int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(float(value))
    except ValueError:
        return None


async def _on_dns_start(
    session: aiohttp.ClientSession, ctx: SimpleNamespace, params: object
) -> None:
    _call(ctx).dns_start_ns = time.perf_counter_ns()


async def _on_dns_end(
    session: aiohttp.ClientSession, ctx: SimpleNamespace, params: object
) -> None:
    _call(ctx).dns_end_ns = time.perf_counter_ns()


async def _on_create_start(
    session: aiohttp.ClientSession, ctx: SimpleNamespace, params: object
) -> None:
    _call(ctx).create_start_ns = time.perf_counter_ns()


async def _on_ready(
    session: aiohttp.ClientSession, ctx: SimpleNamespace, params: object
) -> None:
    _call(ctx).ready_ns = time.perf_counter_ns()


async def _on_sent(
    session: aiohttp.ClientSession, ctx: SimpleNamespace, params: object
) -> None:
    _call(ctx).sent_ns = time.perf_counter_ns()


def _call(ctx: SimpleNamespace) -> _Call:
    call: _Call = ctx.trace_request_ctx
    return call
