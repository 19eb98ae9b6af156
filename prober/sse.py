"""Incremental server-sent events decoder, fed raw bytes as they arrive.

It follows the WHATWG HTML "server-sent events" parsing rules
(https://html.spec.whatwg.org/multipage/server-sent-events.html#parsing-an-event-stream):
one leading byte-order mark is dropped; lines end with CRLF, LF or CR; lines
starting with a colon are comments; a field's value loses one leading space;
``data`` lines accumulate, joined by LF; a blank line dispatches the event.

Two things go beyond the standard because a measuring client needs them:

* Every event carries the monotonic time (``perf_counter_ns``) at which its
  first byte arrived, so the caller can time tokens without counting the time
  spent decoding.
* Memory is bounded: a line or an event larger than ``max_event_bytes`` raises
  :class:`SSEOverflow` instead of buffering without end.

Splitting only on the bytes CR and LF never cuts a multi-byte UTF-8 character
(those bytes never occur inside one), so each complete line is decoded on its
own; a character cut between two reads waits in the partial-line buffer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["SSEDecoder", "SSEError", "SSEEvent", "SSEOverflow"]

_BOM = b"\xef\xbb\xbf"
_LINE_END = re.compile(rb"\r\n|\r|\n")
_DEFAULT_MAX_EVENT_BYTES = 1 << 20


class SSEError(Exception):
    """The only kind of exception the decoder raises."""


class SSEOverflow(SSEError):
    """A line or an event grew past the decoder's byte cap."""


@dataclass(slots=True, frozen=True)
class SSEEvent:
    """One dispatched event."""

    data: str
    event: str = "message"
    id: str | None = None
    arrived_ns: int = 0


class SSEDecoder:
    """Turns chunks of bytes into :class:`SSEEvent` objects.

    Call :meth:`feed` with each read and the time it was read, then
    :meth:`close` at the end of the stream.
    """

    __slots__ = (
        "_buf",
        "_buf_ns",
        "_skip_lf",
        "_bom_pending",
        "_data",
        "_has_data",
        "_event_type",
        "_event_ns",
        "_last_id",
        "_max",
        "retry_ms",
        "comments",
    )

    def __init__(self, max_event_bytes: int = _DEFAULT_MAX_EVENT_BYTES) -> None:
        self._buf = b""
        self._buf_ns = 0
        self._skip_lf = False
        self._bom_pending = True
        # One buffer rather than a list of lines: memory is the bytes
        # themselves, however many tiny data lines an event is made of.
        self._data = bytearray()
        self._has_data = False
        self._event_type = ""
        self._event_ns = 0
        self._last_id: str | None = None
        self._max = max_event_bytes
        self.retry_ms: int | None = None
        self.comments = 0

    def feed(self, chunk: bytes, arrived_ns: int) -> list[SSEEvent]:
        """Decode one read; return the events it completed, in order."""
        if self._skip_lf and chunk:
            self._skip_lf = False
            if chunk[0] == 0x0A:
                chunk = chunk[1:]
        if self._bom_pending:
            chunk = self._strip_bom(chunk, arrived_ns)
        if not chunk:
            return []

        if self._buf:
            first_ns = self._buf_ns
            chunk = self._buf + chunk
        else:
            first_ns = arrived_ns
        if 0x0D in chunk:
            if chunk[-1] == 0x0D:
                self._skip_lf = True
            lines = _LINE_END.split(chunk)
        else:
            lines = chunk.split(b"\n")

        tail = lines.pop()
        if len(tail) > self._max:
            raise SSEOverflow(f"line longer than {self._max} bytes")
        self._buf = tail
        self._buf_ns = first_ns if not lines else arrived_ns

        events: list[SSEEvent] = []
        line_ns = first_ns
        for line in lines:
            if line:
                self._field(line, line_ns)
            elif self._has_data:
                events.append(self._dispatch())
            else:
                self._event_type = ""
                self._event_ns = 0
            line_ns = arrived_ns
        return events

    def close(self) -> SSEEvent | None:
        """End of stream: return an event left without its blank line, if any.

        The standard discards such an event; servers that forget the final
        blank line are common enough that the caller gets to decide.
        """
        if self._buf:
            self._field(self._buf, self._buf_ns)
            self._buf = b""
        if not self._has_data:
            return None
        return self._dispatch()

    def _strip_bom(self, chunk: bytes, arrived_ns: int) -> bytes:
        head = self._buf + chunk
        if len(head) < len(_BOM) and _BOM.startswith(head):
            self._buf = head
            self._buf_ns = self._buf_ns or arrived_ns
            return b""
        self._bom_pending = False
        self._buf = b""
        if head.startswith(_BOM):
            head = head[len(_BOM) :]
        return head

    def _field(self, line: bytes, line_ns: int) -> None:
        if line[0] == 0x3A:
            self.comments += 1
            return
        colon = line.find(b":")
        if colon < 0:
            name, value = line, b""
        else:
            name, value = line[:colon], line[colon + 1 :]
            if value[:1] == b" ":
                value = value[1:]

        if name == b"data":
            if len(self._data) + len(value) + 1 > self._max:
                raise SSEOverflow(f"event larger than {self._max} bytes")
            if self._has_data:
                self._data += b"\n"
            self._data += value
            self._has_data = True
        elif name == b"event":
            self._event_type = value.decode("utf-8", "replace")
        elif name == b"id":
            if b"\x00" not in value:
                self._last_id = value.decode("utf-8", "replace")
        elif name == b"retry":
            if value.isdigit():
                self.retry_ms = int(value)
        else:
            return
        if not self._event_ns:
            self._event_ns = line_ns

    def _dispatch(self) -> SSEEvent:
        event = SSEEvent(
            data=self._data.decode("utf-8", "replace"),
            event=self._event_type or "message",
            id=self._last_id,
            arrived_ns=self._event_ns,
        )
        self._data = bytearray()
        self._has_data = False
        self._event_type = ""
        self._event_ns = 0
        return event
